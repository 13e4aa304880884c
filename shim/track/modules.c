/* The module table. Reads are lock-free (slots are filled, then published by cg_mod_count with
 * release; chunks are published before any slot in them); additions and removals take one mutex and
 * happen only on first sight of a module or on dlclose. An address is found through the loader's
 * lock-free _dl_find_object and a hash from link map to slot, so neither a lookup nor a first sight
 * walks the table: their cost does not grow with the number of modules loaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unwind.h>

#include "core/guard.h"
#include "core/libdl.h"
#include "track/resources.h"
#include "core/util.h"
#include "track/lm_index.h"
#include "track/modules.h"
#include "track/names.h"

static struct cg_mod_chunk chunk0; /* slots 0..255 need no allocation */
struct cg_mod_chunk *cg_mod_chunks[CG_MOD_CHUNKS] = {&chunk0};
struct cg_mod_gen_line cg_mod_gen_line = {1};
int cg_mod_count = CG_MOD_FIRST; /* slot 0: unknown; 1, 2: anonymous and unnamed users */
unsigned int cg_rt_epoch;
static unsigned long long last_subs; /* dl_iterate_phdr's count of unloads at the last revalidation */
static int free_head; /* first free slot (0: none); under mod_lock */
static int full_reported;

/* The two parties without a module are users like any module (they make a context shared). */
__attribute__((constructor)) static void pseudo_modules(void)
{
    chunk0.rec[CG_MOD_ANON].path = "(anonymous)";
    chunk0.rec[CG_MOD_UNNAMED].path = "(unnamed)";
    chunk0.rec[CG_MOD_ANON].cls = chunk0.rec[CG_MOD_UNNAMED].cls = CG_MOD_USER;
}

const char *cg_module_path(int m)
{
    if (m <= 0 || m >= __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE))
        return "(unknown)";
    const char *p = __atomic_load_n(&cg_mod(m)->path, __ATOMIC_ACQUIRE);
    return p ? p : "(unknown)";
}

const char *cg_module_base(int m)
{
    return cg_basename(cg_module_path(m));
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int cg_classify_path(const char *path)
{
    const char *b = cg_basename(path);
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
    struct cg_module *r = cg_mod(m);
    cg_tls.mod_lo = r->lo;
    unsigned long span = r->hi - r->lo;
    /* rt_armed folds the generation test into the range test above bit 32: a module of 4 GiB or
     * more (none seen) is never cached, and its calls take the slow path. */
    cg_tls.mod_span = span < (1UL << 32) ? span : 0;
    cg_tls.mod_gen = gen;
    cg_tls.mod = m;
    /* The fast path's table belongs to the module it was armed for: a thread that now caches another
     * (a call from a carrier, a frame of a stack walk) re-arms through the slow path, which arms only
     * for a user module. */
    cg_tls.fast_gen = 0;
    cg_tls.mod_user = cg_mod(m)->cls == CG_MOD_USER ? m : 0; /* the module itself: one load for both */
}

static int contains(int m, uintptr_t a)
{
    /* hi first: a freed slot has hi == 0, and lo is only meaningful once hi is published. */
    struct cg_module *r = cg_mod(m);
    uintptr_t hi = __atomic_load_n(&r->hi, __ATOMIC_ACQUIRE);
    return hi != 0 && a - r->lo < hi - r->lo;
}

/* Every slot in turn: only where the loader's _dl_find_object is missing (glibc before 2.35). */
static int scan(uintptr_t a)
{
    int n = __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE);
    for (int i = CG_MOD_FIRST; i < n; i++)
        if (contains(i, a))
            return i;
    return -1;
}

/* A slot from the link map index (track/lm_index.c), believed only while the slot still holds that
 * link map and the address: an entry may be removed and its slot reused under a reader. */
static int lm_get(const void *lm, uintptr_t a)
{
    int m = cg_lmx_slot(lm);
    return m > 0 && contains(m, a) && __atomic_load_n(&cg_mod(m)->link_map, __ATOMIC_RELAXED) == lm ? m : -1;
}

