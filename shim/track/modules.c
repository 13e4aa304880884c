/* The module table. Reads are lock-free (slots are filled, then published by cg_mod_count with
 * release); additions and removals take one mutex and happen only on first sight of a module or on
 * dlclose. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include "core/guard.h"
#include "track/resources.h"
#include "track/modules.h"

struct cg_module cg_modules[CG_MAX_MODULES];
struct cg_mod_gen_line cg_mod_gen_line = {1};
int cg_mod_count = 1; /* slot 0: unknown */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

const char *cg_module_base(int m)
{
    if (m <= 0 || m >= CG_MAX_MODULES || !cg_modules[m].path[0])
        return "(unknown)";
    return base_name(cg_modules[m].path);
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int cg_classify_path(const char *path)
{
    const char *b = base_name(path);
    /* The driver and its helpers: their internal dlsym lookups must never see a wrapper. */
    if (starts(b, "libcuda.so") || starts(b, "libnvidia-") || starts(b, "libcudadebugger.so"))
        return CG_MOD_DRIVER;
    if (starts(b, "libctxguard"))
        return CG_MOD_SHIM;
    /* glibc < 2.34 names the files behind libc.so.6 etc. libc-2.31.so, ld-2.31.so, libdl-2.31.so, ... */
    if (starts(b, "libc.so") || starts(b, "ld-linux") || starts(b, "ld64.so") || starts(b, "libc-2.") ||
        starts(b, "ld-2."))
        return CG_MOD_SYSTEM;
    /* Libraries that call on a user's behalf (libffi for ctypes; the sanitizer runtimes' interceptors,
     * e.g. around atexit): attribution walks through them to the module behind. */
    static const char *const carriers[] = {"libffi.so", "libstdc++.so", "libgcc_s.so", "libpthread.so",
                                           "libdl.so", "libm.so", "libasan.so", "libtsan.so",
                                           "libubsan.so", "liblsan.so", "libhwasan.so", "libpthread-2.",
                                           "libdl-2.", "libm-2.", NULL};
    for (int i = 0; carriers[i]; i++)
        if (starts(b, carriers[i]))
            return CG_MOD_CARRIER;
    static const char *const nvidia[] = {"libcudart.so", "libcublas", "libcublasLt", "libcufft",
                                         "libcurand", "libcusparse", "libcusolver", "libcudnn",
                                         "libnccl", "libnvrtc", "libnvJitLink", "libnvToolsExt", "libnvtx3interop",
                                         "libnvjpeg", "libnpp", "libcupti", "libnvperf", NULL};
    for (int i = 0; nvidia[i]; i++)
        if (starts(b, nvidia[i]))
            return CG_MOD_NVIDIA;
    return CG_MOD_USER;
}

struct range_query {
    uintptr_t l_addr;
    const char *name;
    uintptr_t lo, hi;
    int found;
};

static int range_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct range_query *q = arg;
    if (info->dlpi_addr != q->l_addr || strcmp(info->dlpi_name ? info->dlpi_name : "", q->name) != 0)
        return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < lo)
            lo = s;
        if (e > hi)
            hi = e;
    }
    q->lo = lo;
    q->hi = hi;
    q->found = 1;
    return 1;
}

static void cache(int m, unsigned int gen)
{
    cg_tls.mod_lo = cg_modules[m].lo;
    unsigned long span = cg_modules[m].hi - cg_modules[m].lo;
    /* rt_armed folds the generation test into the range test above bit 32: a module of 4 GiB or
     * more (none seen) is never cached, and its calls take the slow path. */
    cg_tls.mod_span = span < (1UL << 32) ? span : 0;
    cg_tls.mod_gen = gen;
    cg_tls.mod = m;
    cg_tls.mod_user = cg_modules[m].cls == CG_MOD_USER ? m : 0;
}

static int scan(uintptr_t a)
{
    int n = __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE);
    for (int i = 1; i < n; i++) {
        /* hi first: a freed slot has hi == 0, and lo is only meaningful once hi is published. */
        uintptr_t hi = __atomic_load_n(&cg_modules[i].hi, __ATOMIC_ACQUIRE);
        if (hi != 0 && a - cg_modules[i].lo < hi - cg_modules[i].lo)
            return i;
    }
    return -1;
}

/* What is learnt about a new module before taking mod_lock: the loader's queries take its lock, and a
 * thread inside dlopen (holding that lock) can be running a constructor that calls CUDA and wants
 * mod_lock, so the loader is never asked anything while mod_lock is held. */
struct candidate {
    void *lm;
    uintptr_t l_addr, lo, hi;
    int is_main;
    char l_name[CG_PATH_MAX];
    char path[CG_PATH_MAX];
};

