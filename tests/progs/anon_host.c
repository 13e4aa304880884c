/* A CUDA user whose calls do not come straight from a module of its own: either from code in
 * anonymous executable memory (as a JIT's are), or through an NVIDIA library that calls the runtime
 * on the program's behalf. Beside it a plugin that resets the device.
 *   anon_host anon RUNTIME PLUGIN     cudaMalloc/cudaMemcpy reached through call stubs in an
 *                                     anonymous executable mapping
 *   anon_host nvlib NVLIB PLUGIN      the same through NVLIB's fakeblas_upload/fakeblas_download
 * Steps: the plugin sets up (allocates), the program allocates and uploads its own data, the plugin
 * resets, the program reads its data back. Exit 0 when the data came back, 1 when it was lost,
 * 2 on a setup error, 3 on a usage or load error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*malloc_fn)(void **, size_t);
typedef int (*memcpy_fn)(void *, const void *, size_t, int);

/* movabs $target,%rax; sub $8,%rsp; call *%rax; add $8,%rsp; ret: the callee's return address is in
 * the anonymous mapping, the arguments pass through untouched. */
static void *stub(void *target)
{
    unsigned char code[] = {0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x83, 0xec, 0x08,
                            0xff, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3};
    memcpy(code + 2, &target, sizeof target);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memcpy(p, code, sizeof code);
    return mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0 ? p : NULL;
}

static void *sym(void *h, const char *name)
{
    void *p = h ? dlsym(h, name) : NULL;
    if (p == NULL)
        fprintf(stderr, "anon_host: no %s: %s\n", name, dlerror());
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "anon") && strcmp(argv[1], "nvlib"))) {
        fprintf(stderr, "usage: anon_host anon|nvlib RUNTIME|NVLIB PLUGIN\n");
        return 3;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    void *lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL), *plug = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
    if (!lib || !plug) {
        fprintf(stderr, "anon_host: %s\n", dlerror());
        return 3;
    }
    int (*setup)(void) = (int (*)(void))sym(plug, "plug_setup"), (*reset)(void) = (int (*)(void))sym(plug, "plug_reset");
    int (*up)(void **, const void *, size_t) = NULL, (*down)(void *, const void *, size_t) = NULL;
    malloc_fn m = NULL;
    memcpy_fn cp = NULL;
    if (!strcmp(argv[1], "anon")) {
        void *rm = sym(lib, "cudaMalloc"), *rc = sym(lib, "cudaMemcpy");
        m = (malloc_fn)(rm ? stub(rm) : NULL);
        cp = (memcpy_fn)(rc ? stub(rc) : NULL);
        if (!m || !cp)
            return 3;
    } else {
        up = (int (*)(void **, const void *, size_t))sym(lib, "fakeblas_upload");
        down = (int (*)(void *, const void *, size_t))sym(lib, "fakeblas_download");
        if (!up || !down)
            return 3;
    }
    if (!setup || !reset)
        return 3;
    int r = setup();
    printf("plugin:setup -> %d\n", r);
    if (r)
        return 2;
    unsigned char src[4096], dst[4096];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)(i * 13);
    void *d = NULL;
    if (m) {
        r = m(&d, sizeof src);
        if (!r)
            r = cp(d, src, sizeof src, 1);
    } else
        r = up(&d, src, sizeof src);
    printf("%s:upload -> %d\n", argv[1], r);
    if (r)
        return 2;
    printf("plugin:reset -> %d\n", reset());
    r = m ? cp(dst, d, sizeof dst, 2) : down(dst, d, sizeof dst);
    printf("%s:check -> %d\n", argv[1], r);
    return r == 0 && memcmp(src, dst, sizeof src) == 0 ? 0 : 1;
}
