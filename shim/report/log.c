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
#include "core/stamp.h"
#include "report/log.h"
#include "report/nvtx.h"
#include "track/state.h"

#define CG_LINE_MAX 8192

struct cg_head cg_head_next(const struct timespec *ts, const char *event, int sev)
{
    struct cg_head h = {ts, event, sev, (long)getpid(), cg_stamp_next(), cg_stamp_start(), cg_stamp_exe(), CG_VERSION};
    return h;
}

/* The diagnostic formatter registered with core (diag.h): JSON objects in a JSON log. */
static size_t note_line(char *buf, size_t cap, const char *event, int sev, const char *text)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct cg_head h = cg_head_next(&ts, event, sev);
    return cg_format_note(buf, cap, &h, text, cg_cfg.format);
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
    /* notable: what info level logs (a block, deny or abort; a destructive call; a rule's `log`) */
    int notable = !(ev->action == CG_ALLOW && (!ev->destructive || ev->log == 0) && ev->log != 1);
    if (CG_UNLIKELY(cg_cfg.nvtx) && notable)
        cg_nvtx_mark(ev);
    int logged = !(cg_cfg.level == CG_LEVEL_QUIET || (cg_cfg.level == CG_LEVEL_INFO && !notable));
    int recorded = cg_recorder_on();
    if (!logged && !recorded)
        return;
    int saved = cg_own_begin();
    int err = errno; /* the host may look at errno after a CUDA call; logging must not change it */
    char line[CG_LINE_MAX];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* one line, one seq: the flight recorder keeps the line the log gets (a dump and the log agree) */
    struct cg_head h = cg_head_next(&ts, NULL, -1);
    long tid = (long)syscall(SYS_gettid);
    size_t n = cg_format_event(line, sizeof line - 1, ev, cg_cfg.format, &h, tid);
    if (recorded)
        cg_record_event(ev, line, n, &h, tid);
    if (logged)
        cg_sink_line_at(cg_event_sev(ev), line, n);
    errno = err;
    cg_own_end(saved);
}
