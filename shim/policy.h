/* The decision for a destructive call. Presets today; rules (allow/block/deny per module and call)
 * plug in here later without touching the wrappers. */
#ifndef CTXGUARD_POLICY_H
#define CTXGUARD_POLICY_H

#include <stddef.h>

#include "log.h"

/* Sets ev->action and ev->reason (a constant string; `reason`/`cap` are kept for rules that will
 * name themselves, file:line, in later releases). Reads ev->ctx_kind, ev->shared_with and
 * ev->destructive. Only primary (or possibly-primary) destruction is ever blocked. */
void cg_decide(struct cg_event *ev, char *reason, size_t cap);

/* An `abort` rule matched: the event is already logged; say so and end the process. */
void cg_abort_now(const struct cg_event *ev) __attribute__((noreturn));

#endif
