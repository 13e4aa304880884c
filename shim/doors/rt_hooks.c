/* Runtime entry points: one handler per kind of hooks.def's runtime rows (USE, PASS, SETDEV, RESET,
 * ENTRY, ENTRYV); the exported functions are generated at the end of this file from the table. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/guard.h"
#include "decide/attribution.h"
#include "core/hooks.h"
#include "report/log.h"
#include "track/modules.h"
#include "decide/policy.h"
#include "doors/handout.h"
#include "track/resolve.h"
#include "track/resources.h"
#include "track/state.h"

/* Fast path of every pass-through runtime call: the caller is the module this thread last called
 * from, its use of the thread's device is already recorded, so cg_tls.rt_tab holds what to call.
 * Costs one compare (the range, with the generation folded in); anything else goes to rt_enter. */
static inline int rt_armed(const void *ra)
{
    /* One compare and one branch for both tests: a stale generation sets bits at 2^32 and above,
     * which no span reaches (cache() keeps spans below 4 GiB), so the range test fails. */
    uint64_t stale = (uint64_t)(cg_tls.fast_gen ^ __atomic_load_n(&cg_mod_gen, __ATOMIC_RELAXED)) << 32;
    return (((uintptr_t)ra - cg_tls.mod_lo) | stale) < cg_tls.mod_span;
}
#define RT_TAB(name) ((cg_rt_fn_##name)cg_tls.rt_tab[CG_RT_ID_##name])

/* Lazy entries: what a fast-path slot holds until the module's real function is resolved (or when
 * it is missing). Jumped to like the real function, they hand the caller's return address to the
 * slow half, which resolves (or returns a defined error) and re-arms. A wrapper that calls rather
 * than jumps (USE: it checks the result) has no lazy entry and tests its slot for NULL. */
#define CG_RT_LAZY_DECL_USE(name, params)
#define CG_RT_LAZY_DECL_PASS(name, params) static cudaError_t name##_lazy params;
#define CG_RT_LAZY_DECL_SETDEV(name, params) static cudaError_t name##_lazy params;
#define CG_RT_LAZY_DECL_ENTRY(name, params) static cudaError_t name##_lazy params;
#define CG_RT_LAZY_DECL_ENTRYV(name, params) static cudaError_t name##_lazy params;
#define CG_RT_LAZY_DECL_RESET(name, params)
#define CG_RT_LAZY_DECL_ALLOC(name, params)
#define CG_RT_LAZY_DECL_FREE(name, params)
#define CG_RT_LAZY_DECL_CREATE(name, params)
#define CG_RT_LAZY_DECL_DESTROY(name, params)
#define CG_RT(name, params, args, kind) CG_RT_LAZY_DECL_##kind(name, params)
#include "core/hooks.def"
/* a call that checks its result has no lazy entry (it tests its slot for NULL); the resets are never
 * reached through the table (no fast path): their slots name themselves */
#define CG_RT_LAZY_USE(name) NULL
#define CG_RT_LAZY_PASS(name) (void *)name##_lazy
#define CG_RT_LAZY_SETDEV(name) (void *)name##_lazy
#define CG_RT_LAZY_ENTRY(name) (void *)name##_lazy
#define CG_RT_LAZY_ENTRYV(name) (void *)name##_lazy
#define CG_RT_LAZY_RESET(name) (void *)name
#define CG_RT_LAZY_ALLOC(name) NULL /* tracked calls call and record: like USE, no lazy entry */
#define CG_RT_LAZY_FREE(name) NULL
#define CG_RT_LAZY_CREATE(name) NULL
#define CG_RT_LAZY_DESTROY(name) NULL
static void *const rt_lazy[CG_RT_COUNT] = {
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = CG_RT_LAZY_##kind(name),
#include "core/hooks.def"
};

/* A module that moved the thread to another device and returned without moving it back leaves the
 * next module's calls on the wrong device. Checked only on the slow path, which every call takes
 * after a device change (the fast path is disarmed then). */
/* A module made a context of its own current (created, pushed or set) and returned with it still
 * current: another module's runtime calls now run on that context instead of the primary context
 * they hold memory, streams and modules in. Looked at once per such switch, on the slow path. */
/* The name a switch record gives its module: the module's, or a note that it was unloaded since (its
 * slot may hold another module now, which did nothing). */
static const char *switcher_name(int tag, int *slot)
{
    *slot = cg_mod_untag(tag);
    return *slot > 0 ? cg_module_base(*slot) : "a module unloaded since";
}

