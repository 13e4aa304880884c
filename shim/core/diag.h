/* ctxguard's diagnostics ("cannot find the real cudaMalloc …"), from any layer, to the sink. */
#ifndef CTXGUARD_DIAG_H
#define CTXGUARD_DIAG_H

#include <stddef.h>

#include "core/sink.h"
#include "core/stamp.h"

#pragma GCC visibility push(hidden)

/* A diagnostic line (event "warning", level warning): "ctxguard: TEXT", or whatever the registered
 * formatter makes of it (the report layer registers its JSON-aware one at initialisation). Never
 * starts initialisation. */
void cg_log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with its event ("message", "config_error") and severity. */
void cg_log_note(const char *event, int sev, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* How a diagnostic becomes a line: (buffer, capacity, event, severity, text) -> length. Registered by
 * the report layer (a lower layer never calls a higher one; it calls what was handed to it). */
typedef size_t (*cg_note_formatter)(char *buf, size_t cap, const char *event, int sev, const char *text);
void cg_diag_set_formatter(cg_note_formatter f);

#pragma GCC visibility pop

#endif
