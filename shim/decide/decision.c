/* The decision itself: a pure function of (event, policy view, caller path). No globals, no I/O, no
 * allocation; reasons are constant strings unless a rule names itself. tests/test_policy.c walks
 * mode x situation x rule x caller through it. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "core/hooks.h"
#include "core/util.h"
#include "decide/policy.h"
#include "track/state.h"

#define UNSURE " (the current context was not seen being created or retained, so it is treated as primary)"
#define GUARD_BLOCK                                                                                  \
    "guard mode: the modules in shared_with use this primary context and would lose their allocations, " \
    "streams and modules; returned success without resetting. The resetting module should use a "    \
    "driver-API context of its own (cuCtxCreate) if it needs a clean device"

#define GUARD_RECLAIM                                                                                \
    "guard mode with CTXGUARD_RECLAIM=1: the modules in shared_with use this primary context, so it was " \
    "not reset; instead the caller's own allocations, streams and events in it were freed (reclaimed) " \
    "and success returned"

static const char *const preset_names[] = {"preset observe", "preset guard", "preset enforce"};
static const char *const fallback_names[] = {"preset observe (policy has errors)", "preset guard (policy has errors)",
                                             "preset enforce (policy has errors)"};
static const int rule_action[] = {CG_ALLOW, CG_BLOCK, CG_DENY, CG_ABORT, CG_RECLAIM};

static int situation_of(const struct cg_event *ev)
{
    switch (ev->ctx_kind) {
    case CG_CTX_CREATED: return CG_SIT_CREATED;
    case CG_CTX_NONE: return CG_SIT_NONE;
    default: return ev->shared_count ? CG_SIT_SHARED : CG_SIT_PRIMARY;
    }
}

static int mode_of(const struct cg_policy_view *pv)
{
    return pv->mode >= CG_MODE_OBSERVE && pv->mode <= CG_MODE_ENFORCE ? pv->mode : CG_MODE_GUARD;
}

/* Observe is a dry run: whatever was decided becomes what would have happened. */
static void dry_run(struct cg_event *ev, const struct cg_policy_view *pv)
{
    if (mode_of(pv) != CG_MODE_OBSERVE || ev->action == CG_ALLOW)
        return;
    ev->would = 1 + ev->action;
    ev->action = CG_ALLOW;
}

static void preset(struct cg_event *ev, int mode, int reclaim, int primary, int unsure, int shared)
{
    switch (mode) {
    case CG_MODE_OBSERVE:
        if (primary && shared)
            ev->would = 1 + CG_BLOCK; /* what guard would have done */
        ev->reason = !primary ? (ev->ctx_kind == CG_CTX_CREATED
                                     ? "observe mode: passed through; a created (non-primary) context is current"
                                     : "observe mode: passed through; no context is affected")
                     : shared ? (unsure ? "observe mode (dry run): passed through; guard would block: other modules use this primary context and lose its allocations, streams and modules" UNSURE
                                        : "observe mode (dry run): passed through; guard would block: other modules use this primary context and lose its allocations, streams and modules")
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
        if (reclaim) {
            ev->action = CG_RECLAIM;
            ev->reason = unsure ? GUARD_RECLAIM UNSURE : GUARD_RECLAIM;
        } else {
            ev->action = CG_BLOCK;
            ev->reason = unsure ? GUARD_BLOCK UNSURE : GUARD_BLOCK;
        }
        return;
    }
    ev->reason = ev->ctx_kind == CG_CTX_CREATED
                     ? "a created (non-primary) context is current: only that context is affected, other modules' primary context is untouched"
                     : "no context is affected";
}

static void rule_reason(const struct cg_event *ev, const struct cg_rule *r, int plain, int observe, char *reason,
                        size_t cap)
{
    snprintf(reason, cap, "%srule %s (%s%s%s, on %s)%s", observe ? "observe mode (dry run), would apply " : "", r->where,
             cg_rule_action_name(r->action), r->from[0] ? " from " : "", r->from, cg_situation_name(situation_of(ev)),
             !plain                             ? ""
             : r->action == CG_RULE_BLOCK     ? "; block acts as deny on a call that is not a reset or destroy"
             : r->action == CG_RULE_RECLAIM   ? "; reclaim acts as deny on a call that is not a reset or destroy"
                                              : "");
}

void cg_decide_with(struct cg_event *ev, const struct cg_policy_view *pv, const char *caller_path, char *reason,
                    size_t cap)
{
    int mode = mode_of(pv);
    int primary = ev->ctx_kind == CG_CTX_PRIMARY || ev->ctx_kind == CG_CTX_UNKNOWN;
    int unsure = ev->ctx_kind == CG_CTX_UNKNOWN;
    int shared = ev->shared_count != 0;
    ev->action = CG_ALLOW;
    ev->would = 0;
    ev->log = -1;
    ev->decided_by = pv->broken ? fallback_names[mode] : preset_names[mode];
    if (!ev->destructive) {
        ev->reason = "not destructive";
        return;
    }
    if (pv->strict_deny) {
        ev->action = CG_DENY;
        ev->decided_by = "CTXGUARD_STRICT";
        ev->reason = mode == CG_MODE_OBSERVE
                         ? "observe mode (dry run): the policy has errors and CTXGUARD_STRICT=1: would be denied; passed through"
                         : "the policy has errors and CTXGUARD_STRICT=1: every guarded call is denied";
        dry_run(ev, pv);
        return;
    }
    if (pv->rules && pv->rules->n) {
        const struct cg_rule *r = cg_rules_match_as(pv->rules, ev->call, caller_path ? caller_path : "", ev->caller_loaded_as, situation_of(ev));
        if (r) {
            ev->action = rule_action[r->action];
            ev->log = r->log;
            ev->decided_by = r->where;
            rule_reason(ev, r, 0, mode == CG_MODE_OBSERVE, reason, cap);
            ev->reason = reason;
            dry_run(ev, pv);
            return;
        }
    }
    preset(ev, mode, pv->reclaim, primary, unsure, shared);
}

int cg_decide_plain_with(struct cg_event *ev, const struct cg_policy_view *pv, const char *caller_path,
                         char *reason, size_t cap)
{
    ev->would = 0;
    if (!pv->rules || pv->rules->n == 0)
        return -1;
    const struct cg_rule *r = cg_rules_match_as(pv->rules, ev->call, caller_path ? caller_path : "", ev->caller_loaded_as, situation_of(ev));
    if (r == NULL)
        return -1;
    static const int plain_action[] = {CG_ALLOW, CG_DENY, CG_DENY, CG_ABORT, CG_DENY};
    ev->action = plain_action[r->action];
    ev->log = r->log;
    ev->decided_by = r->where;
    rule_reason(ev, r, 1, mode_of(pv) == CG_MODE_OBSERVE, reason, cap);
    ev->reason = reason;
    dry_run(ev, pv);
    if (ev->would && ev->log == -1)
        ev->log = 1; /* a dry run's "would have denied" is what the operator is trialling: logged */
    return ev->action;
}

int cg_watched_by(const struct cg_ruleset *rs, const char *path)
{
    if (rs == NULL || rs->n == 0 || path == NULL)
        return 0;
    const char *base = cg_basename(path);
    for (int i = 0; i < rs->n; i++) {
        const struct cg_rule *r = &rs->rules[i];
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