static __attribute__((noinline)) void check_context_left(int id, int m)
{
    int tag = cg_tls.ctx_switch_mod, switcher;
    void *ctx = cg_tls.ctx_switch_ctx;
    cg_tls.ctx_switch_mod = 0; /* one look per switch */
    if (id == CG_RT_ID_cudaSetDevice)
        return; /* the runtime makes that device's primary context current: the thread is repaired */
    struct cg_ctxinfo ci;
    cg_query_current(&ci);
    if (ci.ctx != ctx)
        return; /* restored (or replaced) before this call: nothing left behind */
    char reason[512];
    const char *who = switcher_name(tag, &switcher);
    snprintf(reason, sizeof reason,
             "%s made its own context %p current (%s) and returned without restoring the previous one; "
             "%s's %s now runs on that context, not on the primary context of device %d where its memory, "
             "streams and modules are",
             who, ctx, cg_tls.ctx_switch_call ? cg_tls.ctx_switch_call : "?", cg_module_base(m),
             cg_rt_names[id], ci.device < 0 ? 0 : ci.device);
    struct cg_event ev = {.api = CG_API_RUNTIME, .call = cg_rt_names[id], .device = ci.device, .ctx = ctx,
                          .ctx_kind = CG_CTX_CREATED, .shared_count = switcher > 0, .shared_with = {switcher > 0 ? switcher : 0},
                          .caller = m, .action = CG_ALLOW, .destructive = 1, .reason = reason,
                          .decided_by = "context-switch", .log = 1};
    cg_log_event(&ev);
}

static __attribute__((noinline)) void check_device_leak(int id, int m)
{
    int dev = cg_tls.dev < 0 ? 0 : cg_tls.dev, last = -1, slot = -1, tag = cg_mod_tag(m);
    /* the common case: no switch pending, and this module was the last one seen, on this device */
    if (cg_tls.switch_mod == 0 && cg_tls.ctx_switch_mod == 0 && cg_tls.used_last == tag && cg_tls.used_last_dev == dev)
        return;
    if (CG_UNLIKELY(cg_tls.ctx_switch_mod != 0) && cg_tls.ctx_switch_mod != tag && cg_mod(m)->cls == CG_MOD_USER)
        check_context_left(id, m);
    for (int i = 0; i < 8; i++)
        if (cg_tls.used_mod[i] == tag) { /* a module unloaded since left a tag nothing matches */
            last = cg_tls.used_dev[i];
            slot = i;
        }
    int switch_tag = cg_tls.switch_mod;
    if (switch_tag != 0 && switch_tag != tag && cg_mod(m)->cls == CG_MOD_USER && last >= 0) {
        /* one look per switch, by a module that used a device on this thread before: one that never
         * did (loaded since) cannot have been moved, and leaves the look to the next */
        cg_tls.switch_mod = 0;
        if (last != dev && id != CG_RT_ID_cudaSetDevice) {
            char reason[512];
            int switcher;
            const char *who = switcher_name(switch_tag, &switcher);
            snprintf(reason, sizeof reason,
                     "%s moved this thread from device %d to device %d (cudaSetDevice) and did not move it back; "
                     "%s's %s now runs on device %d, though it last used device %d on this thread",
                     who, cg_tls.switch_from, dev, cg_module_base(m), cg_rt_names[id], dev, last);
            struct cg_event ev = {.api = CG_API_RUNTIME, .call = cg_rt_names[id], .device = dev,
                                  .ctx_kind = CG_CTX_UNKNOWN, .shared_count = switcher > 0,
                                  .shared_with = {switcher > 0 ? switcher : 0}, .caller = m, .action = CG_ALLOW,
                                  .destructive = 1, .reason = reason, .decided_by = "device-switch", .log = 1};
            cg_log_event(&ev);
        }
    }
    if (m > 0 && cg_mod(m)->cls == CG_MOD_USER) {
        if (slot < 0) { /* a free entry, else drop the oldest (entries are kept oldest first) */
            for (slot = 0; slot < 7 && cg_tls.used_mod[slot] != 0; slot++)
                ;
            if (cg_tls.used_mod[slot] != 0) {
                memmove(&cg_tls.used_mod[0], &cg_tls.used_mod[1], sizeof cg_tls.used_mod[0] * 7);
                memmove(&cg_tls.used_dev[0], &cg_tls.used_dev[1], sizeof cg_tls.used_dev[0] * 7);
            }
        }
        cg_tls.used_mod[slot] = tag;
        cg_tls.used_dev[slot] = dev;
        cg_tls.used_last = tag;
        cg_tls.used_last_dev = dev;
    }
}

/* Common entry: lazy init, caller module, its real function, and (unless `mark` is 0 or ctxguard is
 * itself the caller) a note that this module uses the thread's current device. Re-arms the fast path
 * for this module when that is all a call needs. */
