/* The decision for a destructive call. Presets today; rules (allow/block/deny per module and call)
 * plug in here later without touching the wrappers. */
#ifndef CTXGUARD_POLICY_H
#define CTXGUARD_POLICY_H

#include <stddef.h>

#include "report/log.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

/* Sets ev->action and ev->reason (a constant string; `reason`/`cap` are kept for rules that will
 * name themselves, file:line, in later releases). Reads ev->ctx_kind, ev->shared_with and
 * ev->destructive. Only primary (or possibly-primary) destruction is ever blocked. */
void cg_decide(struct cg_event *ev, char *reason, size_t cap);

/* Whether a rule can decide an ordinary (non-destructive) runtime call of module m: then that module
 * takes the slow path, where cg_decide_plain runs; other modules pay nothing for rules. */
int cg_module_watched(int m);

/* For a watched module's ordinary call: fills ev (decided_by, reason, action, log) and returns the
 * action, or -1 when no rule matches (the call is then an ordinary pass-through). A `block` on an
 * ordinary call acts as `deny`: a call that did not happen must not look successful. */
int cg_decide_plain(struct cg_event *ev, char *reason, size_t cap);

/* An `abort` rule matched: the event is already logged; say so and end the process. */
void cg_abort_now(const struct cg_event *ev) __attribute__((noreturn));

#pragma GCC visibility pop

#endif
