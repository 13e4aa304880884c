/* The decision for a destructive call: the first matching rule, else the CTXGUARD_MODE preset.
 * Reasons are constant strings: a decision formats nothing, so a blocked call costs the same whether
 * or not it is logged, up to the log line itself. */
#include <stdio.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "doors/hooks.h"

#include "core/core.h"
#include "track/modules.h"
#include "decide/policy.h"
#include "track/state.h"

#define UNSURE " (the current context was not seen being created or retained, so it is treated as primary)"
#define GUARD_BLOCK                                                                                  \
    "guard mode: the modules in shared_with use this primary context and would lose their allocations, " \
    "streams and modules; returned success without resetting. The resetting module should use a "    \
    "driver-API context of its own (cuCtxCreate) if it needs a clean device"

static const char *const preset_names[] = {"preset observe", "preset guard", "preset enforce"};

static int situation_of(const struct cg_event *ev)
{
    switch (ev->ctx_kind) {
    case CG_CTX_CREATED: return CG_SIT_CREATED;
    case CG_CTX_NONE: return CG_SIT_NONE;
    default: return ev->shared_count ? CG_SIT_SHARED : CG_SIT_PRIMARY;
    }
}

static void preset(struct cg_event *ev, int primary, int unsure, int shared)
{
    switch (cg_cfg.mode) {
    case CG_MODE_OBSERVE:
        ev->reason = shared ? (unsure ? "observe mode: passed through; other modules use this primary context and lose its allocations, streams and modules" UNSURE
                                      : "observe mode: passed through; other modules use this primary context and lose its allocations, streams and modules")
                            : (unsure ? "observe mode: passed through; no other module was seen using this primary context" UNSURE
                                      : "observe mode: passed through; no other module was seen using this primary context");
        return;
    case CG_MODE_ENFORCE:
        if (!primary)
            break;
        ev->action = CG_BLOCK;
        ev->reason = unsure ? "enforce mode blocks every reset or destroy of a primary context; returned success without resetting" UNSURE
                            : "enforce mode blocks every reset or destroy of a primary context; returned success without resetting";
        return;
    case CG_MODE_GUARD:
    default:
        if (!primary)
            break;
        if (!shared) {
            ev->reason = unsure ? "guard mode: no other module was seen using this primary context" UNSURE
                                : "guard mode: no other module was seen using this primary context";
            return;
        }
        ev->action = CG_BLOCK;
        ev->reason = unsure ? GUARD_BLOCK UNSURE : GUARD_BLOCK;
        return;
    }
    ev->reason = ev->ctx_kind == CG_CTX_CREATED
                     ? "a created (non-primary) context is current: only that context is affected, other modules' primary context is untouched"
                     : "no context is affected";
}

void cg_decide(struct cg_event *ev, char *reason, size_t cap)
{
    int primary = ev->ctx_kind == CG_CTX_PRIMARY || ev->ctx_kind == CG_CTX_UNKNOWN;
    int unsure = ev->ctx_kind == CG_CTX_UNKNOWN;
    int shared = ev->shared_count != 0;
    ev->action = CG_ALLOW;
    ev->log = -1;
    ev->decided_by = preset_names[cg_cfg.mode];
    if (!ev->destructive) {
        ev->reason = "not destructive";
        return;
    }
    if (cg_strict_deny) {
        ev->action = CG_DENY;
        ev->decided_by = "CTXGUARD_STRICT";
        ev->reason = "the policy has errors and CTXGUARD_STRICT=1: every guarded call is denied";
        return;
    }
    if (cg_rules.n) {
        const char *caller = ev->caller > 0 ? cg_module_path(ev->caller) : "";
        const struct cg_rule *r = cg_rules_match(&cg_rules, ev->call, caller, situation_of(ev));
        if (r) {
            static const int map[] = {CG_ALLOW, CG_BLOCK, CG_DENY, CG_ABORT};
            ev->action = map[r->action];
            ev->log = r->log;
            ev->decided_by = r->where;
            snprintf(reason, cap, "rule %s (%s%s%s, on %s)", r->where, cg_rule_action_name(r->action),
                     r->from[0] ? " from " : "", r->from, cg_situation_name(situation_of(ev)));
            ev->reason = reason;
            return;
        }
    }
    preset(ev, primary, unsure, shared);
}

int cg_module_watched(int m)
{
    if (m <= 0 || cg_rules.n == 0)
        return 0;
    const char *path = cg_module_path(m), *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (int i = 0; i < cg_rules.n; i++) {
        const struct cg_rule *r = &cg_rules.rules[i];
        if (r->action == CG_RULE_ALLOW && r->log != 1)
            continue; /* a silent allow changes nothing for an ordinary call */
        if (r->from[0] && fnmatch(r->from, strchr(r->from, '/') ? path : base, 0) != 0)
            continue;
        for (int k = 0; k < r->ncalls; k++) {
            if (strcmp(r->calls[k], "@all") == 0)
                return 1;
            if (r->calls[k][0] == '@')
                continue; /* @reset, @destroy, @destructive: judged calls only */
            for (int id = 0; id < CG_RT_COUNT; id++)
                if (fnmatch(r->calls[k], cg_rt_names[id], 0) == 0)
                    return 1;
        }
    }
    return 0;
}

int cg_decide_plain(struct cg_event *ev, char *reason, size_t cap)
{
    const char *caller = ev->caller > 0 ? cg_module_path(ev->caller) : "";
    const struct cg_rule *r = cg_rules_match(&cg_rules, ev->call, caller, situation_of(ev));
    if (r == NULL)
        return -1;
    static const int map[] = {CG_ALLOW, CG_DENY, CG_DENY, CG_ABORT};
    ev->action = map[r->action];
    ev->log = r->log;
    ev->decided_by = r->where;
    snprintf(reason, cap, "rule %s (%s%s%s, on %s)%s", r->where, cg_rule_action_name(r->action),
             r->from[0] ? " from " : "", r->from, cg_situation_name(situation_of(ev)),
             r->action == CG_RULE_BLOCK ? "; block acts as deny on a call that is not a reset or destroy" : "");
    ev->reason = reason;
    return ev->action;
}

void cg_abort_now(const struct cg_event *ev)
{
    cg_log_msg("abort rule %s matched %s: ending the process (SIGABRT)", ev->decided_by ? ev->decided_by : "?",
               ev->call ? ev->call : "?");
    abort();
}
