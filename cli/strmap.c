/* See strmap.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "ctxguard report: out of memory\n");
        exit(2);
    }
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t slot(const struct strmap *m, const char *key)
{
    size_t i = (size_t)hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

long *strmap_put(struct strmap *m, const char *key, long fresh, int *created)
{
    if (created)
        *created = 0;
    if (2 * (m->n + 1) > m->cap) {
        struct strmap g = {NULL, NULL, m->cap ? 2 * m->cap : 64, 0};
        g.keys = xrealloc(NULL, g.cap * sizeof *g.keys);
        g.vals = xrealloc(NULL, g.cap * sizeof *g.vals);
        memset(g.keys, 0, g.cap * sizeof *g.keys);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = slot(&g, m->keys[i]);
                g.keys[j] = m->keys[i];
                g.vals[j] = m->vals[i];
                g.n++;
            }
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t i = slot(m, key);
    if (m->keys[i] == NULL) {
        m->keys[i] = xstrdup(key);
        m->vals[i] = fresh;
        m->n++;
        if (created)
            *created = 1;
    }
    return &m->vals[i];
}

void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
