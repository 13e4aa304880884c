/* Per-module resource records (resources.h). A hash keyed by handle, split into 256 stripes, each
 * with its own spin lock, buckets and free list: an allocation and its free touch one stripe, chosen
 * by the handle's hash, so threads allocating at once rarely meet, and no call takes a lock that is
 * not its stripe's. Records come from heap chunks and go back to their stripe's free list; buckets
 * grow per stripe. Walks over every record (a blocked reset, a reclaim, a real reset, an unload, the
 * exit summary) are rare and take one stripe at a time. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "track/modules.h"
#include "track/resources.h"
#include "track/state.h"

#define STRIPES 256
#define CHUNK 64          /* records allocated at once when a stripe's free list is empty */
#define FIRST_BUCKETS 16

struct stripe {
    int lock;
    unsigned int n, nb;   /* records, buckets (a power of two; 0 until the first record) */
    struct cg_res_rec **b;
    struct cg_res_rec *free;
} __attribute__((aligned(64)));
static struct stripe stripes[STRIPES];

/* Blocked resets per module slot: a record's epoch below it was left behind by one. */
static unsigned int blocked[CG_MAX_MODULES];

/* What unloaded modules left behind, by file name (a plugin reloaded N times is one row). */
#define DEPARTED 32
static struct {
    char name[64];
    struct cg_res_counts c;
    long resets;
} departed[DEPARTED];
static int departed_lock;
/* Left behind by blocked resets and held until the context really ended (a later real reset, or the
 * runtime's release at exit): counted then, since the records go. Under departed_lock. */
static struct cg_res_counts retired_left[CG_MAX_MODULES];

static __attribute__((noinline)) void lock_slow(int *l)
{
    for (unsigned int spins = 0;; spins++) {
        if (!__atomic_load_n(l, __ATOMIC_RELAXED) && !__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
            return;
        if (spins < 64)
            __builtin_ia32_pause();
        else
            sched_yield(); /* the holder may be preempted (more threads than cores): let it run */
    }
}
static inline void lock(int *l)
{
    if (CG_UNLIKELY(__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)))
        lock_slow(l);
}
static inline void unlock(int *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static inline uint64_t mix(uintptr_t key)
{
    return (uint64_t)key * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing: the high bits are well mixed */
}
static inline struct stripe *stripe_of(uint64_t h)
{
    return &stripes[h >> 56];
}
static inline struct cg_res_rec **bucket_of(struct stripe *s, uint64_t h)
{
    return &s->b[(h >> 32) & (s->nb - 1)];
}

/* Under s->lock: room for one more record (buckets present and not overfull, a free record). 0 when
 * memory ran out: the object is then not tracked (never an error for the caller). */
static __attribute__((noinline)) int make_room(struct stripe *s)
{
    if (s->nb == 0 || s->n >= 2 * s->nb) {
        unsigned int nb = s->nb ? s->nb * 2 : FIRST_BUCKETS;
        struct cg_res_rec **b = calloc(nb, sizeof *b);
        if (b == NULL)
            return s->nb != 0 && s->free != NULL; /* longer chains, still correct */
        for (unsigned int i = 0; i < s->nb; i++)
            for (struct cg_res_rec *r = s->b[i], *next; r; r = next) {
                next = r->next;
                struct cg_res_rec **to = &b[(mix(r->key) >> 32) & (nb - 1)];
                r->next = *to;
                *to = r;
            }
        free(s->b);
        s->b = b;
        s->nb = nb;
    }
    if (s->free == NULL) {
        struct cg_res_rec *c = calloc(CHUNK, sizeof *c);
        if (c == NULL)
            return 0;
        for (int i = 0; i < CHUNK; i++) {
            c[i].next = s->free;
            s->free = &c[i];
        }
    }
    return 1;
}

static inline void insert(const struct cg_res_rec *v)
{
    uint64_t h = mix(v->key);
    struct stripe *s = stripe_of(h);
    lock(&s->lock);
    if (CG_LIKELY(s->free != NULL && s->n < 2 * s->nb) || make_room(s)) {
        struct cg_res_rec *r = s->free, **bk = bucket_of(s, h);
        s->free = r->next;
        *r = *v;
        r->next = *bk;
        *bk = r;
        __atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELAXED);
    }
    unlock(&s->lock);
}

/* The current context when created contexts exist (else every context is a primary one). */
static __attribute__((noinline)) void *created_current(int *dev)
{
    struct cg_ctxinfo ci;
    cg_tls.depth++;
    cg_query_current(&ci);
    cg_tls.depth--;
    if (ci.device >= 0)
        *dev = ci.device;
    return ci.kind == CG_CTX_CREATED ? ci.ctx : NULL;
}

