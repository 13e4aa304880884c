/* Interned module names (names.h). Memory comes from mmap, not malloc: a name is interned on first
 * sight of a module, which can be any CUDA call, in any state the program is in. Only cg_mod_lock
 * holders call in, so nothing here locks. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "track/names.h"

#define ARENA_BLOCK (64 * 1024)

static char *arena;        /* current block */
static size_t arena_left;  /* bytes left in it */

static void *alloc(size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n > arena_left) {
        size_t sz = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        arena = p;
        arena_left = sz;
    }
    void *r = arena;
    arena += n;
    arena_left -= n;
    return r;
}

/* Open addressing over string pointers; grown (and the old table unmapped) at half full. */
static const char **table;
static size_t cap, used;

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static int grow(void)
{
    size_t ncap = cap ? cap * 2 : 1024;
    const char **t = mmap(NULL, ncap * sizeof *t, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return -1;
    for (size_t i = 0; i < cap; i++)
        if (table[i]) {
            size_t k = hash(table[i]) & (ncap - 1);
            while (t[k])
                k = (k + 1) & (ncap - 1);
            t[k] = table[i];
        }
    if (table)
        munmap(table, cap * sizeof *table);
    table = t;
    cap = ncap;
    return 0;
}

const char *cg_intern(const char *s)
{
    if ((used + 1) * 2 > cap && grow() != 0)
        return NULL;
    size_t k = hash(s) & (cap - 1);
    for (; table[k]; k = (k + 1) & (cap - 1))
        if (strcmp(table[k], s) == 0)
            return table[k];
    size_t n = strlen(s) + 1;
    char *copy = alloc(n);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, n);
    table[k] = copy;
    used++;
    return copy;
}
