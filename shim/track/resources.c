/* Per-module resource records (resources.h): the out-of-line half. Walks over every record (a
 * blocked reset, a reclaim, a real reset, an unload, the exit summary) are rare and take one stripe
 * at a time; no path holds two stripe locks at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "track/modules.h"
#include "track/resources.h"
#include "track/state.h"

#define CHUNK 64          /* records allocated at once when a stripe's free list is empty */

uintptr_t cg_res_buckets[CG_RES_BUCKETS];

/* Free records, recycled; a plain spin lock (only the slow paths take it). */
static int free_lock;
static struct cg_res_rec *free_recs;

/* Per module slot: blocked resets (for the exit summary) and what blocked resets left behind until
 * the context really ended. In chunks parallel to the module table's (issue 14: no fixed count of
 * modules), mapped on first use and never moved. */
struct slot_counts {
    unsigned int blocked[CG_MOD_CHUNK];
    struct cg_res_counts retired_left[CG_MOD_CHUNK];
};
static struct slot_counts *slot_chunks[CG_MOD_CHUNKS];

static struct slot_counts *slot_chunk(int m, int create)
{
    struct slot_counts **pc = &slot_chunks[(unsigned)m >> CG_MOD_CHUNK_BITS];
    struct slot_counts *c = __atomic_load_n(pc, __ATOMIC_ACQUIRE);
    if (c == NULL && create) {
        struct slot_counts *n = mmap(NULL, sizeof *n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (n == MAP_FAILED)
            return NULL;
        if (__atomic_compare_exchange_n(pc, &c, n, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            c = n;
        else
            munmap(n, sizeof *n); /* another thread's is in place: c holds it */
    }
    return c;
}
static unsigned int blocked_of(int m)
{
    struct slot_counts *c = m > 0 ? slot_chunk(m, 0) : NULL;
    return c ? __atomic_load_n(&c->blocked[m & (CG_MOD_CHUNK - 1)], __ATOMIC_RELAXED) : 0;
}

/* What unloaded modules left behind, by file name (a plugin reloaded N times is one row). */
#define DEPARTED 32
static struct {
    char name[64];
    struct cg_res_counts c;
    long resets;
} departed[DEPARTED];
static int departed_lock;
/* Left behind by blocked resets and held until the context really ended (a later real reset, or the
 * runtime's release at exit): counted then, since the records go; slot_counts.retired_left, under
 * departed_lock. NULL where none was ever counted. */
static struct cg_res_counts *retired_left_of(int m, int create)
{
    struct slot_counts *c = m > 0 ? slot_chunk(m, create) : NULL;
    return c ? &c->retired_left[m & (CG_MOD_CHUNK - 1)] : NULL;
}

static void spin(unsigned int *spins)
{
    if ((*spins)++ < 64)
        __builtin_ia32_pause();
    else
        sched_yield(); /* the holder may be preempted (more threads than cores): let it run */
}
void cg_res_lock_slow(uintptr_t *b)
{
    for (unsigned int spins = 0;;) {
        if (!(__atomic_load_n(b, __ATOMIC_RELAXED) & 1) && !(__atomic_fetch_or(b, 1, __ATOMIC_ACQUIRE) & 1))
            return;
        spin(&spins);
    }
}
static void plain_lock(int *l)
{
    for (unsigned int spins = 0; __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE);)
        spin(&spins);
}
static void plain_unlock(int *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* A free record, from the free list or a new heap chunk; NULL when memory ran out (the object is
 * then not tracked: never an error for the caller). */
static struct cg_res_rec *pop_free(void)
{
    plain_lock(&free_lock);
    struct cg_res_rec *r = free_recs;
    if (r)
        free_recs = r->next;
    plain_unlock(&free_lock);
    if (r)
        return r;
    struct cg_res_rec *c = calloc(CHUNK, sizeof *c);
    if (c == NULL)
        return NULL;
    plain_lock(&free_lock);
    for (int i = 1; i < CHUNK; i++) {
        c[i].next = free_recs;
        free_recs = &c[i];
    }
    plain_unlock(&free_lock);
    return &c[0];
}

static void push_free(struct cg_res_rec *r)
{
    plain_lock(&free_lock);
    r->next = free_recs;
    free_recs = r;
    plain_unlock(&free_lock);
}

static void link_in(struct cg_res_rec *r)
{
    uintptr_t *b = &cg_res_buckets[cg_res_index(r->key)];
    r->next = cg_res_lock(b);
    cg_res_unlock(b, r);
}

void cg_res_link_slow(uintptr_t *b, struct cg_res_rec *head, struct cg_res_rec *r)
{
    struct cg_res_rec **p = &head, *q, *stale = NULL, *tomb = NULL;
    while ((q = *p) != NULL) {
        if (q->key != r->key) {
            p = &q->next;
        } else if ((q->type & CG_RES_TOMB) && q->mod != r->mod) {
            tomb = q; /* another module's reclaimed object: r goes after it */
            p = &q->next;
        } else if (q->type & CG_RES_CLAIMED) {
            q->type |= CG_RES_REISSUED; /* its reclaimer unlinks it */
            p = &q->next;
        } else {
            *p = q->next;
            q->next = stale;
            stale = q;
        }
    }
    if (tomb) {
        r->next = tomb->next;
        tomb->next = r;
        cg_res_unlock(b, head);
    } else {
        r->next = head;
        cg_res_unlock(b, r);
    }
    while (stale) { /* recycled outside the bucket lock */
        struct cg_res_rec *next = stale->next;
        push_free(stale);
        stale = next;
    }
}

/* An allocation's record, out of line: linked as the inline path does (a stale record of its key
 * dropped). */
static void insert(const struct cg_res_rec *v)
{
    struct cg_res_rec *r = pop_free();
    if (r == NULL)
        return;
    *r = *v;
    uintptr_t *b = &cg_res_buckets[cg_res_index(r->key)];
    struct cg_res_rec *head = cg_res_lock(b);
    if (head != NULL) {
        cg_res_link_slow(b, head, r);
        return;
    }
    r->next = NULL;
    cg_res_unlock(b, r);
}

struct cg_res_rec *cg_res_take(uintptr_t key, int type, int *reclaiming)
{
    return cg_res_take_by(key, type, reclaiming, 0);
}

struct cg_res_rec *cg_res_take_by(uintptr_t key, int type, int *reclaiming, int caller)
{
    uintptr_t *b = &cg_res_buckets[cg_res_index(key)];
    if (__atomic_load_n(b, __ATOMIC_RELAXED) == 0)
        return NULL;
    struct cg_res_rec *head = cg_res_lock(b), **p = &head, *r, *tomb = NULL;
    while ((r = *p) != NULL) {
        if (r->key == key && r->type == (type | CG_RES_TOMB)) {
            if (caller > 0 && r->mod == caller) { /* the module's late free of a reclaimed object */
                *p = r->next;
                tomb = r;
                if (reclaiming)
                    *reclaiming = 1;
                r = NULL;
                break;
            }
            p = &r->next; /* another module's free: its own object, further on */
            continue;
        }
        if (r->key == key && r->type == type) {
            *p = r->next;
            break;
        }
        if (r->key == key && r->type == (type | CG_RES_CLAIMED)) {
            /* under reclaim, not handed out again yet: the object is the reclaim's to free */
            if (reclaiming)
                *reclaiming = 1;
            r = NULL;
            break;
        }
        p = &r->next;
    }
    cg_res_unlock(b, head);
    if (tomb)
        push_free(tomb);
    return r;
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
    if (m <= 0 || cg_mod(m)->cls != CG_MOD_USER) {
        /* A library acting for a module (cuBLAS allocating its workspace): the module it acts for.
         * ra NULL (the driver door): the runtime's own objects, never attributed to a module. */
        if (ra == NULL || cg_tls.depth)
            return;
        m = cg_attribute(ra);
        if (m <= 0 || cg_mod(m)->cls != CG_MOD_USER)
            return;
    }
    if (key == 0)
        return;
    int dev = cg_dev_index(cg_tls.dev < 0 ? 0 : cg_tls.dev);
    struct cg_res_rec v;
    memset(&v, 0, sizeof v);
    if (__atomic_load_n(&cg_created_live, __ATOMIC_RELAXED))
        v.ctx = created_current(&dev);
    if (type & CG_RES_QUERY_DEV) {
        type &= ~CG_RES_QUERY_DEV;
        int pdev = cg_pointer_device(key);
        if (pdev >= 0 && cg_dev_index(pdev) != dev) {
            dev = cg_dev_index(pdev);
            v.ctx = NULL; /* another device's pool: no created context of this thread's */
        }
    }
    v.key = key;
    v.bytes = bytes;
    v.resets = cg_ctx_gen_of(dev) - 1;
    v.mod = (short)m;
    v.dev = (unsigned char)dev;
    v.type = (unsigned char)type;
    v.door = (unsigned char)door;
    insert(&v);
}

/* A thread that ends with a spare record gives it back. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static void give_back_spare(void *unused)
{
    (void)unused;
    struct cg_res_rec *r = cg_tls.res_spare;
    cg_tls.res_spare = NULL; /* an allocation in a later destructor takes the slow path */
    if (r > CG_RES_NO_SPARE)
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
        link_in(r);
        return;
    }
    if (cg_tls.res_spare == NULL && !cg_tls.res_keyed) {
        cg_tls.res_keyed = 1; /* tried once: after a failure, or once the hook ran, no spare */
        pthread_once(&spare_once, make_spare_key);
        if (spare_key != (pthread_key_t)-1 && pthread_setspecific(spare_key, (void *)1) == 0) {
            cg_tls.res_spare = r;
            return;
        }
    }
    push_free(r);
}

/* A live record of module m on dev's primary context, incarnation gen, not under reclaim. */
static inline int matches(const struct cg_res_rec *r, int m, int dev, unsigned int gen)
{
    return r->mod == m && r->dev == dev && r->ctx == NULL && r->resets + 1 == gen && r->type < CG_RES_NTYPES;
}

void cg_res_counts_add(struct cg_res_counts *c, const struct cg_res_rec *r)
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

/* Calls fn on every record with its bucket locked; fn returns 1 to unlink it (then it owns it). */
static void visit(int (*fn)(struct cg_res_rec *, void *), void *arg)
{
    for (unsigned int k = 0; k < CG_RES_BUCKETS; k++) {
        uintptr_t *b = &cg_res_buckets[k];
        if (__atomic_load_n(b, __ATOMIC_RELAXED) == 0)
            continue;
        struct cg_res_rec *head = cg_res_lock(b), **p = &head, *r;
        while ((r = *p) != NULL) {
            struct cg_res_rec *next = r->next;
            if (fn(r, arg))
                *p = next;
            else
                p = &r->next;
        }
        cg_res_unlock(b, head);
    }
}

struct sel {
    int m, dev;
    unsigned int gen;
    int mark_left;
    struct cg_res_counts *out;
    struct cg_res_rec *list;
};

static int count_one(struct cg_res_rec *r, void *arg)
{
    struct sel *s = arg;
    if (matches(r, s->m, s->dev, s->gen)) {
        cg_res_counts_add(s->out, r);
        if (s->mark_left)
            r->left = 1;
    }
    return 0;
}

void cg_res_count(int m, int dev, unsigned int gen, struct cg_res_counts *out, int mark_left)
{
    memset(out, 0, sizeof *out);
    struct sel s = {m, dev, gen, mark_left, out, NULL};
    visit(count_one, &s);
}

struct claim {
    int m, dev, handles, n, cap;
    unsigned int gen;
    struct cg_res_claim *out;
};
static int claim_one(struct cg_res_rec *r, void *arg)
{
    struct claim *c = arg;
    if (c->n == c->cap || !matches(r, c->m, c->dev, c->gen) ||
        (r->type == CG_RES_STREAM || r->type == CG_RES_EVENT) != c->handles)
        return 0;
    c->out[c->n].rec = r;
    c->out[c->n].v = *r;
    c->n++;
    r->type |= CG_RES_CLAIMED; /* stays linked: a free of it meanwhile is absorbed (cg_res_take) */
    return 0;
}

int cg_res_claim(int m, int dev, unsigned int gen, int handles, struct cg_res_claim *out, int n)
{
    struct claim c = {m, dev, handles, 0, n, gen, out};
    visit(claim_one, &c);
    return c.n;
}

void cg_res_unclaim(struct cg_res_rec *r)
{
    uintptr_t *b = &cg_res_buckets[cg_res_index(r->key)];
    struct cg_res_rec *head = cg_res_lock(b), **p = &head;
    while (*p != NULL && *p != r)
        p = &(*p)->next;
    if (*p == r) /* always: only its claimer unlinks a claimed record */
        *p = r->next;
    cg_res_unlock(b, head);
    push_free(r);
}

void cg_res_unclaim_freed(struct cg_res_rec *r)
{
    uintptr_t *b = &cg_res_buckets[cg_res_index(r->key)];
    struct cg_res_rec *head = cg_res_lock(b), **p = &head;
    while (*p != NULL && *p != r)
        p = &(*p)->next;
    if (*p == r) { /* always: only its claimer unlinks a claimed record */
        *p = r->next;
        /* at the head: ahead of any record the driver's reissue of the key has linked meanwhile */
        r->type = (unsigned char)((r->type & ~(CG_RES_CLAIMED | CG_RES_REISSUED)) | CG_RES_TOMB);
        r->next = head;
        head = r;
    }
    cg_res_unlock(b, head);
}

static void free_list(struct cg_res_rec *list)
{
    while (list) {
        struct cg_res_rec *next = list->next;
        push_free(list);
        list = next;
    }
}

void cg_res_note_blocked(int m)
{
    struct slot_counts *c = m > 0 ? slot_chunk(m, 1) : NULL;
    if (c)
        __atomic_add_fetch(&c->blocked[m & (CG_MOD_CHUNK - 1)], 1, __ATOMIC_RELAXED);
}

struct retire {
    int dev;
    unsigned int gen;
    int n;                       /* slots in `left`: the table's count when the walk began */
    struct cg_res_counts *left;  /* per slot */
    int any;
    struct cg_res_rec *list;
};
static int retire_one(struct cg_res_rec *r, void *arg)
{
    struct retire *t = arg;
    if (r->dev != t->dev || r->ctx != NULL || r->resets + 1 >= t->gen || r->type >= CG_RES_NTYPES)
        return 0; /* a claimed record is unlinked by its reclaimer only */
    if (r->mod > 0 && r->mod < t->n && r->left) {
        cg_res_counts_add(&t->left[r->mod], r);
        t->any = 1;
    }
    r->next = t->list;
    t->list = r;
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
    struct retire *t = calloc(1, sizeof *t);
    if (t == NULL)
        return;
    t->n = __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE);
    t->left = calloc((size_t)t->n, sizeof *t->left); /* one per slot: not on the stack of a CUDA call */
    if (t->left == NULL) {
        free(t);
        return;
    }
    t->dev = cg_dev_index(dev);
    t->gen = cg_ctx_gen_of(dev);
    visit(retire_one, t);
    free_list(t->list);
    if (t->any) {
        plain_lock(&departed_lock);
        for (int m = 1; m < t->n; m++) {
            struct cg_res_counts *rl;
            if ((t->left[m].allocations || t->left[m].streams || t->left[m].events) &&
                (rl = retired_left_of(m, 1)) != NULL)
                add_counts(rl, &t->left[m]);
        }
        plain_unlock(&departed_lock);
    }
    free(t->left);
    free(t);
}

