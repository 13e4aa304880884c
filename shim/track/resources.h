/* Per-module resource records: the memory, streams and events each module allocated or created
 * and has not freed or destroyed yet, keyed by handle. Fed by the tracked wrappers (CG_RTT/CG_DRVT
 * rows of hooks.def), read by the reclaim action and by blocked resets ("left").
 *
 * The table is a hash of 2^15 buckets, each its own bit lock: an allocation and its free touch the
 * one bucket its handle hashes to, so threads rarely meet. The common case is inline in the wrappers
 * (an allocate+free pair is budgeted at 100 instructions, `make check` enforces it, see
 * docs/performance.md): a thread keeps the record of its last free as a spare for its next
 * allocation, so a pair takes no free-list step. Everything else is out of line in resources.c. */
#ifndef CTXGUARD_RESOURCES_H
#define CTXGUARD_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/cuda_abi.h"
#include "track/modules.h"
#include "track/state.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

enum cg_res_type { CG_RES_MEM, CG_RES_ARRAY, CG_RES_HOST, CG_RES_STREAM, CG_RES_EVENT, CG_RES_NTYPES };
/* Marks ORed into a record's type while a reclaim frees its object (cg_res_claim): the record stays
 * linked, so a free of the same object meanwhile finds it and leaves the free to the reclaim
 * (cg_res_take), and no lookup by type matches it. REISSUED: the driver has since handed the address
 * out again (an allocation found it, cg_res_link_slow): the object the reclaim freed is gone, and a
 * free of that address is the new object's. */
/* Or'ed into an allocation row's type (hooks.def: MEMQ) where the memory's device is not the current
 * one's: a stream-ordered allocation comes from the pool of its stream's device (or of the pool
 * given), whichever device is current. Such rows take the slow path, which asks the driver for the
 * pointer's device (cuPointerGetAttribute); a reset of the current device must not reclaim memory
 * on another (review of issue 15). Never stored. */
#define CG_RES_QUERY_DEV 0x20
#define CG_RES_MEMQ (CG_RES_MEM | CG_RES_QUERY_DEV)
/* A tombstone: what a reclaim freed for module `mod` at `key` (type: the object's type | TOMB). It
 * stays ahead of any newer record of its key, so that the module's own later free of the object
 * (its C++ destructors run after its shutdown's reset: a real reset would have made that free fail)
 * is absorbed instead of freeing what the driver has since handed another module at that address.
 * Dropped by that free, by the module's own new allocation at the key, or when the module unloads.
 * Never matched as a live record (type >= CG_RES_NTYPES). */
#define CG_RES_TOMB 0x10
#define CG_RES_CLAIMED 0x40
#define CG_RES_REISSUED 0x80
/* The door an object came through decides the function that frees it: the runtime's for runtime
 * allocations (its bookkeeping stays right), the driver's for driver ones. A runtime reached through
 * dlsym on its own handle (runtime slot k, track/resolve.h cg_rt_via) is CG_RES_VIA + k: the
 * allocation is freed through that runtime, not the one the module's own scope names. */
enum cg_res_door { CG_RES_RUNTIME, CG_RES_DRIVER, CG_RES_VIA };

/* One live object. Records come from heap chunks and are recycled, never freed. */
struct cg_res_rec {
    struct cg_res_rec *next;
    uintptr_t key;          /* the handle: device/host pointer, array, stream or event */
    size_t bytes;           /* 0 for streams and events */
    void *ctx;              /* the created context current at allocation; NULL: a primary context */
    unsigned int resets;    /* the device's reset count then: the primary context's incarnation
                               (cg_ctx_gen_of) is resets + 1, stored without the + 1 */
    /* the four bytes a wrapper knows at compile time, together: one 32-bit constant store */
    unsigned char type;     /* enum cg_res_type */
    unsigned char door;     /* enum cg_res_door */
    unsigned char left;     /* a blocked reset of its module left it behind (counted at exit) */
    unsigned char pad_;     /* always 0: stored with them */
    unsigned char dev;
    short mod;              /* module index; 0: its module was unloaded */
};

struct cg_res_counts {
    long allocations;       /* device, managed, array and pinned host allocations */
    unsigned long long bytes;
    long streams, events;
};

/* 2^15 buckets (256 KiB of .bss, touched as used). Each bucket head is its own lock: bit 0 set
 * while a thread works on the chain (a bit lock, the finest striping there is), and the store that
 * links or unlinks at the head also releases it. A fixed table: no resizing, so no count to keep on
 * the fast path; chains stay short up to ~10^5 live objects. */
#define CG_RES_BUCKET_BITS 15
#define CG_RES_BUCKETS (1u << CG_RES_BUCKET_BITS)
extern uintptr_t cg_res_buckets[CG_RES_BUCKETS];

