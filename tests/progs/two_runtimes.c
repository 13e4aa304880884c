/* Two copies of the CUDA runtime opened RTLD_LOCAL and called only through pointers dlsym'd from
 * their own handles, as Python's ctypes does with two libcudart files:
 *   two_runtimes LIBCUDA RUNTIME1 RUNTIME2
 * Each runtime keeps its own current device per thread: runtime 1 is moved to device 1, runtime 2
 * stays on device 0, then each is asked. Prints "r1 device D1, r2 device D2", then resets through
 * runtime 2 and prints "r2 reset -> R", and asks both again. Exit 0, or 3 on a load error.
 *   two_runtimes LIBCUDA RUNTIME1 RUNTIME2 alloc
 * (issue 15) takes runtime 1's cudaFree first, then allocates 1 MiB through runtime 2 and resets
 * through runtime 2; prints "r2 reset -> R" and how many allocations each runtime's own bookkeeping
 * still holds (fakeRuntimeLive): "live r1 L1, r2 L2". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

typedef int (*getdev_fn)(int *);
typedef int (*setdev_fn)(int);
typedef int (*reset_fn)(void);

struct rt {
    getdev_fn get;
    setdev_fn set;
    reset_fn reset;
    int (*malloc)(void **, size_t);
    int (*free)(void *);
    int (*live)(void);
};

static int open_rt(const char *path, struct rt *r)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "two_runtimes: %s\n", dlerror());
        return -1;
    }
    r->get = (getdev_fn)dlsym(h, "cudaGetDevice");
    r->set = (setdev_fn)dlsym(h, "cudaSetDevice");
    r->reset = (reset_fn)dlsym(h, "cudaDeviceReset");
    r->free = (int (*)(void *))dlsym(h, "cudaFree");
    r->malloc = (int (*)(void **, size_t))dlsym(h, "cudaMalloc");
    r->live = (int (*)(void))dlsym(h, "fakeRuntimeLive");
    return r->get && r->set && r->reset ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct rt r1, r2;
    if (argc < 4 || !dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL) || open_rt(argv[2], &r1) || open_rt(argv[3], &r2))
        return 3;
    if (argc == 5) {
        void *p = NULL;
        if (!r2.malloc || !r1.live || !r2.live)
            return 3;
        int m = r2.malloc(&p, 1 << 20);
        printf("r2 malloc -> %d, live r1 %d, r2 %d\n", m, r1.live(), r2.live());
        int r = r2.reset();
        printf("r2 reset -> %d\n", r);
        printf("live r1 %d, r2 %d\n", r1.live(), r2.live());
        return 0;
    }
    int d1 = -1, d2 = -1;
    int s1 = r1.set(1), s2 = r2.set(0);
    int g1 = r1.get(&d1), g2 = r2.get(&d2);
    printf("set %d %d, get %d %d: r1 device %d, r2 device %d\n", s1, s2, g1, g2, d1, d2);
    printf("r2 reset -> %d\n", r2.reset());
    d1 = d2 = -1;
    r1.get(&d1);
    r2.get(&d2);
    printf("after: r1 device %d, r2 device %d\n", d1, d2);
    return 0;
}
