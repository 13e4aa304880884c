/* An event's way out: counted for the exit summary, kept by the flight recorder, marked for NVTX,
 * formatted and handed to the sink. The top of the report layer: it calls summary, recorder, NVTX and
 * format, and none of them calls back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "core/guard.h"
#include "core/sink.h"
#include "report/log.h"
#include "report/nvtx.h"
#include "track/state.h"

#define CG_LINE_MAX 8192

/* The diagnostic formatter registered with core (diag.h): JSON objects in a JSON log. */
static size_t note_line(char *buf, size_t cap, const char *key, const char *text)
{
    return cg_format_note(buf, cap, key, text, cg_cfg.format, (long)getpid());
}

void cg_report_install(void)
{
    cg_diag_set_formatter(note_line);
}

void cg_log_event(const struct cg_event *ev_in)
{
    struct cg_event e = *ev_in;
    const struct cg_event *ev = &e;
    if (e.ctx_gen == 0 && e.ctx_kind == CG_CTX_PRIMARY && e.device >= 0)
        e.ctx_gen = cg_ctx_gen_of(e.device);
    cg_summary_note(ev);
    cg_record_event(ev);
    /* notable: what info level logs (a block, deny or abort; a destructive call; a rule's `log`) */
    int notable = !(ev->action == CG_ALLOW && (!ev->destructive || ev->log == 0) && ev->log != 1);
    if (CG_UNLIKELY(cg_cfg.nvtx) && notable)
        cg_nvtx_mark(ev);
    if (cg_cfg.level == CG_LEVEL_QUIET)
        return;
    if (cg_cfg.level == CG_LEVEL_INFO && !notable)
        return;
    int saved = cg_own_begin();
    int err = errno; /* the host may look at errno after a CUDA call; logging must not change it */
    char line[CG_LINE_MAX];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t n = cg_format_event(line, sizeof line - 1, ev, cg_cfg.format, &ts, (long)getpid(),
                               (long)syscall(SYS_gettid));
    cg_sink_line(line, n);
    errno = err;
    cg_own_end(saved);
}
