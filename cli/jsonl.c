/* ctxguard's JSON log lines (see jsonl.h). */
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

struct p {
    const char *s;
    int ok;
};

static void ws(struct p *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n')
        p->s++;
}

static void put_utf8(char *out, size_t cap, size_t *n, unsigned cp)
{
    char b[4];
    size_t k;
    if (cp < 0x80) { b[0] = (char)cp; k = 1; }
    else if (cp < 0x800) { b[0] = (char)(0xc0 | cp >> 6); b[1] = (char)(0x80 | (cp & 0x3f)); k = 2; }
    else { b[0] = (char)(0xe0 | cp >> 12); b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); b[2] = (char)(0x80 | (cp & 0x3f)); k = 3; }
    for (size_t i = 0; i < k && *n + 1 < cap; i++)
        out[(*n)++] = b[i];
}

/* A JSON string into out (decoded, cut to cap); out may be NULL to skip. */
static void string(struct p *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p->s != '"') { p->ok = 0; return; }
    p->s++;
    while (p->ok && *p->s && *p->s != '"') {
        unsigned c = (unsigned char)*p->s++;
        if (c < 0x20) { p->ok = 0; break; }
        if (c == '\\') {
            char e = *p->s++;
            const char *m = strchr("\"\\/bfnrt", e);
            if (e == 'u') {
                char hex[5] = {0};
                for (int i = 0; i < 4; i++) {
                    if (!p->s[i] || !strchr("0123456789abcdefABCDEF", p->s[i])) { p->ok = 0; return; }
                    hex[i] = p->s[i];
                }
                p->s += 4;
                if (out) put_utf8(out, cap, &n, (unsigned)strtoul(hex, NULL, 16));
                continue;
            }
            if (!e || !m) { p->ok = 0; break; }
            c = (unsigned char)"\"\\/\b\f\n\r\t"[m - "\"\\/bfnrt"];
        }
        if (out && n + 1 < cap)
            out[n++] = (char)c;
    }
    if (*p->s != '"')
        p->ok = 0;
    else
        p->s++;
    if (out && cap)
        out[n] = '\0';
}

static void value(struct p *p, char *out, size_t cap, int depth);

static void container(struct p *p, char close, int is_obj, char *out, size_t cap, int depth)
{
    size_t used = 0;
    p->s++;
    ws(p);
    if (*p->s == close) { p->s++; return; }
    for (;;) {
        ws(p);
        if (is_obj) {
            string(p, NULL, 0);
            ws(p);
            if (*p->s != ':') { p->ok = 0; return; }
            p->s++;
        }
        char item[1024] = "";
        value(p, out ? item : NULL, sizeof item, depth + 1);
        if (!p->ok) return;
        if (out && !is_obj && item[0]) { /* arrays of strings are joined with JL_SEP */
            size_t k = strlen(item);
            for (char *q = item; (q = strchr(q, JL_SEP)) != NULL;)
                *q = '\x1a';
            if (used + k + 2 < cap) {
                if (used) out[used++] = JL_SEP;
                memcpy(out + used, item, k);
                used += k;
                out[used] = '\0';
            }
        }
        ws(p);
        if (*p->s == ',') { p->s++; continue; }
        if (*p->s == close) { p->s++; return; }
        p->ok = 0;
        return;
    }
}

static void value(struct p *p, char *out, size_t cap, int depth)
{
    ws(p);
    if (depth > 32) { p->ok = 0; return; }
    if (out && cap) out[0] = '\0';
    if (*p->s == '"') string(p, out, cap);
    else if (*p->s == '{') container(p, '}', 1, NULL, 0, depth);
    else if (*p->s == '[') container(p, ']', 0, out, cap, depth);
    else if (!strncmp(p->s, "null", 4)) p->s += 4;
    else if (!strncmp(p->s, "true", 4)) p->s += 4;
    else if (!strncmp(p->s, "false", 5)) p->s += 5;
    else {
        const char *b = p->s;
        strtod(p->s, (char **)&p->s);
        if (p->s == b) { p->ok = 0; return; }
        if (out && cap) {
            size_t k = (size_t)(p->s - b) < cap - 1 ? (size_t)(p->s - b) : cap - 1;
            memcpy(out, b, k);
            out[k] = '\0';
        }
    }
}

