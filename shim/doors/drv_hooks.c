/* Driver entry points: the cuGetProcAddress door, primary-context retain/release/reset, context
 * creation/destruction and the current-context stack. One handler per kind of hooks.def's driver
 * rows; the exported variants are generated at the end of this file from the table, and the variant
 * only decides the name logged and the real function called. */
#include <stddef.h>

#include "core/guard.h"
#include "decide/attribution.h"
#include "core/hooks.h"
#include "report/log.h"
#include "track/modules.h"
#include "decide/policy.h"
#include "doors/handout.h"
#include "track/resolve.h"
#include "track/state.h"

#define RA __builtin_return_address(0)
#define REAL(name, ra) ((cg_drv_fn_##name)drv_enter(CG_DRV_ID_##name, ra))

static inline void *drv_enter(int id, const void *ra)
{
    cg_init();
    return cg_drv_real_for(id, ra);
}

#define drv_debug(...)                                                                               \
    do {                                                                                             \
        if (CG_UNLIKELY(cg_log_all))                                                                 \
            drv_debug_(__VA_ARGS__);                                                                 \
    } while (0)
static void __attribute__((noinline)) drv_debug_(int id, const void *ra, int dev, CUcontext ctx, int kind,
                                                 CUresult r, const char *reason)
{
    if (cg_own_active())
        return;
    struct cg_event ev = {.api = CG_API_DRIVER, .call = cg_drv_info[id].name, .device = dev, .ctx = ctx,
                          .ctx_kind = kind, .caller = cg_module_of(ra), .action = CG_ALLOW, .result = r,
                          .reason = reason};
    cg_log_event(&ev);
}

/* ---- cuGetProcAddress: every driver function a runtime uses comes through here ---- */

static void *proc_result(const char *symbol, int version, cuuint64_t flags, void *p, const void *ra)
{
    if (p == NULL || symbol == NULL || CG_LIKELY(!cg_maybe_guarded_base(symbol)) || cg_own_active())
        return p;
    /* CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM: a _ptsz variant, wrapped only where a row names it */
    int ptsz = (flags & 2) && cg_has_ptsz_variant(symbol);
    int id = ptsz ? cg_drv_ptsz_variant(symbol) : cg_drv_variant_for(symbol, version);
    if (ptsz && id < 0)
        return p;
    int m = cg_module_of(ra);
    if (m > 0 && cg_mod(m)->cls == CG_MOD_DRIVER)
        return p; /* the driver's own lookups stay untouched */
    if (cg_drv_unwrapped_for(id, m))
        return p;
    return cg_wrap_driver_exact(id, p);
}

/* ---- primary context ---- */

/* A retain, once made: the module it is made for uses the primary context, and one that used it
 * before another module reset it is told now why its old resources fail. */
static CUresult retained(int id, CUresult r, CUcontext *pctx, CUdevice dev, const void *ra)
{
    if (r == CG_SUCCESS && pctx) {
        int m = cg_own_active() ? 0 : cg_attribute(ra);
        cg_note_retain(dev, *pctx, m, cg_own_active() ? NULL : ra);
        if (m > 0 && CG_UNLIKELY(cg_is_victim(m, dev)))
            cg_note_reattach(dev, m);
        drv_debug(id, ra, dev, *pctx, CG_CTX_PRIMARY, r, "retain recorded");
    }
    return r;
}

/* A blocked reset waits for pending work, as the reset would have, when that context is the current
 * one (reaching another context would need a retain, which ctxguard never takes). */
static void settle_current(void *ctx)
{
    struct cg_ctxinfo ci;
    cg_query_current(&ci);
    if (ci.ctx != NULL && ci.ctx == ctx)
        cg_sync_current();
}

