/* Per-module resource records: the memory, streams and events each module allocated or created
 * and has not freed or destroyed yet, keyed by handle. Fed by the tracked wrappers (CG_RTT/CG_DRVT
 * rows of hooks.def), read by the reclaim action and by blocked resets ("left"). */
#ifndef CTXGUARD_RESOURCES_H
#define CTXGUARD_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "core/cuda_abi.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

enum cg_res_type { CG_RES_MEM, CG_RES_ARRAY, CG_RES_HOST, CG_RES_STREAM, CG_RES_EVENT, CG_RES_NTYPES };
/* The door an object came through decides the function that frees it: the runtime's for runtime
 * allocations (its bookkeeping stays right), the driver's for driver ones. */
enum cg_res_door { CG_RES_RUNTIME, CG_RES_DRIVER };

/* One live object. Records come from heap chunks and are recycled per stripe; never freed. */
struct cg_res_rec {
    struct cg_res_rec *next;
    uintptr_t key;          /* the handle: device/host pointer, array, stream or event */
    size_t bytes;           /* 0 for streams and events */
    void *ctx;              /* the created context current at allocation; NULL: a primary context */
    unsigned int gen;       /* the primary context's incarnation then (cg_ctx_gen_of) */
    unsigned int epoch;     /* the module's blocked-reset count then: records older than its last
                               blocked reset are what that reset left behind */
    short mod;              /* module index; 0: its module was unloaded */
    unsigned char dev;
    unsigned char type;     /* enum cg_res_type */
    unsigned char door;     /* enum cg_res_door */
};

struct cg_res_counts {
    long allocations;       /* device, managed, array and pinned host allocations */
    unsigned long long bytes;
    long streams, events;
};

/* Records an object module m (the immediate caller; attributed from `ra` when that is not a user
 * module) just allocated or created, on the thread's current device and context. */
void cg_res_add(int m, int type, int door, uintptr_t key, size_t bytes, const void *ra);
/* Removes the record of (key, type) before the object is freed, and copies it to *saved; returns
 * whether there was one. Removing first means an address the driver hands out again at once is
 * never confused with the old one. */
int cg_res_take(uintptr_t key, int type, struct cg_res_rec *saved);
/* The free failed: the object lives on, so does its record. */
void cg_res_put_back(const struct cg_res_rec *saved);

/* Live records of module m on dev's primary context, incarnation gen. */
void cg_res_count(int m, int dev, unsigned int gen, struct cg_res_counts *out);
/* Detaches them all and returns them as a list (next-linked, malloc'ed copies the caller frees
 * with cg_res_free_list), so they can be freed through CUDA with no ctxguard lock held. */
struct cg_res_rec *cg_res_detach(int m, int dev, unsigned int gen);
void cg_res_free_list(struct cg_res_rec *list);

/* Module m's reset was blocked: what it holds now is left behind (counted at exit). */
void cg_res_note_blocked(int m);
/* A reset of dev's primary context really happened: its records describe nothing any more. */
void cg_res_retire(int dev);
/* Module slot m is being freed (dlclose): its records stay (the memory is still allocated) but
 * belong to no module; what it left behind is totalled under its name for the exit summary. */
void cg_res_forget_module(int m);
/* Exit summary: one call per module (live or unloaded) that left something behind at a blocked
 * reset and still holds it. */
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
