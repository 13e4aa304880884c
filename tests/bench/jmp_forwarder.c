/* The floor of any preload, for the paired benchmark (scripts/bench.py, column "jmp only"):
 * cudaGetDevice, cudaSetDevice and cudaDeviceSynchronize, each one instruction, `jmp *real(%rip)`,
 * to the next definition. The no-op twin forwards every export through C; this is the least any
 * interposer can be. A measurement tool, never shipped: it forwards nothing else.
 *
 * Where the next definition is found. LD_PRELOAD reaches every process the benchmark starts, not only
 * the CUDA program: on the H200 bench.py ran `taskset -c 5 bench_calls …`, and taskset itself, which
 * has no libcudart, got this library too. The first version looked the targets up in a constructor
 * and ended the process when one was missing ("jmp_forwarder: no cudaGetDevice after this library"),
 * so taskset died before it ran the benchmark. And a runtime a program loads later (a plugin's
 * libcudart in its own RTLD_LOCAL scope) is not there when constructors run either. So: the
 * constructor takes what the global scope already has (the common case: one jmp from the first call
 * on); a slot it cannot fill points at a C resolver of the same signature, which looks again at the
 * first call, in the global scope and then in each loaded object's own scope, and returns
 * cudaErrorSymbolNotFound (with one message) if there is still no definition. Nothing ever jumps
 * through NULL, and a process that never calls CUDA is never touched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#define JF_SYMBOL_NOT_FOUND 500 /* cudaErrorSymbolNotFound */

__attribute__((visibility("hidden"))) void *jf_real[3];
static const char *const jf_names[] = {"cudaGetDevice", "cudaSetDevice", "cudaDeviceSynchronize"};

/* This object's own definitions: a lookup that comes back to them has found nothing. */
int cudaGetDevice(int *device);
int cudaSetDevice(int device);
int cudaDeviceSynchronize(void);

static int is_self(void *f)
{
    return f == (void *)cudaGetDevice || f == (void *)cudaSetDevice || f == (void *)cudaDeviceSynchronize;
}

struct search {
    const char *name;
    void *found;
};

/* One loaded object: its own dependency scope (how a plugin loaded RTLD_LOCAL reaches its runtime).
 * The main program (empty name) is skipped: its scope is the global one, with this library in it. */
static int search_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct search *s = data;
    if (s->found || info->dlpi_name == NULL || info->dlpi_name[0] == '\0' || strstr(info->dlpi_name, "linux-vdso"))
        return s->found != NULL;
    void *h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        return 0;
    void *f = dlsym(h, s->name);
    dlclose(h);
    if (f && !is_self(f))
        s->found = f;
    return s->found != NULL;
}

static void *find(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (f && !is_self(f))
        return f;
    struct search s = {name, NULL};
    dl_iterate_phdr(search_object, &s);
    return s.found;
}

/* The resolver behind a slot the constructor could not fill. */
static void *resolve(int slot)
{
    void *f = find(jf_names[slot]);
    if (f == NULL) {
        static int said;
        if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
            fprintf(stderr, "jmp_forwarder: no definition of %s after this library (is the CUDA runtime "
                            "loaded?); returning cudaErrorSymbolNotFound\n", jf_names[slot]);
        return NULL;
    }
    return f;
}

static int late_get_device(int *device);
static int late_set_device(int device);
static int late_sync(void);

static int late_get_device(int *device)
{
    int (*f)(int *) = (int (*)(int *))resolve(0);
    if (f == NULL)
        return JF_SYMBOL_NOT_FOUND;
    __atomic_store_n(&jf_real[0], (void *)f, __ATOMIC_RELEASE);
    return f(device);
}

static int late_set_device(int device)
{
    int (*f)(int) = (int (*)(int))resolve(1);
    if (f == NULL)
        return JF_SYMBOL_NOT_FOUND;
    __atomic_store_n(&jf_real[1], (void *)f, __ATOMIC_RELEASE);
    return f(device);
}

static int late_sync(void)
{
    int (*f)(void) = (int (*)(void))resolve(2);
    if (f == NULL)
        return JF_SYMBOL_NOT_FOUND;
    __atomic_store_n(&jf_real[2], (void *)f, __ATOMIC_RELEASE);
    return f();
}

/* Constructors run after the program's own dependencies are loaded: a runtime the program links is
 * found here, and every call is then one jmp. */
__attribute__((constructor)) static void jf_init(void)
{
    void *const late[] = {(void *)late_get_device, (void *)late_set_device, (void *)late_sync};
    for (int i = 0; i < 3; i++) {
        void *f = dlsym(RTLD_NEXT, jf_names[i]);
        jf_real[i] = f && !is_self(f) ? f : late[i];
    }
}

#define JF_STUB(name, slot)                                                                          \
    __asm__(".text\n.globl " #name "\n.type " #name ", @function\n.p2align 4\n" #name ":\n"         \
            "\tjmp *jf_real+" #slot "*8(%rip)\n.size " #name ", .-" #name "\n");
JF_STUB(cudaGetDevice, 0)
JF_STUB(cudaSetDevice, 1)
JF_STUB(cudaDeviceSynchronize, 2)
