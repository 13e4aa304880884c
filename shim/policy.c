#include <stdio.h>

#include "core.h"
#include "policy.h"
#include "state.h"

void cg_decide(struct cg_event *ev, char *reason, size_t cap)
{
    int primary = ev->ctx_kind == CG_CTX_PRIMARY || ev->ctx_kind == CG_CTX_UNKNOWN;
    int shared = ev->shared_with != 0;
    const char *unsure = ev->ctx_kind == CG_CTX_UNKNOWN
                             ? " (the current context was not seen being created or retained, so it is treated as primary)"
                             : "";
    ev->action = CG_ALLOW;
    ev->reason = reason;
    if (!ev->destructive) {
        snprintf(reason, cap, "not destructive");
        return;
    }
    if (!primary) {
        snprintf(reason, cap, "%s context: only that context is affected, other modules' primary context is untouched",
                 ev->ctx_kind == CG_CTX_CREATED ? "a created (non-primary)" : "no");
        return;
    }
    switch (cg_cfg.mode) {
    case CG_MODE_OBSERVE:
        snprintf(reason, cap, "observe mode: passed through; %s%s",
                 shared ? "other modules use this primary context and lose its allocations, streams and modules"
                        : "no other module was seen using this primary context",
                 unsure);
        return;
    case CG_MODE_ENFORCE:
        ev->action = CG_BLOCK;
        snprintf(reason, cap, "enforce mode blocks every reset or destroy of a primary context%s; "
                 "returned success without resetting", unsure);
        return;
    case CG_MODE_GUARD:
    default:
        if (!shared) {
            snprintf(reason, cap, "guard mode: no other module was seen using this primary context%s", unsure);
            return;
        }
        ev->action = CG_BLOCK;
        snprintf(reason, cap, "guard mode: the modules in shared_with use this primary context and would lose "
                 "their allocations, streams and modules; returned success without resetting. The resetting "
                 "module should use a driver-API context of its own (cuCtxCreate) if it needs a clean device%s", unsure);
        return;
    }
}
