/* Stress scenarios for the hardening tests.
 *   stress_host fork A.so B.so      4 threads run A's calls in a loop while the main thread forks 20
 *                                   times; each child resets through B and exits. Prints "forks ok N".
 *   stress_host cycles N A.so B.so  N times: dlopen A, setup, check, dlclose; then A and B once more,
 *                                   B resets while A holds data. Prints RSS after 100 and N cycles.
 *   stress_host threads T N A.so B.so  T threads × N pass-through calls each through A, and every
 *                                   thread resets through B every N/10 calls. Prints "resets R".
 *   stress_host signals A.so B.so   8 threads reset through B 2,000 times each while the main thread
 *                                   sends them SIGUSR1 (a handler without SA_RESTART). Prints "resets R".
 *   stress_host execfd A.so B.so    after a logged reset, execs ls -l /proc/self/fd: the log file
 *                                   must not be among the child's descriptors (O_CLOEXEC).
 *   stress_host jit A.so B.so       a thread calls cudaGetDevice 20,000 times from anonymous executable
 *                                   memory (as JIT code does: no module owns the caller, so ctxguard
 *                                   looks the runtime up each time) while the main thread loads and
 *                                   unloads B 500 times. Prints "jit calls N". A lookup that asked the
 *                                   loader inside dl_iterate_phdr deadlocked here.
 *   stress_host reuse A.so C.so     1,000 calls through A, dlclose A, dlopen C (usually at A's old
 *                                   address), one call through C. Prints "same range 0|1; …; C's
 *                                   getdevice -> RESULT".
 *   stress_host reclaim A.so B.so   A sets up; 2 threads allocate and free through B (plug_allocfree) and 2
 *                                   through A while the main thread resets through B 200 times (under
 *                                   CTXGUARD_RECLAIM=1 each a reclaim of B's objects, racing B's own
 *                                   frees; issue 15). Prints "reclaim resets R, A's check C".
 *   stress_host reopen N DIR        six threads, N times each: three dlopen DIR/libplugA.so by its full
 *                                   path (ctxguard keeps the handle), call, dlclose it; the other three
 *                                   dlopen ./libdepA.so from DIR (A as a dependency, an object dlopen
 *                                   never returned, often at the unloaded A's link map address and
 *                                   range), call A's function, dlclose. Anything ctxguard keeps for the
 *                                   first A (a handle, the real functions in its runtime, which is
 *                                   unloaded with it) and uses for the second crashes. Prints
 *                                   "reopen calls C failed F".
 *   stress_host reopen-same-name N DIR   the same, libdepA opened by its full path: the second A has
 *                                   the first one's name (and often its address and link map).
 * Exit 0 on success; an alarm ends a hung run with status 142. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*act_fn)(void);
static act_fn a_setup, a_check, a_sync, a_getdev, b_reset;
static volatile int stop;
static long per_thread;
static long resets_done;

static act_fn get(void *h, const char *name)
{
    act_fn f = (act_fn)dlsym(h, name);
    if (!f) {
        fprintf(stderr, "stress_host: no %s\n", name);
        exit(3);
    }
    return f;
}

static void load(const char *a, const char *b)
{
    void *ha = dlopen(a, RTLD_NOW | RTLD_LOCAL), *hb = dlopen(b, RTLD_NOW | RTLD_LOCAL);
    if (!ha || !hb) {
        fprintf(stderr, "stress_host: %s\n", dlerror());
        exit(3);
    }
    a_setup = get(ha, "plug_setup");
    a_check = get(ha, "plug_check");
    a_sync = get(ha, "plug_sync");
    a_getdev = get(ha, "plug_getdevice");
    b_reset = get(hb, "plug_reset");
}

static void *spin(void *arg)
{
    (void)arg;
    if (a_setup())
        return (void *)1;
    while (!stop)
        a_sync();
    return NULL;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static void *hammer(void *arg)
{
    (void)arg;
    if (a_setup())
        return (void *)1;
    long every = per_thread / 10 > 0 ? per_thread / 10 : 1;
    for (long i = 1; i <= per_thread; i++) {
        a_getdev();
        if (i % every == 0) {
            b_reset();
            __atomic_add_fetch(&resets_done, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void *resetter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        b_reset();
        __atomic_add_fetch(&resets_done, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* int tramp(int (*fn)(int *), int *out): calls fn(out) from memory no module owns. */
