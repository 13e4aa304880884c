/* NVTX marks (CTXGUARD_NVTX=1): every notable event (a block, deny, abort, destructive call allowed, or
 * an attribution) also becomes a mark in the "ctxguard" NVTX domain, so Nsight Systems shows it on the
 * timeline beside the program's own ranges. The NVTX library is loaded on the first mark, never linked:
 * without CTXGUARD_NVTX nothing is loaded and this costs nothing. Without a tool attached, NVTX itself
 * makes the marks no-ops. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/guard.h"
#include "core/core.h"
#include "report/log.h"
#include "track/modules.h"
#include "report/nvtx.h"
#include "track/state.h"

/* The NVTX v3 event-attribute record, as the NVTX ABI lays it out (version 3, 48 bytes on LP64). */
struct nvtx_attr {
    uint16_t version, size;
    uint32_t category;
    int32_t color_type; /* 1: ARGB */
    uint32_t color;
    int32_t payload_type, reserved0;
    uint64_t payload;
    int32_t message_type; /* 1: ASCII */
    const char *message;
};
_Static_assert(sizeof(struct nvtx_attr) == 48, "NVTX v3 event attributes are 48 bytes");

static void *(*domain_create)(const char *name);
static void (*domain_mark)(void *domain, const struct nvtx_attr *attr);
static void (*mark_a)(const char *message);
static void *domain;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    const char *names[3] = {cg_cfg.nvtx_lib[0] ? cg_cfg.nvtx_lib : "libnvToolsExt.so.1",
                            cg_cfg.nvtx_lib[0] ? NULL : "libnvtx3interop.so.1", NULL};
    void *h = NULL;
    for (int i = 0; names[i] && !h; i++)
        h = cg_real_dlopen ? cg_real_dlopen(names[i], RTLD_NOW | RTLD_LOCAL) : NULL;
    if (h == NULL) {
        cg_log_msg("CTXGUARD_NVTX=1 but %s could not be loaded: no NVTX marks (set CTXGUARD_NVTX_LIB to "
                   "the NVTX library's path)", cg_cfg.nvtx_lib[0] ? cg_cfg.nvtx_lib
                                                               : "neither libnvToolsExt.so.1 nor libnvtx3interop.so.1");
        return;
    }
    domain_create = (void *(*)(const char *))cg_real_dlsym(h, "nvtxDomainCreateA");
    domain_mark = (void (*)(void *, const struct nvtx_attr *))cg_real_dlsym(h, "nvtxDomainMarkEx");
    mark_a = (void (*)(const char *))cg_real_dlsym(h, "nvtxMarkA");
    if (domain_create && domain_mark)
        domain = domain_create("ctxguard");
    if (!(domain_create && domain_mark) && !mark_a)
        cg_log_msg("CTXGUARD_NVTX=1 but the NVTX library has neither nvtxDomainMarkEx nor nvtxMarkA: no NVTX marks");
}

void cg_nvtx_mark(const struct cg_event *ev)
{
    int saved = cg_own_begin(); /* a tool's NVTX handler may call CUDA: that passes through */
    int err = errno;
    pthread_once(&once, load);
    if (domain_mark || mark_a) {
        char msg[512], users[256] = "";
        size_t u = 0;
        int listed = ev->shared_count < CG_SHARED_LIST ? ev->shared_count : CG_SHARED_LIST, i = 0;
        for (; i < listed && u < sizeof users - 64; i++)
            u += (size_t)snprintf(users + u, sizeof users - u, "%s%s", u ? "," : "", cg_module_base(ev->shared_with[i]));
        if (i < ev->shared_count && u < sizeof users - 32)
            u += (size_t)snprintf(users + u, sizeof users - u, ",… (%d in all)", ev->shared_count);
        int attributed = ev->decided_by && strcmp(ev->decided_by, "attribution") == 0;
        snprintf(msg, sizeof msg, "ctxguard: %s %s by %s, device %d (%s; %s %s) [%s]",
                 attributed ? "explains" : cg_action_name(ev->action), ev->call ? ev->call : "?",
                 cg_module_base(ev->caller), ev->device, cg_ctx_kind_name(ev->ctx_kind),
                 attributed ? "reset by" : "shared with", u ? users : "-",
                 ev->decided_by ? ev->decided_by : "preset");
        uint32_t color = attributed ? 0xFFB040E0u                 /* purple: an explanation */
                         : ev->action == CG_ALLOW ? 0xFFF0A000u   /* amber: a destructive call let through */
                                                  : 0xFFE02020u;  /* red: blocked, denied, aborted */
        if (domain_mark) {
            struct nvtx_attr a = {.version = 3, .size = sizeof a, .color_type = 1, .color = color,
                                  .message_type = 1, .message = msg};
            domain_mark(domain, &a);
        } else
            mark_a(msg);
    }
    errno = err;
    cg_own_end(saved);
}
