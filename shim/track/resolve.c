/* Finding the real functions behind ctxguard's wrappers. Only slow paths live here: each result is
 * cached, so a pass-through call resolves nothing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "core/util.h"
#include "core/diag.h"
#include "core/guard.h"
#include "track/lm_index.h"
#include "track/resolve.h"

void *cg_rt_handed[CG_RT_COUNT];
void *cg_rt_via[CG_HANDED_RUNTIMES][CG_RT_COUNT];
static int handed_mod[CG_HANDED_RUNTIMES]; /* module index of the runtime in each slot; 0: free */
void *cg_drv_real[CG_DRV_COUNT];

static char missing_reported[CG_RT_COUNT + CG_DRV_COUNT];

/* glibc's dlopen, not ctxguard's exported entry: the loader is asked as by the caller it acts for. */
static void *real_dlopen(const char *file, int flags)
{
    if (__atomic_load_n(&cg_real_dlopen, __ATOMIC_ACQUIRE) == NULL)
        cg_resolve_real_dlsym();
    void *(*o)(const char *, int) = __atomic_load_n(&cg_real_dlopen, __ATOMIC_ACQUIRE);
    return o ? o(file, flags) : NULL;
}

/* The definition of `name` visible from module m's own dependency scope, excluding ctxguard. */
static void *scope_lookup(int m, const char *name)
{
    if (m < CG_MOD_FIRST || __atomic_load_n(&cg_mod(m)->hi, __ATOMIC_ACQUIRE) == 0)
        return NULL;
    /* The handle dlopen returned for it, where ctxguard kept one (track/lm_index.h): a lookup in its
     * own scope, whatever the number of objects loaded. Else by name (RTLD_NOLOAD): glibc compares
     * the name with every loaded object's in load order, so this costs more for a module loaded
     * after many others (make bench, "scale"); it is what remains for an object loaded only as a
     * dependency, or by a name that is not a path. */
    void *h = cg_lmx_handle(__atomic_load_n(&cg_mod(m)->link_map, __ATOMIC_RELAXED), cg_loader_unloads()), *p;
    if (h != NULL) {
        p = cg_real_dlsym(h, name);
    } else {
        int is_main = cg_mod(m)->is_main;
        h = is_main ? real_dlopen(NULL, RTLD_LAZY) : real_dlopen(cg_mod(m)->l_name, RTLD_LAZY | RTLD_NOLOAD);
        if (h == NULL)
            return NULL;
        p = cg_real_dlsym(h, name);
        /* The object has a search list of its own now (dlopen gave it one, and dlclose does not take
         * it away): kept, the module's next first calls (one per CUDA function it uses) are looked
         * up through it, not by name again. Stamped while this reference holds the object, so an
         * unload from here on (this dlclose's included) retires it. */
        if (!is_main)
            cg_modules_note_opened(h);
        if (is_main)
            cg_real_dlclose(h); /* the program is never unloaded */
        else
            cg_modules_own_dlclose(h);
    }
    if (p) {
        int pm = cg_module_of(p);
        if (pm > 0 && cg_mod(pm)->cls == CG_MOD_SHIM)
            p = NULL; /* the executable's scope is the global one, which starts with ctxguard */
    }
    return p;
}

static void *find(int m, const char *name, void *handed)
{
    void *p = scope_lookup(m, name);
    if (p == NULL)
        p = cg_real_dlsym(RTLD_NEXT, name);
    if (p == NULL)
        p = handed;
    return p;
}

static void *libcuda_handle(void);

/* Any runtime already loaded in the process that defines `name`: the last resort for a call whose
 * return address is not in its true caller (a tail call lands here from the caller's caller).
 * dl_iterate_phdr holds the loader's list lock while it runs the callback, and dlopen takes the
 * loader's other lock and then that one: asking the loader from inside the callback would be an ABBA
 * deadlock with any thread loading a library. So the callback only copies the runtimes' paths; they
 * are opened (NOLOAD) after the walk. */
#define CG_MAX_RUNTIMES 4
#define CG_RUNTIME_PATH 512 /* a longer path is skipped: 2 KiB of stack at most, on a rare path */
struct runtime_list {
    int n;
    char path[CG_MAX_RUNTIMES][CG_RUNTIME_PATH];
};

