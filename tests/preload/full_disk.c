/* Test interposer (preloaded before ctxguard): every write(2) to the file named by FULL_DISK_PATH fails
 * with ENOSPC, as on a full disk. (/dev/full did this once, but ctxguard now refuses a character
 * device as its log: only a regular file is a log.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_target(int fd)
{
    const char *path = getenv("FULL_DISK_PATH");
    char link[64], target[4096];
    if (path == NULL || fd <= 2)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return strcmp(target, path) == 0;
}

__attribute__((visibility("default"))) ssize_t write(int fd, const void *buf, size_t count)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (is_target(fd)) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buf, count);
}
