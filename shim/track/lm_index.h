/* The loader's link maps, indexed: which module slot an object has (so that finding a module never
 * walks the table), and which objects dlopen returned (so that their own dependency scope can be
 * searched through their handle, at a cost that does not grow with the objects loaded). */
#ifndef CTXGUARD_LM_INDEX_H
#define CTXGUARD_LM_INDEX_H

#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Readers take no lock. */

/* The slot recorded for link map lm; -1 when none (the caller checks that the slot still holds lm:
 * an entry may be removed and its slot reused under a reader). */
int cg_lmx_slot(const void *lm);

/* The handle dlopen returned for lm, or NULL: only while no dlclose is under way, and only for an
 * object dlopen returned and no dlclose has unloaded since (cg_lmx_closing). A link map is a handle
 * in glibc only once dlopen has given the object a search list of its own: an object loaded only as
 * a dependency has none, and a lookup through its link map crashes in the loader. */
void *cg_lmx_handle(const void *lm);

/* Writers hold cg_mod_lock and never ask the loader while they do. */

/* Returns 0, or -1 when no memory could be had (the index then lacks lm: lookups fall back). */
int cg_lmx_set_slot(void *lm, int slot);
void cg_lmx_clear_slot(const void *lm, int slot);
/* `name` is interned (track/names.c): it identifies the object in cg_lmx_purge after it is gone. */
int cg_lmx_set_handle(void *lm, void *handle, uintptr_t l_addr, const char *name);
/* Forgets the handles of objects that are no longer loaded: still(ctx, l_addr, name) says whether
 * the object loaded at that bias under that name still is. */
void cg_lmx_purge(int (*still)(const void *ctx, uintptr_t l_addr, const char *name), const void *ctx);

/* A dlclose is under way from begin to end (any thread, nested or concurrent): cg_lmx_handle answers
 * NULL meanwhile, so a handle is never used for an object that dlclose unloaded and whose link map
 * the loader then gave to an object without a search list. Lock-free. */
void cg_lmx_closing_begin(void);
void cg_lmx_closing_end(void);
extern unsigned long cg_lmx_closing_now; /* dlcloses under way */

#pragma GCC visibility pop

#endif
