/* Randomized plugin-host scenarios: a seeded, reproducible sequence of operations on the test plugins
 * (tests/plugins/plug.c built as A, B, C with the shared fake runtime and S1, S2 with static ones):
 * load, set up, plain calls, use from threads, reset through each door, check, unload, fork.
 *   random_host --seed N --dir PLUGIN_DIR [--print]
 * --print prints the sequence without running it (one operation a line, as it would run). Running
 * prints one line per operation with its results: the same sequence must print the same lines bare
 * and under ctxguard in observe mode (tests/test_random.c). RANDOM_HOST_MARKS=1 also appends a JSON
 * marker line before each operation to the file named by CTXGUARD_LOG (O_APPEND, like ctxguard's own
 * lines), so that a test can tell which events each operation caused and which modules were loaded.
 * RANDOM_HOST_MOVES=1 makes every sync a move of the plugin's data (see `moves`).
 * Exit 0, or 3 on a usage or load error; an alarm ends a hung run with status 142. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NPLUG 5
static const char *const plug_names[NPLUG] = {"A", "B", "C", "S1", "S2"};
static const char *const doors[] = {"reset", "threadexit", "drvreset", "dlsymreset", "ctxreset"};
#define NDOORS (int)(sizeof doors / sizeof doors[0])

enum op_kind { OP_LOAD, OP_SETUP, OP_CHECK, OP_SYNC, OP_GETDEV, OP_THREADS, OP_RESET, OP_UNLOAD, OP_FORK, OP_KINDS };
static const char *const op_names[OP_KINDS] = {"load", "setup", "check", "sync", "getdevice", "threads",
                                               "reset", "unload", "fork"};

struct op {
    int kind, plug, door; /* door: for OP_RESET, and the reset a forked child makes */
};

#define MAXOPS 64
static struct op ops[MAXOPS];
static int nops;

