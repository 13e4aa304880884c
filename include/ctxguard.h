/* ctxguard — public constants for programs and scripts that work with libctxguard.so.
 *
 * libctxguard.so is used by preloading it (LD_PRELOAD=/path/libctxguard.so program …); it has no API
 * to call. This header names what it reads and what it returns, so a host can recognise a blocked
 * or denied call and a log reader can rely on the keys. */
#ifndef CTXGUARD_H
#define CTXGUARD_H

#define CTXGUARD_VERSION "0.2.0"

/* Environment, read once per process (secure_getenv: ignored by setuid programs). */
#define CTXGUARD_ENV_MODE "CTXGUARD_MODE"             /* observe | guard (default) | enforce */
#define CTXGUARD_ENV_LOG "CTXGUARD_LOG"               /* stderr (default) | syslog | file path, %p = pid */
#define CTXGUARD_ENV_LOG_FORMAT "CTXGUARD_LOG_FORMAT" /* text (default) | json */
#define CTXGUARD_ENV_LOG_LEVEL "CTXGUARD_LOG_LEVEL"   /* quiet | info (default) | debug */
#define CTXGUARD_ENV_RULES "CTXGUARD_RULES"           /* inline policy rules, ';'-separated */
#define CTXGUARD_ENV_CONFIG "CTXGUARD_CONFIG"         /* policy file path */
#define CTXGUARD_ENV_STRICT "CTXGUARD_STRICT"         /* 1: a broken policy denies every guarded call */
#define CTXGUARD_ENV_SUMMARY "CTXGUARD_SUMMARY"       /* 1 always | 0 never | unset: when something was blocked */
#define CTXGUARD_ENV_DUMP "CTXGUARD_DUMP"             /* flight-recorder dump path, %p = pid; unset: no dumps */
#define CTXGUARD_ENV_DUMP_EVENTS "CTXGUARD_DUMP_EVENTS" /* events kept, 16..65536 (default 4096) */
#define CTXGUARD_ENV_NVTX "CTXGUARD_NVTX"             /* 1: notable events are also NVTX marks */
#define CTXGUARD_ENV_NVTX_LIB "CTXGUARD_NVTX_LIB"     /* NVTX library to load */
#define CTXGUARD_ENV_RECLAIM "CTXGUARD_RECLAIM"       /* 1: guard's blocks free the caller's own resources */

/* A blocked call returns success (0) without reaching CUDA; a reclaimed one too, after freeing the
 * caller's own allocations, streams and events in that context; a denied one (policy rules, a later
 * release) returns cudaErrorNotPermitted / CUDA_ERROR_NOT_PERMITTED. */
#define CTXGUARD_BLOCKED_RESULT 0
#define CTXGUARD_DENIED_RESULT 800

/* Every line ctxguard writes (CTXGUARD_LOG_FORMAT=json: one JSON object per line) starts with:
 *   ts (RFC 3339 UTC, microseconds), event ("decision" | "attribution" | "warning" | "config_error" |
 *   "message" | "summary" | "dump"), level (syslog's severity: "error" | "warning" | "notice" | "info" |
 *   "debug"; block and deny warning, abort error, an attribution or a dry run's "would" notice), pid,
 *   seq (per process, from 1; a forked child starts again at 1), start (RFC 3339 UTC: when ctxguard
 *   initialised in this process, or the child forked), exe (the program's path), version (ctxguard's).
 * (pid, start, seq) names one line wherever it is read: a dump (CTXGUARD_DUMP) holds the same lines as
 * the log, in the log's format, with the same seq; seq values of events kept by the recorder but below
 * the log level are missing from the log.
 * A decision or attribution then has:
 *   tid, api ("runtime"|"driver"), call, device (int|null), ctx (hex string|null), ctx_kind
 *   ("primary"|"created"|"none"|"unknown"), ctx_gen (int, only for a primary context: its incarnation,
 *   1 = first, +1 per reset or destroy; the handle is reused), shared_with (array of module paths:
 *   the other users of the context, at most 64 and as many as the line holds; "(anonymous)" is code in
 *   no module, "(unnamed)" a use whose module was not found), shared_with_count (int, only when
 *   shared_with was cut: how many there were), caller (module path), action ("allow"|"block"|"deny"|"abort"|"reclaim"), would (observe's dry
 *   run: the action not taken), result (int), left (a blocked reset: {"allocations":N,"bytes":B,
 *   "streams":S,"events":E}, what the caller still holds in the context it asked to reset) or
 *   reclaimed (a reclaim: the same counts, what was freed), decided_by ("preset guard", "preset guard (policy has errors)",
 *   "FILE:LINE" of a rule, "attribution", "teardown", "device-switch", …), reason.
 * warning, config_error, message: message (the text). dump: why, part.
 * summary (at exit): one line {rows, allow, block, deny, abort} with the totals, one per module and
 *   call {module, call, allow, block, deny, abort}, one per device {device, users: [module, …], users_count (only when users was cut at 64)}.
 * Text lines carry the same as key=value pairs after "ctxguard: TS": event=… level=… pid=… seq=…
 * start=… exe=… version=…; a value with spaces or quotes is quoted, with \" and \\ inside
 * (decided_by="preset guard"); reason is always quoted. */

#endif
