/* The process's decisions: the pure functions of decision.c with this process's policy view and
 * module table, and the tail every judged call shares. */
#include <stdlib.h>

#include "core/core.h"
#include "core/diag.h"
#include "decide/policy.h"
#include "track/modules.h"

static struct cg_policy_view view(void)
{
    struct cg_policy_view v = {cg_cfg.mode, cg_strict_deny, cg_policy_broken, &cg_rules};
    return v;
}

static const char *caller_path(int m)
{
    return m > 0 ? cg_module_path(m) : "";
}

void cg_decide(struct cg_event *ev, char *reason, size_t cap)
{
    struct cg_policy_view v = view();
    cg_decide_with(ev, &v, caller_path(ev->caller), reason, cap);
}

int cg_decide_plain(struct cg_event *ev, char *reason, size_t cap)
{
    struct cg_policy_view v = view();
    return cg_decide_plain_with(ev, &v, caller_path(ev->caller), reason, cap);
}

int cg_module_watched(int m)
{
    return m > 0 && cg_watched_by(&cg_rules, cg_module_path(m));
}

int cg_verdict_stops(struct cg_event *ev, void (*settle)(void *), void *arg)
{
    switch (ev->action) {
    case CG_BLOCK:
        if (settle) /* the real call would first have waited for pending work; so does a block */
            settle(arg);
        ev->result = CG_SUCCESS;
        return 1;
    case CG_DENY:
    case CG_ABORT: /* logged as denied; the process ends right after */
        ev->result = CG_ERR_NOT_PERMITTED;
        return 1;
    default:
        return 0;
    }
}

void cg_verdict_done(const struct cg_event *ev)
{
    cg_log_event(ev);
    if (ev->action == CG_ABORT)
        cg_abort_now(ev);
}

void cg_abort_now(const struct cg_event *ev)
{
    cg_log_msg("abort rule %s matched %s: ending the process (SIGABRT)", ev->decided_by ? ev->decided_by : "?",
               ev->call ? ev->call : "?");
    abort();
}
