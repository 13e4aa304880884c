/* The dlsym door (handle lookups) and dlclose (so module attribution never outlives a module). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/guard.h"
#include "report/log.h"
#include "track/state.h"

#include "core/hooks.h"
#include "track/modules.h"
#include "doors/handout.h"
#include "track/resolve.h"

#if !defined(__x86_64__)
#error "ctxguard's dlsym entry is written for x86-64 (see dlsym_entry.S)"
#endif

/* Exactly cu[A-Z]… or cuda[A-Z]…: a looser "cu" prefix once caught cuDNN's cudnnCreate. */
static inline int cuda_name(const char *n)
{
    if (n[0] != 'c' || n[1] != 'u')
        return 0;
    if (n[2] >= 'A' && n[2] <= 'Z')
        return 1;
    return n[2] == 'd' && n[3] == 'a' && n[4] >= 'A' && n[4] <= 'Z';
}

/* Reached by tail jump from dlsym, so __builtin_return_address(0) is the original caller's. */
CG_HIDDEN void *cg_dlsym_handle(void *handle, const char *name);
void *cg_dlsym_handle(void *handle, const char *name)
{
    void *r = cg_real_dlsym(handle, name);
    if (r == NULL || name == NULL || CG_LIKELY(!cuda_name(name)) || cg_own_active())
        return r;
    /* From here on only CUDA names: rare, so the cost below does not matter. Nothing CUDA is done
     * here, and no lock is taken that a CUDA call could hold. */
    const void *ra = __builtin_return_address(0);
    int m = cg_module_of(ra);
    if (m > 0 && cg_mod(m)->cls == CG_MOD_DRIVER)
        return r; /* the driver's own lookups stay untouched */
    if (name[2] == 'd')
        return cg_wrap_runtime_exact(cg_rt_id_of(name), r);
    int id = cg_drv_id_of(name);
    if (cg_drv_unwrapped_for(id, m))
        return r;
    return cg_wrap_driver_exact(id, r);
}

/* Called by the dlopen entry (dlsym_entry.S) before an RTLD_DEEPBIND load: such a module and its
 * dependencies look symbols up in their own scope before the preload, so ctxguard sees none of its
 * runtime calls and, when its runtime's dlsym binds to libc first, none of its driver calls either. */
CG_HIDDEN void cg_note_deepbind(const char *file, int flags, const void *ra);
void cg_note_deepbind(const char *file, int flags, const void *ra)
{
    (void)flags;
    if (file == NULL || cg_own_active())
        return;
    cg_init();
    char reason[CG_PATH_MAX + 300];
    snprintf(reason, sizeof reason,
             "%s is loaded with RTLD_DEEPBIND: it and its dependencies resolve CUDA calls in their own "
             "scope before the preload, so ctxguard can neither see nor guard them; load it without "
             "RTLD_DEEPBIND to guard it", file);
    struct cg_event ev = {.api = CG_API_RUNTIME, .call = "dlopen(RTLD_DEEPBIND)", .device = -1,
                          .ctx_kind = CG_CTX_UNKNOWN, .caller = cg_module_of(ra), .action = CG_ALLOW,
                          .destructive = 1, .reason = reason, .decided_by = "built-in", .log = -1};
    cg_log_event(&ev);
}

/* Asked by the dlopen entry (dlsym_entry.S) whether ctxguard may call glibc's dlopen itself and keep
 * the handle: glibc looks at the caller only for its namespace, and for its RUNPATH and $ORIGIN when
 * the file is not a path or holds a '$'. So for a path without '$', asked from ctxguard's own
 * namespace, glibc loads the same object for ctxguard as for the caller. Everything else is passed
 * by tail jump, with the caller's return address intact. */
CG_HIDDEN int cg_dlopen_keeps_handle(const char *file, int flags, const void *ra);
int cg_dlopen_keeps_handle(const char *file, int flags, const void *ra)
{
    (void)flags;
    return file != NULL && !cg_own_active() && strchr(file, '/') != NULL &&
           strchr(file, '$') == NULL && cg_modules_same_namespace(ra);
}

/* Reached by tail jump from the dlopen entry when cg_dlopen_keeps_handle said so: the object's own
 * dependency scope is then searched through its handle (track/lm_index.h), at a cost that does not
 * grow with the number of objects loaded, where asking the loader by name compares the name with
 * every loaded object's. */
CG_HIDDEN void *cg_dlopen_noted(const char *file, int flags);
void *cg_dlopen_noted(const char *file, int flags)
{
    void *h = cg_real_dlopen(file, flags);
    if (h != NULL) {
        int e = errno;
        cg_modules_note_opened(h);
        errno = e;
    }
    return h;
}

/* Reached from dlclose in dlsym_entry.S (an assembly entry so that ctxguard knows its own address).
 * From before the real dlclose until the module table is revalidated after it, nothing cached for a
 * module is trusted (cg_modules_closing_begin). */
CG_HIDDEN int cg_dlclose_impl(void *handle);
int cg_dlclose_impl(void *handle)
{
    if (cg_real_dlclose == NULL)
        cg_resolve_real_dlsym();
    if (cg_real_dlclose == NULL)
        return -1;
    cg_modules_closing_begin();
    int r = cg_real_dlclose(handle);
    if (r == 0 && cg_ready && !cg_own_active())
        cg_modules_revalidate();
    else if (r == 0)
        cg_modules_forget_opened(); /* not told what is gone: nothing kept is trusted */
    cg_modules_closing_end();
    return r;
}
