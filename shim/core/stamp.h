/* What every line says about where it comes from (issue 16): the process's sequence number, the time
 * its ctxguard initialised, the program and ctxguard's version. Also the UTC clock text every line
 * carries, formatted without gmtime_r (which takes glibc's time-zone lock: a dump written from a signal
 * handler, or a forked child, must not wait on it). */
#ifndef CTXGUARD_STAMP_H
#define CTXGUARD_STAMP_H

#include <stddef.h>
#include <time.h>

#pragma GCC visibility push(hidden)

#ifndef CG_VERSION
#define CG_VERSION "0.0.0-unknown"
#endif

/* How bad a line is: syslog's severities (the numbers are syslog's, so the syslog sink uses them as
 * they are); every line's "level" is one of their names. */
enum cg_sev { CG_SEV_ERR = 3, CG_SEV_WARNING = 4, CG_SEV_NOTICE = 5, CG_SEV_INFO = 6, CG_SEV_DEBUG = 7 };
const char *cg_sev_name(int sev);

/* Called once by init.c (and again in a forked child): notes the start time and the program's path,
 * and starts the sequence at 1. */
void cg_stamp_init(void);
/* The next line's sequence number (1, 2, …; per process). Async-signal-safe. */
unsigned long cg_stamp_next(void);
/* ISO-8601 UTC time ctxguard initialised in this process ("" before), and the program's path. */
const char *cg_stamp_start(void);
const char *cg_stamp_exe(void);

/* Seconds since the epoch as {year, month 1..12, day, hour, minute, second}, UTC. Async-signal-safe. */
void cg_utc_civil(long sec, int f[6]);
/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into out (at least 32 bytes). Async-signal-safe. */
void cg_utc_text(const struct timespec *ts, char *out, size_t cap);

#pragma GCC visibility pop

#endif
