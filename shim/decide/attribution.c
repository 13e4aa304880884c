/* Failure attribution: a runtime call that fails with an error of the context-lost family, on a
 * device whose primary context really was reset or destroyed earlier, is explained: who reset it,
 * with which call, when. Reached only when a wrapped call has already failed; never changes what the
 * caller receives. */
#include <pthread.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "core/guard.h"
#include "decide/attribution.h"
#include "core/hooks.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/state.h"

/* An error code and its name: the runtime's and the driver's errors a lost context produces. */
struct err_name {
    int code;
    const char *name;
};

static const struct err_name family[] = {
    {1, "cudaErrorInvalidValue"},              /* memcpy/free on memory from before the reset (H100) */
    {201, "cudaErrorDeviceUninitialized"},     /* invalid device context */
    {400, "cudaErrorInvalidResourceHandle"},   /* a stream or event from before the reset */
    {700, "cudaErrorIllegalAddress"},          /* a kernel on stale memory (PyTorch, H100) */
    {709, "cudaErrorContextIsDestroyed"},
};

/* What was explained already: per (module, call, device), the last reset told about. A hash table
 * on pages of its own that grows as needed (a fixed table of 256 once stopped de-duplicating when
 * full, and a failing loop flooded the log). Resets only move forward, so one number per key is
 * enough, and the table is bounded by the modules, calls and devices actually seen. */
struct told_entry {
    int module, id, dev; /* module 0 with gen 0: a free entry */
    unsigned int gen;
};
static struct told_entry *told;
static size_t told_cap, told_n; /* capacity (a power of two) and entries in use */

/* The last reset of a device's primary context, copied under the lock it is written under
 * (cg_note_reset_done), as one consistent record. */
struct last_reset {
    int caller;           /* its module slot, or 0 when that slot now holds another module */
    char name[128];       /* its base name */
    const char *call;
    struct timespec ts;
    unsigned int gen;
};

static struct last_reset last_reset_of(struct cg_device *d)
{
    pthread_mutex_lock(&cg_created_lock);
    const char *path = d->last_caller_path ? d->last_caller_path : "(unknown)";
    int caller = d->last_caller;
    /* the resetter unloaded (its slot's generation moved on): named, never by its slot, which may
     * hold another module now */
    if (caller > 0 && (__atomic_load_n(&cg_mod(caller)->gen, __ATOMIC_ACQUIRE) != d->last_caller_gen ||
                       __atomic_load_n(&cg_mod(caller)->hi, __ATOMIC_ACQUIRE) == 0))
        caller = 0;
    struct last_reset r = {caller, "", d->last_call ? d->last_call : "a reset", d->last_ts,
                           __atomic_load_n(&d->last_gen, __ATOMIC_ACQUIRE)};
    snprintf(r.name, sizeof r.name, "%s", cg_basename(path));
    pthread_mutex_unlock(&cg_created_lock);
    return r;
}

static void clock_text(struct timespec ts, char *out, size_t n)
{
    struct tm tm;
    time_t sec = ts.tv_sec;
    gmtime_r(&sec, &tm);
    snprintf(out, n, "%02d:%02d:%02d.%03ldZ", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* An explanation, not a decision: module m's `call` on device dev is traced back to reset r. */
static void log_attribution(int api, const char *call, struct cg_device *d, int dev, int m, int result,
                            const struct last_reset *r, const char *reason)
{
    struct cg_event ev = {.api = api, .call = call, .device = dev,
                          .ctx = __atomic_load_n(&d->primary, __ATOMIC_ACQUIRE), .ctx_kind = CG_CTX_PRIMARY,
                          .shared_count = r->caller > 0, .shared_with = {r->caller}, .caller = m, .action = CG_ALLOW,
                          .result = result, .destructive = 1, .reason = reason, .decided_by = "attribution",
                          .log = 1};
    cg_log_event(&ev);
}

static size_t told_slot(const struct told_entry *t, size_t cap, int module, int id, int dev)
{
    size_t h = ((size_t)(unsigned)module * 0x9E3779B1u) ^ ((size_t)(unsigned)id * 0x85EBCA77u) ^
               ((size_t)(unsigned)dev * 0xC2B2AE3Du);
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (t[i].gen == 0 || (t[i].module == module && t[i].id == id && t[i].dev == dev))
            return i;
}

/* Called with cg_attribution_lock held. Returns 1 when (module, id, dev) was already told about reset `gen`
 * (or a later one), else records it and returns 0. Without memory for a larger table, it tells
 * again rather than stay silent. */
static int told_before(int module, int id, int dev, unsigned int gen)
{
    if (told_n + 1 > told_cap / 2) {
        size_t cap = told_cap ? told_cap * 2 : 64;
        struct told_entry *t = mmap(NULL, cap * sizeof *t, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (t == MAP_FAILED)
            return 0;
        for (size_t i = 0; i < told_cap; i++)
            if (told[i].gen)
                t[told_slot(t, cap, told[i].module, told[i].id, told[i].dev)] = told[i];
        if (told)
            munmap(told, told_cap * sizeof *told);
        told = t;
        told_cap = cap;
    }
    struct told_entry *e = &told[told_slot(told, told_cap, module, id, dev)];
    if (e->gen && e->gen >= gen)
        return 1;
    if (e->gen == 0)
        told_n++;
    *e = (struct told_entry){module, id, dev, gen};
    return 0;
}

void cg_attribution_after_fork_child(void)
{
    if (told)
        memset(told, 0, told_cap * sizeof *told);
    told_n = 0;
}

/* The driver's names for the same family (CUresult). */
static const struct err_name drv_family[] = {
    {1, "CUDA_ERROR_INVALID_VALUE"},         /* a copy or free of memory from before the reset */
    {201, "CUDA_ERROR_INVALID_CONTEXT"},
    {400, "CUDA_ERROR_INVALID_HANDLE"},      /* a stream, event or function from before the reset */
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS"},
    {709, "CUDA_ERROR_CONTEXT_IS_DESTROYED"},
};

/* Module m's `call` failed with `result` (named ename) on device dev: explain it by the device's last
 * reset, once per (module, key, device, reset). `key` tells runtime and driver calls apart. */
static void explain(int api, int key, const char *call, const char *ename, int result, int dev, int m)
{
    struct cg_device *d = &cg_devices[cg_dev_index(dev)];
    unsigned int gen = __atomic_load_n(&d->last_gen, __ATOMIC_ACQUIRE);
    if (gen == 0)
        return; /* no reset happened here: not ctxguard's to explain */
    /* Only a module that held something in the context when it was reset (a user then, or the
     * resetter itself) can have lost it: a module that came later fails for reasons of its own. */
    if (m > 0 && m < __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE) &&
        !(__atomic_load_n(cg_mod_lost(m), __ATOMIC_RELAXED) & (1ull << cg_dev_index(dev)))) {
        struct last_reset r = last_reset_of(d);
        if (r.caller != m)
            return;
    }
    pthread_mutex_lock(&cg_attribution_lock);
    int seen = told_before(m, key, cg_dev_index(dev), gen);
    pthread_mutex_unlock(&cg_attribution_lock);
    if (seen) /* once per module, call and reset: a failing loop must not flood the log */
        return;
    struct last_reset r = last_reset_of(d);
    char when[32], reason[768];
    clock_text(r.ts, when, sizeof when);
    snprintf(reason, sizeof reason,
             "%s's %s failed with %s (%d) on device %d after the primary context of device %d was reset at "
             "%s by %s (%s; reset %u of that context in this process): memory, streams, "
             "events and modules created before that reset are gone",
             cg_module_base(m), call, ename, result, dev, dev, when, r.name, r.call, r.gen);
    log_attribution(api, call, d, dev, m, result, &r, reason);
}

/* The name of `code` in a family, or NULL: an error a lost context does not produce. */
static const char *family_name(const struct err_name *f, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].code == code)
            return f[i].name;
    return NULL;
}

