/* Link map -> (module slot, dlopen handle): open addressing, lock-free readers, writers under
 * cg_mod_lock. An entry's fields are written before its key is published (release); a field that
 * changes later changes alone, atomically. Tables are replaced, not resized in place. An entry with
 * neither a slot nor a handle becomes a tombstone, dropped at the next replacement, which may be at
 * the same size: a host that loads and unloads plugins for ever replaces the table for ever, so a
 * replaced table is unmapped once no reader can be in it (readers count themselves in `readers`;
 * both lookups are slow paths, first sights, where one shared counter costs nothing that matters). */
#include <stddef.h>
#include <sys/mman.h>

#include "track/lm_index.h"

#define TOMB ((void *)1)

struct entry {
    void *key; /* the link map; NULL: never used; TOMB: removed */
    int slot;  /* 0: none */
    void *handle;
    unsigned long long unloads; /* the loader's unload count when the handle was kept */
};

struct table {
    size_t cap, used; /* used counts tombstones too */
    struct table *retired_next; /* replaced tables waiting for their readers to leave */
    struct entry e[];
};

static struct table *tab, *retired;
static unsigned long readers; /* lookups under way (cg_lmx_slot, cg_lmx_handle) */

static void reader_enter(void)
{
    __atomic_add_fetch(&readers, 1, __ATOMIC_SEQ_CST);
}

static void reader_leave(void)
{
    __atomic_sub_fetch(&readers, 1, __ATOMIC_SEQ_CST);
}

static size_t hash(const void *p, size_t cap)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

static struct entry *find(const void *lm)
{
    struct table *t = __atomic_load_n(&tab, __ATOMIC_SEQ_CST); /* after reader_enter (see reclaim) */
    if (t == NULL)
        return NULL;
    for (size_t i = hash(lm, t->cap);; i = (i + 1) & (t->cap - 1)) {
        void *k = __atomic_load_n(&t->e[i].key, __ATOMIC_ACQUIRE);
        if (k == NULL)
            return NULL;
        if (k == lm)
            return &t->e[i];
    }
}

int cg_lmx_slot(const void *lm)
{
    reader_enter();
    struct entry *e = find(lm);
    int m = e ? __atomic_load_n(&e->slot, __ATOMIC_ACQUIRE) : 0;
    reader_leave();
    return m ? m : -1;
}

/* dlcloses under way, and a count bumped as each begins and ends: a reader that sees none under way
 * and the same count before and after its lookup saw no unload begin or end meanwhile. */
unsigned long cg_lmx_closing_now;
static unsigned long closing_seq;
#define closing_now cg_lmx_closing_now

void cg_lmx_closing_begin(void)
{
    __atomic_add_fetch(&closing_now, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&closing_seq, 1, __ATOMIC_SEQ_CST);
}

