/* CTXGUARD_* settings: read once, parsed strictly, defaults kept on a bad value. */
#ifndef CTXGUARD_CONFIG_H
#define CTXGUARD_CONFIG_H

#include <stddef.h>

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

enum cg_mode { CG_MODE_OBSERVE, CG_MODE_GUARD, CG_MODE_ENFORCE };
enum cg_level { CG_LEVEL_QUIET, CG_LEVEL_INFO, CG_LEVEL_DEBUG };
enum cg_format { CG_FORMAT_TEXT, CG_FORMAT_JSON };
enum cg_sink { CG_SINK_STDERR, CG_SINK_SYSLOG, CG_SINK_FILE };

#define CG_PATH_MAX 1024

struct cg_config {
    enum cg_mode mode;
    enum cg_level level;
    enum cg_format format;
    enum cg_sink sink;
    char log_path[CG_PATH_MAX]; /* CG_SINK_FILE: the path with %p already expanded */
    int strict;                 /* CTXGUARD_STRICT=1: a broken policy denies every guarded call */
    int summary;                /* CTXGUARD_SUMMARY: 1 always, 0 never, -1 when something was blocked */
    const char *rules;          /* CTXGUARD_RULES, or NULL */
    char dump_path[CG_PATH_MAX]; /* CTXGUARD_DUMP with %p expanded; "" = no dumps */
    int dump_events;            /* CTXGUARD_DUMP_EVENTS: events the flight recorder keeps (16..65536) */
    const char *config;         /* CTXGUARD_CONFIG (policy file path), or NULL */
    int nvtx;                   /* CTXGUARD_NVTX=1: each guarded event is also an NVTX mark */
    char nvtx_lib[CG_PATH_MAX]; /* CTXGUARD_NVTX_LIB: the NVTX library to load; "" = the usual names */
    int reclaim;                /* CTXGUARD_RECLAIM=1: the guard preset's blocks also free the caller's
                                   own allocations, streams and events in that context (reclaim) */
    char log_tmpl[CG_PATH_MAX];  /* CTXGUARD_LOG as given when it has %p (a forked child expands it */
    char dump_tmpl[CG_PATH_MAX]; /* again with its own pid), else ""; the same for CTXGUARD_DUMP */
    int syslog_facility;        /* CTXGUARD_SYSLOG_FACILITY as syslog's code (LOG_USER = 8, …) */
    char syslog_socket[108];    /* CTXGUARD_SYSLOG_SOCKET (for tests): the socket instead of /dev/log */
    unsigned int log_mode;      /* CTXGUARD_LOG_MODE: mode of a log or dump file ctxguard creates */
    int exit_code;              /* CTXGUARD_EXIT_CODE: 1..255, the exit status of a process that would
                                   have exited 0 with calls blocked or denied; 0 = off */
};

typedef const char *(*cg_getenv_fn)(const char *name);
/* Receives each complaint, already formatted as one line without the trailing newline. */
typedef void (*cg_complain_fn)(const char *line);

/* Fills *cfg from the environment seen through `get`; returns the number of bad values. Every bad
 * value produces one complaint naming the variable, the value and the expected form. */
int cg_config_parse(struct cg_config *cfg, cg_getenv_fn get, long pid, cg_complain_fn complain);

const char *cg_mode_name(enum cg_mode m);

/* In a forked child: the log and dump paths that had %p, expanded again with the child's pid.
 * Returns which changed: 1 the log path, 2 the dump path. */
int cg_config_repid(struct cg_config *cfg, long pid);

#pragma GCC visibility pop

#endif
