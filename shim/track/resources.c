/* Per-module resource records (resources.h): the out-of-line half. Walks over every record (a
 * blocked reset, a reclaim, a real reset, an unload, the exit summary) are rare and take one stripe
 * at a time; no path holds two stripe locks at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "track/modules.h"
#include "track/resources.h"
#include "track/state.h"

#define CHUNK 64          /* records allocated at once when a stripe's free list is empty */

struct cg_res_stripe cg_res_stripes[CG_RES_STRIPES];
struct cg_res_rec *cg_res_buckets[1 << CG_RES_BUCKET_BITS];
#define PER_STRIPE (1u << (CG_RES_BUCKET_BITS - CG_RES_STRIPE_BITS))

/* Blocked resets per module slot, for the exit summary. */
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

void cg_res_lock_slow(int *l)
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

/* Under s->lock: a free record, from the stripe's free list or a new heap chunk; NULL when memory
 * ran out (the object is then not tracked: never an error for the caller). */
static struct cg_res_rec *pop_free(struct cg_res_stripe *s)
{
    if (s->free == NULL) {
        struct cg_res_rec *c = calloc(CHUNK, sizeof *c);
        if (c == NULL)
            return NULL;
        for (int i = 0; i < CHUNK; i++) {
            c[i].next = s->free;
            s->free = &c[i];
        }
    }
    struct cg_res_rec *r = s->free;
    s->free = r->next;
    return r;
}

/* Under the lock of i's stripe. */
static inline void link_in(unsigned int i, struct cg_res_rec *r)
{
    r->next = cg_res_buckets[i];
    __atomic_store_n(&cg_res_buckets[i], r, __ATOMIC_RELAXED);
}

static void insert(const struct cg_res_rec *v)
{
    unsigned int i = cg_res_index(v->key);
    struct cg_res_stripe *s = cg_res_stripe_of(i);
    cg_res_lock(&s->lock);
    struct cg_res_rec *r = pop_free(s);
    if (r) {
        *r = *v;
        link_in(i, r);
    }
    cg_res_unlock(&s->lock);
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

void cg_res_add_slow(int m, int type, int door, uintptr_t key, size_t bytes, const void *ra)
{
    if (m <= 0 || cg_modules[m].cls != CG_MOD_USER) {
        /* A library acting for a module (cuBLAS allocating its workspace): the module it acts for.
         * ra NULL (the driver door): the runtime's own objects, never attributed to a module. */
        if (ra == NULL || cg_tls.depth)
            return;
        m = cg_attribute(ra);
        if (m <= 0 || cg_modules[m].cls != CG_MOD_USER)
            return;
    }
    if (key == 0)
        return;
    int dev = cg_dev_index(cg_tls.dev < 0 ? 0 : cg_tls.dev);
    struct cg_res_rec v;
    memset(&v, 0, sizeof v);
    if (__atomic_load_n(&cg_created_live, __ATOMIC_RELAXED))
        v.ctx = created_current(&dev);
    v.key = key;
    v.bytes = bytes;
    v.gen = cg_ctx_gen_of(dev);
    v.mod = (short)m;
    v.dev = (unsigned char)dev;
    v.type = (unsigned char)type;
    v.door = (unsigned char)door;
    insert(&v);
}

static void push_free(struct cg_res_rec *r)
{
    struct cg_res_stripe *s = cg_res_stripe_of(cg_res_index(r->key));
    cg_res_lock(&s->lock);
    r->next = s->free;
    s->free = r;
    cg_res_unlock(&s->lock);
}

/* A thread that ends with a spare record gives it back. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static void give_back_spare(void *unused)
{
    (void)unused;
    struct cg_res_rec *r = cg_tls.res_spare;
    cg_tls.res_spare = NULL;
    if (r)
        push_free(r);
}
static void make_spare_key(void)
{
    if (pthread_key_create(&spare_key, give_back_spare) != 0)
        spare_key = (pthread_key_t)-1;
}

void cg_res_done_slow(struct cg_res_rec *r, int freed)
{
    if (!freed) { /* not freed: still the module's */
        unsigned int i = cg_res_index(r->key);
        struct cg_res_stripe *s = cg_res_stripe_of(i);
        cg_res_lock(&s->lock);
        link_in(i, r);
        cg_res_unlock(&s->lock);
        return;
    }
    if (cg_tls.res_spare == NULL && !cg_tls.res_keyed) {
        pthread_once(&spare_once, make_spare_key);
        if (spare_key != (pthread_key_t)-1 && pthread_setspecific(spare_key, (void *)1) == 0) {
            cg_tls.res_keyed = 1;
            cg_tls.res_spare = r;
            return;
        }
    }
    push_free(r);
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