void cg_res_add(int m, int type, int door, uintptr_t key, size_t bytes, const void *ra)
{
    if (CG_UNLIKELY(m <= 0 || cg_modules[m].cls != CG_MOD_USER)) {
        /* A library acting for a module (cuBLAS allocating its workspace): the module it acts for.
         * ra NULL (the driver door): the runtime's own objects, never attributed to a module. */
        if (ra == NULL || cg_tls.depth)
            return;
        m = cg_attribute(ra);
        if (m <= 0 || cg_modules[m].cls != CG_MOD_USER)
            return;
    }
    if (CG_UNLIKELY(key == 0))
        return;
    int dev = cg_dev_index(cg_tls.dev < 0 ? 0 : cg_tls.dev);
    struct cg_res_rec v;
    v.ctx = NULL;
    if (CG_UNLIKELY(__atomic_load_n(&cg_created_live, __ATOMIC_RELAXED)))
        v.ctx = created_current(&dev);
    v.key = key;
    v.bytes = bytes;
    v.gen = cg_ctx_gen_of(dev);
    v.epoch = __atomic_load_n(&blocked[m], __ATOMIC_RELAXED);
    v.mod = (short)m;
    v.dev = (unsigned char)dev;
    v.type = (unsigned char)type;
    v.door = (unsigned char)door;
    insert(&v);
}

int cg_res_take(uintptr_t key, int type, struct cg_res_rec *saved)
{
    uint64_t h = mix(key);
    struct stripe *s = stripe_of(h);
    if (key == 0 || __atomic_load_n(&s->n, __ATOMIC_RELAXED) == 0)
        return 0; /* an object this thread freed was recorded before this thread learnt its handle */
    int found = 0;
    lock(&s->lock);
    for (struct cg_res_rec **p = bucket_of(s, h), *r; (r = *p) != NULL; p = &r->next)
        if (r->key == key && r->type == type) {
            *p = r->next;
            *saved = *r;
            r->next = s->free;
            s->free = r;
            __atomic_store_n(&s->n, s->n - 1, __ATOMIC_RELAXED);
            found = 1;
            break;
        }
    unlock(&s->lock);
    return found;
}

void cg_res_put_back(const struct cg_res_rec *saved)
{
    insert(saved);
}

static inline int matches(const struct cg_res_rec *r, int m, int dev, unsigned int gen)
{
    return r->mod == m && r->dev == dev && r->ctx == NULL && r->gen == gen;
}

static void add_to(struct cg_res_counts *c, const struct cg_res_rec *r)
{
    if (r->type == CG_RES_STREAM)
        c->streams++;
    else if (r->type == CG_RES_EVENT)
        c->events++;
    else {
        c->allocations++;
        c->bytes += r->bytes;
    }
}

void cg_res_count(int m, int dev, unsigned int gen, struct cg_res_counts *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        if (__atomic_load_n(&s->n, __ATOMIC_RELAXED) == 0)
            continue;
        lock(&s->lock);
        for (unsigned int k = 0; k < s->nb; k++)
            for (struct cg_res_rec *r = s->b[k]; r; r = r->next)
                if (matches(r, m, dev, gen))
                    add_to(out, r);
        unlock(&s->lock);
    }
}

/* Unlinks every record `pick` selects; they are chained on *out (or returned to the free list when
 * out is NULL). */
static void sweep(int (*pick)(const struct cg_res_rec *, const void *), const void *arg, struct cg_res_rec **out)
{
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        if (__atomic_load_n(&s->n, __ATOMIC_RELAXED) == 0)
            continue;
        lock(&s->lock);
        for (unsigned int k = 0; k < s->nb; k++)
            for (struct cg_res_rec **p = &s->b[k], *r; (r = *p) != NULL;) {
                if (!pick(r, arg)) {
                    p = &r->next;
                    continue;
                }
                *p = r->next;
                __atomic_store_n(&s->n, s->n - 1, __ATOMIC_RELAXED);
                if (out) {
                    r->next = *out;
                    *out = r;
                } else {
                    r->next = s->free;
                    s->free = r;
                }
            }
        unlock(&s->lock);
    }
}

struct sel {
    int m, dev;
    unsigned int gen;
};
static int pick_module(const struct cg_res_rec *r, const void *arg)
{
    const struct sel *s = arg;
    return matches(r, s->m, s->dev, s->gen);
}

struct cg_res_rec *cg_res_detach(int m, int dev, unsigned int gen)
{
    struct sel s = {m, dev, gen};
    struct cg_res_rec *list = NULL;
    sweep(pick_module, &s, &list);
    return list;
}

void cg_res_free_list(struct cg_res_rec *list)
{
    while (list) {
        struct cg_res_rec *next = list->next;
        struct stripe *s = stripe_of(mix(list->key));
        lock(&s->lock);
        list->next = s->free;
        s->free = list;
        unlock(&s->lock);
        list = next;
    }
}

void cg_res_note_blocked(int m)
{
    if (m > 0 && m < CG_MAX_MODULES)
        __atomic_add_fetch(&blocked[m], 1, __ATOMIC_RELAXED);
}