/* What is learnt about a new module before taking mod_lock: the loader's queries take its lock, and a
 * thread inside dlopen (holding that lock) can be running a constructor that calls CUDA and wants
 * mod_lock, so the loader is never asked anything while mod_lock is held. The names are copied
 * (interned) under mod_lock; until then they point into the loader's strings and `path`, both valid
 * for the duration of the call. */
struct candidate {
    void *lm;
    uintptr_t l_addr, lo, hi;
    int is_main;
    const char *l_name;
    char *path; /* PATH_MAX bytes, the caller's */
};

/* glibc 2.35's _dl_find_object answers from a sorted table without taking the loader's lock: the
 * object an address lies in, its link map and its mapping. It is looked up at run time (glibc's own
 * dlsym), so the library still loads on an older glibc, where dladdr1 and dl_iterate_phdr serve. */
#ifdef DLFO_STRUCT_HAS_EH_DBASE
typedef int (*find_fn)(void *, struct dl_find_object *);
static find_fn find_object(void)
{
    static find_fn find;
    static int looked;
    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) { /* two threads may both look: same answer */
        void *(*ds)(void *, const char *) = (void *(*)(void *, const char *))cg_resolve_real_dlsym();
        __atomic_store_n(&find, ds ? (find_fn)ds(RTLD_DEFAULT, "_dl_find_object") : NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&find, __ATOMIC_RELAXED);
}
#endif

/* The loaded object `a` lies in: its link map and mapping, from _dl_find_object; 0 if it has none
 * (or there is no _dl_find_object). */
static int find_fast(uintptr_t a, void **lm, uintptr_t *lo, uintptr_t *hi)
{
#ifdef DLFO_STRUCT_HAS_EH_DBASE
    find_fn f = find_object();
    struct dl_find_object fo;
    if (f && f((void *)a, &fo) == 0 && fo.dlfo_link_map) {
        *lm = fo.dlfo_link_map;
        *lo = (uintptr_t)fo.dlfo_map_start;
        *hi = (uintptr_t)fo.dlfo_map_end;
        return 1;
    }
#endif
    (void)a, (void)lm, (void)lo, (void)hi;
    return 0;
}

static int have_find_fast(void)
{
#ifdef DLFO_STRUCT_HAS_EH_DBASE
    return find_object() != NULL;
#else
    return 0;
#endif
}

/* The file the executable was mapped from, from the mapping that holds `a` in /proc/self/maps: a
 * program started through the loader (ld.so ./prog) has the loader as /proc/self/exe, and its link
 * map's name as typed, relative to a working directory that may have changed since. */
static int mapped_file(uintptr_t a, char *out, size_t cap)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    size_t have = 0;
    int found = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            char *end;
            unsigned long lo = strtoul(line, &end, 16), hi = *end == '-' ? strtoul(end + 1, &end, 16) : 0;
            char *path = strchr(line, '/');
            if (a >= lo && a < hi && path && strlen(path) < cap) {
                memcpy(out, path, strlen(path) + 1);
                found = 1;
                break;
            }
            line = nl + 1;
        }
        if (found)
            break;
        have = strlen(line); /* the unfinished line moves to the front */
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            have = 0; /* a line longer than the buffer: not one of ours */
    }
    close(fd);
    return found;
}

