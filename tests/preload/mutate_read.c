/* Test interposer (preloaded before ctxguard): each read(2) of the file named by MUTATE_PATH that starts
 * at the file's beginning is followed by an append to that file, MUTATE_TIMES times at most (default 1).
 * Simulates a policy file that an editor or a deployment rewrites while ctxguard is reading it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int left = -1;

static int is_target(int fd, const char *path)
{
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return strcmp(target, path) == 0;
}

__attribute__((visibility("default"))) ssize_t read(int fd, void *buf, size_t count)
{
    static ssize_t (*real)(int, void *, size_t);
    if (!real)
        real = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    ssize_t r = real(fd, buf, count);
    const char *path = getenv("MUTATE_PATH");
    if (left < 0)
        left = getenv("MUTATE_TIMES") ? atoi(getenv("MUTATE_TIMES")) : 1;
    /* once per pass over the file: after a read that started at its beginning */
    if (r > 0 && path && left > 0 && lseek(fd, 0, SEEK_CUR) == r && is_target(fd, path)) {
        left--;
        int w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (w >= 0) {
            static const char more[] = "allow @reset\n"; /* a weaker rule, arriving mid-read */
            if (write(w, more, sizeof more - 1) < 0) { /* the test sees the outcome */ }
            close(w);
        }
    }
    return r;
}
