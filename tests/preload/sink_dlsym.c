/* Test interposer (preloaded before ctxguard): a write(2) wrapper that, whenever the text written is a
 * ctxguard log line, looks CUDA names up with dlsym, as a logging or tracing library that resolves
 * lazily would. So ctxguard's own sink re-enters ctxguard's dlsym while it is logging. At exit it
 * prints to stderr how many lookups it made and whether they found something. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int lookups, found, next_calls, next_ok;

__attribute__((visibility("default"))) ssize_t write(int fd, const void *buf, size_t count)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    const char *s = buf;
    if (count > 9 && (memcmp(s, "ctxguard:", 9) == 0 || memcmp(s, "{\"ts\"", 5) == 0)) {
        const char *names[] = {"cudaGetDevice", "cuInit", "cuGetProcAddress_v2", "cudaDeviceReset"};
        for (int i = 0; i < 4; i++) {
            lookups++;
            found += dlsym(RTLD_DEFAULT, names[i]) != NULL;
        }
        next_calls++;
        next_ok += dlsym(RTLD_NEXT, "write") == (void *)real; /* the caller's meaning of RTLD_NEXT kept */
    }
    return real(fd, buf, count);
}

__attribute__((destructor)) static void report(void)
{
    char line[128];
    int n = snprintf(line, sizeof line, "sink_dlsym: %d lookups, %d found; RTLD_NEXT write %d of %d right\n",
                     lookups, found, next_ok, next_calls);
    ssize_t (*real)(int, const void *, size_t) = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (real && n > 0)
        real(2, line, (size_t)n);
}