static int learn(uintptr_t a, struct candidate *c)
{
    void *flm;
    uintptr_t lo, hi;
    struct link_map *lm;
    if (find_fast(a, &flm, &lo, &hi))
        lm = flm;
    else { /* the loader's older way (also where _dl_find_object finds nothing) */
        Dl_info info;
        lm = NULL;
        if (!dladdr1((void *)a, &info, (void **)&lm, RTLD_DL_LINKMAP) || lm == NULL)
            return 0;
        struct range_query q = {.l_addr = lm->l_addr, .name = lm->l_name ? lm->l_name : ""};
        dl_iterate_phdr(range_cb, &q);
        if (!q.found)
            return 0;
        lo = q.lo;
        hi = q.hi;
    }
    if (a < lo || a >= hi)
        return 0;
    c->lm = lm;
    c->l_addr = lm->l_addr;
    c->lo = lo;
    c->hi = hi;
    c->is_main = lm->l_prev == NULL;
    c->l_name = lm->l_name ? lm->l_name : "";
    const char *path = c->l_name[0] ? c->l_name : NULL;
    char resolved[PATH_MAX]; /* realpath needs PATH_MAX (_FORTIFY_SOURCE aborts on less) */
    if (c->is_main) {
        /* The executable: the first link map, whose name is empty. Started by the kernel, it has an
         * interpreter (AT_BASE is the loader's address) and /proc/self/exe names it exactly. Started
         * through the loader (ld.so ./prog), the loader is the kernel's program (no AT_BASE) and
         * /proc/self/exe, and the file mapped at the program's address names it. */
        ssize_t n = path || getauxval(AT_BASE) == 0 ? -1 : readlink("/proc/self/exe", c->path, PATH_MAX - 1);
        if (n > 0)
            c->path[n] = '\0';
        else if (!mapped_file(a, c->path, PATH_MAX))
            snprintf(c->path, PATH_MAX, "%s", path ? path : "(main)");
    } else if (path && realpath(path, resolved) != NULL) {
        /* logs carry the canonical absolute path (dlopen'ed as "plugins/x.so" or "a/../b.so") */
        memcpy(c->path, resolved, strlen(resolved) + 1);
    } else {
        snprintf(c->path, PATH_MAX, "%s", path ? path : "(unnamed)");
    }
    return 1;
}

/* Under mod_lock: a slot for a new module: the last one freed, else the next never used (a new chunk
 * when needed). 0 when the table is full or out of memory. */
