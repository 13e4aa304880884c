/* The process's decisions: the pure functions of decision.c with this process's policy view and
 * module table, and the tail every judged call shares. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/diag.h"
#include "decide/policy.h"
#include "decide/reclaim.h"
#include "track/modules.h"

static struct cg_policy_view view(void)
{
    struct cg_policy_view v = {cg_cfg.mode, cg_strict_deny, cg_policy_broken, &cg_rules, cg_cfg.reclaim};
    return v;
}

static const char *caller_path(int m)
{
    return m > 0 ? cg_module_path(m) : "";
}

/* The path the module was loaded by, when it differs from its real path (a symlinked directory). */
static const char *loaded_as(int m)
{
    if (m <= 0 || m >= __atomic_load_n(&cg_mod_count, __ATOMIC_ACQUIRE))
        return NULL;
    const char *l_name = cg_mod(m)->l_name;
    if (l_name == NULL || l_name[0] == '\0' || strcmp(l_name, cg_module_path(m)) == 0)
        return NULL;
    return l_name;
}

void cg_decide(struct cg_event *ev, char *reason, size_t cap)
{
    struct cg_policy_view v = view();
    ev->caller_loaded_as = loaded_as(ev->caller);
    cg_decide_with(ev, &v, caller_path(ev->caller), reason, cap);
}

int cg_decide_plain(struct cg_event *ev, char *reason, size_t cap)
{
    struct cg_policy_view v = view();
    ev->caller_loaded_as = loaded_as(ev->caller);
    return cg_decide_plain_with(ev, &v, caller_path(ev->caller), reason, cap);
}

int cg_module_watched(int m)
{
    return m > 0 && (cg_watched_by(&cg_rules, cg_module_path(m)) || cg_watched_by(&cg_rules, loaded_as(m)));
}

int cg_verdict_stops(struct cg_event *ev, void (*settle)(void *), void *arg)
{
    switch (ev->action) {
    case CG_BLOCK:
    case CG_RECLAIM:
        if (settle) /* the real call would first have waited for pending work; so does a block */
            settle(arg);
        cg_block_resources(ev); /* what the caller leaves behind, or (reclaim) frees */
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
    cg_log_note("message", CG_SEV_ERR, "abort rule %s matched %s: ending the process (SIGABRT)", ev->decided_by ? ev->decided_by : "?",
               ev->call ? ev->call : "?");
    abort();
}
