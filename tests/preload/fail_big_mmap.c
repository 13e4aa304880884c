/* Test interposer (preloaded before ctxguard): every anonymous mmap of FAIL_MMAP_OVER bytes or more
 * (default 1 MiB) fails with ENOMEM, as under a tight address-space limit (ulimit -v), while small
 * mappings (the loader's, malloc's) still work. An alarm (FAIL_MMAP_ALARM seconds, default 30) turns
 * a hang into SIGALRM, so a test that would hang fails instead. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((constructor)) static void arm_alarm(void)
{
    const char *s = getenv("FAIL_MMAP_ALARM");
    alarm(s ? (unsigned)atoi(s) : 30);
}

__attribute__((visibility("default"))) void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static void *(*real)(void *, size_t, int, int, int, off_t);
    if (!real)
        real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
    const char *s = getenv("FAIL_MMAP_OVER");
    size_t limit = s ? strtoul(s, NULL, 10) : (1u << 20);
    if ((flags & MAP_ANONYMOUS) && len >= limit) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return real(addr, len, prot, flags, fd, off);
}
