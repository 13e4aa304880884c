/* glibc's own dlsym/dlopen/dlclose (never ctxguard's exported ones), and ctxguard's own address range. */
#ifndef CTXGUARD_LIBDL_H
#define CTXGUARD_LIBDL_H

#pragma GCC visibility push(hidden)

extern void *(*cg_real_dlsym)(void *, const char *);
extern int (*cg_real_dlclose)(void *);
extern void *(*cg_real_dlopen)(const char *, int);
/* Resolves the three (once; safe from any thread, before or after initialisation) and returns dlsym. */
void *cg_resolve_real_dlsym(void);

/* Whether p lies in ctxguard's own object (a wrapper, an entry): such a pointer is never taken for a
 * real function. */
int cg_is_own_code(const void *p);

/* How many objects the loader has unloaded since the process started, in any namespace and by any
 * caller (glibc's dl_iterate_phdr dlpi_subs; it only grows); CG_UNLOADS_UNKNOWN where it cannot say.
 * Costs one callback: the walk stops at the first object. */
#define CG_UNLOADS_UNKNOWN (~0ull)
unsigned long long cg_loader_unloads(void);

#pragma GCC visibility pop

#endif
