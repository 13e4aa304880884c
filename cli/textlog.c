/* Reading ctxguard's text log lines and dumps in the command (report), so that a dump or a text log
 * reads like a JSON log. A text event line is
 *   ctxguard: TS pid=P tid=T [seq=N start=TS …] ACTION API CALL device=D ctx=C ctx_kind=K [ctx_gen=G]
 *             caller=PATH shared_with=[PATH,…] result=R decided_by=X reason="…"
 * (seq= and start= are looked for anywhere before the reason.) Since 0.2 the library writes
 * "ctxguard: TS event=E level=L pid=P seq=N start=S exe=X version=V tid=T …", and a value with spaces or
 * quotes is quoted, with \" and \\ inside: decided_by="preset guard", caller="/opt/my dir/lib.so".
 * Other lines of ctxguard's own (summaries, messages, dump frames) are recognised and skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

static void copy(char *dst, size_t cap, const char *b, const char *e)
{
    size_t n = (size_t)(e - b) < cap - 1 ? (size_t)(e - b) : cap - 1;
    memcpy(dst, b, n);
    dst[n] = '\0';
}

/* A value as the library writes it: bare up to the next space, or "quoted" with \" and \\ inside
 * (decided_by="preset guard"). Returns the end of the value. */
static const char *value_at(const char *p, char *out, size_t cap)
{
    if (*p != '"') {
        const char *e = p + strcspn(p, " \n");
        copy(out, cap, p, e);
        return e;
    }
    size_t o = 0;
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        if (o + 1 < cap)
            out[o++] = *p;
    }
    out[o] = '\0';
    return *p ? p + 1 : p;
}

/* The word after `key` up to the next space (or the end). */
static const char *word(const char *s, const char *key, char *out, size_t cap)
{
    const char *p = strstr(s, key);
    if (p == NULL)
        return NULL;
    p += strlen(key);
    const char *e = p + strcspn(p, " \n");
    copy(out, cap, p, e);
    return e;
}

/* A text line of the library's that carries ts and pid but is not a decision: a warning or a
 * configuration error ("… event=warning MESSAGE") is a message; anything else is not readable. */
static int tl_message(const char *line, struct jl_event *e)
{
    char ev[24];
    const char *p = word(line, " event=", ev, sizeof ev);
    if (p == NULL || (strcmp(ev, "warning") != 0 && strcmp(ev, "config_error") != 0 && strcmp(ev, "message") != 0))
        return -1;
    snprintf(e->event, sizeof e->event, "%s", ev);
    const char *m = strstr(p, " message=\"");
    if (m)
        value_at(m + 9, e->message, sizeof e->message);
    else
        copy(e->message, sizeof e->message, p + (*p == ' '), p + strcspn(p, "\n"));
    char num[32];
    if (word(line, " seq=", num, sizeof num))
        e->seq = atol(num) > 0 ? atol(num) : 0;
    word(line, " start=", e->start, sizeof e->start);
    e->kind = JL_MESSAGE;
    return 3;
}

int tl_parse(const char *line, struct jl_event *e)
{
    memset(e, 0, sizeof *e);
    if (strncmp(line, "ctxguard dump", 13) == 0)
        return 2; /* a dump's first or last line */
    if (strncmp(line, "ctxguard: ", 10) != 0)
        return -1;
    const char *s = line + 10;
    if (s[0] < '0' || s[0] > '9')
        return 2; /* a summary line or a message */
    const char *ts_end = strchr(s, ' ');
    if (ts_end == NULL)
        return -1;
    copy(e->ts, sizeof e->ts, s, ts_end);
    char num[32], api[16], kind[24];
    if (strncmp(ts_end, " event=", 7) == 0 && word(ts_end, " event=", kind, sizeof kind) &&
        (strcmp(kind, "summary") == 0 || strcmp(kind, "dump") == 0))
        return 2; /* the exit summary, a dump's first or last line */
    const char *p = word(ts_end, " pid=", num, sizeof num);
    if (p == NULL)
        return -1;
    e->pid = atol(num);
    p = word(p, " tid=", num, sizeof num);
    if (p == NULL || *p != ' ')
        return tl_message(line, e);
    /* ACTION API CALL, after any other key=value words (seq=, start=) */
    const char *a = p + 1, *ae = strchr(a, ' ');
    while (ae && memchr(a, '=', (size_t)(ae - a))) {
        a = ae + 1;
        ae = strchr(a, ' ');
    }
    if (ae == NULL)
        return tl_message(line, e);
    copy(e->action, sizeof e->action, a, ae);
    const char *b = ae + 1, *be = strchr(b, ' ');
    if (be == NULL)
        return tl_message(line, e);
    copy(api, sizeof api, b, be);
    const char *c = be + 1, *ce = strstr(c, " device=");
    if (ce == NULL || (strcmp(api, "runtime") != 0 && strcmp(api, "driver") != 0))
        return tl_message(line, e);
    copy(e->call, sizeof e->call, c, ce);
    const char *cal = strstr(ce, " caller="), *sh = cal ? strstr(cal, " shared_with=[") : NULL;
    const char *res = sh ? strstr(sh, "] result=") : NULL, *why = res ? strstr(res, " reason=\"") : NULL;
    if (why == NULL)
        return tl_message(line, e);
    if (cal[8] == '"') /* a quoted value: a path with spaces */
        value_at(cal + 8, e->caller, sizeof e->caller);
    else
        copy(e->caller, sizeof e->caller, cal + 8, sh);
    /* the list, JL_SEP-separated as jl_parse gives it */
    copy(e->shared, sizeof e->shared, sh + 14, res);
    for (char *q = e->shared; *q; q++)
        if (*q == ',')
            *q = JL_SEP;
    e->result = atol(res + 9);
    const char *dec = strstr(res, " decided_by=");
    if (dec && dec < why && dec[12] == '"')
        value_at(dec + 12, e->decided_by, sizeof e->decided_by);
    else if (dec && dec < why)
        copy(e->decided_by, sizeof e->decided_by, dec + 12, why);
    /* the reason runs to its closing quote (\" inside is a quote; a dump may have cut it) */
    value_at(why + 8, e->reason, sizeof e->reason);
    /* seq=N and start=TS: looked for before the reason, whose text is free */
    char head[4096], num2[32];
    copy(head, sizeof head, line, why);
    if (word(head, " seq=", num2, sizeof num2))
        e->seq = atol(num2) > 0 ? atol(num2) : 0;
    word(head, " start=", e->start, sizeof e->start);
    jl_classify(e);
    return 1;
}
