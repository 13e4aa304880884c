/* Reading ctxguard's text log lines and dumps in the command (report), so that a dump or a text log
 * reads like a JSON log. A text event line is
 *   ctxguard: TS pid=P tid=T ACTION API CALL device=D ctx=C ctx_kind=K [ctx_gen=G] caller=PATH
 *             shared_with=[PATH,…] result=R decided_by=X reason="…"
 * and since 0.2 "ctxguard: TS event=E level=L pid=P seq=N start=S exe=X version=V tid=T …", where a value
 * with spaces or quotes is quoted ("…", \" and \\ escaped): decided_by="preset guard".
 * Other lines of ctxguard's own (summaries, messages, dump frames) are recognised and skipped. */
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

static void copy(char *dst, size_t cap, const char *b, const char *e)
{
    size_t n = (size_t)(e - b) < cap - 1 ? (size_t)(e - b) : cap - 1;
    memcpy(dst, b, n);
    dst[n] = '\0';
}

/* A value as the library writes it: bare up to the next space, or "quoted" with \" and \\ (0.2). */
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
    char kind[32];
    if (strncmp(ts_end, " event=", 7) == 0 && word(ts_end, " event=", kind, sizeof kind) &&
        strcmp(kind, "decision") != 0 && strcmp(kind, "attribution") != 0)
        return 2; /* a summary line, a message, a dump's frame (0.2: every line says its event) */
    char num[32], api[16];
    const char *p = word(ts_end, " pid=", num, sizeof num);
    if (p == NULL)
        return -1;
    e->pid = atol(num);
    p = word(p, " tid=", num, sizeof num);
    if (p == NULL || *p != ' ')
        return -1;
    /* ACTION API CALL */
    const char *a = p + 1, *ae = strchr(a, ' ');
    if (ae == NULL)
        return -1;
    copy(e->action, sizeof e->action, a, ae);
    const char *b = ae + 1, *be = strchr(b, ' ');
    if (be == NULL)
        return -1;
    copy(api, sizeof api, b, be);
    const char *c = be + 1, *ce = strstr(c, " device=");
    if (ce == NULL || (strcmp(api, "runtime") != 0 && strcmp(api, "driver") != 0))
        return -1;
    copy(e->call, sizeof e->call, c, ce);
    const char *cal = strstr(ce, " caller="), *sh = cal ? strstr(cal, " shared_with=[") : NULL;
    const char *res = sh ? strstr(sh, "] result=") : NULL, *why = res ? strstr(res, " reason=\"") : NULL;
    if (why == NULL)
        return -1;
    if (cal[8] == '"')
        value_at(cal + 8, e->caller, sizeof e->caller);
    else
        copy(e->caller, sizeof e->caller, cal + 8, sh);
    /* the list, one path per line as jl_parse gives it */
    copy(e->shared, sizeof e->shared, sh + 14, res);
    for (char *q = e->shared; *q; q++)
        if (*q == ',')
            *q = '\n';
    e->result = atol(res + 9);
    const char *dec = strstr(res, " decided_by=");
    if (dec && dec < why && dec[12] == '"')
        value_at(dec + 12, e->decided_by, sizeof e->decided_by);
    else if (dec && dec < why)
        copy(e->decided_by, sizeof e->decided_by, dec + 12, why);
    /* the reason runs to the closing quote (\" inside it is a quote; a dump may have cut it) */
    value_at(why + 8, e->reason, sizeof e->reason);
    return 1;
}