static __attribute__((noinline)) void *rt_enter(int id, const void *ra, int *mod, int mark)
{
    int via = cg_tls.via; /* set by a runtime's own wrapper (see the end of this file) */
    cg_tls.via = 0;
    cg_init();
    int m = cg_module_of(ra);
    *mod = m;
    if (m > 0 && !cg_own_active())
        check_device_leak(id, m);
    void *fn = CG_UNLIKELY(via) ? cg_rt_via_real(via - 1, id) : cg_rt_real_for(m, id);
    if (mark && CG_LIKELY(!cg_own_active())) {
        cg_mark_use(m, ra);
        if (m > 0 && CG_UNLIKELY(cg_watched(m) < 0))
            __atomic_store_n(&cg_mod(m)->watched, cg_module_watched(m), __ATOMIC_RELAXED);
        /* Only a user module's calls skip this from now on: behind a carrier, an NVIDIA library or
         * anonymous code the user can differ from call to call, so each is looked for (the walk). */
        if (m > 0 && !cg_log_all && cg_tls.mod == m && cg_watched(m) == 0 && cg_mod(m)->cls == CG_MOD_USER &&
            !cg_modules_closing() && cg_rt_cache_current(m)) { /* nothing from before an unload */
            for (int i = 0; i < CG_RT_COUNT; i++) {
                void *f = __atomic_load_n(&cg_mod(m)->rt_real[i], __ATOMIC_ACQUIRE);
                cg_tls.rt_tab[i] = f ? f : rt_lazy[i];
            }
            cg_tls.fast_gen = cg_tls.mod_gen;
        }
    }
    return fn;
}

/* CTXGUARD_LOG_LEVEL=debug: every intercepted call becomes an event. */
static void __attribute__((noinline)) log_call(int id, int m, int result)
{
    if (cg_own_active())
        return;
    struct cg_ctxinfo ci;
    cg_query_current(&ci);
    struct cg_event ev = {.api = CG_API_RUNTIME, .call = cg_rt_names[id], .device = ci.device,
                          .ctx = ci.ctx, .ctx_kind = ci.kind, .caller = m, .action = CG_ALLOW,
                          .result = result, .reason = "pass-through"};
    cg_log_event(&ev);
}

/* A watched module's ordinary call: the rules' verdict before the call. Returns -1 to go ahead
 * (with *ev filled when the result is to be logged, else ev->call NULL), else the value to return. */
static __attribute__((noinline)) int plain_verdict(int id, int m, struct cg_event *ev, char *reason, size_t cap)
{
    ev->call = NULL;
    if (m <= 0 || cg_watched(m) != 1 || cg_own_active())
        return -1;
    struct cg_ctxinfo ci;
    cg_query_current(&ci);
    struct cg_event e = {.api = CG_API_RUNTIME, .call = cg_rt_names[id], .device = ci.device, .ctx = ci.ctx,
                         .ctx_kind = ci.kind, .caller = m};
    if (ci.device >= 0 && ci.kind != CG_CTX_CREATED)
        e.shared_count = cg_other_users(ci.device, m, e.shared_with, CG_SHARED_LIST);
    int act = cg_decide_plain(&e, reason, cap);
    if (act < 0)
        return -1;
    *ev = e;
    if (act == CG_ALLOW)
        return -1;
    ev->result = CG_ERR_NOT_PERMITTED;
    cg_log_event(ev);
    if (act == CG_ABORT)
        cg_abort_now(ev);
    return CG_ERR_NOT_PERMITTED;
}

static __attribute__((noinline)) void plain_logged(struct cg_event *ev, int result)
{
    ev->result = result;
    cg_log_event(ev);
}

/* A lazy entry (see rt_lazy): hands the caller's return address, still on the stack after the fast
 * path's jump, to the slow half. */
#define CG_RT_LAZY_STUB(name, params, args)                                                          \
    static cudaError_t name##_lazy params                                                            \
    {                                                                                                \
        cg_tls.slow_ra = __builtin_return_address(0);                                                \
        return name##_slow args;                                                                     \
    }
/* The slow half is a separate function reached by a tail call, so the fast half needs no stack
 * frame; the return address travels in cg_tls.slow_ra because the parameter list is fixed.
 * `check`: whether a failure is explained (cg_rt_failed). */
