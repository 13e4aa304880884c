/* Delivery of log lines. Each line leaves in one write(2), so lines from several threads or
 * processes appending to one file never interleave. The sink opens lazily, on the first line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "core/core.h"
#include "core/open_dest.h"
#include "report/log.h"
#include "report/nvtx.h"
#include "track/state.h"

#define CG_LINE_MAX 8192

static pthread_once_t sink_once = PTHREAD_ONCE_INIT;
static int sink_fd = 2;
static int use_syslog;

/* Returns 0, or the errno of a failed write. Retries EINTR (a signal in the host must not drop a
 * line) and short writes. */
static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

void cg_log_raw(const char *line)
{
    char buf[1024];
    size_t n = strnlen(line, sizeof buf - 2);
    memcpy(buf, line, n);
    buf[n++] = '\n';
    write_all(2, buf, n);
}

static void open_sink(void)
{
    if (cg_cfg.sink == CG_SINK_SYSLOG) {
        openlog("ctxguard", LOG_PID | LOG_NDELAY, LOG_USER);
        use_syslog = 1;
        return;
    }
    if (cg_cfg.sink != CG_SINK_FILE)
        return;
    /* A symlink planted at the log path is refused, not followed; a FIFO is refused, not waited on. */
    const char *kind;
    int fd = cg_open_dest(cg_cfg.log_path, &kind);
    if (fd == CG_DEST_NOT_REGULAR) {
        cg_dest_refused("CTXGUARD_LOG", cg_cfg.log_path, kind, "logging to stderr");
        return;
    }
    if (fd < 0) {
        char line[CG_PATH_MAX + 200];
        snprintf(line, sizeof line, "ctxguard: cannot open CTXGUARD_LOG file %s: %s; logging to stderr",
                 cg_cfg.log_path, strerror(errno));
        cg_log_raw(line);
        return;
    }
    sink_fd = fd;
}

void cg_log_after_fork_child(int reopen)
{
    if (!reopen || cg_cfg.sink != CG_SINK_FILE)
        return;
    /* the parent's file stays the parent's: the child's first line opens the file of its own pid */
    int fd = sink_fd;
    sink_fd = 2;
    if (fd != 2)
        close(fd);
    static const pthread_once_t fresh = PTHREAD_ONCE_INIT;
    memcpy(&sink_once, &fresh, sizeof fresh);
}

static void emit(char *line, size_t n)
{
    cg_init();
    pthread_once(&sink_once, open_sink);
    if (use_syslog) {
        syslog(LOG_NOTICE, "%s", line);
        return;
    }
    line[n++] = '\n';
    int fd = __atomic_load_n(&sink_fd, __ATOMIC_ACQUIRE);
    int err = write_all(fd, line, n);
    if (err && fd != 2) {
        /* A full disk or a vanished file: say so once, and keep every later line on stderr rather
         * than lose it. The failed line itself goes to stderr too. */
        if (__atomic_exchange_n(&sink_fd, 2, __ATOMIC_ACQ_REL) == fd) {
            char msg[CG_PATH_MAX + 160];
            snprintf(msg, sizeof msg, "ctxguard: writing to CTXGUARD_LOG file %s failed: %s; logging to stderr from now on",
                     cg_cfg.log_path, strerror(err));
            cg_log_raw(msg);
        }
        write_all(2, line, n);
    }
}

void cg_log_msg(const char *fmt, ...)
{
    char text[CG_LINE_MAX], line[CG_LINE_MAX];
    int saved = cg_tls.depth++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    emit(line, cg_format_note(line, sizeof line, "message", text, cg_cfg.format, (long)getpid()));
    cg_tls.depth = saved;
}

void cg_log_summary_line(const char *text)
{
    char line[CG_LINE_MAX];
    emit(line, cg_format_note(line, sizeof line, "summary", text, cg_cfg.format, (long)getpid()));
}

void cg_log_event(const struct cg_event *ev_in)
{
    cg_init();
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
    int saved = cg_tls.depth++;
    int err = errno; /* the host may look at errno after a CUDA call; logging must not change it */
    char line[CG_LINE_MAX];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t n = cg_format_event(line, sizeof line - 1, ev, cg_cfg.format, &ts, (long)getpid(),
                               (long)syscall(SYS_gettid));
    emit(line, n);
    errno = err;
    cg_tls.depth = saved;
}