void jl_classify(struct jl_event *e)
{
    if (!strcmp(e->event, "warning") || !strcmp(e->event, "config_error") || !strcmp(e->event, "message"))
        e->kind = JL_MESSAGE;
    else if (!strcmp(e->event, "attribution") || !strcmp(e->event, "explanation") ||
             !strcmp(e->decided_by, "attribution") || !strcmp(e->decided_by, "device-switch") ||
             !strcmp(e->decided_by, "context-switch"))
        e->kind = JL_EXPLANATION;
    else
        e->kind = JL_DECISION;
}

int jl_parse(const char *line, struct jl_event *e)
{
    memset(e, 0, sizeof *e);
    struct p p = {line, 1};
    ws(&p);
    if (*p.s != '{') return -1;
    p.s++;
    int seen = 0, summary = 0, message = 0, pid_seen = 0;
    ws(&p);
    while (p.ok && *p.s != '}') {
        char key[32] = "", val[2048] = "";
        string(&p, key, sizeof key);
        ws(&p);
        if (!p.ok || *p.s != ':') return -1;
        p.s++;
        char *dst = val;
        size_t cap = sizeof val;
        if (!strcmp(key, "ts")) dst = e->ts, cap = sizeof e->ts;
        else if (!strcmp(key, "call")) dst = e->call, cap = sizeof e->call;
        else if (!strcmp(key, "caller")) dst = e->caller, cap = sizeof e->caller;
        else if (!strcmp(key, "action")) dst = e->action, cap = sizeof e->action;
        else if (!strcmp(key, "reason")) dst = e->reason, cap = sizeof e->reason;
        else if (!strcmp(key, "decided_by")) dst = e->decided_by, cap = sizeof e->decided_by;
        else if (!strcmp(key, "shared_with")) dst = e->shared, cap = sizeof e->shared;
        else if (!strcmp(key, "start")) dst = e->start, cap = sizeof e->start;
        else if (!strcmp(key, "event")) dst = e->event, cap = sizeof e->event;
        else if (!strcmp(key, "exe")) dst = e->exe, cap = sizeof e->exe;
        else if (!strcmp(key, "message")) dst = e->message, cap = sizeof e->message;
        const char *vstart = p.s;
        value(&p, dst, cap, 1);
        if (!p.ok) return -1;
        if (!strcmp(key, "left") || !strcmp(key, "reclaimed")) { /* {"allocations":N,"bytes":B,...} */
            const char *a = strstr(vstart, "\"allocations\":"), *b = strstr(vstart, "\"bytes\":");
            long n = a && a < p.s ? atol(a + 14) : 0;
            unsigned long long by = b && b < p.s ? strtoull(b + 8, NULL, 10) : 0;
            if (key[0] == 'l') e->left_allocs = n, e->left_bytes = by;
            else e->reclaimed_allocs = n, e->reclaimed_bytes = by;
        }
        if (!strcmp(key, "pid")) e->pid = atol(val), pid_seen = 1;
        if (!strcmp(key, "seq")) e->seq = atol(val);
        if (!strcmp(key, "result")) e->result = atol(val);
        if (!strcmp(key, "ts") || !strcmp(key, "call") || !strcmp(key, "action") || !strcmp(key, "caller"))
            seen++;
        if (!strcmp(key, "summary"))
            summary = 1;
        if (!strcmp(key, "message"))
            message = 1;
        ws(&p);
        if (*p.s == ',') { p.s++; ws(&p); continue; }
        if (*p.s != '}') return -1;
    }
    if (!p.ok || *p.s != '}') return -1;
    p.s++;
    ws(&p);
    if (*p.s) return -1;
    if (e->seq < 0)
        e->seq = 0;
    jl_classify(e);
    if (summary || !strcmp(e->event, "summary") || !strcmp(e->event, "dump"))
        return 2; /* the library's exit summary: its events are counted themselves */
    if (e->kind == JL_MESSAGE || (message && seen < 4))
        return e->ts[0] && pid_seen ? (e->kind = JL_MESSAGE, 3) : 2; /* a diagnostic */
    return seen == 4 ? 1 : 0;
}