#define CG_RT_SLOW(name, params, args, check)                                                        \
    static __attribute__((noinline)) cudaError_t name##_slow params                                  \
    {                                                                                                \
        int m_;                                                                                      \
        cg_rt_fn_##name real_ = (cg_rt_fn_##name)rt_enter(CG_RT_ID_##name, cg_tls.slow_ra, &m_, 1);  \
        if (CG_UNLIKELY(real_ == NULL))                                                              \
            return CG_ERR_SYMBOL_NOT_FOUND;                                                          \
        if (CG_UNLIKELY(m_ > 0 && cg_watched(m_) == 1)) {                                            \
            struct cg_event ev_;                                                                     \
            char why_[512];                                                                          \
            int v_ = plain_verdict(CG_RT_ID_##name, m_, &ev_, why_, sizeof why_);                    \
            if (v_ >= 0)                                                                             \
                return v_;                                                                           \
            if (ev_.call) {                                                                          \
                cudaError_t r_ = real_ args;                                                         \
                plain_logged(&ev_, r_);                                                              \
                return r_ && check ? cg_rt_failed(CG_RT_ID_##name, r_, cg_tls.slow_ra) : r_;         \
            }                                                                                        \
        }                                                                                            \
        const void *ra_ = cg_tls.slow_ra;                                                            \
        cudaError_t r_ = real_ args;                                                                 \
        if (CG_UNLIKELY(cg_log_all))                                                                 \
            log_call(CG_RT_ID_##name, m_, r_);                                                       \
        return r_ && check ? cg_rt_failed(CG_RT_ID_##name, r_, ra_) : r_;                            \
    }
/* USE: a call whose context-lost failures are explained: called, not jumped to. */
#define CG_RT_WRAP_USE(name, params, args)                                                           \
    CG_RT_SLOW(name, params, args, 1)                                                                \
    cudaError_t name params                                                                          \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        cg_rt_fn_##name real_;                                                                       \
        if (CG_LIKELY(rt_armed(ra_) && (real_ = RT_TAB(name)) != NULL)) {                            \
            cudaError_t r_ = real_ args;                                                             \
            if (CG_UNLIKELY(r_ != CG_SUCCESS))                                                       \
                return cg_rt_failed(CG_RT_ID_##name, r_, ra_); /* explains, never changes */         \
            return r_;                                                                               \
        }                                                                                            \
    slow_: __attribute__((unused));                                                                  \
        cg_tls.slow_ra = ra_;                                                                        \
        return name##_slow args;                                                                     \
    }
/* PASS: a plain jump to the real function (or its lazy entry). */
#define CG_RT_WRAP_PASS(name, params, args)                                                          \
    CG_RT_SLOW(name, params, args, 0)                                                                \
    CG_RT_LAZY_STUB(name, params, args)                                                             \
    cudaError_t name params                                                                          \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        if (CG_LIKELY(rt_armed(ra_)))                                                                \
            return RT_TAB(name) args;                                                                \
        cg_tls.slow_ra = ra_;                                                                        \
        return name##_slow args;                                                                     \
    }

/* `before`: the thread's device before the call (the runtime's own driver calls may already have
 * moved cg_tls.dev by the time cudaSetDevice returns). */
static __attribute__((noinline)) void set_device_slow(int device, int m, int before)
{
    if (m > 0 && cg_mod(m)->cls == CG_MOD_USER && before >= 0 && device != before) {
        cg_tls.switch_mod = cg_mod_tag(m); /* the next call from another module is checked (rt_enter) */
        cg_tls.switch_from = before;
    } else if (m > 0 && cg_tls.switch_mod == cg_mod_tag(m) && device == cg_tls.switch_from)
        cg_tls.switch_mod = 0; /* it moved the thread back: nothing left behind */
    cg_set_thread_device(device);
    if (!cg_own_active())
        cg_mark_use_by(m, cg_tls.slow_ra, device);
}

static __attribute__((noinline)) cudaError_t setdev_slow(int device)
{
    int m;
    cg_rt_fn_cudaSetDevice real =
        (cg_rt_fn_cudaSetDevice)rt_enter(CG_RT_ID_cudaSetDevice, cg_tls.slow_ra, &m, 1);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    struct cg_event ev;
    char why[512];
    int v = plain_verdict(CG_RT_ID_cudaSetDevice, m, &ev, why, sizeof why);
    if (v >= 0)
        return v;
    int before = cg_tls.dev;
    cudaError_t r = real(device);
    if (ev.call)
        plain_logged(&ev, r);
    if (r == CG_SUCCESS && (device != cg_tls.dev || device != before))
        set_device_slow(device, m, before);
    if (CG_UNLIKELY(cg_log_all))
        log_call(CG_RT_ID_cudaSetDevice, m, r);
    return r;
}




/* A blocked runtime reset waits for the device's pending work, as the reset would have: through the
 * caller's own runtime (cudaDeviceSynchronize), as ctxguard's own work. */
struct rt_settle {
    int module, via; /* via: 1 + the runtime slot when called through a runtime's own wrapper */
};

static void rt_settle(void *arg)
{
    const struct rt_settle *st = arg;
    cg_rt_fn_cudaDeviceSynchronize sync = (cg_rt_fn_cudaDeviceSynchronize)(
        st->via ? cg_rt_via_real(st->via - 1, CG_RT_ID_cudaDeviceSynchronize)
                : cg_rt_real_for(st->module, CG_RT_ID_cudaDeviceSynchronize));
    if (sync)
        CG_OWN(sync());
}

/* cudaDeviceReset and cudaThreadExit: judged here, once; the driver calls they make underneath are
 * then passed through (cg_tls.judged). */
static cudaError_t rt_reset(int id, const void *ra)
{
    int via = cg_tls.via, m;
    cg_rt_fn_cudaDeviceReset real = (cg_rt_fn_cudaDeviceReset)rt_enter(id, ra, &m, 0);
    if (CG_UNLIKELY(real == NULL))
        return CG_ERR_SYMBOL_NOT_FOUND;
    if (cg_own_active() || cg_tls.judged)
        return real();

    struct cg_ctxinfo ci;
    cg_query_current(&ci);
    struct cg_event ev = {.api = CG_API_RUNTIME, .call = cg_rt_names[id], .destructive = 1};
    if (ci.kind == CG_CTX_NONE) {
        /* Nothing current: the runtime resets the primary context of its current device. */
        ev.device = cg_tls.dev < 0 ? 0 : cg_tls.dev;
        ev.ctx = __atomic_load_n(&cg_devices[cg_dev_index(ev.device)].primary, __ATOMIC_ACQUIRE);
        ev.ctx_kind = CG_CTX_PRIMARY;
    } else {
        ev.device = ci.device;
        ev.ctx = ci.ctx;
        ev.ctx_kind = ci.kind;
    }
    ev.caller = cg_attribute(ra);
    if (ev.ctx_kind != CG_CTX_CREATED && ev.device >= 0)
        ev.shared_count = cg_other_users(ev.device, ev.caller, ev.shared_with, CG_SHARED_LIST);
    if (ev.ctx_kind == CG_CTX_PRIMARY && ev.device >= 0)
        ev.ctx_gen = cg_ctx_gen_of(ev.device); /* the incarnation this reset ends, fixed before it acts */
    char reason[512];
    cg_decide(&ev, reason, sizeof reason);
    struct rt_settle st = {m, via};
    if (!cg_verdict_stops(&ev, rt_settle, &st)) {
        cg_tls.judged++;
        ev.result = real();
        cg_tls.judged--;
        if (ev.result == CG_SUCCESS && ev.ctx_kind != CG_CTX_CREATED && ev.device >= 0)
            cg_note_reset_done(ev.device, ev.caller, ev.call);
    }
    cg_verdict_done(&ev);
    return ev.result;
}


/* Driver pointers handed out by the runtime: normally already ctxguard's (the runtime asks the
 * driver through the wrapped cuGetProcAddress); if not, wrap them here by the version asked. */
static void wrap_entry(int m, int via, const char *symbol, void **fp, int version, unsigned long long flags)
{
    if (symbol == NULL || fp == NULL || *fp == NULL || CG_LIKELY(!cg_maybe_guarded_base(symbol)) ||
        cg_own_active() || cg_is_own_code(*fp))
        return;
    int ptsz = (flags & 2) && cg_has_ptsz_variant(symbol); /* cudaEnablePerThreadDefaultStream */
    if (ptsz) { /* a _ptsz variant: wrapped only where a row names it (the version does not matter) */
        int id = cg_drv_ptsz_variant(symbol);
        if (id >= 0 && !cg_drv_unwrapped_for(id, m))
            *fp = cg_wrap_driver_exact(id, *fp);
        return;
    }
    if (version <= 0) {
        /* No version given: the runtime answers for its own CUDA version, which it tells us.
         * cudaRuntimeGetVersion is not interposed, so it is looked up like any plain function. */
        typedef cudaError_t (*getver_fn)(int *);
        int rv = 0, saved = cg_own_begin();
        getver_fn getver = (getver_fn)(via ? cg_rt_via_plain(via - 1, "cudaRuntimeGetVersion")
                                           : cg_resolve_plain(m, "cudaRuntimeGetVersion"));
        if (getver == NULL || getver(&rv) != CG_SUCCESS)
            rv = 0;
        cg_own_end(saved);
        if (rv <= 0)
            return; /* unknown ABI: leave the pointer as it is */
        version = rv;
    }
    if (cg_drv_unwrapped_for(cg_drv_variant_for(symbol, version), m))
        return; /* one of NVIDIA's libraries asked: as through cuGetProcAddress (hooks.h) */
    *fp = cg_wrap_driver_versioned(symbol, version, *fp);
}

/* Entry-point lookups: a name ctxguard does not wrap (nearly all) is a tail call; otherwise the
 * slow half forwards and wraps the pointer. */
#define ENTRY_POINT(name, params, args, version)                                                     \
    static __attribute__((noinline)) cudaError_t name##_slow params                                  \
    {                                                                                                \
        int m, via = cg_tls.via;                                                                     \
        cg_rt_fn_##name real = (cg_rt_fn_##name)rt_enter(CG_RT_ID_##name, cg_tls.slow_ra, &m, 1);    \
        if (CG_UNLIKELY(real == NULL))                                                               \
            return CG_ERR_SYMBOL_NOT_FOUND;                                                          \
        cudaError_t r = real args;                                                                   \
        if (r == CG_SUCCESS)                                                                         \
            wrap_entry(m, via, symbol, funcPtr, version, flags);                                     \
        if (CG_UNLIKELY(cg_log_all))                                                                 \
            log_call(CG_RT_ID_##name, m, r);                                                         \
        return r;                                                                                    \
    }                                                                                                \
    CG_RT_LAZY_STUB(name, params, args)                                                             \
    cudaError_t name params                                                                          \
    {                                                                                                \
        const void *ra = __builtin_return_address(0);                                                \
        if (CG_LIKELY(rt_armed(ra) && symbol != NULL && !cg_maybe_guarded_base(symbol)))             \
            return RT_TAB(name) args;                                                                \
        cg_tls.slow_ra = ra;                                                                         \
        return name##_slow args;                                                                     \
    }

/* SETDEV: the same device again needs nothing recorded: the fast path's jump. */
#define CG_RT_WRAP_SETDEV(name, params, args)                                                        \
    static __attribute__((noinline)) cudaError_t name##_slow params                                  \
    {                                                                                                \
        return setdev_slow args;                                                                     \
    }                                                                                                \
    CG_RT_LAZY_STUB(name, params, args)                                                              \
    cudaError_t name params                                                                          \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        if (CG_LIKELY(rt_armed(ra_) && device == cg_tls.dev))                                        \
            return RT_TAB(name) args;                                                                \
        cg_tls.slow_ra = ra_;                                                                        \
        return name##_slow args;                                                                     \
    }
/* RESET: judged, every time (no fast path). */
#define CG_RT_WRAP_RESET(name, params, args)                                                         \
    cudaError_t name params                                                                          \
    {                                                                                                \
        return rt_reset(CG_RT_ID_##name, __builtin_return_address(0));                               \
    }
#define CG_RT_WRAP_ENTRY(name, params, args) ENTRY_POINT(name, params, args, 0)
#define CG_RT_WRAP_ENTRYV(name, params, args) ENTRY_POINT(name, params, args, (int)cudaVersion)

/* Tracked calls (CG_RTT rows): USE calls that also keep the module's resource records. `pre` runs
 * before the real call, `post` after it. The real call runs with res_depth raised: driver calls the
 * runtime makes underneath through a pointer ctxguard handed out (cuMemAlloc for cudaMalloc) are the
 * same object and are not recorded again. */
#define CG_RTT_PRE_ALLOC(res, handle)
#define CG_RTT_POST_ALLOC(res, handle, bytes)                                                        \
    if (CG_LIKELY(r_ == CG_SUCCESS))                                                                 \
        cg_res_add(m_, user_, CG_RES_##res, door_, (uintptr_t)(handle), (bytes), ra_);
/* A free of an object a reclaim is freeing at this moment (another thread of the module that reset)
 * is left to the reclaim, and succeeds: the object is freed once (SKIP). A free that fails drops the
 * record all the same: ctxguard cannot tell a free that failed from one that freed and then reported
 * an earlier asynchronous error, and a record kept for a freed object would have a reclaim free
 * whatever the driver hands out at that address next (another module's). At worst a failed free of
 * a live object leaves it to its module: never someone else's memory. */
#define CG_RTT_PRE_FREE(res, handle)                                                                 \
    int reclaiming_ = 0;                                                                             \
    struct cg_res_rec *had_ = cg_res_take_by((uintptr_t)(handle), CG_RES_##res, &reclaiming_, m_);
#define CG_RTT_POST_FREE(res, handle, bytes)                                                         \
    if (had_)                                                                                        \
        cg_res_done(had_, 1);
#define CG_RTT_SKIP_ALLOC 0
#define CG_RTT_SKIP_FREE reclaiming_
#define CG_RTT_PRE_CREATE CG_RTT_PRE_ALLOC
#define CG_RTT_POST_CREATE CG_RTT_POST_ALLOC
#define CG_RTT_PRE_DESTROY CG_RTT_PRE_FREE
#define CG_RTT_POST_DESTROY CG_RTT_POST_FREE
#define CG_RTT_SKIP_CREATE CG_RTT_SKIP_ALLOC
#define CG_RTT_SKIP_DESTROY CG_RTT_SKIP_FREE
/* The fast halves' `pre`: a bucket held by another thread sends the call to the slow half, which
 * waits for it (see cg_res_take_in). */
#define CG_RTT_FPRE_ALLOC(res, handle)
#define CG_RTT_FPRE_FREE(res, handle)                                                                \
    int busy_ = 0;                                                                                   \
    struct cg_res_rec *had_ = cg_res_take_in((uintptr_t)(handle), CG_RES_##res, &busy_);             \
    if (CG_UNLIKELY(busy_))                                                                          \
        goto slow_;
#define CG_RTT_FPRE_CREATE CG_RTT_FPRE_ALLOC
#define CG_RTT_FPRE_DESTROY CG_RTT_FPRE_FREE
/* The fast halves' `post`, on success only; a failure is a tail call (FAIL), so the fast path keeps
 * no result alive across another call. */
#define CG_RTT_FPOST_ALLOC(res, handle, bytes, door)                                                 \
    cg_res_add(m_, user_, CG_RES_##res, (door), (uintptr_t)(handle), (bytes), ra_);
#define CG_RTT_FPOST_FREE(res, handle, bytes, door)                                                  \
    if (had_)                                                                                        \
        cg_res_done(had_, 1);
#define CG_RTT_FPOST_CREATE CG_RTT_FPOST_ALLOC
#define CG_RTT_FPOST_DESTROY CG_RTT_FPOST_FREE
#define CG_RTT_FAIL_ALLOC(name, r, ra) cg_rt_failed(CG_RT_ID_##name, r, ra)
#define CG_RTT_FAIL_FREE(name, r, ra) (had_ ? cg_res_done(had_, 1) : (void)0, cg_rt_failed(CG_RT_ID_##name, r, ra))
#define CG_RTT_FAIL_CREATE CG_RTT_FAIL_ALLOC
#define CG_RTT_FAIL_DESTROY CG_RTT_FAIL_FREE
#define CG_RTT_WRAP(name, params, args, kind, res, handle, bytes)                                    \
    static __attribute__((noinline)) cudaError_t name##_slow params                                  \
    {                                                                                                \
        int m_, via_ = cg_tls.via; /* a runtime's own wrapper: its allocations are freed through it */ \
        int door_ = via_ ? CG_RES_VIA + via_ - 1 : CG_RES_RUNTIME;                                   \
        (void)door_;                                                                                 \
        cg_rt_fn_##name real_ = (cg_rt_fn_##name)rt_enter(CG_RT_ID_##name, cg_tls.slow_ra, &m_, 1);  \
        if (CG_UNLIKELY(real_ == NULL))                                                              \
            return CG_ERR_SYMBOL_NOT_FOUND;                                                          \
        struct cg_event ev_;                                                                         \
        char why_[512];                                                                              \
        ev_.call = NULL;                                                                             \
        if (CG_UNLIKELY(m_ > 0 && cg_watched(m_) == 1)) {                                            \
            int v_ = plain_verdict(CG_RT_ID_##name, m_, &ev_, why_, sizeof why_);                    \
            if (v_ >= 0)                                                                             \
                return v_;                                                                           \
        }                                                                                            \
        const void *ra_ = cg_tls.slow_ra;                                                            \
        int user_ = m_ > 0 && cg_mod(m_)->cls == CG_MOD_USER;                                     \
        (void)user_;                                                                                 \
        CG_RTT_PRE_##kind(res, handle)                                                               \
        cg_tls.res_depth++;                                                                          \
        cudaError_t r_ = CG_RTT_SKIP_##kind ? CG_SUCCESS : real_ args;                               \
        cg_tls.res_depth--;                                                                          \
        CG_RTT_POST_##kind(res, handle, bytes)                                                       \
        if (ev_.call)                                                                                \
            plain_logged(&ev_, r_);                                                                  \
        if (CG_UNLIKELY(cg_log_all))                                                                 \
            log_call(CG_RT_ID_##name, m_, r_);                                                       \
        return r_ ? cg_rt_failed(CG_RT_ID_##name, r_, ra_) : r_;                                     \
    }                                                                                                \
    cudaError_t name params                                                                          \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        cg_rt_fn_##name real_;                                                                       \
        if (CG_LIKELY(rt_armed(ra_) && (real_ = RT_TAB(name)) != NULL)) {                            \
            CG_RTT_FPRE_##kind(res, handle)                                                          \
            cg_tls.res_depth++;                                                                      \
            cudaError_t r_ = real_ args;                                                             \
            cg_tls.res_depth--;                                                                      \
            /* read after the call: fewer values live across it. Had the runtime's own calls moved  \
             * the cache to another module, user_ is 0 and the slow half attributes by ra_. */      \
            if (CG_UNLIKELY(r_ != CG_SUCCESS))                                                       \
                return CG_RTT_FAIL_##kind(name, r_, ra_);                                            \
            int m_ = cg_tls.mod_user, user_ = m_ != 0; /* a module of another class: 0, attributed */ \
            (void)m_;                                                                                \
            (void)user_;                                                                             \
            CG_RTT_FPOST_##kind(res, handle, bytes, CG_RES_RUNTIME)                                  \
            return CG_SUCCESS;                                                                       \
        }                                                                                            \
    slow_: __attribute__((unused));                                                                  \
        cg_tls.slow_ra = ra_;                                                                        \
        return name##_slow args;                                                                     \
    }

/* ---- the exported entry points, one per hooks.def runtime row, generated by kind ---- */
#define CG_RT(name, params, args, kind) CG_RT_WRAP_##kind(name, params, args)
#define CG_RTT(name, params, args, kind, res, handle, bytes) CG_RTT_WRAP(name, params, args, kind, res, handle, bytes)
#include "core/hooks.def"

/* Wrappers of a runtime reached through dlsym on its own handle (runtime slot K, see
 * cg_wrap_runtime_exact): the same decisions as the exported wrappers, but the real function is
 * always that runtime's, whatever module calls (two copies of libcudart opened by ctypes were once
 * mixed: the caller's module alone cannot tell which one it meant). The fast path is the exported
 * wrappers' with the runtime's own table; the slow path is theirs, told the runtime by cg_tls.via. */
#define HANDED_REAL(name, k) ((cg_rt_fn_##name)__atomic_load_n(&cg_rt_via[k][CG_RT_ID_##name], __ATOMIC_ACQUIRE))
#define HANDED_SLOW(name, args, k)                                                                   \
    cg_tls.slow_ra = ra_;                                                                            \
    cg_tls.via = (k) + 1;                                                                            \
    return name##_slow args;
#define CG_RT_HANDED_PASS(name, params, args, k)                                                     \
    static cudaError_t name##_h##k params                                                            \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        cg_rt_fn_##name real_ = HANDED_REAL(name, k);                                                \
        if (CG_LIKELY(rt_armed(ra_) && real_ != NULL))                                               \
            return real_ args;                                                                       \
        HANDED_SLOW(name, args, k)                                                                   \
    }
#define CG_RT_HANDED_USE(name, params, args, k)                                                      \
    static cudaError_t name##_h##k params                                                            \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        cg_rt_fn_##name real_ = HANDED_REAL(name, k);                                                \
        if (CG_LIKELY(rt_armed(ra_) && real_ != NULL)) {                                             \
            cudaError_t r_ = real_ args;                                                             \
            return CG_UNLIKELY(r_ != CG_SUCCESS) ? cg_rt_failed(CG_RT_ID_##name, r_, ra_) : r_;      \
        }                                                                                            \
        HANDED_SLOW(name, args, k)                                                                   \
    }
#define CG_RT_HANDED_SETDEV(name, params, args, k)                                                   \
    static cudaError_t name##_h##k params                                                            \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        cg_rt_fn_##name real_ = HANDED_REAL(name, k);                                                \
        if (CG_LIKELY(rt_armed(ra_) && device == cg_tls.dev && real_ != NULL))                       \
            return real_ args;                                                                       \
        HANDED_SLOW(name, args, k)                                                                   \
    }
#define CG_RT_HANDED_RESET(name, params, args, k)                                                    \
    static cudaError_t name##_h##k(void)                                                             \
    {                                                                                                \
        cg_tls.via = (k) + 1;                                                                        \
        return rt_reset(CG_RT_ID_##name, __builtin_return_address(0));                               \
    }
#define CG_RT_HANDED_ENTRY(name, params, args, k)                                                    \
    static cudaError_t name##_h##k params                                                            \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        cg_rt_fn_##name real_ = HANDED_REAL(name, k);                                                \
        if (CG_LIKELY(rt_armed(ra_) && symbol != NULL && !cg_maybe_guarded_base(symbol) && real_ != NULL)) \
            return real_ args;                                                                       \
        HANDED_SLOW(name, args, k)                                                                   \
    }
#define CG_RT_HANDED_ENTRYV CG_RT_HANDED_ENTRY
/* Tracked calls through a handed runtime: the same records as the exported wrappers keep. */
#define CG_RT_HANDED_TRACKED(name, params, args, k, kind, res, handle, bytes)                        \
    static cudaError_t name##_h##k params                                                            \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        cg_rt_fn_##name real_ = HANDED_REAL(name, k);                                                \
        if (CG_LIKELY(rt_armed(ra_) && real_ != NULL)) {                                             \
            CG_RTT_FPRE_##kind(res, handle)                                                          \
            cg_tls.res_depth++;                                                                      \
            cudaError_t r_ = real_ args;                                                             \
            cg_tls.res_depth--;                                                                      \
            if (CG_UNLIKELY(r_ != CG_SUCCESS))                                                       \
                return CG_RTT_FAIL_##kind(name, r_, ra_);                                            \
            int m_ = cg_tls.mod_user, user_ = m_ != 0; /* a module of another class: 0, attributed */ \
            (void)m_;                                                                                \
            (void)user_;                                                                             \
            CG_RTT_FPOST_##kind(res, handle, bytes, CG_RES_VIA + (k))                                \
            return CG_SUCCESS;                                                                       \
        }                                                                                            \
    slow_: __attribute__((unused));                                                                  \
        HANDED_SLOW(name, args, k)                                                                   \
    }

#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 0)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 0, kind, res, handle, bytes)
#include "core/hooks.def"
#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 1)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 1, kind, res, handle, bytes)
#include "core/hooks.def"
#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 2)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 2, kind, res, handle, bytes)
#include "core/hooks.def"
#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 3)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 3, kind, res, handle, bytes)
#include "core/hooks.def"
#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 4)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 4, kind, res, handle, bytes)
#include "core/hooks.def"
#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 5)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 5, kind, res, handle, bytes)
#include "core/hooks.def"
#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 6)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 6, kind, res, handle, bytes)
#include "core/hooks.def"
#define CG_RT(name, params, args, kind) CG_RT_HANDED_##kind(name, params, args, 7)
#define CG_RTT(name, params, args, kind, res, handle, bytes) \
    CG_RT_HANDED_TRACKED(name, params, args, 7, kind, res, handle, bytes)
#include "core/hooks.def"

#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h0,
_Static_assert(CG_HANDED_RUNTIMES == 8, "one block of wrappers per runtime slot above and below");
void *const cg_rt_handed_wrappers[CG_HANDED_RUNTIMES][CG_RT_COUNT] = {
    {
#include "core/hooks.def"
    },
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h1,
    {
#include "core/hooks.def"
    },
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h2,
    {
#include "core/hooks.def"
    },
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h3,
    {
#include "core/hooks.def"
    },
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h4,
    {
#include "core/hooks.def"
    },
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h5,
    {
#include "core/hooks.def"
    },
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h6,
    {
#include "core/hooks.def"
    },
#define CG_RT(name, params, args, kind) [CG_RT_ID_##name] = (void *)name##_h7,
    {
#include "core/hooks.def"
    },
};
