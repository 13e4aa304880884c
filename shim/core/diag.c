/* Diagnostics (diag.h): formatted here or by the registered formatter, then handed to the sink. */
#include <stdarg.h>
#include <stdio.h>

#include "core/diag.h"
#include "core/guard.h"

#define CG_DIAG_MAX 8192

static cg_note_formatter formatter;

void cg_diag_set_formatter(cg_note_formatter f)
{
    __atomic_store_n(&formatter, f, __ATOMIC_RELEASE);
}

static void note(const char *event, int sev, const char *fmt, va_list ap)
{
    char text[CG_DIAG_MAX], line[CG_DIAG_MAX];
    int saved = cg_own_begin(); /* a write(2) interposer may call CUDA: that passes through */
    vsnprintf(text, sizeof text, fmt, ap);
    cg_note_formatter f = __atomic_load_n(&formatter, __ATOMIC_ACQUIRE);
    size_t n;
    if (f)
        n = f(line, sizeof line - 1, event, sev, text);
    else {
        int k = snprintf(line, sizeof line - 1, "ctxguard: %s", text);
        n = k < 0 ? 0 : (size_t)k < sizeof line - 1 ? (size_t)k : sizeof line - 2;
    }
    cg_sink_line_at(sev, line, n);
    cg_own_end(saved);
}

void cg_log_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note("warning", CG_SEV_WARNING, fmt, ap);
    va_end(ap);
}

void cg_log_note(const char *event, int sev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note(event, sev, fmt, ap);
    va_end(ap);
}