void cg_res_lock_slow(uintptr_t *b);
/* Takes bucket b's lock; returns its chain. */
static inline struct cg_res_rec *cg_res_lock(uintptr_t *b)
{
    if (CG_UNLIKELY(__atomic_fetch_or(b, 1, __ATOMIC_ACQUIRE) & 1))
        cg_res_lock_slow(b);
    /* an atomic read: threads waiting for the lock keep setting bit 0 of this word. Bit 0 is set
     * (ours), so the chain is the word minus 1: one subtraction, whose zero flag says "empty". */
    return (struct cg_res_rec *)(__atomic_load_n(b, __ATOMIC_RELAXED) - 1);
}
/* Releases it, with `head` as its chain. */
static inline void cg_res_unlock(uintptr_t *b, struct cg_res_rec *head)
{
    __atomic_store_n(b, (uintptr_t)head, __ATOMIC_RELEASE);
}
/* Fibonacci hashing: the top bits of key * 2^64/phi are well mixed, whichever bits of the handle
 * vary. (A 32-bit multiply would save the movabs of the constant, one instruction per call, but
 * hash the low 32 bits alone: 2 MiB-aligned device allocations would share 2048 buckets.) */
static inline unsigned int cg_res_index(uintptr_t key)
{
    return (unsigned int)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> (64 - CG_RES_BUCKET_BITS));
}

/* cg_tls.res_spare: NULL until the thread-exit hook that gives a spare back is registered (and
 * again once it ran), then a record or CG_RES_NO_SPARE: "none, and a free may leave one", in one
 * compare. */
#define CG_RES_NO_SPARE ((struct cg_res_rec *)1)

/* Links r into bucket b (locked by the caller, chain `head`, not empty) and unlocks it. Another record
 * with r's key is stale: two live objects never share a handle, so the object it described was freed
 * by a call ctxguard did not see as a free (a free that reported an earlier asynchronous error, one
 * through a door it does not wrap) and a reclaim must not free the new object in its name. It is
 * dropped; one under reclaim is marked REISSUED instead (its reclaimer unlinks it). */
void cg_res_link_slow(uintptr_t *b, struct cg_res_rec *head, struct cg_res_rec *r);
/* Out of line: attribution through the stack, a created context current, no spare record. */
void cg_res_add_slow(int m, int type, int door, uintptr_t key, size_t bytes, const void *ra);
/* Records an object module m (the immediate caller; attributed from `ra` when that is not a user
 * module; ra NULL: never attributed) just allocated or created, on the thread's current device and
 * context. `user`: m is known to be a user module (the runtime fast path's cached class). */
static inline __attribute__((always_inline)) void cg_res_add(int m, int user, int type, int door, uintptr_t key,
                                                             size_t bytes, const void *ra)
{
    struct cg_res_rec *r = cg_tls.res_spare;
    unsigned int dev = (unsigned int)cg_tls.dev;
    if (CG_UNLIKELY(r <= CG_RES_NO_SPARE || !user || key == 0 || dev >= CG_MAX_DEVICES || (type & CG_RES_QUERY_DEV) ||
                    __atomic_load_n(&cg_created_live, __ATOMIC_RELAXED))) {
        cg_res_add_slow(m, type, door, key, bytes, ra);
        return;
    }
    cg_tls.res_spare = CG_RES_NO_SPARE;
    uintptr_t *b = &cg_res_buckets[cg_res_index(key)];
    /* key as a relaxed atomic store: a plain mov, which the vectoriser leaves alone (it would pack
     * key and bytes into an SSE register: four instructions for two stores) */
    __atomic_store_n(&r->key, key, __ATOMIC_RELAXED);
    r->bytes = bytes;
    r->ctx = NULL;
    /* dev is in range: an unsigned index, no clamping */
    r->resets = __atomic_load_n(&cg_devices[dev].resets, __ATOMIC_ACQUIRE);
    r->type = (unsigned char)type;
    r->door = (unsigned char)door;
    r->left = 0;
    r->pad_ = 0;
    r->dev = (unsigned char)dev;
    r->mod = (short)m;
    struct cg_res_rec *head = cg_res_lock(b);
    if (CG_UNLIKELY(head != NULL)) { /* a record there may have this key: see cg_res_link_slow */
        cg_res_link_slow(b, head, r);
        return;
    }
    r->next = NULL;
    cg_res_unlock(b, r);
}

/* The free's fast path: unlinks the record of (key, type) at the head of its chain before the object
 * is freed, and returns it (NULL: none). Unlinking first means an address the driver hands out again
 * at once is never confused with the old one. Then cg_res_done. A bucket another thread holds, or a
 * record not at the head of its chain (or one a reclaim has claimed: its type is marked), sets *busy
 * instead of waiting or walking: the wrapper's fast path then hands the call to its slow half
 * (cg_res_take), so that the fast path makes no call before the real one and keeps its values in
 * scratch registers (no callee-saved register to save and restore in its prologue for the wait). */