typedef int (*tramp_fn)(void *fn, int *out);
static tramp_fn make_tramp(void)
{
    static const unsigned char code[] = {
        0x53,             /* push %rbx: keeps the stack 16-byte aligned at the call */
        0x48, 0x89, 0xf8, /* mov %rdi,%rax */
        0x48, 0x89, 0xf7, /* mov %rsi,%rdi */
        0xff, 0xd0,       /* call *%rax */
        0x5b,             /* pop %rbx */
        0xc3,             /* ret */
    };
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memcpy(p, code, sizeof code);
    if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
        return NULL;
    return (tramp_fn)p;
}

static long jit_calls;
static void *jit_caller(void *fn)
{
    tramp_fn t = make_tramp();
    if (!t)
        return (void *)1;
    for (int i = 0; i < 20000; i++) {
        int dev = -1;
        if (t(fn, &dev) != 0 || dev != 0)
            return (void *)1;
        jit_calls++;
    }
    return NULL;
}

static act_fn a_allocfree, b_allocfree;
static long allocfree_errors;
static void *alloc_loop(void *fn)
{
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
        if (((act_fn)fn)() != 0) /* an object of B's freed by its reclaim under B's thread: B's to see */
            __atomic_add_fetch(&allocfree_errors, 1, __ATOMIC_RELAXED);
    return NULL;
}

static long reopen_n, reopen_failed;
static char reopen_path[4096], reopen_dep[4096] = "./libdepA.so";

