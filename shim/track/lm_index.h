/* The loader's link maps, indexed: which module slot an object has (so that finding a module never
 * walks the table), and which objects dlopen returned (so that their own dependency scope can be
 * searched through their handle, at a cost that does not grow with the objects loaded). */
#ifndef CTXGUARD_LM_INDEX_H
#define CTXGUARD_LM_INDEX_H

#include <stdint.h>

#include "core/libdl.h"

#pragma GCC visibility push(hidden)

/* Readers take no lock. */

/* The slot recorded for link map lm; -1 when none (the caller checks that the slot still holds lm:
 * an entry may be removed and its slot reused under a reader). */
int cg_lmx_slot(const void *lm);

/* The handle dlopen returned for lm, or NULL: only while no dlclose is under way, and only while
 * the loader's unload count (cg_loader_unloads, passed in) is what it was when the handle was kept:
 * no object at all has been unloaded since, by ctxguard's dlclose or by any other. A link map is a
 * handle in glibc only once dlopen has given the object a search list of its own: an object loaded
 * only as a dependency has none, and a lookup through its link map crashes in the loader; the purge
 * after ctxguard's dlclose (cg_lmx_forget_handles) cannot tell an object from the one loaded after it at the
 * same address under the same name, and never runs for an unload ctxguard does not see. */
void *cg_lmx_handle(const void *lm, unsigned long long unloads_now);

/* Writers hold cg_mod_lock and never ask the loader while they do. */

/* Returns 0, or -1 when no memory could be had (the index then lacks lm: lookups fall back). */
int cg_lmx_set_slot(void *lm, int slot);
void cg_lmx_clear_slot(const void *lm, int slot);
/* `unloads`: cg_loader_unloads() while dlopen's reference holds the object (see cg_lmx_handle). */
int cg_lmx_set_handle(void *lm, void *handle, unsigned long long unloads);
/* Forgets every handle: after an unload, which objects went cannot be told exactly. */
void cg_lmx_forget_handles(void);

/* A dlclose is under way from begin to end (any thread, nested or concurrent): cg_lmx_handle answers
 * NULL meanwhile, so a handle is never used for an object that dlclose unloaded and whose link map
 * the loader then gave to an object without a search list. Lock-free. */
void cg_lmx_closing_begin(void);
void cg_lmx_closing_end(void);
extern unsigned long cg_lmx_closing_now; /* dlcloses under way */
/* In a fork's child: the dlcloses other threads had under way are not the child's (it would
 * otherwise look everything up afresh for ever). */
void cg_lmx_after_fork_child(void);

#pragma GCC visibility pop

#endif
