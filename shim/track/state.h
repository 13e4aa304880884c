/* What ctxguard knows about devices and contexts: primary handles, retains, generations, users. */
#ifndef CTXGUARD_STATE_H
#define CTXGUARD_STATE_H

#include <stdint.h>
#include <time.h>

#include "core/core.h"
#include "core/cuda_abi.h"
#include "track/modules.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

#define CG_MAX_DEVICES 64

enum cg_ctx_kind { CG_CTX_NONE, CG_CTX_PRIMARY, CG_CTX_CREATED, CG_CTX_UNKNOWN };

struct cg_device {
    CUcontext primary;     /* primary context handle, learnt from cuDevicePrimaryCtxRetain */
    int retains;           /* retains minus releases seen through ctxguard */
    unsigned int resets;   /* generation: primary resets/destroys seen on this device */
    /* Who used this context, and who lost data in its last reset, are kept per module (the uses and
     * victims bitmaps of the module table, bit = device), so that a module's slot number is not
     * limited and a freed slot forgets both with the rest of the record. */
    /* The last reset or destroy of this primary context that really happened (allowed), for failure
     * attribution: a handle is reused after a reset, so the generation, not the handle, tells. */
    unsigned int last_gen; /* 0: none yet; published last (release) */
    int last_caller;              /* its slot … */
    unsigned int last_caller_gen; /* … and that slot's generation then: the slot may hold another module now */
    const char *last_caller_path; /* its name, kept (interned): valid after it is unloaded */
    const char *last_call;
    struct timespec last_ts;
};
extern struct cg_device cg_devices[CG_MAX_DEVICES];
extern unsigned int cg_created_live; /* created contexts alive now (0: every context is a primary one) */
extern unsigned int cg_ctx_gen; /* bumped when a context is created/destroyed or a primary is learnt */

struct cg_ctxinfo {
    int device;            /* -1: unknown */
    CUcontext ctx;         /* NULL: none current */
    int kind;              /* enum cg_ctx_kind */
};

static inline int cg_dev_index(int dev)
{
    return (unsigned)dev < CG_MAX_DEVICES ? dev : 0;
}

/* Records that module m uses the primary context of the thread's current runtime device. Writes the
 * shared word only the first time, so steady-state calls touch no shared cache line. */
static inline void cg_mark_use_on(int m, int dev)
{
    if (m <= 0 || cg_mod(m)->cls != CG_MOD_USER)
        return;
    uint64_t bit = 1ull << cg_dev_index(dev), *u = cg_mod_uses(m);
    if (CG_UNLIKELY(!(__atomic_load_n(u, __ATOMIC_RELAXED) & bit)))
        __atomic_fetch_or(u, bit, __ATOMIC_RELAXED);
}
/* A use by a call that came from `ra` in module m: m itself when it is a user module, else the party
 * behind it (cg_party_of: past carriers and NVIDIA libraries, anonymous code as a user of its own,
 * a use that cannot be named still counted). */
void cg_mark_use_from(int m, const void *ra, int dev) __attribute__((noinline));
static inline void cg_mark_use_by(int m, const void *ra, int dev)
{
    if (CG_LIKELY(m > 0 && cg_mod(m)->cls == CG_MOD_USER))
        cg_mark_use_on(m, dev);
    else
        cg_mark_use_from(m, ra, dev);
}
static inline void cg_mark_use(int m, const void *ra)
{
    cg_mark_use_by(m, ra, cg_tls.dev < 0 ? 0 : cg_tls.dev);
}
/* Module m was told it used dev's primary context before its last reset (victims bit): clears it and
 * says whether it was set. */
static inline int cg_victim_take(int m, int dev)
{
    uint64_t bit = 1ull << cg_dev_index(dev);
    if (!(__atomic_load_n(cg_mod_victims(m), __ATOMIC_RELAXED) & bit))
        return 0;
    return (__atomic_fetch_and(cg_mod_victims(m), ~bit, __ATOMIC_ACQ_REL) & bit) != 0;
}
static inline int cg_is_victim(int m, int dev)
{
    return (__atomic_load_n(cg_mod_victims(m), __ATOMIC_RELAXED) >> cg_dev_index(dev)) & 1;
}

/* The runtime device this thread now works on; a change re-arms use recording (fast path off). */
static inline void cg_set_thread_device(int dev)
{
    if (dev != cg_tls.dev) {
        cg_tls.dev = dev;
        cg_tls.fast_gen = 0;
    }
}

/* The incarnation of dev's primary context now (see cg_event.ctx_gen). */
static inline unsigned int cg_ctx_gen_of(int dev)
{
    return 1 + __atomic_load_n(&cg_devices[cg_dev_index(dev)].resets, __ATOMIC_ACQUIRE);
}

/* A user module made a context current (cuCtxCreate, push, set): when it is a created one, remember
 * it, so that another module's next call can be checked against it (rt_hooks.c); when the same module
 * makes something else current again, it restored the thread. */
void cg_note_ctx_switch(int module, CUcontext ctx, int kind, const char *call);

/* Users of `dev`'s primary context other than `except` (when `except` is 0, no module, other than the
 * anonymous party; when it is negative, all of them): returns how many there are, and lists the first `cap` of them in out[]. */
int cg_other_users(int dev, int except, int *out, int cap);

/* Context bookkeeping, fed by the driver wrappers. */
void cg_note_retain(int dev, CUcontext ctx, int module, const void *ra);
int cg_note_release(int dev);      /* returns retains left after this release, as seen */
int cg_retains(int dev);
void cg_note_primary_reset(int dev);
/* A reset or destroy of dev's primary context was carried out on behalf of module `caller`. */
void cg_note_reset_done(int dev, int caller, const char *call);
void cg_note_created(CUcontext ctx, int dev);
void cg_note_destroyed(CUcontext ctx);
/* The thread made ctx current (slow path of cuCtxSetCurrent/Push): keeps its device and the primary's
 * users right, and remembers ctx so that setting it again is a plain tail call. */
void cg_note_current(CUcontext ctx, int module, const void *ra);

/* Classifies a handle: primary of a device, created through the driver API, or unknown. */
int cg_ctx_kind(CUcontext ctx, int *dev);

/* The calling thread's current context and device, asked of the driver without side effects (no
 * cuInit, no retain); when libcuda is not loaded at all, nothing is current. Runs as ctxguard's own
 * work (core/guard.h): hooks reached from it pass through. */
void cg_query_current(struct cg_ctxinfo *out);
/* The device of the allocation holding device pointer p (CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL), asked
 * as ctxguard's own call; -1 when unknown. */
int cg_pointer_device(uintptr_t p);
/* cuCtxSynchronize on the current context, as ctxguard's own work; used before answering a blocked
 * reset. */
CUresult cg_sync_current(void);

#pragma GCC visibility pop

#endif
