/* Reasons are constant strings: a decision formats nothing, so a blocked call costs the same whether
 * or not it is logged, up to the log line itself. */
#include "core.h"
#include "policy.h"
#include "state.h"

#define UNSURE " (the current context was not seen being created or retained, so it is treated as primary)"

void cg_decide(struct cg_event *ev, char *reason, size_t cap)
{
    (void)reason;
    (void)cap;
    int primary = ev->ctx_kind == CG_CTX_PRIMARY || ev->ctx_kind == CG_CTX_UNKNOWN;
    int unsure = ev->ctx_kind == CG_CTX_UNKNOWN;
    int shared = ev->shared_with != 0;
    ev->action = CG_ALLOW;
    if (!ev->destructive) {
        ev->reason = "not destructive";
        return;
    }
    if (!primary) {
        ev->reason = ev->ctx_kind == CG_CTX_CREATED
                         ? "a created (non-primary) context is current: only that context is affected, other modules' primary context is untouched"
                         : "no context is affected";
        return;
    }
    switch (cg_cfg.mode) {
    case CG_MODE_OBSERVE:
        ev->reason = shared ? (unsure ? "observe mode: passed through; other modules use this primary context and lose its allocations, streams and modules" UNSURE
                                      : "observe mode: passed through; other modules use this primary context and lose its allocations, streams and modules")
                            : (unsure ? "observe mode: passed through; no other module was seen using this primary context" UNSURE
                                      : "observe mode: passed through; no other module was seen using this primary context");
        return;
    case CG_MODE_ENFORCE:
        ev->action = CG_BLOCK;
        ev->reason = unsure ? "enforce mode blocks every reset or destroy of a primary context; returned success without resetting" UNSURE
                            : "enforce mode blocks every reset or destroy of a primary context; returned success without resetting";
        return;
    case CG_MODE_GUARD:
    default:
        if (!shared) {
            ev->reason = unsure ? "guard mode: no other module was seen using this primary context" UNSURE
                                : "guard mode: no other module was seen using this primary context";
            return;
        }
        ev->action = CG_BLOCK;
        ev->reason = unsure ? "guard mode: the modules in shared_with use this primary context and would lose their "
                              "allocations, streams and modules; returned success without resetting. The resetting module "
                              "should use a driver-API context of its own (cuCtxCreate) if it needs a clean device" UNSURE
                            : "guard mode: the modules in shared_with use this primary context and would lose their "
                              "allocations, streams and modules; returned success without resetting. The resetting module "
                              "should use a driver-API context of its own (cuCtxCreate) if it needs a clean device";
        return;
    }
}
