/* Safe opening of the log file and dump destination (see open_dest.h). Only system calls that are
 * async-signal-safe: open, fstat, lstat, fcntl, close, write. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/open_dest.h"

static const char *kind_of(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "something else";
}

int cg_open_dest(const char *path, unsigned int mode, const char **kind)
{
    *kind = NULL;
    /* O_NONBLOCK: opening a FIFO for writing returns at once (ENXIO without a reader) instead of
     * waiting for one. It is cleared again once the file is known to be regular. O_EXCL first: a file
     * ctxguard creates gets CTXGUARD_LOG_MODE exactly (the host's umask would narrow it); one that
     * exists (made by logrotate's `create`, by the operator) keeps its own. */
    int fl0 = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    int fd = open(path, fl0 | O_CREAT | O_EXCL, mode & 0777);
    if (fd >= 0)
        fchmod(fd, mode & 0777);
    else if (errno == EEXIST)
        fd = open(path, fl0 | O_CREAT, mode & 0777); /* O_CREAT again: it may have gone meanwhile */
    struct stat st;
    if (fd < 0) {
        int err = errno;
        /* ENXIO: a FIFO without a reader, a socket, a device without its driver; EISDIR */
        if ((err == ENXIO || err == EISDIR) && lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
            *kind = kind_of(st.st_mode);
            return CG_DEST_NOT_REGULAR;
        }
        errno = err;
        return -1;
    }
    /* A regular file, or a character device (/dev/null to silence the log, a console): both take a
     * write without waiting for anyone. A FIFO, socket or directory is refused. */
    if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
        *kind = kind_of(st.st_mode);
        close(fd);
        return CG_DEST_NOT_REGULAR;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

void cg_dest_refused(const char *var, const char *path, const char *kind, const char *fallback)
{
    char line[1400];
    size_t n = 0;
    int saved = errno;
    const char *parts[] = {"ctxguard: ", var, " ", path, " is ", kind ? kind : "something else",
                           ", not a regular file: ", fallback, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t k = strlen(parts[i]);
        if (k > sizeof line - 1 - n)
            k = sizeof line - 1 - n;
        memcpy(line + n, parts[i], k);
        n += k;
    }
    if (line[n - 1] != '\n')
        line[n - 1] = '\n';
    const char *p = line;
    while (n > 0) {
        ssize_t w = write(2, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= (size_t)w;
    }
    errno = saved;
}