int cg_rt_failed(int id, int result, const void *ra)
{
    const char *ename = family_name(family, sizeof family / sizeof family[0], result);
    if (ename == NULL || cg_own_active())
        return result;
    int dev = cg_tls.dev < 0 ? 0 : cg_tls.dev;
    if (__atomic_load_n(&cg_devices[cg_dev_index(dev)].last_gen, __ATOMIC_ACQUIRE) == 0)
        return result;
    int saved = cg_own_begin();
    explain(CG_API_RUNTIME, id, cg_rt_names[id], ename, result, dev, cg_attribute(ra));
    cg_own_end(saved);
    return result;
}

int cg_drv_failed(int id, int result, const void *ra)
{
    const char *ename = family_name(drv_family, sizeof drv_family / sizeof drv_family[0], result);
    if (ename == NULL || cg_own_active())
        return result;
    int any = 0; /* nothing to explain while no primary context was reset anywhere */
    for (int i = 0; i < CG_MAX_DEVICES && !any; i++)
        any = __atomic_load_n(&cg_devices[i].last_gen, __ATOMIC_ACQUIRE) != 0;
    if (!any)
        return result;
    int saved = cg_own_begin();
    int m = cg_module_of(ra);
    /* A call bound straight from one of NVIDIA's libraries (or the driver's own) is theirs, made for a
     * runtime call that is explained at the runtime door. */
    if (m <= 0 || cg_mod(m)->cls == CG_MOD_USER || cg_mod(m)->cls == CG_MOD_UNKNOWN) {
        /* the device the failing call ran on: the current context's, else the thread's runtime device */
        struct cg_ctxinfo ci;
        cg_query_current(&ci);
        int dev = ci.device >= 0 ? ci.device : cg_tls.dev < 0 ? 0 : cg_tls.dev;
        explain(CG_API_DRIVER, CG_RT_COUNT + id, cg_drv_info[id].name, ename, result, dev, cg_attribute(ra));
    }
    cg_own_end(saved);
    return result;
}

void cg_note_reattach(int dev, int m)
{
    struct cg_device *d = &cg_devices[cg_dev_index(dev)];
    /* the one that clears the bit reports: each victim is told once per reset */
    if (!cg_victim_take(m, dev))
        return;
    struct last_reset r = last_reset_of(d);
    char when[32], reason[768];
    clock_text(r.ts, when, sizeof when);
    snprintf(reason, sizeof reason,
             "%s attached again to the primary context of device %d, which it used before %s reset it at %s "
             "(%s; reset %u of that context in this process): the memory, streams, events and modules %s "
             "created before that reset are gone, and its next use of them fails (typically "
             "cudaErrorInvalidValue from a memcpy)",
             cg_module_base(m), dev, r.name, when, r.call, r.gen, cg_module_base(m));
    log_attribution(CG_API_DRIVER, "cuDevicePrimaryCtxRetain", d, dev, m, 0, &r, reason);
}
