/* Multi-threaded plugin host: THREADS threads each run plugin A's setup (their own buffers on the
 * device), then one thread calls plugin B's reset, then every thread checks its data.
 * Usage: mt_host libplugA.so libplugB.so [THREADS]. Exit 0 all intact, 1 some lost, 3 setup error.
 *        mt_host --two-devices libplugA.so libplugB.so libplugC.so: two threads on two devices. Thread 0
 *        runs A's setup on device 0; thread 1 runs C's setup on device 1, then B resets device 1 on
 *        that thread; then each checks its own data. Only C uses device 1. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int (*setup)(void), (*check)(void), (*reset)(void);
static pthread_barrier_t bar;
static int threads;

static void *worker(void *arg)
{
    long i = (long)arg;
    long bad = 0;
    if (setup() != 0)
        bad = 3;
    pthread_barrier_wait(&bar);
    if (i == threads - 1) {
        int r = reset();
        printf("thread %ld: B:reset -> %d\n", i, r);
    }
    pthread_barrier_wait(&bar);
    int c = check();
    if (c != 0 && !bad)
        bad = 1;
    printf("thread %ld: A:check -> %d\n", i, c);
    return (void *)bad;
}

static int (*c_setup1)(void), (*c_check)(void), (*b_reset1)(void);

static void *two_devices_worker(void *arg)
{
    long i = (long)arg, bad = 0;
    if ((i == 0 ? setup() : c_setup1()) != 0)
        bad = 3;
    pthread_barrier_wait(&bar);
    if (i == 1)
        printf("thread 1: B:reset1 -> %d\n", b_reset1());
    pthread_barrier_wait(&bar);
    int c = i == 0 ? check() : c_check();
    if (c != 0 && !bad)
        bad = 1;
    printf("thread %ld: %s:check -> %d\n", i, i == 0 ? "A" : "C", c);
    return (void *)bad;
}

static int two_devices(char **argv)
{
    void *a = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL), *b = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL),
         *c = dlopen(argv[4], RTLD_NOW | RTLD_LOCAL);
    if (!a || !b || !c) {
        fprintf(stderr, "mt_host: %s\n", dlerror());
        return 3;
    }
    setup = (int (*)(void))dlsym(a, "plug_setup");
    check = (int (*)(void))dlsym(a, "plug_check");
    c_setup1 = (int (*)(void))dlsym(c, "plug_setup1");
    c_check = (int (*)(void))dlsym(c, "plug_check");
    b_reset1 = (int (*)(void))dlsym(b, "plug_reset1");
    if (!setup || !check || !c_setup1 || !c_check || !b_reset1)
        return 3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    threads = 2;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t[2];
    long worst = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, two_devices_worker, (void *)i);
    for (long i = 0; i < 2; i++) {
        void *r;
        pthread_join(t[i], &r);
        if ((long)r > worst)
            worst = (long)r;
    }
    return (int)worst;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--two-devices"))
        return two_devices(argv);
    if (argc < 3)
        return 3;
    threads = argc > 3 ? atoi(argv[3]) : 8;
    void *a = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL), *b = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (!a || !b) {
        fprintf(stderr, "mt_host: %s\n", dlerror());
        return 3;
    }
    setup = (int (*)(void))dlsym(a, "plug_setup");
    check = (int (*)(void))dlsym(a, "plug_check");
    reset = (int (*)(void))dlsym(b, "plug_reset");
    if (!setup || !check || !reset)
        return 3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_barrier_init(&bar, NULL, (unsigned)threads);
    pthread_t t[64];
    long worst = 0;
    for (long i = 0; i < threads && i < 64; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long i = 0; i < threads && i < 64; i++) {
        void *r;
        pthread_join(t[i], &r);
        if ((long)r > worst)
            worst = (long)r;
    }
    return (int)worst;
}
