/* Link map -> (module slot, dlopen handle): open addressing, lock-free readers, writers under
 * cg_mod_lock. An entry's fields are written before its key is published (release); a field that
 * changes later changes alone, atomically. Tables are replaced, not resized in place; a replaced one
 * stays mapped (readers may be in it), which costs at most as much again as the table in use. An
 * entry with neither a slot nor a handle becomes a tombstone, dropped at the next replacement. */
#include <stddef.h>
#include <sys/mman.h>

#include "track/lm_index.h"

#define TOMB ((void *)1)

struct entry {
    void *key; /* the link map; NULL: never used; TOMB: removed */
    int slot;  /* 0: none */
    void *handle;
    uintptr_t l_addr;
    const char *name;
};

struct table {
    size_t cap, used; /* used counts tombstones too */
    struct entry e[];
};

static struct table *tab;

static size_t hash(const void *p, size_t cap)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

static struct entry *find(const void *lm)
{
    struct table *t = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
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
    struct entry *e = find(lm);
    int m = e ? __atomic_load_n(&e->slot, __ATOMIC_ACQUIRE) : 0;
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
    __atomic_sub_fetch(&closing_now, 1, __ATOMIC_SEQ_CST);
}

void *cg_lmx_handle(const void *lm)
{
    unsigned long s = __atomic_load_n(&closing_seq, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&closing_now, __ATOMIC_SEQ_CST) != 0)
        return NULL;
    struct entry *e = find(lm);
    void *h = e ? __atomic_load_n(&e->handle, __ATOMIC_ACQUIRE) : NULL;
    if (__atomic_load_n(&closing_now, __ATOMIC_SEQ_CST) != 0 || __atomic_load_n(&closing_seq, __ATOMIC_SEQ_CST) != s)
        return NULL;
    return h;
}

/* ---- writers (cg_mod_lock) ---- */

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
    __atomic_store_n(&e->handle, src->handle, __ATOMIC_RELEASE);
    e->l_addr = src->l_addr;
    e->name = src->name;
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
        __atomic_store_n(&tab, nt, __ATOMIC_RELEASE);
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

int cg_lmx_set_handle(void *lm, void *handle, uintptr_t l_addr, const char *name)
{
    struct entry *e = find(lm);
    if (e && e->handle == handle)
        return 0; /* opened again: the same object, the same handle */
    if (e == NULL && (e = entry_for(lm)) == NULL)
        return -1;
    /* identity first: a reader that sees the handle never pairs it with another object's name */
    __atomic_store_n(&e->handle, NULL, __ATOMIC_RELEASE);
    e->l_addr = l_addr;
    e->name = name;
    __atomic_store_n(&e->handle, handle, __ATOMIC_RELEASE);
    return 0;
}

void cg_lmx_purge(int (*still)(const void *ctx, uintptr_t l_addr, const char *name), const void *ctx)
{
    struct table *t = tab;
    for (size_t i = 0; t && i < t->cap; i++) {
        struct entry *e = &t->e[i];
        if (!live(e) || e->handle == NULL || still(ctx, e->l_addr, e->name))
            continue;
        __atomic_store_n(&e->handle, NULL, __ATOMIC_RELEASE);
        drop_if_empty(e);
    }
}