struct forget {
    int m;
    struct cg_res_counts c;
    struct cg_res_rec *tombs; /* the module's tombstones, unlinked: recycled after the walk */
};
static int forget_one(struct cg_res_rec *r, void *arg)
{
    struct forget *f = arg;
    if (r->mod == f->m && (r->type & CG_RES_TOMB)) {
        r->next = f->tombs;
        f->tombs = r;
        return 1;
    }
    if (r->mod == f->m) {
        if (r->left && r->type < CG_RES_NTYPES)
            cg_res_counts_add(&f->c, r);
        r->mod = 0; /* nobody's now: never reclaimed on another module's behalf */
    }
    return 0;
}

void cg_res_forget_module(int m)
{
    struct forget f = {m, {0, 0, 0, 0}, NULL};
    unsigned int resets = blocked_of(m);
    visit(forget_one, &f);
    free_list(f.tombs);
    struct cg_res_counts c = f.c;
    struct slot_counts *sc = slot_chunk(m, 0);
    if (sc)
        __atomic_store_n(&sc->blocked[m & (CG_MOD_CHUNK - 1)], 0, __ATOMIC_RELAXED);
    struct cg_res_counts *rl = retired_left_of(m, 0);
    if (resets == 0) {
        if (rl) { /* the slot's next module starts from nothing */
            plain_lock(&departed_lock);
            memset(rl, 0, sizeof *rl);
            plain_unlock(&departed_lock);
        }
        return;
    }
    const char *name = cg_module_base(m);
    plain_lock(&departed_lock);
    if (rl) {
        add_counts(&c, rl);
        memset(rl, 0, sizeof *rl);
    }
    for (int i = 0; i < DEPARTED; i++) {
        if (departed[i].name[0] && strcmp(departed[i].name, name) != 0)
            continue;
        if (!departed[i].name[0])
            strncpy(departed[i].name, name, sizeof departed[i].name - 1);
        add_counts(&departed[i].c, &c);
        departed[i].resets += resets;
        break;
    }
    plain_unlock(&departed_lock);
}