void cg_lmx_closing_end(void)
{
    __atomic_add_fetch(&closing_seq, 1, __ATOMIC_SEQ_CST);
    /* never below 0: a child forked inside a window starts at 0 (cg_lmx_after_fork_child) and ends
     * the window it inherited */
    unsigned long n = __atomic_load_n(&closing_now, __ATOMIC_SEQ_CST);
    while (n != 0 && !__atomic_compare_exchange_n(&closing_now, &n, n - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
}

void cg_lmx_after_fork_child(void)
{
    __atomic_store_n(&closing_now, 0, __ATOMIC_SEQ_CST); /* the other threads' dlcloses are not the child's */
    __atomic_add_fetch(&closing_seq, 1, __ATOMIC_SEQ_CST);
}

void *cg_lmx_handle(const void *lm, unsigned long long unloads_now)
{
    unsigned long s = __atomic_load_n(&closing_seq, __ATOMIC_SEQ_CST);
    if (unloads_now == CG_UNLOADS_UNKNOWN || __atomic_load_n(&closing_now, __ATOMIC_SEQ_CST) != 0)
        return NULL;
    reader_enter();
    struct entry *e = find(lm);
    void *h = e ? __atomic_load_n(&e->handle, __ATOMIC_ACQUIRE) : NULL;
    /* Any unload since the handle was kept, seen by ctxguard's dlclose or not (glibc's own dlclose
     * called by an RTLD_DEEPBIND library, a later preload, another namespace), may have been this
     * object's, and its link map may now be an object without a search list: not used. */
    if (h != NULL && __atomic_load_n(&e->unloads, __ATOMIC_ACQUIRE) != unloads_now)
        h = NULL;
    reader_leave();
    if (__atomic_load_n(&closing_now, __ATOMIC_SEQ_CST) != 0 || __atomic_load_n(&closing_seq, __ATOMIC_SEQ_CST) != s)
        return NULL;
    return h;
}

/* ---- writers (cg_mod_lock) ---- */

/* Unmaps the replaced tables once no lookup is under way. A reader counts itself before it loads
 * `tab` (both sequentially consistent), and a table is retired after `tab` stopped naming it: a
 * reader not counted here loads a newer table, never a retired one. */
static void reclaim(void)
{
    if (retired == NULL || __atomic_load_n(&readers, __ATOMIC_SEQ_CST) != 0)
        return;
    while (retired) {
        struct table *t = retired;
        retired = t->retired_next;
        munmap(t, sizeof *t + t->cap * sizeof t->e[0]);
    }
}

static struct table *new_table(size_t cap)
{
    struct table *t = mmap(NULL, sizeof *t + cap * sizeof t->e[0], PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    t->cap = cap;
    return t;
}

static void put_in(struct table *t, const struct entry *src)
{
    size_t i = hash(src->key, t->cap);
    while (t->e[i].key != NULL && t->e[i].key != TOMB)
        i = (i + 1) & (t->cap - 1);
    if (t->e[i].key == NULL)
        t->used++;
    struct entry *e = &t->e[i];
    __atomic_store_n(&e->slot, src->slot, __ATOMIC_RELEASE);
    __atomic_store_n(&e->unloads, src->unloads, __ATOMIC_RELEASE);
    __atomic_store_n(&e->handle, src->handle, __ATOMIC_RELEASE);
    __atomic_store_n(&e->key, src->key, __ATOMIC_RELEASE);
}

static int live(const struct entry *e)
{
    return e->key != NULL && e->key != TOMB;
}

/* The entry for lm, added (empty) if missing; NULL when no memory could be had. */
static struct entry *entry_for(void *lm)
{
    struct entry *e = find(lm);
    if (e)
        return e;
    struct table *t = tab;
    if (t == NULL || (t->used + 1) * 2 > t->cap) {
        size_t n = 0;
        for (size_t i = 0; t && i < t->cap; i++)
            n += live(&t->e[i]);
        size_t cap = 256;
        while ((n + 1) * 4 > cap)
            cap *= 2;
        struct table *nt = new_table(cap);
        if (nt == NULL)
            return NULL;
        for (size_t i = 0; t && i < t->cap; i++)
            if (live(&t->e[i]))
                put_in(nt, &t->e[i]);
        __atomic_store_n(&tab, nt, __ATOMIC_SEQ_CST);
        if (t) {
            t->retired_next = retired;
            retired = t;
        }
        reclaim();
        t = nt;
    }
    struct entry fresh = {.key = lm};
    put_in(t, &fresh);
    return find(lm);
}

/* An entry left with nothing is removed. */
static void drop_if_empty(struct entry *e)
{
    if (e->slot == 0 && e->handle == NULL)
        __atomic_store_n(&e->key, TOMB, __ATOMIC_RELEASE);
}

int cg_lmx_set_slot(void *lm, int slot)
{
    struct entry *e = entry_for(lm);
    if (e == NULL)
        return -1;
    __atomic_store_n(&e->slot, slot, __ATOMIC_RELEASE);
    return 0;
}

void cg_lmx_clear_slot(const void *lm, int slot)
{
    struct entry *e = find(lm);
    if (e == NULL || e->slot != slot)
        return;
    __atomic_store_n(&e->slot, 0, __ATOMIC_RELEASE);
    drop_if_empty(e);
}

int cg_lmx_set_handle(void *lm, void *handle, unsigned long long unloads)
{
    struct entry *e = find(lm);
    if (e == NULL && (e = entry_for(lm)) == NULL)
        return -1;
    /* the stamp first: a reader that sees the handle never pairs it with an older stamp */
    __atomic_store_n(&e->handle, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&e->unloads, unloads, __ATOMIC_RELEASE);
    __atomic_store_n(&e->handle, handle, __ATOMIC_RELEASE);
    return 0;
}

void cg_lmx_forget_handles(void)
{
    reclaim(); /* after each dlclose: what was replaced since goes when no lookup is under way */
    struct table *t = tab;
    for (size_t i = 0; t && i < t->cap; i++) {
        struct entry *e = &t->e[i];
        if (!live(e) || e->handle == NULL)
            continue;
        __atomic_store_n(&e->handle, NULL, __ATOMIC_RELEASE);
        drop_if_empty(e);
    }
}
