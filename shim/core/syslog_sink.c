/* The syslog socket, written directly (syslog_sink.h). Never blocks the host: datagrams are sent with
 * MSG_DONTWAIT, so a stalled syslog daemon costs a line on stderr, not a hung process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/sink.h"
#include "core/stamp.h"
#include "core/syslog_sink.h"

static int sock_fd = -1, sock_type;
static long utc_offset; /* seconds east of UTC when the socket was opened (see stamp_local) */
static char ident[40];  /* "ctxguard[PID]" */

static const char *sock_path(void)
{
    return cg_cfg.syslog_socket[0] ? cg_cfg.syslog_socket : "/dev/log";
}

static int try_connect(int type)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path());
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int cg_syslog_open(void)
{
    snprintf(ident, sizeof ident, "ctxguard[%ld]", (long)getpid());
    /* The local time of the RFC 3164 stamp with the offset of now, computed once: localtime_r takes
     * glibc's time-zone lock and may read /etc/localtime, which a line should not. (Daemons reading
     * /dev/log usually stamp lines themselves; a change of daylight saving time while the process
     * runs shifts ctxguard's stamp by an hour.) */
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        utc_offset = tm.tm_gmtoff;
    int fd = try_connect(SOCK_DGRAM), type = SOCK_DGRAM;
    if (fd < 0 && errno == EPROTOTYPE) {
        fd = try_connect(SOCK_STREAM);
        type = SOCK_STREAM;
    }
    if (fd < 0) {
        char line[300];
        snprintf(line, sizeof line, "ctxguard: CTXGUARD_LOG=syslog but %s cannot be reached (%s): logging to stderr",
                 sock_path(), strerror(errno));
        cg_log_raw(line);
        return -1;
    }
    sock_type = type;
    __atomic_store_n(&sock_fd, fd, __ATOMIC_RELEASE);
    return 0;
}

void cg_syslog_after_fork_child(void)
{
    if (ident[0])
        snprintf(ident, sizeof ident, "ctxguard[%ld]", (long)getpid());
}

int cg_syslog_send(int sev, const char *line, size_t n)
{
    int fd = __atomic_load_n(&sock_fd, __ATOMIC_ACQUIRE);
    if (fd < 0)
        return -1;
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    /* the text form's own "ctxguard: " prefix would repeat the identity */
    if (n >= 10 && memcmp(line, "ctxguard: ", 10) == 0) {
        line += 10;
        n -= 10;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int f[6]; /* not gmtime_r: it takes the time-zone lock too */
    cg_utc_civil((long)now.tv_sec + utc_offset, f);
    char head[96];
    int h = snprintf(head, sizeof head, "<%d>%s %2d %02d:%02d:%02d %s: ", cg_cfg.syslog_facility | (sev & 7),
                     mon[(f[1] + 11) % 12], f[2], f[3], f[4], f[5], ident);
    if (h < 0 || (size_t)h >= sizeof head)
        return -1;
    char msg[8192 + 128];
    if (n > sizeof msg - (size_t)h - 1)
        n = sizeof msg - (size_t)h - 1;
    memcpy(msg, head, (size_t)h);
    memcpy(msg + h, line, n);
    size_t len = (size_t)h + n;
    if (sock_type == SOCK_STREAM)
        msg[len++] = '\0'; /* a stream socket: each message ends with a NUL, as glibc's syslog sends it */
    for (int again = 1;;) {
        ssize_t w = send(fd, msg, len, MSG_NOSIGNAL | (sock_type == SOCK_DGRAM ? MSG_DONTWAIT : 0));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && again && (errno == ECONNREFUSED || errno == ENOTCONN || errno == EPIPE)) {
            /* the daemon was restarted: connect again, onto the same descriptor number (dup2 is
             * atomic, so a thread sending meanwhile uses the old socket or the new one) */
            again = 0;
            int nfd = try_connect(sock_type);
            if (nfd >= 0) {
                dup3(nfd, fd, O_CLOEXEC);
                close(nfd);
                continue;
            }
        }
        return w == (ssize_t)len ? 0 : -1;
    }
}