struct live_walk {
    int n; /* slots in live */
    struct cg_res_counts *live;
};
static int live_left_one(struct cg_res_rec *r, void *arg)
{
    struct live_walk *w = arg;
    if (r->mod > 0 && r->mod < w->n && r->left && r->type < CG_RES_NTYPES)
        cg_res_counts_add(&w->live[r->mod], r);
    return 0;
}

void cg_res_left_totals(void (*fn)(const char *module, const struct cg_res_counts *c, long resets, void *arg),
                        void *arg)
{
    int n = __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE);
    struct cg_res_counts *live = calloc((size_t)n, sizeof *live); /* at exit only: one caller */
    if (live == NULL)
        return;
    struct live_walk lw = {n, live};
    visit(live_left_one, &lw);
    /* a module unloaded and loaded again: its earlier lives and this one on one line */
    char merged[DEPARTED] = {0};
    plain_lock(&departed_lock);
    for (int m = 1; m < n; m++) {
        long resets = blocked_of(m);
        if (resets == 0 || __atomic_load_n(&cg_mod(m)->hi, __ATOMIC_ACQUIRE) == 0)
            continue;
        const char *name = cg_module_base(m);
        struct cg_res_counts *rl = retired_left_of(m, 0);
        if (rl)
            add_counts(&live[m], rl);
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
    plain_unlock(&departed_lock);
    free(live);
}

/* Every bucket lock (32768 bit locks: about 100 us), then the two plain ones. */
void cg_res_fork_prepare(void)
{
    for (unsigned int k = 0; k < CG_RES_BUCKETS; k++)
        cg_res_lock(&cg_res_buckets[k]);
    plain_lock(&free_lock);
    plain_lock(&departed_lock);
}

void cg_res_fork_release(void)
{
    plain_unlock(&departed_lock);
    plain_unlock(&free_lock);
    for (unsigned int k = 0; k < CG_RES_BUCKETS; k++)
        __atomic_fetch_and(&cg_res_buckets[k], ~(uintptr_t)1, __ATOMIC_RELEASE);
}
