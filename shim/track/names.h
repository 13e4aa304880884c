/* Interned module names: one copy of each distinct path for the life of the process. */
#ifndef CTXGUARD_NAMES_H
#define CTXGUARD_NAMES_H

#pragma GCC visibility push(hidden)

/* The interned copy of s (equal strings give the same pointer), or NULL when memory ran out. Never
 * freed, never moved: a pointer kept anywhere names its module after the module is unloaded and its
 * slot reused. Memory grows with the distinct paths a process loads, not with dlopen/dlclose cycles.
 * Callers hold cg_mod_lock (the only writer). */
const char *cg_intern(const char *s);

#pragma GCC visibility pop

#endif