/* splitmix64: the whole sequence follows from the seed */
static uint64_t rng;
static uint64_t next(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int pick(int n) { return (int)(next() % (uint64_t)n); }

/* Only operations that make sense in the state reached: a plugin is checked only after it was set
 * up since it was loaded (its data lives in the main thread's thread-local buffer). */
static void generate(uint64_t seed)
{
    rng = seed;
    int loaded[NPLUG] = {0}, set_up[NPLUG] = {0}, forks = 0;
    nops = 8 + pick(24);
    for (int i = 0; i < nops; i++) {
        struct op o = {0, pick(NPLUG), pick(NDOORS)};
        for (;;) {
            o.kind = pick(OP_KINDS);
            if (o.kind == OP_LOAD && loaded[o.plug]) continue;
            if (o.kind != OP_LOAD && o.kind != OP_FORK && !loaded[o.plug]) o.kind = OP_LOAD;
            if (o.kind == OP_CHECK && !set_up[o.plug]) continue;
            if (o.kind == OP_FORK && (forks >= 2 || i == 0)) continue;
            break;
        }
        if (o.kind == OP_LOAD) loaded[o.plug] = 1;
        if (o.kind == OP_SETUP) set_up[o.plug] = 1;
        if (o.kind == OP_UNLOAD) loaded[o.plug] = set_up[o.plug] = 0;
        if (o.kind == OP_FORK) forks++;
        ops[i] = o;
    }
}

static char dir[1024];
/* RANDOM_HOST_MOVES=1: a sync is instead a move of the plugin's data to a new buffer, the old one freed
 * in a way ctxguard does not see as a free (plug_moveown; issue 15's reclaim variant) */
static int moves;
static void *handle[NPLUG];
static int set_up_now[NPLUG];
static int mark_fd = -1;

typedef int (*act_fn)(void);
static act_fn act(int p, const char *what)
{
    char name[64];
    snprintf(name, sizeof name, "plug_%s", what);
    act_fn f = (act_fn)dlsym(handle[p], name);
    if (!f) {
        fprintf(stderr, "random_host: %s has no %s\n", plug_names[p], name);
        exit(3);
    }
    return f;
}

static void mark(int i, const struct op *o, const char *who)
{
    if (mark_fd < 0)
        return;
    char line[256];
    int n = snprintf(line, sizeof line, "{\"pid\":%ld,\"mark\":\"%s\",\"i\":%d,\"op\":\"%s\",\"plug\":\"%s\",\"door\":\"%s\"}\n",
                     (long)getpid(), who, i, op_names[o->kind], plug_names[o->plug], doors[o->door]);
    if (write(mark_fd, line, (size_t)n) != n)
        exit(3);
}

static void *thread_body(void *arg)
{
    int p = (int)(intptr_t)arg, r = act(p, "setup")();
    for (int k = 0; k < 50 && r == 0; k++)
        r = act(p, "getdevice")();
    if (r == 0)
        r = act(p, "sync")();
    if (r == 0)
        r = act(p, "check")();
    return (void *)(intptr_t)r;
}

static void print_op(int i, const struct op *o)
{
    printf("%2d %-9s %-2s", i, op_names[o->kind], o->kind == OP_FORK ? "-" : plug_names[o->plug]);
    if (o->kind == OP_RESET || o->kind == OP_FORK)
        printf(" %s", doors[o->door]);
}

/* A forked child resets through the first loaded plugin from o->plug on (door o->door), checks every
 * plugin set up, and ends. */
static void child(int i, const struct op *o)
{
    for (int k = 0; k < NPLUG; k++) {
        int p = (o->plug + k) % NPLUG;
        if (handle[p]) {
            struct op r = {OP_RESET, p, o->door};
            mark(i, &r, "child");
            printf(" | child reset %s %s -> %d", plug_names[p], doors[o->door], act(p, doors[o->door])());
            break;
        }
    }
    for (int p = 0; p < NPLUG; p++)
        if (set_up_now[p]) {
            struct op c = {OP_CHECK, p, 0};
            mark(i, &c, "child");
            printf(" | child check %s -> %d", plug_names[p], act(p, "check")());
        }
    printf("\n");
    fflush(stdout);
    exit(0);
}

static void run(void)
{
    for (int i = 0; i < nops; i++) {
        const struct op *o = &ops[i];
        int p = o->plug;
        mark(i, o, "op");
        print_op(i, o);
        switch (o->kind) {
        case OP_LOAD: {
            char path[1200];
            snprintf(path, sizeof path, "%s/libplug%s.so", dir, plug_names[p]);
            handle[p] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (!handle[p]) {
                fprintf(stderr, "random_host: %s\n", dlerror());
                exit(3);
            }
            printf(" -> loaded\n");
            break;
        }
        case OP_SETUP: {
            int r = act(p, "setup")();
            set_up_now[p] = r == 0;
            printf(" -> %d\n", r);
            break;
        }
        case OP_CHECK: printf(" -> %d\n", act(p, "check")()); break;
        case OP_SYNC: printf(" -> %d\n", act(p, moves ? "moveown" : "sync")()); break;
        case OP_GETDEV: printf(" -> %d\n", act(p, "getdevice")()); break;
        case OP_RESET:
            printf(" -> %d", act(p, doors[o->door])());
            printf("\n");
            break;
        case OP_THREADS: {
            pthread_t t[2];
            for (int k = 0; k < 2; k++)
                pthread_create(&t[k], NULL, thread_body, (void *)(intptr_t)p);
            for (int k = 0; k < 2; k++) {
                void *r;
                pthread_join(t[k], &r);
                printf(" %d", (int)(intptr_t)r);
            }
            printf("\n");
            break;
        }
        case OP_UNLOAD:
            printf(" -> %d\n", dlclose(handle[p]));
            handle[p] = NULL;
            set_up_now[p] = 0;
            break;
        case OP_FORK: {
            fflush(stdout);
            pid_t c = fork();
            if (c == 0)
                child(i, o);
            int st = 0;
            waitpid(c, &st, 0);
            printf("%2d fork ended %d\n", i, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            break;
        }
        }
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    uint64_t seed = 0;
    int have_seed = 0, print_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
            have_seed = 1;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--print"))
            print_only = 1;
        else {
            fprintf(stderr, "usage: %s --seed N --dir PLUGIN_DIR [--print]\n", argv[0]);
            return 3;
        }
    }
    if (!have_seed || (!dir[0] && !print_only)) {
        fprintf(stderr, "usage: %s --seed N --dir PLUGIN_DIR [--print]\n", argv[0]);
        return 3;
    }
    generate(seed);
    if (print_only) {
        printf("seed %llu: %d operations\n", (unsigned long long)seed, nops);
        for (int i = 0; i < nops; i++) {
            print_op(i, &ops[i]);
            printf("\n");
        }
        return 0;
    }
    const char *m = getenv("RANDOM_HOST_MARKS"), *log = getenv("CTXGUARD_LOG"), *mv = getenv("RANDOM_HOST_MOVES");
    moves = mv && !strcmp(mv, "1");
    if (m && !strcmp(m, "1") && log)
        mark_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    alarm(60);
    run();
    return 0;
}
