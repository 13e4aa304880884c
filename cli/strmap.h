/* A growing string-keyed hash map (open addressing) for the report: deduplication keys, rows,
 * processes. No fixed limits: it grows until memory runs out, and then says so. */
#ifndef CTXGUARD_CLI_STRMAP_H
#define CTXGUARD_CLI_STRMAP_H

#include <stddef.h>

struct strmap {
    char **keys;
    long *vals;
    size_t cap, n;
};

/* The value slot of `key`; when absent, inserts it with value `fresh` and sets *created. Never
 * returns NULL (ends the command with a message when memory runs out). */
long *strmap_put(struct strmap *m, const char *key, long fresh, int *created);
void strmap_free(struct strmap *m);

/* malloc, realloc and strdup that end the command with a message instead of returning NULL. */
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