/* One reopening thread: `arg` is the path it opens (A itself, or libdepA, which brings A in). */
static void *reopen_loop(void *arg)
{
    for (long i = 0; i < reopen_n; i++) {
        void *h = dlopen((const char *)arg, RTLD_NOW | RTLD_LOCAL);
        act_fn f = h ? (act_fn)dlsym(h, "plug_getdevice") : NULL;
        if (!f || f() != 0)
            __atomic_add_fetch(&reopen_failed, 1, __ATOMIC_RELAXED);
        if (h)
            dlclose(h);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    alarm(strcmp(argc > 1 ? argv[1] : "", "jit") ? 120 : 30);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !strcmp(argv[1], "fork")) {
        load(argv[2], argv[3]);
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, spin, NULL);
        int ok = 0;
        for (int k = 0; k < 20; k++) {
            pid_t p = fork();
            if (p == 0) {
                alarm(20);
                /* the child uses CUDA through ctxguard at once: no inherited lock may be held */
                int r = b_reset();
                _exit(r == 0 ? 0 : 4);
            }
            int st = 0;
            waitpid(p, &st, 0);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                ok++;
            else if (WIFSIGNALED(st)) /* 14 (SIGALRM): the child hung */
                printf("child %d: killed by signal %d\n", k, WTERMSIG(st));
            else
                printf("child %d: exit status %d\n", k, WEXITSTATUS(st));
        }
        stop = 1;
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        printf("forks ok %d\n", ok);
        return ok == 20 ? 0 : 1;
    }
    if (argc == 5 && !strcmp(argv[1], "cycles")) {
        int n = atoi(argv[2]);
        long rss100 = 0;
        for (int i = 1; i <= n; i++) {
            void *h = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
            if (!h)
                return 3;
            if (get(h, "plug_setup")() || get(h, "plug_check")())
                return 1;
            dlclose(h);
            if (i == 100)
                rss100 = rss_kb();
        }
        printf("rss after 100 cycles %ld kB, after %d cycles %ld kB\n", rss100, n, rss_kb());
        load(argv[3], argv[4]);
        int s = a_setup(), r = b_reset(), c = a_check();
        printf("after cycles: setup %d reset %d check %d\n", s, r, c);
        return s || r || c;
    }
    if (argc == 4 && !strcmp(argv[1], "reuse")) {
        /* A's calls arm this thread's fast path for A's address range; A is unloaded and C loaded,
         * usually into the same range. C's calls must be judged as C's (a rule may watch C), not
         * passed through on A's cached range. */
        void *ha = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
        if (!ha)
            return 3;
        act_fn g = get(ha, "plug_getdevice");
        int bad = 0;
        for (int i = 0; i < 1000; i++)
            bad |= g();
        Dl_info ia, ic;
        if (!dladdr((void *)g, &ia))
            return 3;
        void *base_a = ia.dli_fbase;
        dlclose(ha);
        void *hc = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
        if (!hc)
            return 3;
        g = get(hc, "plug_getdevice");
        if (!dladdr((void *)g, &ic))
            return 3;
        int r = g();
        printf("same range %d; A's calls %d; C's getdevice -> %d\n", base_a == ic.dli_fbase, bad, r);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "threads")) {
        int nt = atoi(argv[2]);
        per_thread = atol(argv[3]);
        load(argv[4], argv[5]);
        pthread_t t[64];
        for (int i = 0; i < nt && i < 64; i++)
            pthread_create(&t[i], NULL, hammer, NULL);
        long bad = 0;
        for (int i = 0; i < nt && i < 64; i++) {
            void *r;
            pthread_join(t[i], &r);
            bad |= (long)r;
        }
        printf("resets %ld\n", resets_done);
        return bad != 0;
    }
    if (argc == 4 && !strcmp(argv[1], "signals")) {
        load(argv[2], argv[3]);
        if (a_setup())
            return 1;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1; /* no SA_RESTART: interrupted write(2)s return EINTR */
        sigaction(SIGUSR1, &sa, NULL);
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
            pthread_create(&t[i], NULL, resetter, NULL);
        while (__atomic_load_n(&resets_done, __ATOMIC_RELAXED) < 8 * 2000)
            for (int i = 0; i < 8; i++)
                pthread_kill(t[i], SIGUSR1);
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        printf("resets %ld\n", resets_done);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "execfd")) {
        load(argv[2], argv[3]);
        if (a_setup() || b_reset())
            return 1;
        fflush(stdout);
        execl("/bin/ls", "ls", "-l", "/proc/self/fd/", (char *)NULL);
        return 127;
    }
    if (argc == 4 && !strcmp(argv[1], "reclaim")) {
        load(argv[2], argv[3]);
        a_allocfree = get(dlopen(argv[2], RTLD_NOW | RTLD_NOLOAD), "plug_allocfree");
        b_allocfree = get(dlopen(argv[3], RTLD_NOW | RTLD_NOLOAD), "plug_allocfree");
        if (a_setup())
            return 1;
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, alloc_loop, (void *)(i < 2 ? b_allocfree : a_allocfree));
        for (int i = 0; i < 200; i++)
            if (b_reset() == 0)
                resets_done++;
        __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        printf("reclaim resets %ld, A's check %d (allocate+free errors %ld)\n", resets_done, a_check(),
               allocfree_errors);
        return 0;
    }
    if (argc == 4 && (!strcmp(argv[1], "reopen") || !strcmp(argv[1], "reopen-same-name"))) {
        reopen_n = atol(argv[2]);
        if (snprintf(reopen_path, sizeof reopen_path, "%s/libplugA.so", argv[3]) >= (int)sizeof reopen_path ||
            chdir(argv[3]) != 0)
            return 3;
        /* libdepA by its full path: A, found through its $ORIGIN, has the name of the direct open, so
         * ctxguard's purge cannot tell the A it unloaded from the one loaded meanwhile */
        if (!strcmp(argv[1], "reopen-same-name") &&
            snprintf(reopen_dep, sizeof reopen_dep, "%s/libdepA.so", argv[3]) >= (int)sizeof reopen_dep)
            return 3;
        pthread_t t[6];
        for (int k = 0; k < 6; k++)
            pthread_create(&t[k], NULL, reopen_loop, k % 2 ? reopen_dep : reopen_path);
        for (int k = 0; k < 6; k++)
            pthread_join(t[k], NULL);
        printf("reopen calls %ld failed %ld\n", 6 * reopen_n, reopen_failed);
        return reopen_failed != 0;
    }
    if (argc == 4 && !strcmp(argv[1], "jit")) {
        load(argv[2], argv[2]);
        if (a_setup())
            return 1;
        void *fn = dlsym(RTLD_DEFAULT, "cudaGetDevice"); /* ctxguard's: the runtime is not global here */
        if (!fn)
            return 3;
        pthread_t t;
        pthread_create(&t, NULL, jit_caller, fn);
        for (int i = 0; i < 500; i++) {
            void *h = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
            if (h)
                dlclose(h);
        }
        void *r;
        pthread_join(t, &r);
        printf("jit calls %ld\n", jit_calls);
        return r != NULL;
    }
    fprintf(stderr, "usage: see the comment at the top of stress_host.c\n");
    return 3;
}