/* The judged path shared by resets and destroying releases. `act` performs the real call. */
static CUresult judge_primary(int id, CUdevice dev, const void *ra, CUresult (*act)(void *, CUdevice),
                              void *real, int is_reset)
{
    struct cg_event ev = {.api = CG_API_DRIVER, .call = cg_drv_info[id].name, .device = dev,
                          .ctx = __atomic_load_n(&cg_devices[cg_dev_index(dev)].primary, __ATOMIC_ACQUIRE),
                          .ctx_kind = CG_CTX_PRIMARY, .destructive = 1};
    ev.ctx_gen = cg_ctx_gen_of(dev); /* the incarnation this call may end, fixed before it acts */
    int no_user = 0;
    ev.caller = cg_attribute_ex(ra, &no_user);
    ev.shared_count = cg_other_users(dev, ev.caller, ev.shared_with, CG_SHARED_LIST);
    char reason[512];
    if (!is_reset && no_user) {
        /* Measured on the H100: the runtime releases its retain while the process exits (from
         * exit handlers, no module on the stack). That is its own teardown, not a module's act. */
        ev.action = CG_ALLOW;
        ev.decided_by = "teardown";
        ev.destructive = 0; /* logged at debug: every CUDA process does this once, at exit */
        ev.reason = "the runtime released its own retain with no module on the stack (teardown at "
                    "process exit or library unload)";
    } else
        cg_decide(&ev, reason, sizeof reason);
    if (!cg_verdict_stops(&ev, is_reset ? settle_current : NULL, ev.ctx)) {
        ev.result = act(real, dev);
        if (ev.result == CG_SUCCESS) {
            if (!is_reset)
                cg_note_release(dev);
            cg_note_primary_reset(dev);
            if (ev.destructive) /* not the runtime's own teardown at exit */
                cg_note_reset_done(dev, ev.caller, ev.call);
        }
    }
    cg_verdict_done(&ev);
    return ev.result;
}

static CUresult call_dev(void *fn, CUdevice dev)
{
    return ((CUresult(*)(CUdevice))fn)(dev);
}

static CUresult primary_reset(int id, CUdevice dev, const void *ra)
{
    void *real = drv_enter(id, ra);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    if (cg_own_active())
        return call_dev(real, dev);
    if (cg_tls.judged) {
        /* Underneath a runtime reset that was already judged and allowed. */
        CUresult r = call_dev(real, dev);
        if (r == CG_SUCCESS)
            cg_note_primary_reset(dev);
        drv_debug(id, ra, dev, NULL, CG_CTX_PRIMARY, r, "part of a runtime reset already judged");
        return r;
    }
    return judge_primary(id, dev, ra, call_dev, real, 1);
}

/* A release is ordinary bookkeeping unless it drops the last retain ctxguard has seen: then the
 * driver destroys the context for every thread that has it current. */
static CUresult primary_release(int id, CUdevice dev, const void *ra)
{
    void *real = drv_enter(id, ra);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    if (!cg_own_active() && !cg_tls.judged && cg_retains(dev) == 1)
        return judge_primary(id, dev, ra, call_dev, real, 0);
    CUresult r = call_dev(real, dev);
    if (r == CG_SUCCESS && cg_retains(dev) > 0)
        cg_note_release(dev);
    drv_debug(id, ra, dev, NULL, CG_CTX_PRIMARY, r, "release of one retain among several");
    return r;
}

static CUresult set_flags(int id, CUdevice dev, unsigned int flags, const void *ra)
{
    void *real = drv_enter(id, ra);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    CUresult r = ((CUresult(*)(CUdevice, unsigned int))real)(dev, flags);
    drv_debug(id, ra, dev, NULL, CG_CTX_PRIMARY, r, "pass-through");
    return r;
}

/* ---- created contexts ---- */

static CUresult created(int id, CUresult r, CUcontext *pctx, CUdevice dev, const void *ra)
{
    if (r == CG_SUCCESS && pctx && *pctx) {
        cg_note_created(*pctx, dev);
        cg_set_thread_device(dev); /* cuCtxCreate makes the new context current */
        if (!cg_own_active())
            cg_note_ctx_switch(cg_module_of(ra), *pctx, CG_CTX_CREATED, cg_drv_info[id].name);
        drv_debug(id, ra, dev, *pctx, CG_CTX_CREATED, r, "created context recorded");
    }
    return r;
}

