/* Device and context bookkeeping. Counters are atomics; the created-context list takes a mutex, and
 * is only touched by context creation/destruction, never by pass-through calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/guard.h"
#include "track/resolve.h"
#include "track/resources.h"
#include "track/state.h"

struct cg_device cg_devices[CG_MAX_DEVICES];
unsigned int cg_ctx_gen = 1;
unsigned int cg_created_live;

static void ctx_tables_changed(void)
{
    __atomic_add_fetch(&cg_ctx_gen, 1, __ATOMIC_ACQ_REL);
}

#define CG_MAX_CREATED 256
static struct {
    CUcontext ctx;
    int dev;
} created[CG_MAX_CREATED];
static int created_hwm; /* slots [0, hwm) have ever been used: lock-free readers scan only those */

/* 8 bytes per module slot, a chunk at a time: with 10,000 modules, 80 KB read per judged call. */
int cg_other_users(int dev, int except, int *out, int cap)
{
    uint64_t bit = 1ull << cg_dev_index(dev);
    int n = __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE), count = 0;
    if (except == 0)
        except = CG_MOD_ANON; /* a call from code in no module is the anonymous party's; < 0: nobody */
    for (int c = 0; c * CG_MOD_CHUNK < n; c++) {
        struct cg_mod_chunk *ch = __atomic_load_n(&cg_mod_chunks[c], __ATOMIC_ACQUIRE);
        int end = n - c * CG_MOD_CHUNK < CG_MOD_CHUNK ? n - c * CG_MOD_CHUNK : CG_MOD_CHUNK;
        for (int i = 0; ch && i < end; i++) {
            if (!(__atomic_load_n(&ch->uses[i], __ATOMIC_RELAXED) & bit) || c * CG_MOD_CHUNK + i == except)
                continue;
            if (count < cap)
                out[count] = c * CG_MOD_CHUNK + i;
            count++;
        }
    }
    return count;
}

void cg_mark_use_from(int m, const void *ra, int dev)
{
    if (cg_tls.depth)
        return;
    /* code in no module is the anonymous user (no second lookup); else walk to the user behind */
    cg_mark_use_on(m == 0 ? CG_MOD_ANON : cg_party_of(ra), dev);
}

void cg_state_forget_module(int m)
{
    __atomic_store_n(cg_mod_uses(m), 0, __ATOMIC_RELAXED);
    __atomic_store_n(cg_mod_victims(m), 0, __ATOMIC_RELAXED);
    __atomic_store_n(cg_mod_lost(m), 0, __ATOMIC_RELAXED);
}

void cg_note_retain(int dev, CUcontext ctx, int module, const void *ra)
{
    struct cg_device *d = &cg_devices[cg_dev_index(dev)];
    if (__atomic_exchange_n(&d->primary, ctx, __ATOMIC_ACQ_REL) != ctx)
        ctx_tables_changed();
    __atomic_add_fetch(&d->retains, 1, __ATOMIC_ACQ_REL);
    if (module > 0 && cg_mod(module)->cls == CG_MOD_USER)
        cg_mark_use_on(module, dev);
    else if (ra)
        cg_mark_use_from(module, ra, dev);
}

int cg_note_release(int dev)
{
    return __atomic_sub_fetch(&cg_devices[cg_dev_index(dev)].retains, 1, __ATOMIC_ACQ_REL);
}

int cg_retains(int dev)
{
    return __atomic_load_n(&cg_devices[cg_dev_index(dev)].retains, __ATOMIC_ACQUIRE);
}

void cg_note_primary_reset(int dev)
{
    __atomic_add_fetch(&cg_devices[cg_dev_index(dev)].resets, 1, __ATOMIC_ACQ_REL);
    cg_res_retire(dev); /* what lived in the incarnation that ended is gone: forget its records */
}

void cg_note_reset_done(int dev, int caller, const char *call)
{
    struct cg_device *d = &cg_devices[cg_dev_index(dev)];
    pthread_mutex_lock(&cg_created_lock); /* writers only; readers check last_gen first */
    d->last_caller = caller;
    d->last_caller_gen = caller > 0 ? __atomic_load_n(&cg_mod(caller)->gen, __ATOMIC_ACQUIRE) : 0;
    d->last_caller_path = cg_module_path(caller);
    d->last_call = call;
    clock_gettime(CLOCK_REALTIME, &d->last_ts);
    /* the victims: this context's users but the resetter; every other module's bit is cleared */
    uint64_t bit = 1ull << cg_dev_index(dev);
    int n = __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE);
    for (int c = 0; c * CG_MOD_CHUNK < n; c++) {
        struct cg_mod_chunk *ch = __atomic_load_n(&cg_mod_chunks[c], __ATOMIC_ACQUIRE);
        int end = n - c * CG_MOD_CHUNK < CG_MOD_CHUNK ? n - c * CG_MOD_CHUNK : CG_MOD_CHUNK;
        for (int i = 0; ch && i < end; i++) {
            int user = (__atomic_load_n(&ch->uses[i], __ATOMIC_RELAXED) & bit) && c * CG_MOD_CHUNK + i != caller;
            if (user) {
                __atomic_fetch_or(&ch->victims[i], bit, __ATOMIC_RELAXED);
                __atomic_fetch_or(&ch->lost[i], bit, __ATOMIC_RELAXED);
            } else {
                if (__atomic_load_n(&ch->victims[i], __ATOMIC_RELAXED) & bit)
                    __atomic_fetch_and(&ch->victims[i], ~bit, __ATOMIC_RELAXED);
                if (__atomic_load_n(&ch->lost[i], __ATOMIC_RELAXED) & bit)
                    __atomic_fetch_and(&ch->lost[i], ~bit, __ATOMIC_RELAXED);
            }
        }
    }
    __atomic_store_n(&d->last_gen, __atomic_load_n(&d->last_gen, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&cg_created_lock);
}