static inline __attribute__((always_inline)) struct cg_res_rec *cg_res_take_in(uintptr_t key, int type, int *busy)
{
    uintptr_t *b = &cg_res_buckets[cg_res_index(key)];
    if (__atomic_load_n(b, __ATOMIC_RELAXED) == 0)
        return NULL; /* an object this thread frees was recorded before this thread learnt its handle */
    if (CG_UNLIKELY(__atomic_fetch_or(b, 1, __ATOMIC_ACQUIRE) & 1)) {
        *busy = 1;
        return NULL;
    }
    /* no pointer to `head` (a `**p` walk): its address taken, it would live on the stack. Bit 0 is
     * ours: see cg_res_lock. */
    struct cg_res_rec *head = (struct cg_res_rec *)(__atomic_load_n(b, __ATOMIC_RELAXED) - 1);
    struct cg_res_rec *r = head;
    if (CG_LIKELY(r != NULL && r->key == key && r->type == type)) {
        head = r->next; /* the commonest case: the newest record of its bucket */
    } else { /* deeper in its chain, claimed, or not there: the slow half walks it, off the fast path */
        cg_res_unlock(b, head);
        *busy = 1;
        return NULL;
    }
    cg_res_unlock(b, head);
    return r;
}
/* The same, waiting for the bucket and walking the chain (the slow halves, the driver door). A record
 * of (key, type) that a reclaim has claimed sets *reclaiming (when not NULL) and is left alone: the
 * object is the reclaim's to free, and the caller must not free it too (it returns success; the
 * address cannot be handed out again before the reclaim's free). */
struct cg_res_rec *cg_res_take(uintptr_t key, int type, int *reclaiming);
/* The same for a free called by module `caller` (0: unknown): a tombstone of (key, type) that a
 * reclaim of `caller` left is the caller's late free of the object the reclaim freed: the tombstone
 * is dropped and *reclaiming set (the wrapper returns success without freeing); another module's
 * free passes it by. */
struct cg_res_rec *cg_res_take_by(uintptr_t key, int type, int *reclaiming, int caller);

/* `freed`: the record becomes the thread's spare (or goes to a free list); else the object lives on,
 * and so does its record. */
void cg_res_done_slow(struct cg_res_rec *r, int freed);
static inline void cg_res_done(struct cg_res_rec *r, int freed)
{
    if (CG_LIKELY(freed && cg_tls.res_spare == CG_RES_NO_SPARE)) {
        cg_tls.res_spare = r;
        return;
    }
    cg_res_done_slow(r, freed);
}

/* Live records of module m on dev's primary context, incarnation gen. `mark_left`: they were left
 * behind by a blocked reset (the exit summary counts them). */
void cg_res_count(int m, int dev, unsigned int gen, struct cg_res_counts *out, int mark_left);
/* Adds one record to a set of counts: a stream, an event, or an allocation and its bytes. */
void cg_res_counts_add(struct cg_res_counts *c, const struct cg_res_rec *r);
/* A reclaim's hold on one record: the record (linked, marked CLAIMED) and a copy of it taken when it
 * was claimed (the reclaimer reads the copy: the record's type may be marked REISSUED meanwhile). */
struct cg_res_claim {
    struct cg_res_rec *rec;
    struct cg_res_rec v;
};
/* Claims up to n of them (streams and events when `handles`, else memory and arrays) into out[] and
 * returns how many; each is freed through CUDA with no ctxguard lock held, then given up with
 * cg_res_unclaim, which unlinks and recycles it. Only its claimer unlinks a claimed record. */
int cg_res_claim(int m, int dev, unsigned int gen, int handles, struct cg_res_claim *out, int n);
void cg_res_unclaim(struct cg_res_rec *r);
/* The same for a record whose object the reclaim freed: it stays, as a tombstone (CG_RES_TOMB), at
 * the head of its chain. */
void cg_res_unclaim_freed(struct cg_res_rec *r);

/* Module m's reset was blocked (counted for the exit summary). */
void cg_res_note_blocked(int m);
/* A reset of dev's primary context really happened: its records describe nothing any more. */
void cg_res_retire(int dev);
/* Module slot m is being freed (dlclose): its records stay (the memory is still allocated) but
 * belong to no module; what it left behind is totalled under its name for the exit summary. */
void cg_res_forget_module(int m);
/* Exit summary: one call per module (live or unloaded) that had a blocked reset. */
void cg_res_left_totals(void (*fn)(const char *module, const struct cg_res_counts *c, long resets, void *arg),
                        void *arg);

/* fork: every stripe lock taken before, released after (init.c). */
void cg_res_fork_prepare(void);
void cg_res_fork_release(void);

/* Sizes for the rows whose size is not one argument. */
static inline size_t cg_res_3d_bytes(const struct cudaPitchedPtr *p, struct cudaExtent e)
{
    return p->pitch * (e.height ? e.height : 1) * (e.depth ? e.depth : 1);
}
static inline size_t cg_res_array_bytes(const struct cudaChannelFormatDesc *d, size_t w, size_t h)
{
    size_t bits = d ? (size_t)(d->x + d->y + d->z + d->w) : 0;
    return (bits + 7) / 8 * w * (h ? h : 1);
}

#pragma GCC visibility pop

#endif
