/* Failure attribution: a runtime call that fails with an error of the context-lost family, on a
 * device whose primary context really was reset or destroyed earlier, is explained: who reset it,
 * with which call, when. Reached only when a wrapped call has already failed; never changes what the
 * caller receives. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "decide/attribution.h"
#include "doors/hooks.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/state.h"

static const struct {
    int code;
    const char *name;
} family[] = {
    {1, "cudaErrorInvalidValue"},              /* memcpy/free on memory from before the reset (H100) */
    {201, "cudaErrorDeviceUninitialized"},     /* invalid device context */
    {400, "cudaErrorInvalidResourceHandle"},   /* a stream or event from before the reset */
    {700, "cudaErrorIllegalAddress"},          /* a kernel on stale memory (PyTorch, H100) */
    {709, "cudaErrorContextIsDestroyed"},
};

static struct {
    int module, id;
    unsigned int module_gen; /* the slot's generation: another module loaded there is told anew */
    unsigned int gen;
} told[256];
static int ntold;
static pthread_mutex_t told_lock = PTHREAD_MUTEX_INITIALIZER;
int cg_attributed; /* read by the exit dump */

/* The last reset of a device's primary context, copied under the lock it is written under
 * (cg_note_reset_done), as one consistent record. */
struct last_reset {
    int caller;       /* its slot, or -1 when the slot now holds another module (or none) */
    const char *name; /* its base name, kept when it was reset (valid after an unload) */
    const char *call;
    struct timespec ts;
    unsigned int gen;
};

static struct last_reset last_reset_of(struct cg_device *d)
{
    pthread_mutex_lock(&cg_created_lock);
    const char *path = d->last_caller_path ? d->last_caller_path : "(unknown)", *slash = strrchr(path, '/');
    int caller = d->last_caller;
    if (caller > 0 && (__atomic_load_n(&cg_mod(caller)->gen, __ATOMIC_ACQUIRE) != d->last_caller_gen ||
                       __atomic_load_n(&cg_mod(caller)->hi, __ATOMIC_ACQUIRE) == 0))
        caller = -1; /* unloaded since: named, never confused with what was loaded in its slot */
    struct last_reset r = {caller, slash ? slash + 1 : path, d->last_call ? d->last_call : "a reset", d->last_ts,
                           __atomic_load_n(&d->last_gen, __ATOMIC_ACQUIRE)};
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
    __atomic_store_n(&cg_attributed, 1, __ATOMIC_RELEASE);
    cg_log_event(&ev);
}

int cg_rt_failed(int id, int result, const void *ra)
{
    const char *ename = NULL;
    for (size_t i = 0; i < sizeof family / sizeof family[0]; i++)
        if (family[i].code == result)
            ename = family[i].name;
    if (ename == NULL || cg_tls.depth)
        return result;
    int dev = cg_tls.dev < 0 ? 0 : cg_tls.dev;
    struct cg_device *d = &cg_devices[cg_dev_index(dev)];
    unsigned int gen = __atomic_load_n(&d->last_gen, __ATOMIC_ACQUIRE);
    if (gen == 0)
        return result; /* no reset happened here: not ctxguard's to explain */
    cg_tls.depth++;
    int m = cg_attribute(ra);
    unsigned int mgen = m > 0 ? __atomic_load_n(&cg_mod(m)->gen, __ATOMIC_ACQUIRE) : 0;
    pthread_mutex_lock(&told_lock);
    int seen = 0;
    for (int i = 0; i < ntold && !seen; i++)
        seen = told[i].module == m && told[i].module_gen == mgen && told[i].id == id && told[i].gen == gen;
    if (!seen && ntold < 256) {
        told[ntold].module = m;
        told[ntold].module_gen = mgen;
        told[ntold].id = id;
        told[ntold].gen = gen;
        ntold++;
    }
    pthread_mutex_unlock(&told_lock);
    if (seen) { /* once per module, call and reset: a failing loop must not flood the log */
        cg_tls.depth--;
        return result;
    }
    struct last_reset r = last_reset_of(d);
    char when[32], reason[768];
    clock_text(r.ts, when, sizeof when);
    snprintf(reason, sizeof reason,
             "%s's %s failed with %s (%d) on device %d after the primary context of device %d was reset at "
             "%s by %s (%s; reset %u of that context in this process): memory, streams, "
             "events and modules created before that reset are gone",
             cg_module_base(m), cg_rt_names[id], ename, result, dev, dev, when, r.name, r.call, r.gen);
    log_attribution(CG_API_RUNTIME, cg_rt_names[id], d, dev, m, result, &r, reason);
    cg_tls.depth--;
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
