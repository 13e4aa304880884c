/* A plugin host with many CUDA-using plugins: N copies of one plugin (each its own file, so each is
 * its own module), then another plugin that resets.
 *   many_host N TEMPLATE.so RESETTER.so
 * Each copy sets up (allocates), the resetter resets, each copy checks its data. Prints
 * "reset -> R" and "checks failed K of N"; exit 0 when every copy kept its data, 1 otherwise,
 * 3 on a usage or load error. The copies are unlinked as soon as they are loaded. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int copy_file(const char *from, const char *to)
{
    static char buf[1 << 16];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return in >= 0 && out >= 0 && n == 0 ? 0 : -1;
}

typedef int (*act_fn)(void);

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: many_host N TEMPLATE.so RESETTER.so\n");
        return 3;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int n = atoi(argv[1]);
    char dir[] = "/tmp/ctxguard-many-XXXXXX";
    if (!mkdtemp(dir))
        return 3;
    /* the template first: its dependencies (found through its own rpath) are then loaded, and the
     * copies, whose $ORIGIN is elsewhere, find them by soname */
    if (!dlopen(argv[2], RTLD_NOW | RTLD_LOCAL)) {
        fprintf(stderr, "many_host: %s\n", dlerror());
        return 3;
    }
    act_fn *check = calloc((size_t)n, sizeof *check);
    int setup_failed = 0;
    for (int i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/libmany%05d.so", dir, i);
        if (copy_file(argv[2], path) != 0) {
            fprintf(stderr, "many_host: cannot copy %s to %s\n", argv[2], path);
            return 3;
        }
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        unlink(path);
        act_fn setup = h ? (act_fn)dlsym(h, "plug_setup") : NULL;
        check[i] = h ? (act_fn)dlsym(h, "plug_check") : NULL;
        if (!setup || !check[i]) {
            fprintf(stderr, "many_host: %s: %s\n", path, dlerror());
            return 3;
        }
        setup_failed += setup() != 0;
    }
    rmdir(dir);
    void *hr = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
    act_fn reset = hr ? (act_fn)dlsym(hr, "plug_reset") : NULL;
    if (!reset) {
        fprintf(stderr, "many_host: %s\n", dlerror());
        return 3;
    }
    printf("setups failed %d of %d\n", setup_failed, n);
    printf("reset -> %d\n", reset());
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed += check[i]() != 0;
    printf("checks failed %d of %d\n", failed, n);
    return failed || setup_failed ? 1 : 0;
}
