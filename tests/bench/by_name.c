/* First sight of modules opened by bare name (dlopen("libx.so"), found through the caller's RUNPATH
 * or LD_LIBRARY_PATH: how ctypes.CDLL("libfoo.so") and most frameworks load libraries), for which
 * ctxguard keeps no handle from dlopen (glibc's answer depends on the caller, so the call is passed
 * on untouched):
 *   by_name N MODULE.so   copies MODULE N+10 times to byname/ next to this program (its RUNPATH),
 *                         loads and calls N copies by name, then 10 more, each first call in
 *                         first_call (callgrind --toggle-collect=first_call counts those).
 * Rerun (instructions per new module, 10 and 1,000 loaded):
 *   for n in 10 1000; do LD_PRELOAD=build/libctxguard.so valgrind --tool=callgrind \
 *     --callgrind-out-file=/dev/null --toggle-collect=first_call build/bench/by_name $n \
 *     build/bench/libmulti.so 2>&1 | grep Collected; done      (divide by 10) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*call_fn)(void);

__attribute__((noinline)) int first_call(call_fn f)
{
    int r = f();
    __asm__ volatile("" ::: "memory");
    return r;
}

static call_fn load(int i)
{
    char n[64];
    snprintf(n, sizeof n, "libbyname%05d.so", i);
    void *h = dlopen(n, RTLD_NOW | RTLD_LOCAL);
    call_fn f = h ? (call_fn)dlsym(h, "tiny_call") : NULL;
    if (!f) {
        fprintf(stderr, "by_name: %s\n", dlerror());
        exit(3);
    }
    return f;
}

static int copy_all(const char *module, const char *dir, int count)
{
    int in = open(module, O_RDONLY);
    if (in < 0)
        return -1;
    off_t len = lseek(in, 0, SEEK_END);
    char *img = malloc((size_t)len);
    if (img == NULL || pread(in, img, (size_t)len, 0) != len)
        return -1;
    close(in);
    for (int i = 0; i < count; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/libbyname%05d.so", dir, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0700);
        if (fd < 0 || write(fd, img, (size_t)len) != len)
            return -1;
        close(fd);
    }
    free(img);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int n = atoi(argv[1]);
    char dir[4096];
    ssize_t k = readlink("/proc/self/exe", dir, sizeof dir - 16);
    if (k <= 0)
        return 3;
    dir[k] = '\0';
    char *slash = strrchr(dir, '/');
    strcpy(slash + 1, "byname"); /* the RUNPATH, $ORIGIN/byname: made with the program (the loader
                                   * marks a RUNPATH directory missing at startup as missing for good) */
    if (copy_all(argv[2], dir, n + 10) != 0) {
        perror(dir);
        return 3;
    }
    for (int i = 0; i < n; i++)
        load(i)();
    int r = 0;
    for (int j = 0; j < 10; j++)
        r |= first_call(load(n + j)) < 0;
    for (int i = 0; i < n + 10; i++) { /* loaded: the files can go */
        char p[4200];
        snprintf(p, sizeof p, "%s/libbyname%05d.so", dir, i);
        unlink(p);
    }
    return r != 0;
}