struct retire {
    struct sel s;
    struct cg_res_counts left[CG_MAX_MODULES];
    int any;
};
static int pick_retired(const struct cg_res_rec *r, const void *arg)
{
    struct retire *t = (struct retire *)arg;
    if (r->dev != t->s.dev || r->ctx != NULL || r->gen >= t->s.gen)
        return 0;
    if (r->mod > 0 && r->epoch < __atomic_load_n(&blocked[r->mod], __ATOMIC_RELAXED)) {
        add_to(&t->left[r->mod], r);
        t->any = 1;
    }
    return 1;
}

static void add_counts(struct cg_res_counts *to, const struct cg_res_counts *c)
{
    to->allocations += c->allocations;
    to->bytes += c->bytes;
    to->streams += c->streams;
    to->events += c->events;
}

void cg_res_retire(int dev)
{
    struct retire *t = calloc(1, sizeof *t); /* 2 KiB: not on the stack of a CUDA call */
    if (t == NULL)
        return;
    t->s.dev = cg_dev_index(dev);
    t->s.gen = cg_ctx_gen_of(dev);
    sweep(pick_retired, t, NULL);
    if (t->any) {
        lock(&departed_lock);
        for (int m = 1; m < CG_MAX_MODULES; m++)
            add_counts(&retired_left[m], &t->left[m]);
        unlock(&departed_lock);
    }
    free(t);
}

void cg_res_forget_module(int m)
{
    struct cg_res_counts c = {0, 0, 0, 0};
    unsigned int epoch = __atomic_load_n(&blocked[m], __ATOMIC_RELAXED);
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        if (__atomic_load_n(&s->n, __ATOMIC_RELAXED) == 0)
            continue;
        lock(&s->lock);
        for (unsigned int k = 0; k < s->nb; k++)
            for (struct cg_res_rec *r = s->b[k]; r; r = r->next)
                if (r->mod == m) {
                    if (r->epoch < epoch)
                        add_to(&c, r);
                    r->mod = 0; /* nobody's now: never reclaimed on another module's behalf */
                }
        unlock(&s->lock);
    }
    __atomic_store_n(&blocked[m], 0, __ATOMIC_RELAXED);
    if (epoch == 0)
        return;
    const char *name = cg_module_base(m);
    lock(&departed_lock);
    add_counts(&c, &retired_left[m]);
    memset(&retired_left[m], 0, sizeof retired_left[m]);
    for (int i = 0; i < DEPARTED; i++) {
        if (departed[i].name[0] && strcmp(departed[i].name, name) != 0)
            continue;
        if (!departed[i].name[0])
            strncpy(departed[i].name, name, sizeof departed[i].name - 1);
        add_counts(&departed[i].c, &c);
        departed[i].resets += epoch;
        break;
    }
    unlock(&departed_lock);
}

void cg_res_left_totals(void (*fn)(const char *module, const struct cg_res_counts *c, long resets, void *arg),
                        void *arg)
{
    static struct cg_res_counts live[CG_MAX_MODULES]; /* at exit only: one caller */
    memset(live, 0, sizeof live);
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        if (__atomic_load_n(&s->n, __ATOMIC_RELAXED) == 0)
            continue;
        lock(&s->lock);
        for (unsigned int k = 0; k < s->nb; k++)
            for (struct cg_res_rec *r = s->b[k]; r; r = r->next)
                if (r->mod > 0 && r->epoch < __atomic_load_n(&blocked[r->mod], __ATOMIC_RELAXED))
                    add_to(&live[r->mod], r);
        unlock(&s->lock);
    }
    /* a module unloaded and loaded again: its earlier lives and this one on one line */
    char merged[DEPARTED] = {0};
    lock(&departed_lock);
    for (int m = 1; m < CG_MAX_MODULES; m++) {
        long resets = __atomic_load_n(&blocked[m], __ATOMIC_RELAXED);
        if (resets == 0 || cg_modules[m].hi == 0)
            continue;
        const char *name = cg_module_base(m);
        add_counts(&live[m], &retired_left[m]);
        for (int i = 0; i < DEPARTED && departed[i].name[0]; i++)
            if (strcmp(departed[i].name, name) == 0) {
                add_counts(&live[m], &departed[i].c);
                resets += departed[i].resets;
                merged[i] = 1;
            }
        fn(name, &live[m], resets, arg);
    }
    for (int i = 0; i < DEPARTED && departed[i].name[0]; i++)
        if (!merged[i])
            fn(departed[i].name, &departed[i].c, departed[i].resets, arg);
    unlock(&departed_lock);
}

void cg_res_fork_prepare(void)
{
    for (int i = 0; i < STRIPES; i++)
        lock(&stripes[i].lock);
    lock(&departed_lock);
}

void cg_res_fork_release(void)
{
    unlock(&departed_lock);
    for (int i = STRIPES - 1; i >= 0; i--)
        unlock(&stripes[i].lock);
}
