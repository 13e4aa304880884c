/* Delivery of finished lines (sink.h). Each line leaves in one write(2): lines from several threads or
 * processes appending to one file never interleave. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/open_dest.h"
#include "core/sink.h"
#include "core/syslog_sink.h"

static pthread_once_t open_once = PTHREAD_ONCE_INIT;
static int configured; /* set by init.c once cg_cfg is read: before it, stderr */
static int sink_fd = 2;
static int use_syslog;
static unsigned long sink_dev; /* the log file as opened: a rename by logrotate leaves another file */
static unsigned long sink_ino; /* at the path (atomics: read and written by whichever thread checks) */
static long next_check; /* CLOCK_MONOTONIC_COARSE second of the next look at the path (rotation) */

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
        use_syslog = cg_syslog_open() == 0;
        return;
    }
    if (cg_cfg.sink != CG_SINK_FILE)
        return;
    /* A symlink planted at the log path is refused, not followed; a FIFO is refused, not waited on. */
    const char *kind;
    int fd = cg_open_dest(cg_cfg.log_path, cg_cfg.log_mode, &kind);
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
    struct stat st;
    if (fstat(fd, &st) == 0) {
        __atomic_store_n(&sink_dev, (unsigned long)st.st_dev, __ATOMIC_RELAXED);
        __atomic_store_n(&sink_ino, (unsigned long)st.st_ino, __ATOMIC_RELAXED);
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    __atomic_store_n(&next_check, (long)now.tv_sec + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&sink_fd, fd, __ATOMIC_RELEASE);
}

/* Log rotation: at most once a second (a coarse clock read is all a line costs otherwise), one thread
 * looks whether the path still names the file being written; when logrotate has moved it away (or it
 * was deleted), the path is opened again and put in place of the old file on the same descriptor
 * number (dup2 is atomic: a thread writing meanwhile writes to the old file or the new one, never to a
 * closed or reused descriptor). `copytruncate` needs none of this: lines are appended (O_APPEND). */
static void check_rotated(int fd)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    long due = __atomic_load_n(&next_check, __ATOMIC_RELAXED);
    if ((long)now.tv_sec < due ||
        !__atomic_compare_exchange_n(&next_check, &due, (long)now.tv_sec + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    struct stat st;
    if (stat(cg_cfg.log_path, &st) == 0 && st.st_dev == __atomic_load_n(&sink_dev, __ATOMIC_RELAXED) &&
        st.st_ino == __atomic_load_n(&sink_ino, __ATOMIC_RELAXED))
        return;
    const char *kind;
    int nfd = cg_open_dest(cg_cfg.log_path, cg_cfg.log_mode, &kind);
    if (nfd < 0)
        return; /* keep writing to the file we have: a line in a rotated file beats a lost one */
    if (fstat(nfd, &st) == 0 && dup3(nfd, fd, O_CLOEXEC) == fd) {
        __atomic_store_n(&sink_dev, (unsigned long)st.st_dev, __ATOMIC_RELAXED);
        __atomic_store_n(&sink_ino, (unsigned long)st.st_ino, __ATOMIC_RELAXED);
    }
    close(nfd);
}

void cg_sink_line(char *line, size_t n)
{
    cg_sink_line_at(5 /* notice */, line, n);
}

void cg_sink_line_at(int sev, char *line, size_t n)
{
    if (!__atomic_load_n(&configured, __ATOMIC_ACQUIRE)) {
        line[n++] = '\n';
        cg_write_all(2, line, n);
        return;
    }
    pthread_once(&open_once, open_sink);
    if (use_syslog && cg_syslog_send(sev, line, n) == 0)
        return;
    if (use_syslog) {
        static int said;
        if (!__atomic_exchange_n(&said, 1, __ATOMIC_ACQ_REL))
            cg_log_raw("ctxguard: a line could not be sent to syslog; such lines go to stderr");
    }
    line[n++] = '\n';
    int fd = __atomic_load_n(&sink_fd, __ATOMIC_ACQUIRE);
    if (fd != 2)
        check_rotated(fd);
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
    cg_syslog_after_fork_child();
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