static int take_slot(void)
{
    if (free_head) {
        int m = free_head;
        free_head = cg_mod(m)->next_free;
        return m;
    }
    int m = cg_mod_count;
    if (m >= CG_MOD_CAPACITY)
        return 0;
    int c = m >> CG_MOD_CHUNK_BITS;
    if (cg_mod_chunks[c] == NULL) {
        void *p = mmap(NULL, sizeof(struct cg_mod_chunk), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 0;
        __atomic_store_n(&cg_mod_chunks[c], (struct cg_mod_chunk *)p, __ATOMIC_RELEASE);
    }
    return m;
}

/* Under mod_lock: publish the candidate in a free slot. */
static int insert(const struct candidate *c)
{
    const char *path = cg_intern(c->path), *l_name = cg_intern(c->l_name);
    int slot = path && l_name ? take_slot() : 0;
    if (slot == 0) {
        if (!full_reported) {
            __atomic_store_n(&full_reported, 1, __ATOMIC_RELAXED);
            /* no lower layer logs; stderr directly, once: the decision it changes is named */
            static const char msg[] = "ctxguard: the module table is full or out of memory: modules seen from "
                                      "now on are \"(unknown)\" and no rule naming them matches\n";
            if (write(2, msg, sizeof msg - 1) < 0)
                __atomic_store_n(&full_reported, 2, __ATOMIC_RELAXED);
        }
        return 0;
    }
    struct cg_module *m = cg_mod(slot);
    __atomic_store_n(&m->link_map, c->lm, __ATOMIC_RELAXED);
    m->l_addr = c->l_addr;
    m->l_name = l_name;
    __atomic_store_n(&m->path, path, __ATOMIC_RELEASE);
    m->is_main = c->is_main;
    /* the program is always a party, whatever its file is called */
    m->cls = c->is_main ? CG_MOD_USER : cg_classify_path(path);
    m->is_cudart = m->cls == CG_MOD_NVIDIA && starts(cg_basename(path), "libcudart.so");
    m->watched = -1; /* rules are consulted once configuration is read (rt_enter) */
    for (int i = 0; i < CG_RT_COUNT; i++)
        __atomic_store_n(&m->rt_real[i], NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&m->rt_epoch, __atomic_load_n(&cg_rt_epoch, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
    __atomic_store_n(cg_mod_uses(slot), 0, __ATOMIC_RELAXED);
    __atomic_store_n(cg_mod_victims(slot), 0, __ATOMIC_RELAXED);
    m->lo = c->lo;
    __atomic_store_n(&m->hi, c->hi, __ATOMIC_RELEASE);
    if (cg_lmx_set_slot(c->lm, slot) != 0 && !full_reported) {
        __atomic_store_n(&full_reported, 1, __ATOMIC_RELAXED);
        static const char msg[] = "ctxguard: out of memory for the module index: lookups scan the table\n";
        if (write(2, msg, sizeof msg - 1) < 0)
            __atomic_store_n(&full_reported, 2, __ATOMIC_RELAXED);
    }
    if (slot == cg_mod_count)
        __atomic_store_n(&cg_mod_count, slot + 1, __ATOMIC_RELEASE);
    return slot;
}

static int lookup(uintptr_t a, void *lm)
{
    int m = lm ? lm_get(lm, a) : -1;
    /* Every slot: without _dl_find_object, when the index could not be had, or for an address the
     * loader's table does not know while the table is small (so code in no module, which is looked
     * up on each of its calls, does not scan ten thousand slots each time). */
    if (m < 0 && (!have_find_fast() || __atomic_load_n(&full_reported, __ATOMIC_RELAXED) ||
                  (lm == NULL && __atomic_load_n(&cg_mod_count, __ATOMIC_RELAXED) <= 64)))
        m = scan(a);
    return m;
}

int cg_module_of_slow(uintptr_t a, unsigned int gen)
{
    void *lm = NULL;
    uintptr_t lo, hi;
    find_fast(a, &lm, &lo, &hi);
    int m = lookup(a, lm);
    if (m < 0) {
        int saved = cg_own_begin();
        char path[PATH_MAX];
        struct candidate c = {.path = path};
        int known = learn(a, &c);
        pthread_mutex_lock(&cg_mod_lock);
        m = lookup(a, known ? c.lm : NULL);
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
    int found;
    int system; /* the walk stopped at libc or the loader */
};

static _Unwind_Reason_Code walk_cb(struct _Unwind_Context *ctx, void *arg)
{
    struct walk *w = arg;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (ip == 0)
        return _URC_END_OF_STACK;
    int m = cg_module_of((void *)(ip - 1));
    if (m > 0 && cg_mod(m)->cls == CG_MOD_USER) {
        w->found = m;
        return _URC_END_OF_STACK;
    }
    /* libc or the loader before any module: the call began in exit handlers or destructors (the
     * frames further up, down to _start, belong to no one in particular). */
    if (m > 0 && cg_mod(m)->cls == CG_MOD_SYSTEM) {
        w->system = 1;
        return _URC_END_OF_STACK;
    }
    return _URC_NO_REASON;
}

static struct walk walk_stack(void)
{
    struct walk w = {-1, 0};
    int saved = cg_own_begin();
    _Unwind_Backtrace(walk_cb, &w);
    cg_own_end(saved);
    return w;
}

int cg_attribute_ex(const void *ra, int *no_user)
{
    int m = cg_module_of(ra);
    if (no_user)
        *no_user = 0;
    if (m > 0 && cg_mod(m)->cls == CG_MOD_USER)
        return m;
    struct walk w = walk_stack();
    if (w.found > 0)
        return w.found;
    if (no_user)
        *no_user = 1;
    return m;
}

int cg_party_of(const void *ra)
{
    int m = cg_module_of(ra);
    if (m > 0 && cg_mod(m)->cls == CG_MOD_USER)
        return m;
    if (m == 0)
        return CG_MOD_ANON; /* code in no module: a user of its own (its frames are not walkable) */
    struct walk w = walk_stack();
    if (w.found > 0)
        return w.found;
    return w.system ? -1 : CG_MOD_UNNAMED;
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

/* After a dlclose: the objects still loaded are listed (dl_iterate_phdr takes the loader's lock,
 * never while mod_lock is held) into memory mapped for the occasion, sorted, and each slot is looked
 * up in the list; slots whose object is gone are freed under mod_lock. */
struct loaded {
    uintptr_t l_addr;
    uint64_t name_hash; /* not the loader's string: once dl_iterate_phdr returns, another thread's
                         * dlclose may free it (a use after free under ASan, test_stress
                         * handles_during_dlclose); with the load bias, a hash tells objects apart */
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct loaded_list {
    struct loaded *v;
    size_t n, cap;
    int overflow;
    unsigned long long subs; /* the loader's count of unloads so far */
};

static int list_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct loaded_list *l = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        l->subs = info->dlpi_subs;
    else
        l->subs = ~0ull; /* an old loader without the counts: any dlclose may have unloaded */
    if (l->n == l->cap) {
        l->overflow = 1;
        return 1;
    }
    l->v[l->n].l_addr = info->dlpi_addr;
    l->v[l->n].name_hash = name_hash(info->dlpi_name ? info->dlpi_name : "");
    l->n++;
    return 0;
}

static int by_addr(const void *x, const void *y)
{
    uintptr_t a = ((const struct loaded *)x)->l_addr, b = ((const struct loaded *)y)->l_addr;
    return a < b ? -1 : a > b;
}

static int still_loaded(const void *ctx, uintptr_t l_addr, const char *name)
{
    const struct loaded_list *l = ctx;
    size_t lo = 0, hi = l->n;
    while (lo < hi) { /* the first entry with this load bias */
        size_t mid = (lo + hi) / 2;
        if (l->v[mid].l_addr < l_addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t h = name_hash(name);
    for (; lo < l->n && l->v[lo].l_addr == l_addr; lo++)
        if (l->v[lo].name_hash == h)
            return 1;
    return 0;
}

static void bump_gen(void)
{
    pthread_mutex_lock(&cg_mod_lock);
    unsigned int g = cg_mod_gen + 1; /* never 0: a thread's fast_gen of 0 means disarmed */
    __atomic_store_n(&cg_mod_gen, g ? g : 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&cg_mod_lock);
}

void cg_modules_closing_begin(void)
{
    cg_lmx_closing_begin(); /* first: a thread that sees the new generation sees the dlclose too */
    bump_gen();
}

void cg_modules_closing_end(void)
{
    bump_gen(); /* what was cached meanwhile (modules, not fast paths) is dropped */
    cg_lmx_closing_end();
}

void cg_modules_own_dlclose(void *h)
{
    cg_modules_closing_begin();
    unsigned long long before = cg_loader_unloads();
    int r = cg_real_dlclose(h);
    unsigned long long after = cg_loader_unloads();
    if (r == 0 && (after != before || after == CG_UNLOADS_UNKNOWN)) {
        if (cg_ready)
            cg_modules_revalidate();
        else
            cg_modules_forget_opened();
    }
    cg_modules_closing_end();
}

void cg_modules_forget_opened(void)
{
    pthread_mutex_lock(&cg_mod_lock);
    cg_lmx_forget_handles();
    __atomic_add_fetch(&cg_rt_epoch, 1, __ATOMIC_ACQ_REL); /* nor any cached function */
    pthread_mutex_unlock(&cg_mod_lock);
}

void cg_modules_revalidate(void)
{
    int saved = cg_own_begin();
    /* what code in no module was resolved to may be what was just unloaded */
    for (int k = 0; k < CG_RT_COUNT; k++)
        __atomic_store_n(&cg_mod(0)->rt_real[k], NULL, __ATOMIC_RELEASE);
    /* room for every slot in use and as many again (objects without CUDA calls are listed too) */
    size_t cap = 2 * (size_t)__atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE) + 512;
    struct loaded_list l = {NULL, 0, 0, 0, 0};
    for (int tries = 0; tries < 4; tries++, cap *= 4) {
        size_t bytes = cap * sizeof *l.v;
        l.v = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (l.v == MAP_FAILED) {
            l.v = NULL;
            break;
        }
        l.n = 0;
        l.cap = cap;
        l.overflow = 0;
        dl_iterate_phdr(list_cb, &l);
        if (!l.overflow)
            break;
        munmap(l.v, bytes);
        l.v = NULL;
    }
    if (l.v == NULL) { /* cannot tell: keep every slot rather than free a live one, and forget every
                        * handle and cached function rather than keep one for an object that is gone */
        cg_modules_forget_opened();
        cg_own_end(saved);
        return;
    }
    qsort(l.v, l.n, sizeof *l.v, by_addr);
    pthread_mutex_lock(&cg_mod_lock);
    int changed = 0;
    for (int i = CG_MOD_FIRST; i < cg_mod_count; i++) {
        struct cg_module *m = cg_mod(i);
        if (m->hi == 0 || m->is_main || still_loaded(&l, m->l_addr, m->l_name))
            continue;
        __atomic_store_n(&m->hi, 0, __ATOMIC_RELEASE);
        m->lo = 0;
        cg_lmx_clear_slot(m->link_map, i);
        /* the tables that keep something per slot forget it (state.c: uses and victims; resolve.c:
         * the real functions), then the slot is another module's to take */
        for (int k = 0; k < CG_MAX_FREED_LISTENERS; k++) {
            cg_module_freed_fn f = __atomic_load_n(&freed_listeners[k], __ATOMIC_ACQUIRE);
            if (f)
                f(i);
        }
        __atomic_add_fetch(&m->gen, 1, __ATOMIC_RELEASE);
        m->next_free = free_head;
        free_head = i;
        changed = 1;
    }
    /* Something was unloaded (the loader's count moved): no kept handle and no cached function is
     * trusted any more. Which objects went cannot be told exactly: one unloaded and loaded again at
     * the same address under the same name (another thread, during the dlclose) looks like one that
     * stayed, but has a new runtime behind it, and no search list if it came back as a dependency. */
    if (l.subs != last_subs || l.subs == ~0ull) {
        last_subs = l.subs;
        cg_lmx_forget_handles();
        __atomic_add_fetch(&cg_rt_epoch, 1, __ATOMIC_ACQ_REL);
    }
    if (changed) { /* never 0: a thread's fast_gen of 0 means disarmed (writers hold mod_lock) */
        unsigned int g = cg_mod_gen + 1;
        __atomic_store_n(&cg_mod_gen, g ? g : 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&cg_mod_lock);
    munmap(l.v, l.cap * sizeof *l.v);
    cg_own_end(saved);
}

/* ---- objects dlopen returned (doors/dl_hooks.c) ---- */

/* The namespace (dlmopen's Lmid_t) of the object `a` lies in; -1 when the loader knows no object
 * there. dlinfo reads only the namespace from the link map: it needs no search list. */
static long namespace_of(const void *a)
{
    void *lm = NULL;
    uintptr_t lo, hi;
    if (!find_fast((uintptr_t)a, &lm, &lo, &hi)) {
        Dl_info info;
        if (!dladdr1(a, &info, &lm, RTLD_DL_LINKMAP))
            lm = NULL;
    }
    Lmid_t ns;
    return lm != NULL && dlinfo(lm, RTLD_DI_LMID, &ns) == 0 ? (long)ns : -1;
}

int cg_modules_same_namespace(const void *caller)
{
    static long own = -2;
    long o = __atomic_load_n(&own, __ATOMIC_RELAXED);
    if (o == -2) { /* two threads may both ask: same answer */
        o = namespace_of((const void *)(uintptr_t)cg_modules_same_namespace);
        __atomic_store_n(&own, o, __ATOMIC_RELAXED);
    }
    return o >= 0 && namespace_of(caller) == o;
}

void cg_modules_note_opened(void *handle)
{
    struct link_map *lm = NULL;
    if (handle == NULL || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL || lm->l_prev == NULL)
        return; /* the program itself is found by dlopen(NULL), already at no cost */
    /* read while the caller's reference keeps the object loaded: any later unload changes it */
    unsigned long long unloads = cg_loader_unloads();
    int saved = cg_own_begin();
    pthread_mutex_lock(&cg_mod_lock);
    cg_lmx_set_handle(lm, handle, unloads);
    pthread_mutex_unlock(&cg_mod_lock);
    cg_own_end(saved);
}
