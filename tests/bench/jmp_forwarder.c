/* The floor of any preload, for the paired benchmark (scripts/bench.py, column "jmp only"):
 * cudaGetDevice, cudaSetDevice and cudaDeviceSynchronize, each one instruction, `jmp *real(%rip)`,
 * to the next definition in the global scope. The no-op twin forwards every export through C; this
 * is the least any interposer can be. A measurement tool, never shipped: it forwards nothing else,
 * and ends the process with a message if a target is missing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((visibility("hidden"))) void *jf_real[3];

/* Constructors run after the program's own dependencies (libcudart) are loaded. */
__attribute__((constructor)) static void jf_init(void)
{
    static const char *const names[] = {"cudaGetDevice", "cudaSetDevice", "cudaDeviceSynchronize"};
    for (int i = 0; i < 3; i++)
        if ((jf_real[i] = dlsym(RTLD_NEXT, names[i])) == NULL) {
            fprintf(stderr, "jmp_forwarder: no %s after this library\n", names[i]);
            exit(2);
        }
}

#define JF_STUB(name, slot)                                                                          \
    __asm__(".text\n.globl " #name "\n.type " #name ", @function\n.p2align 4\n" #name ":\n"         \
            "\tjmp *jf_real+" #slot "*8(%rip)\n.size " #name ", .-" #name "\n");
JF_STUB(cudaGetDevice, 0)
JF_STUB(cudaSetDevice, 1)
JF_STUB(cudaDeviceSynchronize, 2)