static int runtime_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct runtime_list *l = arg;
    const char *n = info->dlpi_name, *b = n ? cg_basename(n) : NULL;
    if (b == NULL || strncmp(b, "libcudart.so", 12) != 0 || strlen(n) >= CG_RUNTIME_PATH)
        return 0;
    memcpy(l->path[l->n], n, strlen(n) + 1);
    return ++l->n == CG_MAX_RUNTIMES;
}

static void *any_loaded_runtime(const char *name)
{
    struct runtime_list l;
    l.n = 0;
    dl_iterate_phdr(runtime_cb, &l);
    void *found = NULL;
    for (int i = 0; i < l.n && found == NULL; i++) {
        void *h = real_dlopen(l.path[i], RTLD_LAZY | RTLD_NOLOAD);
        if (h == NULL)
            continue;
        found = cg_real_dlsym(h, name);
        cg_modules_own_dlclose(h);
    }
    return found;
}

static void report_missing(int slot, const char *name, int m)
{
    if (__atomic_exchange_n(&missing_reported[slot], 1, __ATOMIC_ACQ_REL))
        return;
    cg_log_msg("cannot find the real %s for %s (looked in its dependency scope, the global scope and "
               "pointers handed out by lookups); its calls return error 302 (symbol not found)",
               name, m > 0 ? cg_module_path(m) : "an unknown module");
}

/* Resolution asks the loader (dlopen NOLOAD, dlsym), which takes the loader's lock; a thread inside
 * dlopen holds that lock while running constructors that may call CUDA. So no ctxguard lock is held
 * while the loader is asked: lookups are idempotent, done unlocked, and published by compare-and-swap
 * (the first answer wins, later identical ones are dropped). */
/* A row of cached pointers cached before the last unload is forgotten whole, then stamped with the
 * current epoch (cg_rt_cache_current): clearing first, so a reader that sees the new stamp finds no
 * pointer from before. */
static void refresh_row(void **row, int n, unsigned int *stamp, unsigned int epoch)
{
    if (__atomic_load_n(stamp, __ATOMIC_ACQUIRE) == epoch)
        return;
    for (int i = 0; i < n; i++)
        __atomic_store_n(&row[i], NULL, __ATOMIC_RELEASE);
    __atomic_store_n(stamp, epoch, __ATOMIC_RELEASE);
}

unsigned int cg_rt_via_epoch[CG_HANDED_RUNTIMES];
static unsigned int handed_epoch;

/* Keeps fn in *slot unless an unload began meanwhile (the epoch moved or a dlclose is under way):
 * looked up before it, fn may point into what it unloaded. Returns what *slot holds for the caller
 * to use: the first answer stored, or fn. */