void cg_note_created(CUcontext ctx, int dev)
{
    pthread_mutex_lock(&cg_created_lock);
    int free_slot = -1;
    for (int i = 0; i < CG_MAX_CREATED; i++) {
        if (created[i].ctx == ctx) {
            free_slot = i;
            break;
        }
        if (created[i].ctx == NULL && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0) {
        if (created[free_slot].ctx != ctx)
            __atomic_add_fetch(&cg_created_live, 1, __ATOMIC_RELAXED);
        if (free_slot >= created_hwm)
            __atomic_store_n(&created_hwm, free_slot + 1, __ATOMIC_RELEASE);
        created[free_slot].dev = dev;
        __atomic_store_n(&created[free_slot].ctx, ctx, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&cg_created_lock);
    ctx_tables_changed();
}

void cg_note_destroyed(CUcontext ctx)
{
    if (cg_tls.ctx_switch_ctx == ctx)
        cg_tls.ctx_switch_mod = 0; /* destroying it also made it no longer current */
    pthread_mutex_lock(&cg_created_lock);
    for (int i = 0; i < CG_MAX_CREATED; i++)
        if (created[i].ctx == ctx) {
            __atomic_store_n(&created[i].ctx, NULL, __ATOMIC_RELEASE);
            __atomic_sub_fetch(&cg_created_live, 1, __ATOMIC_RELAXED);
        }
    pthread_mutex_unlock(&cg_created_lock);
    ctx_tables_changed();
}

int cg_ctx_kind(CUcontext ctx, int *dev)
{
    *dev = -1;
    if (ctx == NULL)
        return CG_CTX_NONE;
    /* A created context wins: after a primary is destroyed its handle can come back as a created one. */
    /* Lock-free read: writers publish ctx last (release), so a matching ctx has its dev set. */
    int hwm = __atomic_load_n(&created_hwm, __ATOMIC_ACQUIRE);
    for (int i = 0; i < hwm; i++)
        if (__atomic_load_n(&created[i].ctx, __ATOMIC_ACQUIRE) == ctx) {
            *dev = created[i].dev;
            return CG_CTX_CREATED;
        }
    for (int d = 0; d < CG_MAX_DEVICES; d++)
        if (__atomic_load_n(&cg_devices[d].primary, __ATOMIC_ACQUIRE) == ctx) {
            *dev = d;
            return CG_CTX_PRIMARY;
        }
    return CG_CTX_UNKNOWN;
}

void cg_note_current(CUcontext ctx, int module, const void *ra)
{
    unsigned int gen = __atomic_load_n(&cg_ctx_gen, __ATOMIC_ACQUIRE);
    int dev;
    int kind = cg_ctx_kind(ctx, &dev);
    if (dev >= 0)
        cg_set_thread_device(dev);
    if (kind == CG_CTX_PRIMARY)
        cg_mark_use_by(module, ra, dev);
    cg_tls.cur_ctx = ctx;
    cg_tls.cur_ctx_gen = gen;
}

void cg_note_ctx_switch(int module, CUcontext ctx, int kind, const char *call)
{
    if (module <= 0 || cg_mod(module)->cls != CG_MOD_USER)
        return;
    if (kind == CG_CTX_CREATED && ctx != NULL) {
        cg_tls.ctx_switch_mod = cg_mod_tag(module);
        cg_tls.ctx_switch_ctx = ctx;
        cg_tls.ctx_switch_call = call;
        cg_tls.fast_gen = 0; /* the next runtime call, whoever makes it, takes the slow path */
    } else if (cg_mod_tag(module) == cg_tls.ctx_switch_mod)
        cg_tls.ctx_switch_mod = 0; /* it put something else back */
}

/* ctxguard's own driver calls: run as its own work, so a hook reached from them passes through. */
static void query_current(struct cg_ctxinfo *out);
void cg_query_current(struct cg_ctxinfo *out)
{
    CG_OWN(query_current(out));
}

static int pointer_device(uintptr_t p)
{
    const struct cg_driver_queries *q = cg_driver_queries();
    int d = -1;
    if (q == NULL || q->pointer_get_attribute == NULL ||
        q->pointer_get_attribute(&d, 9 /* CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL */, p) != CG_SUCCESS)
        return -1;
    return d;
}
int cg_pointer_device(uintptr_t p)
{
    int d;
    CG_OWN(d = pointer_device(p));
    return d;
}

static void query_current(struct cg_ctxinfo *out)
{
    const struct cg_driver_queries *q = cg_driver_queries();
    out->ctx = NULL;
    out->device = -1;
    out->kind = CG_CTX_NONE;
    if (q == NULL || q->ctx_get_current == NULL)
        return;
    CUcontext ctx = NULL;
    if (q->ctx_get_current(&ctx) != CG_SUCCESS || ctx == NULL)
        return;
    out->ctx = ctx;
    int dev = -1;
    out->kind = cg_ctx_kind(ctx, &dev);
    if (dev < 0 && q->ctx_get_device) {
        CUdevice d = -1;
        if (q->ctx_get_device(&d) == CG_SUCCESS)
            dev = d;
    }
    out->device = dev;
}

CUresult cg_sync_current(void)
{
    const struct cg_driver_queries *q = cg_driver_queries();
    if (q == NULL || q->ctx_synchronize == NULL)
        return CG_ERR_SYMBOL_NOT_FOUND;
    CUresult r;
    CG_OWN(r = q->ctx_synchronize());
    return r;
}