static CUresult ctx_destroy(int id, CUcontext ctx, const void *ra)
{
    void *real = drv_enter(id, ra);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    CUresult (*destroy)(CUcontext) = (CUresult(*)(CUcontext))real;
    if (cg_own_active() || cg_tls.judged) {
        CUresult r = destroy(ctx);
        if (r == CG_SUCCESS)
            cg_note_destroyed(ctx);
        return r;
    }
    int dev;
    struct cg_event ev = {.api = CG_API_DRIVER, .call = cg_drv_info[id].name, .ctx = ctx, .destructive = 1};
    ev.ctx_kind = cg_ctx_kind(ctx, &dev);
    ev.device = dev;
    ev.caller = cg_attribute(ra);
    char reason[512];
    if (ev.ctx_kind != CG_CTX_UNKNOWN) {
        if (ev.ctx_kind == CG_CTX_PRIMARY)
            ev.shared_count = cg_other_users(dev, ev.caller, ev.shared_with, CG_SHARED_LIST);
        cg_decide(&ev, reason, sizeof reason); /* rules may say something about created contexts */
    } else {
        /* A handle never seen created or retained is not a primary context ctxguard knows; blocking
         * it would break a program ctxguard cannot read. */
        ev.action = CG_ALLOW;
        ev.decided_by = "built-in";
        ev.reason = "a context never seen created or retained: not a known primary context";
    }
    if (!cg_verdict_stops(&ev, NULL, NULL)) {
        ev.result = destroy(ctx);
        if (ev.result == CG_SUCCESS) {
            cg_note_destroyed(ctx);
            if (ev.ctx_kind == CG_CTX_PRIMARY) {
                cg_note_primary_reset(dev);
                cg_note_reset_done(dev, ev.caller, ev.call);
            }
        }
    }
    cg_verdict_done(&ev);
    return ev.result;
}

/* ---- the current-context stack: keeps the thread's device and the users of primaries right ---- */

static __attribute__((noinline)) CUresult make_current_slow(int id, CUcontext ctx, const void *ra)
{
    void *real = drv_enter(id, ra);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    CUresult r = ((CUresult(*)(CUcontext))real)(ctx);
    if (r == CG_SUCCESS && !cg_own_active()) {
        int m = cg_module_of(ra), dev;
        if (ctx)
            cg_note_current(ctx, m, ra);
        cg_note_ctx_switch(m, ctx, ctx ? cg_ctx_kind(ctx, &dev) : CG_CTX_NONE, cg_drv_info[id].name);
    }
    drv_debug(id, ra, -1, ctx, CG_CTX_UNKNOWN, r, "pass-through");
    return r;
}

/* Frameworks make the same context current over and over: when it is the one this thread last made
 * current and nothing about contexts changed since, there is nothing to note: a tail call. */
static inline __attribute__((always_inline)) CUresult make_current(int id, CUcontext ctx, const void *ra)
{
    void *real = __atomic_load_n(&cg_drv_real[id], __ATOMIC_RELAXED);
    if (CG_LIKELY(real != NULL && ctx == cg_tls.cur_ctx &&
                  cg_tls.cur_ctx_gen == __atomic_load_n(&cg_ctx_gen, __ATOMIC_RELAXED) && !cg_log_all))
        return ((CUresult(*)(CUcontext))real)(ctx);
    return make_current_slow(id, ctx, ra);
}

static CUresult pop_current(int id, CUcontext *pctx, const void *ra)
{
    void *real = drv_enter(id, ra);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    CUresult r = ((CUresult(*)(CUcontext *))real)(pctx);
    if (r == CG_SUCCESS && !cg_own_active()) {
        struct cg_ctxinfo ci;
        cg_query_current(&ci);
        if (ci.device >= 0)
            cg_set_thread_device(ci.device);
        if (cg_tls.ctx_switch_mod && ci.ctx != cg_tls.ctx_switch_ctx)
            cg_tls.ctx_switch_mod = 0; /* the context left behind is no longer current */
    }
    drv_debug(id, ra, -1, NULL, CG_CTX_UNKNOWN, r, "pass-through");
    return r;
}

/* ---- the exported entry points, one per hooks.def driver row, generated by kind ---- */

/* PROC, PROC2: a name ctxguard does not wrap (nearly every lookup) goes straight through, a tail
 * call; otherwise the slow half forwards and hands out the wrapper for the version asked. PROC2's
 * status says "symbol not found" when the real function is missing. */
