/* The identity every line carries (stamp.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/stamp.h"

static unsigned long seq;
static char start[40];
static char exe[1024];

/* Civil date from days since 1970-01-01 (the proleptic Gregorian calendar, H. Hinnant's method). */
static void civil(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static char *digits(char *p, long v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void cg_utc_civil(long sec, int f[6])
{
    long days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil(days, &f[0], &f[1], &f[2]);
    f[3] = (int)(rem / 3600);
    f[4] = (int)(rem / 60 % 60);
    f[5] = (int)(rem % 60);
}

void cg_utc_text(const struct timespec *ts, char *out, size_t cap)
{
    if (cap < 28) {
        if (cap)
            out[0] = '\0';
        return;
    }
    int f[6];
    cg_utc_civil((long)ts->tv_sec, f);
    char *p = digits(out, f[0], 4);
    *p++ = '-';
    p = digits(p, f[1], 2);
    *p++ = '-';
    p = digits(p, f[2], 2);
    *p++ = 'T';
    p = digits(p, f[3], 2);
    *p++ = ':';
    p = digits(p, f[4], 2);
    *p++ = ':';
    p = digits(p, f[5], 2);
    *p++ = '.';
    p = digits(p, (ts->tv_nsec / 1000) % 1000000, 6);
    *p++ = 'Z';
    *p = '\0';
}

const char *cg_sev_name(int sev)
{
    static const char *const n[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
    return sev >= 0 && sev <= CG_SEV_DEBUG ? n[sev] : "info";
}

void cg_stamp_init(void)
{
    int saved = errno;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cg_utc_text(&ts, start, sizeof start);
    __atomic_store_n(&seq, 0, __ATOMIC_RELAXED);
    if (exe[0] == '\0') { /* a forked child runs the same program */
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0)
            exe[n] = '\0';
        else
            snprintf(exe, sizeof exe, "%s", program_invocation_name);
    }
    errno = saved;
}

unsigned long cg_stamp_next(void)
{
    return __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
}

const char *cg_stamp_start(void)
{
    return start;
}

const char *cg_stamp_exe(void)
{
    return exe;
}