void cg_res_count(int m, int dev, unsigned int gen, struct cg_res_counts *out, int mark_left)
{
    memset(out, 0, sizeof *out);
    for (unsigned int i = 0; i < CG_RES_STRIPES; i++) {
        struct cg_res_stripe *s = &cg_res_stripes[i];
        cg_res_lock(&s->lock);
        for (unsigned int k = i * PER_STRIPE; k < (i + 1) * PER_STRIPE; k++)
            for (struct cg_res_rec *r = cg_res_buckets[k]; r; r = r->next)
                if (matches(r, m, dev, gen)) {
                    add_to(out, r);
                    if (mark_left)
                        r->left = 1;
                }
        cg_res_unlock(&s->lock);
    }
}

/* Unlinks every record `pick` selects; they are chained on *out (or returned to the free list when
 * out is NULL). */
static void sweep(int (*pick)(const struct cg_res_rec *, const void *), const void *arg, struct cg_res_rec **out)
{
    for (unsigned int i = 0; i < CG_RES_STRIPES; i++) {
        struct cg_res_stripe *s = &cg_res_stripes[i];
        cg_res_lock(&s->lock);
        for (unsigned int k = i * PER_STRIPE; k < (i + 1) * PER_STRIPE; k++)
            for (struct cg_res_rec **p = &cg_res_buckets[k], *r; (r = *p) != NULL;) {
                if (!pick(r, arg)) {
                    p = &r->next;
                    continue;
                }
                __atomic_store_n(p, r->next, __ATOMIC_RELAXED);
                if (out) {
                    r->next = *out;
                    *out = r;
                } else {
                    r->next = s->free;
                    s->free = r;
                }
            }
        cg_res_unlock(&s->lock);
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
        struct cg_res_stripe *s = cg_res_stripe_of(cg_res_index(list->key));
        cg_res_lock(&s->lock);
        list->next = s->free;
        s->free = list;
        cg_res_unlock(&s->lock);
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
    if (r->mod > 0 && r->left) {
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
        cg_res_lock(&departed_lock);
        for (int m = 1; m < CG_MAX_MODULES; m++)
            add_counts(&retired_left[m], &t->left[m]);
        cg_res_unlock(&departed_lock);
    }
    free(t);
}

void cg_res_forget_module(int m)
{
    struct cg_res_counts c = {0, 0, 0, 0};
    unsigned int resets = __atomic_load_n(&blocked[m], __ATOMIC_RELAXED);
    for (unsigned int i = 0; i < CG_RES_STRIPES; i++) {
        struct cg_res_stripe *s = &cg_res_stripes[i];
        cg_res_lock(&s->lock);
        for (unsigned int k = i * PER_STRIPE; k < (i + 1) * PER_STRIPE; k++)
            for (struct cg_res_rec *r = cg_res_buckets[k]; r; r = r->next)
                if (r->mod == m) {
                    if (r->left)
                        add_to(&c, r);
                    r->mod = 0; /* nobody's now: never reclaimed on another module's behalf */
                }
        cg_res_unlock(&s->lock);
    }
    __atomic_store_n(&blocked[m], 0, __ATOMIC_RELAXED);
    if (resets == 0)
        return;
    const char *name = cg_module_base(m);
    cg_res_lock(&departed_lock);
    add_counts(&c, &retired_left[m]);
    memset(&retired_left[m], 0, sizeof retired_left[m]);
    for (int i = 0; i < DEPARTED; i++) {
        if (departed[i].name[0] && strcmp(departed[i].name, name) != 0)
            continue;
        if (!departed[i].name[0])
            strncpy(departed[i].name, name, sizeof departed[i].name - 1);
        add_counts(&departed[i].c, &c);
        departed[i].resets += resets;
        break;
    }
    cg_res_unlock(&departed_lock);
}

void cg_res_left_totals(void (*fn)(const char *module, const struct cg_res_counts *c, long resets, void *arg),
                        void *arg)
{
    static struct cg_res_counts live[CG_MAX_MODULES]; /* at exit only: one caller */
    memset(live, 0, sizeof live);
    for (unsigned int i = 0; i < CG_RES_STRIPES; i++) {
        struct cg_res_stripe *s = &cg_res_stripes[i];
        cg_res_lock(&s->lock);
        for (unsigned int k = i * PER_STRIPE; k < (i + 1) * PER_STRIPE; k++)
            for (struct cg_res_rec *r = cg_res_buckets[k]; r; r = r->next)
                if (r->mod > 0 && r->left)
                    add_to(&live[r->mod], r);
        cg_res_unlock(&s->lock);
    }
    /* a module unloaded and loaded again: its earlier lives and this one on one line */
    char merged[DEPARTED] = {0};
    cg_res_lock(&departed_lock);
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
    cg_res_unlock(&departed_lock);
}

void cg_res_fork_prepare(void)
{
    for (int i = 0; i < CG_RES_STRIPES; i++)
        cg_res_lock(&cg_res_stripes[i].lock);
    cg_res_lock(&departed_lock);
}

void cg_res_fork_release(void)
{
    cg_res_unlock(&departed_lock);
    for (int i = CG_RES_STRIPES - 1; i >= 0; i--)
        cg_res_unlock(&cg_res_stripes[i].lock);
}