#define CG_PROC_MISSING_PROC
#define CG_PROC_MISSING_PROC2                                                                        \
    if (status)                                                                                      \
        *status = 1; /* CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND */
#define CG_DRV_PROC_WRAP(name, params, args, kind)                                                   \
    static __attribute__((noinline)) CUresult name##_slow params                                     \
    {                                                                                                \
        const void *ra = cg_tls.slow_ra;                                                             \
        cg_drv_fn_##name real = REAL(name, ra);                                                      \
        if (CG_UNLIKELY(real == NULL)) {                                                             \
            CG_PROC_MISSING_##kind                                                                   \
            return CG_ERR_SYMBOL_NOT_FOUND;                                                          \
        }                                                                                            \
        CUresult r = real args;                                                                      \
        if (r == CG_SUCCESS && pfn)                                                                  \
            *pfn = proc_result(symbol, cudaVersion, flags, *pfn, ra);                                       \
        return r;                                                                                    \
    }                                                                                                \
    CUresult name params                                                                             \
    {                                                                                                \
        cg_drv_fn_##name real =                                                                      \
            (cg_drv_fn_##name)__atomic_load_n(&cg_drv_real[CG_DRV_ID_##name], __ATOMIC_RELAXED);     \
        if (CG_LIKELY(real != NULL && symbol != NULL && !cg_maybe_guarded_base(symbol)))             \
            return real args;                                                                        \
        cg_tls.slow_ra = RA;                                                                         \
        return name##_slow args;                                                                     \
    }
#define CG_DRV_WRAP_PROC(name, params, args) CG_DRV_PROC_WRAP(name, params, args, PROC)
#define CG_DRV_WRAP_PROC2(name, params, args) CG_DRV_PROC_WRAP(name, params, args, PROC2)
/* RETAIN, CREATE: the real call, then what it made is noted (the params name it pctx, on dev). */
#define CG_DRV_WRAP_NOTED(name, params, args, then)                                                  \
    CUresult name params                                                                             \
    {                                                                                                \
        cg_drv_fn_##name real = REAL(name, RA);                                                      \
        if (CG_UNLIKELY(real == NULL))                                                               \
            return CG_ERR_SYMBOL_NOT_FOUND;                                                          \
        return then(CG_DRV_ID_##name, real args, pctx, dev, RA);                                     \
    }
#define CG_DRV_WRAP_RETAIN(name, params, args) CG_DRV_WRAP_NOTED(name, params, args, retained)
#define CG_DRV_WRAP_CREATE(name, params, args) CG_DRV_WRAP_NOTED(name, params, args, created)
/* The rest: one handler per kind, told which variant was called. */
#define CG_DRV_WRAP_HANDLER(name, params, handler, ...)                                              \
    CUresult name params                                                                             \
    {                                                                                                \
        return handler(CG_DRV_ID_##name, __VA_ARGS__, RA);                                           \
    }
#define CG_DRV_WRAP_RESET(name, params, args) CG_DRV_WRAP_HANDLER(name, params, primary_reset, dev)
#define CG_DRV_WRAP_RELEASE(name, params, args) CG_DRV_WRAP_HANDLER(name, params, primary_release, dev)
#define CG_DRV_WRAP_FLAGS(name, params, args) CG_DRV_WRAP_HANDLER(name, params, set_flags, dev, flags)
#define CG_DRV_WRAP_DESTROY(name, params, args) CG_DRV_WRAP_HANDLER(name, params, ctx_destroy, ctx)
#define CG_DRV_WRAP_CURRENT(name, params, args) CG_DRV_WRAP_HANDLER(name, params, make_current, ctx)
#define CG_DRV_WRAP_POP(name, params, args) CG_DRV_WRAP_HANDLER(name, params, pop_current, pctx)
#define CG_DRV_WRAP_TRACKED(name, params, args) /* doors/res_hooks.c */
#define CG_DRV_WRAP_CHECK(name, params, args) /* doors/chk_hooks.c */
#define CG_DRV(name, base, since, kind, group, params, args) CG_DRV_WRAP_##kind(name, params, args)
#include "core/hooks.def"
