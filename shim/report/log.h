/* Events: what one says (struct cg_event) and its way out (log.c). Diagnostics: core/diag.h. */
#ifndef CTXGUARD_LOG_H
#define CTXGUARD_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/diag.h"
#include "track/resources.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

enum cg_api { CG_API_RUNTIME, CG_API_DRIVER };
/* Modules an event lists by name; the count says how many there were (a line holds ~100 paths). */
#define CG_SHARED_LIST 64
/* reclaim: a block that also frees what the caller allocated in the context it asked to reset */
enum cg_action { CG_ALLOW, CG_BLOCK, CG_DENY, CG_ABORT, CG_RECLAIM };
/* What an event's resource counts (cg_event.res) say. */
enum cg_res_report { CG_RES_NONE, CG_RES_LEFT, CG_RES_RECLAIMED };

struct cg_event {
    int api;               /* enum cg_api */
    const char *call;      /* entry point name as called */
    int device;            /* -1: unknown */
    void *ctx;             /* NULL: none */
    int ctx_kind;          /* enum cg_ctx_kind */
    int shared_count;      /* how many other modules use the context (0: not shared) … */
    int shared_with[CG_SHARED_LIST]; /* … and the first CG_SHARED_LIST of them (module slots) */
    int caller;            /* module index */
    const char *caller_loaded_as; /* the path the caller was loaded by, when not its real path (rules
                                     match either); NULL otherwise */
    int action;            /* enum cg_action */
    int result;            /* value returned to the caller */
    int destructive;       /* a reset/destroy: logged at info level */
    const char *reason;
    const char *decided_by;  /* "preset guard", "CTXGUARD_RULES:2", "/etc/ctxguard.rules:7" */
    int log;                 /* -1 default; 0: a rule said nolog; 1: a rule said log */
    int would;               /* observe mode's dry run: 1 + the action that was not taken; 0: none */
    unsigned int ctx_gen;    /* which incarnation of a primary context (1 = the first; each reset or
                                destroy starts the next): tells apart the contexts behind a reused
                                handle. 0: filled in when logged (the incarnation current then) */
    int res_report;          /* enum cg_res_report: whether `res` is what a block left behind or
                                what a reclaim freed */
    struct cg_res_counts res;
};

/* What every line starts with (issue 16: lines that describe themselves): "ts", "event", "level",
 * "pid", "seq", "start", "exe", "version". For an event line, event and level come from the event
 * (event NULL, sev -1). */
struct cg_head {
    const struct timespec *ts;
    const char *event; /* "decision", "attribution", "message", "config_error", "summary", "dump" */
    int sev;           /* enum cg_sev (core/diag.h) */
    long pid;
    unsigned long seq; /* per process, from 1 (core/stamp.h) */
    const char *start; /* when ctxguard initialised in this process, ISO-8601 UTC */
    const char *exe;   /* the program */
    const char *version;
};

/* The line for one event, without newline; returns its length (always < cap). */
size_t cg_format_event(char *buf, size_t cap, const struct cg_event *ev, int format, const struct cg_head *h,
                       long tid);
/* An event's kind ("decision", or "attribution" for the explanation of a failure) and severity
 * (block and deny warning, abort error, an explanation or a dry run's "would" notice, else info). */
const char *cg_event_kind(const struct cg_event *ev);
int cg_event_sev(const struct cg_event *ev);

/* A line of named values after the head: JSON {HEAD,"k":v,…}; text "ctxguard: TS event=… k=v …",
 * a value with spaces or quotes quoted ("…", with \" and \\). Strings have control bytes escaped
 * and, in JSON, invalid UTF-8 replaced. Returns its length (always < cap). */
enum cg_field_kind { CG_FIELD_STR, CG_FIELD_NUM, CG_FIELD_LIST };
struct cg_field {
    const char *key;
    int kind;
    const char *s;           /* CG_FIELD_STR */
    long n;                  /* CG_FIELD_NUM; CG_FIELD_LIST: how many in list */
    const char *const *list; /* CG_FIELD_LIST: strings, as a JSON array or text [a,b] */
};
size_t cg_format_fields(char *buf, size_t cap, const struct cg_head *h, const struct cg_field *f, int nf, int format);
/* A diagnostic: the head and "message". */
size_t cg_format_note(char *buf, size_t cap, const struct cg_head *h, const char *text, int format);
/* The head of this process's next line (log.c): ts as given, seq taken now. */
struct cg_head cg_head_next(const struct timespec *ts, const char *event, int sev);

/* Counts, records, marks and writes one event (log.c). */
void cg_log_event(const struct cg_event *ev);
/* Registers the report layer's formatter for diagnostics with core (called once by init.c). */
void cg_report_install(void);
/* The flight recorder (recorder.c): every event is also kept for dumps when CTXGUARD_DUMP is set, as
 * the line the log gets (formatted again, shorter, when it does not fit a slot). */
int cg_recorder_on(void);
void cg_record_event(const struct cg_event *ev, const char *line, size_t n, const struct cg_head *h, long tid);
void cg_recorder_install(void);
/* Counts a decided event for the exit summary (summary.c). */
void cg_summary_note(const struct cg_event *ev);
/* Whether a call was blocked, denied or aborted in this process (the exit code, exit_code.c). */
int cg_summary_severe(void);
/* In a forked child (init.c's fork handler), each part starts the child's own record: the summary's
 * counters and the flight recorder start empty. */
void cg_summary_after_fork_child(void);
void cg_recorder_after_fork_child(void);

const char *cg_ctx_kind_name(int kind);
const char *cg_action_name(int action);

#pragma GCC visibility pop

#endif