static void *keep(void **slot, void *fn, unsigned int epoch)
{
    void *expected = NULL;
    if (!__atomic_compare_exchange_n(slot, &expected, fn, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return expected;
    if (cg_modules_closing() || __atomic_load_n(&cg_rt_epoch, __ATOMIC_ACQUIRE) != epoch) {
        expected = fn;
        __atomic_compare_exchange_n(slot, &expected, NULL, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    return fn;
}

void *cg_rt_resolve(int m, int id)
{
    /* while a dlclose is under way the cache may point into an unloaded runtime: looked up afresh,
     * and the answer not kept (the slot may hold an unloaded object's record) */
    int closing = cg_modules_closing();
    unsigned int epoch = __atomic_load_n(&cg_rt_epoch, __ATOMIC_ACQUIRE);
    void *fn = NULL;
    if (!closing) {
        refresh_row(cg_mod(m)->rt_real, CG_RT_COUNT, &cg_mod(m)->rt_epoch, epoch);
        refresh_row(cg_rt_handed, CG_RT_COUNT, &handed_epoch, epoch);
        fn = __atomic_load_n(&cg_mod(m)->rt_real[id], __ATOMIC_ACQUIRE);
    }
    if (fn)
        return fn;
    int saved = cg_own_begin();
    fn = find(m, cg_rt_names[id], closing ? NULL : __atomic_load_n(&cg_rt_handed[id], __ATOMIC_ACQUIRE));
    if (fn == NULL)
        fn = any_loaded_runtime(cg_rt_names[id]);
    if (fn && cg_is_own_code(fn))
        fn = NULL;
    /* Cache only real answers. Slot 0 (code in no module: JIT code calls in a loop) is cached too,
     * and forgotten at every dlclose (cg_modules_revalidate), since what it found may be unloaded:
     * looking it up on each call cost a dlopen a call (under TSan, 30 s for 20,000 calls). */
    if (fn && m >= 0 && !closing)
        fn = keep(&cg_mod(m)->rt_real[id], fn, epoch);
    cg_own_end(saved);
    if (fn == NULL)
        report_missing(id, cg_rt_names[id], m);
    return fn;
}

void *cg_drv_resolve(int id, const void *ra)
{
    void *fn = __atomic_load_n(&cg_drv_real[id], __ATOMIC_ACQUIRE);
    if (fn)
        return fn;
    int saved = cg_own_begin();
    int m = cg_module_of(ra);
    fn = find(m, cg_drv_info[id].name, NULL);
    if (fn == NULL) {
        /* The driver is usually dlopen'ed RTLD_LOCAL by a runtime: ask the loaded libcuda. */
        void *h = libcuda_handle();
        if (h) {
            fn = cg_real_dlsym(h, cg_drv_info[id].name);
            cg_modules_own_dlclose(h);
        }
    }
    if (fn && cg_is_own_code(fn))
        fn = NULL;
    if (fn) {
        void *expected = NULL;
        if (!__atomic_compare_exchange_n(&cg_drv_real[id], &expected, fn, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            fn = expected;
    }
    cg_own_end(saved);
    if (fn == NULL)
        report_missing(CG_RT_COUNT + id, cg_drv_info[id].name, m);
    return fn;
}

void *cg_resolve_plain(int m, const char *name)
{
    int saved = cg_own_begin();
    void *p = find(m, name, NULL);
    cg_own_end(saved);
    return p;
}

void cg_resolve_forget_module(int m)
{
    for (int i = 0; i < CG_RT_COUNT; i++)
        __atomic_store_n(&cg_mod(m)->rt_real[i], NULL, __ATOMIC_RELEASE);
    /* an unloaded runtime's slot is free again; a caller still holding its wrappers gets error 302
     * (symbol not found) instead of a jump into unmapped code */
    for (int k = 0; k < CG_HANDED_RUNTIMES; k++)
        if (__atomic_load_n(&handed_mod[k], __ATOMIC_ACQUIRE) == m) {
            for (int i = 0; i < CG_RT_COUNT; i++)
                __atomic_store_n(&cg_rt_via[k][i], NULL, __ATOMIC_RELEASE);
            __atomic_store_n(&handed_mod[k], 0, __ATOMIC_RELEASE);
        }
}

void *cg_rt_via_resolve(int k, int id)
{
    int closing = cg_modules_closing();
    unsigned int epoch = __atomic_load_n(&cg_rt_epoch, __ATOMIC_ACQUIRE);
    if (!closing)
        refresh_row(cg_rt_via[k], CG_RT_COUNT, &cg_rt_via_epoch[k], epoch);
    int saved = cg_own_begin();
    void *fn = scope_lookup(__atomic_load_n(&handed_mod[k], __ATOMIC_ACQUIRE), cg_rt_names[id]);
    if (fn && cg_is_own_code(fn))
        fn = NULL;
    if (fn && !closing) /* not kept while a dlclose is under way (cg_rt_resolve) */
        fn = keep(&cg_rt_via[k][id], fn, epoch);
    cg_own_end(saved);
    if (fn == NULL)
        report_missing(id, cg_rt_names[id], __atomic_load_n(&handed_mod[k], __ATOMIC_ACQUIRE));
    return fn;
}

void *cg_rt_via_plain(int k, const char *name)
{
    int saved = cg_own_begin();
    void *p = scope_lookup(__atomic_load_n(&handed_mod[k], __ATOMIC_ACQUIRE), name);
    cg_own_end(saved);
    return p;
}

/* The slot of the runtime (the module) defining `real`, taken if new; -1 when none is left or the
 * pointer lies in no known module. */
static int handed_slot(void *real)
{
    int m = cg_module_of(real);
    cg_tls.fast_gen = 0; /* the thread's cached module is now the runtime: re-armed by its next call */
    if (m <= 0)
        return -1;
    for (int k = 0; k < CG_HANDED_RUNTIMES; k++)
        if (__atomic_load_n(&handed_mod[k], __ATOMIC_ACQUIRE) == m)
            return k;
    int k = -1;
    pthread_mutex_lock(&cg_resolve_lock);
    for (int i = 0; i < CG_HANDED_RUNTIMES && k < 0; i++)
        if (handed_mod[i] == m)
            k = i;
    for (int i = 0; i < CG_HANDED_RUNTIMES && k < 0; i++)
        if (handed_mod[i] == 0) {
            k = i;
            __atomic_store_n(&handed_mod[i], m, __ATOMIC_RELEASE);
        }
    pthread_mutex_unlock(&cg_resolve_lock);
    return k;
}

int cg_record_driver(int id, void *real)
{
    if (real == NULL || id < 0 || cg_is_own_code(real))
        return 0;
    void *expected = NULL;
    if (__atomic_compare_exchange_n(&cg_drv_real[id], &expected, real, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
        expected == real)
        return 1;
    /* A second, different implementation of the same variant: leave it alone rather than route its
     * callers to the first one. */
    if (cg_log_all)
        cg_log_msg("%s: a second implementation at %p is passed through unguarded", cg_drv_info[id].name, real);
    return 0;
}

int cg_record_runtime(int id, void *real)
{
    if (real == NULL || id < 0 || cg_is_own_code(real))
        return CG_RECORD_NOTHING;
    void *expected = NULL;
    __atomic_compare_exchange_n(&cg_rt_handed[id], &expected, real, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    /* One wrapper per (runtime, function): a wrapper shared by all runtimes can only guess which
     * runtime its caller meant (it once answered runtime 2's calls from runtime 1). */
    int k = handed_slot(real);
    if (k < 0) {
        static int told;
        if (!__atomic_exchange_n(&told, 1, __ATOMIC_ACQ_REL))
            cg_log_msg("%s at %p: more than %d runtimes reached through dlsym, or one outside any loaded "
                       "module: its functions are passed through unguarded", cg_rt_names[id], real, CG_HANDED_RUNTIMES);
        return CG_RECORD_NOTHING;
    }
    __atomic_store_n(&cg_rt_via[k][id], real, __ATOMIC_RELEASE);
    return k;
}

static struct cg_driver_queries queries;
static int queries_ready;

static void *libcuda_handle(void)
{
    void *h = real_dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (h)
        return h;
    /* A driver reached under another name: find its file from a pointer we already hold. */
    for (int i = 0; i < CG_DRV_COUNT; i++) {
        void *p = __atomic_load_n(&cg_drv_real[i], __ATOMIC_ACQUIRE);
        Dl_info info;
        if (p && dladdr(p, &info) && info.dli_fname)
            return real_dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    }
    return NULL;
}

const struct cg_driver_queries *cg_driver_queries(void)
{
    if (CG_LIKELY(__atomic_load_n(&queries_ready, __ATOMIC_ACQUIRE)))
        return &queries;
    int saved = cg_own_begin();
    struct cg_driver_queries q = {0};
    void *h = libcuda_handle(); /* asked unlocked (see cg_rt_resolve); kept open: it is loaded anyway */
    if (h) {
        q.ctx_get_current = (CUresult(*)(CUcontext *))cg_real_dlsym(h, "cuCtxGetCurrent");
        q.ctx_get_device = (CUresult(*)(CUdevice *))cg_real_dlsym(h, "cuCtxGetDevice");
        q.ctx_synchronize = (CUresult(*)(void))cg_real_dlsym(h, "cuCtxSynchronize");
        q.pointer_get_attribute = (CUresult(*)(void *, int, uintptr_t))cg_real_dlsym(h, "cuPointerGetAttribute");
        pthread_mutex_lock(&cg_resolve_lock);
        if (!queries_ready) {
            queries = q;
            __atomic_store_n(&queries_ready, 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&cg_resolve_lock);
    }
    cg_own_end(saved);
    return __atomic_load_n(&queries_ready, __ATOMIC_ACQUIRE) ? &queries : NULL;
}
