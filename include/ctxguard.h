/* ctxguard — public constants for programs and scripts that work with libctxguard.so.
 *
 * libctxguard.so is used by preloading it (LD_PRELOAD=/path/libctxguard.so program …); it has no API
 * to call. This header names what it reads and what it returns, so a host can recognise a blocked
 * or denied call and a log reader can rely on the keys. */
#ifndef CTXGUARD_H
#define CTXGUARD_H

#define CTXGUARD_VERSION "0.1.0"

/* Environment, read once per process (secure_getenv: ignored by setuid programs). */
#define CTXGUARD_ENV_MODE "CTXGUARD_MODE"             /* observe | guard (default) | enforce */
#define CTXGUARD_ENV_LOG "CTXGUARD_LOG"               /* stderr (default) | syslog | file path, %p = pid */
#define CTXGUARD_ENV_LOG_FORMAT "CTXGUARD_LOG_FORMAT" /* text (default) | json */
#define CTXGUARD_ENV_LOG_LEVEL "CTXGUARD_LOG_LEVEL"   /* quiet | info (default) | debug */

/* A blocked call returns success (0) without reaching CUDA; a denied one (policy rules, a later
 * release) returns cudaErrorNotPermitted / CUDA_ERROR_NOT_PERMITTED. */
#define CTXGUARD_BLOCKED_RESULT 0
#define CTXGUARD_DENIED_RESULT 800

/* Keys of every JSON log line (CTXGUARD_LOG_FORMAT=json), one object per line:
 *   ts (RFC 3339 UTC, microseconds), pid, tid, api ("runtime"|"driver"), call, device (int|null),
 *   ctx (hex string|null), ctx_kind ("primary"|"created"|"none"|"unknown"), shared_with (array of
 *   module paths), caller (module path), action ("allow"|"block"|"deny"), result (int), reason. */

#endif
