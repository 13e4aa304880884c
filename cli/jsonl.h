/* Reading ctxguard's JSON log lines in the command (report). Tolerant: a line that is not one whole
 * JSON object with ctxguard's keys is reported as skipped, never fatal. */
#ifndef CTXGUARD_CLI_JSONL_H
#define CTXGUARD_CLI_JSONL_H

struct jl_event {
    char ts[48];
    long pid;
    char call[128];
    char caller[1024];
    char action[16];
    char reason[512];
    char decided_by[256];
    char shared[2048]; /* module paths joined with '\n' */
    long result;
    /* "left" (a blocked reset: what the caller still held) / "reclaimed" (what a reclaim freed) */
    unsigned long long left_bytes, reclaimed_bytes;
    long left_allocs, reclaimed_allocs;
};

/* 1: a ctxguard event; 2: a line of ctxguard's exit summary; 0: valid JSON but not ctxguard's;
 * -1: not valid JSON (truncated, garbage). */
int jl_parse(const char *line, struct jl_event *e);
/* The same for a line of a text log or a dump (textlog.c); the same return values, -1 for a line that
 * is not ctxguard's. */
int tl_parse(const char *line, struct jl_event *e);

#endif
