/* Reading ctxguard's log lines in the command (report): JSON lines (jsonl.c), text lines and dumps
 * (textlog.c). Tolerant: a line that is not one whole line of ctxguard's is reported as skipped,
 * never fatal.
 * The library's contract: every line carries "seq" (a per-process counter from 1) and "start" (the
 * ISO-8601 UTC time the process's ctxguard initialised), plus ts, event, level, pid, exe and version;
 * a dump repeats the same lines with the same seq, so (pid, start, seq) names one event wherever it
 * is read. Logs written before that have neither (seq 0, start ""). */
#ifndef CTXGUARD_CLI_JSONL_H
#define CTXGUARD_CLI_JSONL_H

#define JL_SEP '\x1e'
#define JL_SEP_S "\x1e"

enum jl_kind {
    JL_DECISION,    /* a judged call: allow, block, deny or abort */
    JL_EXPLANATION, /* ctxguard explaining, not deciding: a failure or re-attach attributed to a reset, a
                       device or context left behind by another module */
    JL_MESSAGE,     /* a warning or a policy/configuration error */
};

struct jl_event {
    char ts[48];
    long pid;
    long seq;       /* 0: not given */
    char start[48]; /* "": not given */
    int kind;       /* enum jl_kind */
    char event[24]; /* the "event" field as written ("" when absent) */
    char exe[1024];
    char call[128];
    char caller[4096];
    char action[16];
    char reason[1024];
    char decided_by[256];
    char shared[4096]; /* module paths joined with JL_SEP (a path's own JL_SEP bytes become 0x1a) */
    char message[1024];
    long result;
    /* "left" (a blocked reset: what the caller still held) / "reclaimed" (what a reclaim freed) */
    unsigned long long left_bytes, reclaimed_bytes;
    long left_allocs, reclaimed_allocs;
};

/* 1: an event (decision or explanation); 3: a message (warning, config_error); 2: a line of
 * ctxguard's own that is not an event (the exit summary, a dump's frame); 0: valid JSON but not
 * ctxguard's; -1: not valid (truncated, garbage). */
int jl_parse(const char *line, struct jl_event *e);
/* The same for a line of a text log or a dump; -1 for a line that is not ctxguard's. */
int tl_parse(const char *line, struct jl_event *e);

/* Sets e->kind for an event from its fields (event, decided_by). */
void jl_classify(struct jl_event *e);

#endif
