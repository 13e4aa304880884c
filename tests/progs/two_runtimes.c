/* Two copies of the CUDA runtime opened RTLD_LOCAL and called only through pointers dlsym'd from
 * their own handles, as Python's ctypes does with two libcudart files:
 *   two_runtimes LIBCUDA RUNTIME1 RUNTIME2
 * Each runtime keeps its own current device per thread: runtime 1 is moved to device 1, runtime 2
 * stays on device 0, then each is asked. Prints "r1 device D1, r2 device D2", then resets through
 * runtime 2 and prints "r2 reset -> R", and asks both again. Exit 0, or 3 on a load error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>

typedef int (*getdev_fn)(int *);
typedef int (*setdev_fn)(int);
typedef int (*reset_fn)(void);

struct rt {
    getdev_fn get;
    setdev_fn set;
    reset_fn reset;
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
    return r->get && r->set && r->reset ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct rt r1, r2;
    if (argc != 4 || !dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL) || open_rt(argv[2], &r1) || open_rt(argv[3], &r2))
        return 3;
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
