/* Delivery of finished lines (sink.h). Each line leaves in one write(2): lines from several threads or
 * processes appending to one file never interleave. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/core.h"
#include "core/open_dest.h"
#include "core/sink.h"

static pthread_once_t open_once = PTHREAD_ONCE_INIT;
static int configured; /* set by init.c once cg_cfg is read: before it, stderr */
static int sink_fd = 2;
static int use_syslog;

int cg_write_all(int fd, const char *s, size_t n)
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
    cg_write_all(2, buf, n);
}

void cg_sink_configure(void)
{
    __atomic_store_n(&configured, 1, __ATOMIC_RELEASE);
}

/* Runs once, on the first line after configuration. Reports only through cg_log_raw (stderr): the
 * sink it is opening is not there yet. */
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
    __atomic_store_n(&sink_fd, fd, __ATOMIC_RELEASE);
}

void cg_sink_line(char *line, size_t n)
{
    if (!__atomic_load_n(&configured, __ATOMIC_ACQUIRE)) {
        line[n++] = '\n';
        cg_write_all(2, line, n);
        return;
    }
    pthread_once(&open_once, open_sink);
    if (use_syslog) {
        line[n] = '\0';
        syslog(LOG_NOTICE, "%s", line);
        return;
    }
    line[n++] = '\n';
    int fd = __atomic_load_n(&sink_fd, __ATOMIC_ACQUIRE);
    int err = cg_write_all(fd, line, n);
    if (err && fd != 2) {
        /* A full disk or a vanished file: say so once, and keep every later line on stderr rather
         * than lose it. The failed line itself goes to stderr too. */
        if (__atomic_exchange_n(&sink_fd, 2, __ATOMIC_ACQ_REL) == fd) {
            char msg[CG_PATH_MAX + 160];
            snprintf(msg, sizeof msg, "ctxguard: writing to CTXGUARD_LOG file %s failed: %s; logging to stderr from now on",
                     cg_cfg.log_path, strerror(err));
            cg_log_raw(msg);
        }
        cg_write_all(2, line, n);
    }
}

void cg_sink_after_fork_child(int reopen)
{
    if (!reopen || cg_cfg.sink != CG_SINK_FILE)
        return;
    /* the parent's file stays the parent's: the child's first line opens the file of its own pid */
    int fd = sink_fd;
    sink_fd = 2;
    if (fd != 2)
        close(fd);
    static const pthread_once_t fresh = PTHREAD_ONCE_INIT;
    memcpy(&open_once, &fresh, sizeof fresh);
}