/* The loaded object an address lies in. glibc 2.35's _dl_find_object answers from a sorted table;
 * dladdr1 also searches the object's symbol table for the nearest symbol, which ctxguard does not
 * need: 85,000 instructions for the benchmark's first call on the fakes, more for libraries with many
 * symbols. _dl_find_object is looked up at run time (glibc's own dlsym), so the library still loads
 * on an older glibc, where dladdr1 serves. */
static struct link_map *object_of(uintptr_t a)
{
#ifdef DLFO_STRUCT_HAS_EH_DBASE
    typedef int (*find_fn)(void *, struct dl_find_object *);
    static find_fn find;
    static int looked;
    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) { /* two threads may both look: same answer */
        void *(*ds)(void *, const char *) = (void *(*)(void *, const char *))cg_resolve_real_dlsym();
        __atomic_store_n(&find, ds ? (find_fn)ds(RTLD_DEFAULT, "_dl_find_object") : NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    find_fn f = __atomic_load_n(&find, __ATOMIC_RELAXED);
    struct dl_find_object fo;
    if (f && f((void *)a, &fo) == 0)
        return fo.dlfo_link_map;
#endif /* else, or not found there: the loader's older way */
    Dl_info info;
    struct link_map *lm = NULL;
    return dladdr1((void *)a, &info, (void **)&lm, RTLD_DL_LINKMAP) ? lm : NULL;
}

static int learn(uintptr_t a, struct candidate *c)
{
    struct link_map *lm = object_of(a);
    if (lm == NULL)
        return 0;
    struct range_query q = {.l_addr = lm->l_addr, .name = lm->l_name ? lm->l_name : ""};
    dl_iterate_phdr(range_cb, &q);
    if (!q.found || a < q.lo || a >= q.hi)
        return 0;
    c->lm = lm;
    c->l_addr = lm->l_addr;
    c->lo = q.lo;
    c->hi = q.hi;
    c->is_main = lm->l_prev == NULL;
    snprintf(c->l_name, sizeof c->l_name, "%s", lm->l_name ? lm->l_name : "");
    const char *path = (lm->l_name && lm->l_name[0]) ? lm->l_name : NULL;
    char resolved[PATH_MAX]; /* realpath needs PATH_MAX (_FORTIFY_SOURCE aborts on less) */
    if (c->is_main) {
        /* The executable's l_name is empty; /proc/self/exe names it exactly. */
        ssize_t n = readlink("/proc/self/exe", c->path, sizeof c->path - 1);
        if (n > 0)
            c->path[n] = '\0';
        else
            snprintf(c->path, sizeof c->path, "%s", path ? path : "(main)");
    } else if (path && realpath(path, resolved) != NULL) {
        /* logs carry the canonical absolute path (dlopen'ed as "plugins/x.so" or "a/../b.so") */
        size_t n = strnlen(resolved, sizeof c->path - 1); /* a longer path is cut, not overrun */
        memcpy(c->path, resolved, n);
        c->path[n] = '\0';
    } else {
        snprintf(c->path, sizeof c->path, "%s", path ? path : "(unnamed)");
    }
    return 1;
}

/* Under mod_lock: publish the candidate in a free slot. */
static int insert(const struct candidate *c)
{
    int slot = -1;
    for (int i = 1; i < cg_mod_count; i++)
        if (cg_modules[i].hi == 0) {
            slot = i;
            break;
        }
    if (slot < 0) {
        if (cg_mod_count >= CG_MAX_MODULES)
            return 0;
        slot = cg_mod_count;
    }
    struct cg_module *m = &cg_modules[slot];
    m->link_map = c->lm;
    m->l_addr = c->l_addr;
    memcpy(m->l_name, c->l_name, sizeof m->l_name);
    memcpy(m->path, c->path, sizeof m->path);
    m->is_main = c->is_main;
    m->cls = cg_classify_path(m->path);
    m->watched = -1; /* rules are consulted once configuration is read (rt_enter) */
    m->lo = c->lo;
    __atomic_store_n(&m->hi, c->hi, __ATOMIC_RELEASE);
    if (slot == cg_mod_count)
        __atomic_store_n(&cg_mod_count, slot + 1, __ATOMIC_RELEASE);
    return slot;
}

int cg_module_of_slow(uintptr_t a, unsigned int gen)
{
    int m = scan(a);
    if (m < 0) {
        int saved = cg_own_begin();
        static __thread struct candidate c; /* 2 KiB: kept off the caller's stack */
        int known = learn(a, &c);
        pthread_mutex_lock(&cg_mod_lock);
        m = scan(a);
        if (m < 0)
            m = known ? insert(&c) : 0;
        pthread_mutex_unlock(&cg_mod_lock);
        cg_own_end(saved);
    }
    if (m > 0)
        cache(m, gen);
    return m;
}

int cg_module_peek_slow(uintptr_t a, unsigned int gen)
{
    int m = scan(a);
    if (m >= 0)
        return m;
    /* first sight: learnt as any module is (and cached, once) */
    return cg_module_of_slow(a, gen);
}

struct walk {
    int skip_done;
    int found;
};

static _Unwind_Reason_Code walk_cb(struct _Unwind_Context *ctx, void *arg)
{
    struct walk *w = arg;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (ip == 0)
        return _URC_END_OF_STACK;
    int m = cg_module_of((void *)(ip - 1));
    if (m > 0 && cg_modules[m].cls == CG_MOD_USER) {
        w->found = m;
        return _URC_END_OF_STACK;
    }
    /* libc or the loader before any module: the call began in exit handlers or destructors (the
     * frames further up, down to _start, belong to no one in particular). */
    if (m > 0 && cg_modules[m].cls == CG_MOD_SYSTEM)
        return _URC_END_OF_STACK;
    return _URC_NO_REASON;
}

int cg_attribute_ex(const void *ra, int *no_user)
{
    int m = cg_module_of(ra);
    if (no_user)
        *no_user = 0;
    if (m > 0 && cg_modules[m].cls == CG_MOD_USER)
        return m;
    struct walk w = {0, -1};
    int saved = cg_own_begin();
    _Unwind_Backtrace(walk_cb, &w);
    cg_own_end(saved);
    if (w.found > 0)
        return w.found;
    if (no_user)
        *no_user = 1;
    return m;
}

#define CG_MAX_FREED_LISTENERS 4
static cg_module_freed_fn freed_listeners[CG_MAX_FREED_LISTENERS];

void cg_modules_on_freed(cg_module_freed_fn f)
{
    for (int k = 0; k < CG_MAX_FREED_LISTENERS; k++) {
        cg_module_freed_fn cur = NULL;
        if (__atomic_compare_exchange_n(&freed_listeners[k], &cur, f, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
            cur == f)
            return; /* registered (once, however often init asks) */
    }
}

/* After a dlclose: the objects still loaded are listed first (dl_iterate_phdr takes the loader's
 * lock, never while mod_lock is held), then slots whose object is gone are freed under mod_lock. */
#define CG_MAX_LOADED 2048
struct loaded {
    uintptr_t l_addr;
    const char *name; /* valid while the object stays loaded: compared only, never kept */
};
static __thread struct loaded loaded_now[CG_MAX_LOADED];

struct loaded_list {
    int n, overflow;
};

static int list_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct loaded_list *l = arg;
    if (l->n == CG_MAX_LOADED) {
        l->overflow = 1;
        return 1;
    }
    loaded_now[l->n].l_addr = info->dlpi_addr;
    loaded_now[l->n].name = info->dlpi_name ? info->dlpi_name : "";
    l->n++;
    return 0;
}

void cg_modules_revalidate(void)
{
    int saved = cg_own_begin();
    struct loaded_list l = {0, 0};
    dl_iterate_phdr(list_cb, &l);
    if (l.overflow) { /* cannot tell: keep every slot rather than free a live one */
        cg_own_end(saved);
        return;
    }
    pthread_mutex_lock(&cg_mod_lock);
    int changed = 0;
    for (int i = 1; i < cg_mod_count; i++) {
        struct cg_module *m = &cg_modules[i];
        if (m->hi == 0 || m->is_main)
            continue;
        int alive = 0;
        for (int k = 0; k < l.n && !alive; k++)
            alive = loaded_now[k].l_addr == m->l_addr && strcmp(loaded_now[k].name, m->l_name) == 0;
        if (alive)
            continue;
        __atomic_store_n(&m->hi, 0, __ATOMIC_RELEASE);
        m->lo = 0;
        for (int k = 0; k < CG_MAX_FREED_LISTENERS; k++) {
            cg_module_freed_fn f = __atomic_load_n(&freed_listeners[k], __ATOMIC_ACQUIRE);
            if (f)
                f(i);
        }
        changed = 1;
    }
    if (changed) { /* never 0: a thread's fast_gen of 0 means disarmed (writers hold mod_lock) */
        unsigned int g = cg_mod_gen + 1;
        __atomic_store_n(&cg_mod_gen, g ? g : 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&cg_mod_lock);
    cg_own_end(saved);
}
