/* The one write loop (sink.h): every line and dump ctxguard writes leaves through it. Only write(2):
 * async-signal-safe, so dumps from fatal-signal handlers use it too. */
#include <errno.h>
#include <unistd.h>

#include "core/sink.h"

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
