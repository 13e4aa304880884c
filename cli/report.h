/* ctxguard report's model: what report.c reads (each event once) and report_out.c prints. */
#ifndef CTXGUARD_CLI_REPORT_H
#define CTXGUARD_CLI_REPORT_H

#include <stddef.h>

enum { A_ALLOW, A_BLOCK, A_DENY, A_ABORT, A_EXPLAINED, A_N };

struct rp_event {
    char *ts, *call, *caller, *action, *reason, *decided_by, *shared, *message, *event;
    long seq, result;
    int kind;  /* enum jl_kind */
    long proc; /* index into rp_model.procs */
    long order; /* position in the input, for a stable sort */
};

struct rp_count {
    char *text;
    long n;
};

struct rp_row {
    char *caller, *call;
    long count[A_N];
    char *first, *last;
    struct rp_count *reasons; /* every distinct reason, most frequent first after rp_finish */
    size_t nreasons;
    char **shared; /* every distinct module in shared_with */
    size_t nshared;
    unsigned long long left_bytes, reclaimed_bytes; /* issue 15: the largest "left", the sum "reclaimed" */
};

struct rp_proc {
    long pid;
    char *start, *exe, *first;
    long nevents;
};

struct rp_model {
    int files;
    long events, duplicates, invalid, foreign, filtered, messages;
    struct rp_event *ev;
    size_t nev;
    struct rp_row *rows;
    size_t nrows;
    struct rp_proc *procs;
    size_t nprocs;
    struct rp_count *msgs; /* distinct warnings and configuration errors */
    size_t nmsgs;
};

/* Text (the table, or --timeline), JSON, Prometheus exposition. */
void rp_print_text(const struct rp_model *m);
void rp_print_timeline(const struct rp_model *m);
void rp_print_json(const struct rp_model *m, int timeline);
void rp_print_prometheus(const struct rp_model *m);

/* The label a timeline gives an event: allow/block/deny/abort, re-attach, failure, device-switch,
 * context-switch, explained, warning, config_error. */
const char *rp_event_label(const struct rp_event *e);

#endif
