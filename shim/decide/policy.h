/* The decision for a judged call: the first matching rule, else the CTXGUARD_MODE preset.
 * decision.c holds it as a pure function of (event, policy view, caller path), unit-tested by
 * tests/test_policy.c; policy.c is the thin layer that reads the process's configuration. */
#ifndef CTXGUARD_POLICY_H
#define CTXGUARD_POLICY_H

#include <stddef.h>

#include "core/config.h"
#include "decide/rules.h"
#include "report/log.h"

#pragma GCC visibility push(hidden)

/* What a decision depends on besides the event: everything configuration says. */
struct cg_policy_view {
    int mode;                       /* enum cg_mode */
    int strict_deny;                /* the policy is broken and CTXGUARD_STRICT=1 */
    int broken;                     /* the policy had errors (its rules were dropped) */
    const struct cg_ruleset *rules; /* NULL or empty: presets only */
    int reclaim;                    /* CTXGUARD_RECLAIM=1: guard's blocks are reclaims */
};

/* Pure. Sets ev->action, ev->would, ev->log, ev->decided_by and ev->reason (a constant, or `reason`
 * when a rule names itself) from ev->call, ev->ctx_kind, ev->shared_with, ev->destructive, the
 * view and the caller's path. Only primary (or possibly primary) destruction is ever blocked by a
 * preset. Under observe nothing is blocked: what would have happened is ev->would. */
void cg_decide_with(struct cg_event *ev, const struct cg_policy_view *pv, const char *caller_path, char *reason,
                    size_t cap);
/* Pure. An ordinary (non-destructive) call of a module a rule names: fills ev as above and returns
 * the action, or -1 when no rule matches. A `block` acts as `deny` (a call that did not happen must
 * not look successful); under observe the action is always allow, with ev->would set. */
int cg_decide_plain_with(struct cg_event *ev, const struct cg_policy_view *pv, const char *caller_path,
                         char *reason, size_t cap);
/* Pure. Whether a rule can decide an ordinary call made from `path`: then that module takes the slow
 * path; other modules pay nothing for rules. */
int cg_watched_by(const struct cg_ruleset *rs, const char *path);

/* The process's policy (policy_load.c), read once by cg_policy_load at initialisation. */
extern struct cg_ruleset cg_rules;
extern int cg_strict_deny;
extern int cg_policy_broken;
void cg_policy_load(struct cg_config *cfg);

/* Thin wrappers over the pure functions, with this process's view and module table (policy.c). */
void cg_decide(struct cg_event *ev, char *reason, size_t cap);
int cg_decide_plain(struct cg_event *ev, char *reason, size_t cap);
int cg_module_watched(int m);

/* The tail every judged call shares once decided. cg_verdict_stops: for block, reclaim, deny and
 * abort, sets ev->result (block and reclaim: success, after `settle` when given and what the caller
 * leaves behind or (reclaim) frees, decide/reclaim.c; deny and abort: error 800) and returns 1,
 * the real call is not made; for allow returns 0. cg_verdict_done: logs the event, and ends the
 * process when the action was abort. */
int cg_verdict_stops(struct cg_event *ev, void (*settle)(void *), void *arg);
void cg_verdict_done(const struct cg_event *ev);

/* An `abort` rule matched: the event is already logged; say so and end the process. */
void cg_abort_now(const struct cg_event *ev) __attribute__((noreturn));

#pragma GCC visibility pop

#endif
