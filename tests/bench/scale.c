/* Scale figures for make bench (issue 14), each run bare and under ctxguard by scripts/bench.py:
 *   scale modules N TINY.so K   load N copies of TINY (each its own file, so its own module) and make
 *                               one CUDA call from each; then K more, timing each new module's first
 *                               call (first sight: ctxguard learns the module) and its second. Prints
 *                               "first_ns=MEDIAN second_ns=MEDIAN load_s=SECONDS".
 *   scale cycles N A.so C.so    N times: dlopen A (then C, alternately), its reset, dlclose. Prints
 *                               "cycle_us=MEAN"; the log says who reset, cycle by cycle.
 *   scale threads N             N threads started and left waiting; prints "rss_kb=VmRSS" with all of
 *                               them alive (static TLS is per thread).
 * Copies go to a temporary directory and are unlinked once loaded. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static char *image;
static size_t image_len;

static void read_image(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        exit(3);
    }
    image_len = (size_t)lseek(fd, 0, SEEK_END);
    image = malloc(image_len);
    if (pread(fd, image, image_len, 0) != (ssize_t)image_len)
        exit(3);
    close(fd);
}

typedef int (*call_fn)(void);

static call_fn load_copy(const char *dir, int i)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/libtiny%05d.so", dir, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (fd < 0 || write(fd, image, image_len) != (ssize_t)image_len) {
        perror(path);
        exit(3);
    }
    close(fd);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    unlink(path);
    call_fn f = h ? (call_fn)dlsym(h, "tiny_call") : NULL;
    if (!f) {
        fprintf(stderr, "scale: %s\n", dlerror());
        exit(3);
    }
    return f;
}

/* One call, out of line: callgrind counts it alone (--toggle-collect=first_call, scripts/bench.py). */
__attribute__((noinline)) static int first_call(call_fn f)
{
    int r = f();
    __asm__ volatile("" ::: "memory");
    return r;
}

static int modules(int n, const char *tiny, int k)
{
    read_image(tiny);
    if (!dlopen(tiny, RTLD_NOW | RTLD_LOCAL)) { /* its dependencies, for the copies to find by soname */
        fprintf(stderr, "scale: %s\n", dlerror());
        return 3;
    }
    char dir[] = "/tmp/ctxguard-scale-XXXXXX";
    if (!mkdtemp(dir))
        return 3;
    long long t0 = now_ns();
    for (int i = 0; i < n; i++)
        if (load_copy(dir, i)() != 0)
            return 2;
    double load_s = (double)(now_ns() - t0) / 1e9;
    long long *first = calloc((size_t)k, sizeof *first), *second = calloc((size_t)k, sizeof *second);
    for (int j = 0; j < k; j++) {
        call_fn f = load_copy(dir, n + j);
        long long a = now_ns();
        int r = first_call(f);
        long long b = now_ns();
        r |= f();
        long long c = now_ns();
        if (r != 0)
            return 2;
        first[j] = b - a;
        second[j] = c - b;
    }
    rmdir(dir);
    qsort(first, (size_t)k, sizeof *first, cmp_ll);
    qsort(second, (size_t)k, sizeof *second, cmp_ll);
    printf("first_ns=%lld second_ns=%lld load_s=%.2f\n", first[k / 2], second[k / 2], load_s);
    return 0;
}

static int cycles(int n, const char *a, const char *c)
{
    long long t0 = now_ns();
    for (int i = 0; i < n; i++) {
        void *h = dlopen(i % 2 ? c : a, RTLD_NOW | RTLD_LOCAL);
        call_fn reset = h ? (call_fn)dlsym(h, "plug_reset") : NULL;
        if (!reset) {
            fprintf(stderr, "scale: %s\n", dlerror());
            return 3;
        }
        if (reset() != 0)
            return 2;
        dlclose(h);
    }
    printf("cycle_us=%.2f\n", (double)(now_ns() - t0) / 1e3 / n);
    return 0;
}

static pthread_barrier_t started, done;
static void *idle(void *arg)
{
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&done);
    return arg;
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

static int threads(int n)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    pthread_barrier_init(&started, NULL, (unsigned)n + 1);
    pthread_barrier_init(&done, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, idle, NULL) != 0)
            return 2;
    pthread_barrier_wait(&started);
    long kb = rss_kb();
    pthread_barrier_wait(&done);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("rss_kb=%ld\n", kb);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 5 && !strcmp(argv[1], "modules"))
        return modules(atoi(argv[2]), argv[3], atoi(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "cycles"))
        return cycles(atoi(argv[2]), argv[3], argv[4]);
    if (argc == 3 && !strcmp(argv[1], "threads"))
        return threads(atoi(argv[2]));
    fprintf(stderr, "usage: scale modules N TINY.so K | cycles N A.so C.so | threads N\n");
    return 3;
}
