/* Formatting of event lines. Pure: bounded buffers, no allocation, no I/O. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/stamp.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/state.h"

struct out {
    char *b;
    size_t n, cap; /* cap excludes room kept for the terminator */
    int overflow;  /* something did not fit: the JSON writer then starts again with capped fields */
};

static void put(struct out *o, const char *s, size_t len)
{
    if (o->n + len > o->cap) {
        len = o->cap - o->n;
        o->overflow = 1;
    }
    memcpy(o->b + o->n, s, len);
    o->n += len;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if the bytes are not valid UTF-8. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || (n == 2 && p[0] < 0xc2) || (n == 4 && p[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && p[0] == 0xe0 && p[1] < 0xa0)
        return 0;
    if (n == 3 && p[0] == 0xed && p[1] >= 0xa0)
        return 0; /* surrogates */
    if (n == 4 && p[0] == 0xf0 && p[1] < 0x90)
        return 0;
    if (n == 4 && p[0] == 0xf4 && p[1] >= 0x90)
        return 0;
    return n;
}

/* A JSON string (with quotes). Control bytes are escaped, invalid UTF-8 becomes U+FFFD, so the line
 * stays one valid JSON object whatever a module path contains. Never cut mid-escape: the string is
 * closed even when the buffer runs short. */
static void put_json_str_max(struct out *o, const char *s, size_t max)
{
    if (o->n + 2 > o->cap) {
        o->overflow = 1;
        return;
    }
    size_t room = o->cap - 1; /* keep one byte for the closing quote */
    if (max != (size_t)-1 && o->n + max < room)
        room = o->n + max;     /* a capped field: at most `max` bytes of escaped text */
    o->b[o->n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        char esc[8];
        const char *piece = esc;
        size_t len, adv;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            len = 2;
            adv = 1;
        } else if (*p < 0x20 || *p == 0x7f) {
            len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
            adv = 1;
        } else if ((adv = utf8_len(p)) == 0) {
            piece = "\\ufffd";
            len = 6;
            adv = 1;
        } else {
            piece = (const char *)p;
            len = adv;
        }
        if (o->n + len > room) {
            if (room == o->cap - 1)
                o->overflow = 1; /* cut by the line, not by a field cap */
            break;
        }
        memcpy(o->b + o->n, piece, len);
        o->n += len;
        p += adv;
    }
    o->b[o->n++] = '"';
}

/* Text form: the value as is, but control bytes escaped so one event stays one line. */
static void put_text_str(struct out *o, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p && o->n < o->cap; p++) {
        if (*p < 0x20 || *p == 0x7f)
            putf(o, "\\x%02x", *p);
        else
            put(o, (const char *)p, 1);
    }
}

/* Text form of a value others parse as key=value: bare when it is one word, else quoted with \" and
 * \\ escaped (decided_by="preset guard"). Control bytes escaped as in put_text_str. */
static void put_text_quoted(struct out *o, const char *s)
{
    puts_(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p && o->n < o->cap; p++) {
        if (*p < 0x20 || *p == 0x7f)
            putf(o, "\\x%02x", *p);
        else if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            put(o, esc, 2);
        } else
            put(o, (const char *)p, 1);
    }
    if (o->n + 1 > o->cap)
        o->n = o->cap - 1; /* the closing quote always fits */
    puts_(o, "\"");
}

static void put_text_val(struct out *o, const char *s)
{
    if (*s != '\0' && strpbrk(s, " \"\\=") == NULL)
        put_text_str(o, s);
    else
        put_text_quoted(o, s);
}

/* exe_max: the most escaped bytes of the program's path; a second, capped pass narrows it too, so the
 * head of a short line (a note formatted into a small buffer) cannot push the rest out. */
static void head_json(struct out *o, const struct cg_head *h, const char *event, int sev, size_t exe_max)
{
    char when[40];
    cg_utc_text(h->ts, when, sizeof when);
    putf(o, "{\"ts\":\"%s\",\"event\":\"%s\",\"level\":\"%s\",\"pid\":%ld,\"seq\":%lu,\"start\":\"%s\",\"exe\":", when,
         event, cg_sev_name(sev), h->pid, h->seq, h->start ? h->start : "");
    put_json_str_max(o, h->exe ? h->exe : "", exe_max < 300 ? exe_max : 300);
    puts_(o, ",\"version\":");
    put_json_str_max(o, h->version ? h->version : "", 40);
}

static void head_text(struct out *o, const struct cg_head *h, const char *event, int sev)
{
    char when[40];
    cg_utc_text(h->ts, when, sizeof when);
    putf(o, "ctxguard: %s event=%s level=%s pid=%ld seq=%lu start=%s exe=", when, event, cg_sev_name(sev), h->pid,
         h->seq, h->start && h->start[0] ? h->start : "-");
    put_text_val(o, h->exe ? h->exe : "");
    puts_(o, " version=");
    put_text_val(o, h->version ? h->version : "");
}

const char *cg_event_kind(const struct cg_event *ev)
{
    return ev->decided_by && strcmp(ev->decided_by, "attribution") == 0 ? "attribution" : "decision";
}

int cg_event_sev(const struct cg_event *ev)
{
    switch (ev->action) {
    case CG_BLOCK:
    case CG_DENY:
        return CG_SEV_WARNING;
    case CG_ABORT:
        return CG_SEV_ERR;
    default:
        if (ev->would > 0 || (ev->decided_by && strcmp(ev->decided_by, "attribution") == 0))
            return CG_SEV_NOTICE;
        return ev->destructive || ev->log == 1 ? CG_SEV_INFO : CG_SEV_DEBUG;
    }
}

static const char *module_path(int m)
{
    return cg_module_path(m);
}

static int shared_listed(const struct cg_event *ev)
{
    return ev->shared_count < CG_SHARED_LIST ? ev->shared_count : CG_SHARED_LIST;
}

const char *cg_ctx_kind_name(int kind)
{
    static const char *const n[] = {"none", "primary", "created", "unknown"};
    return kind >= 0 && kind <= CG_CTX_UNKNOWN ? n[kind] : "unknown";
}

const char *cg_action_name(int action)
{
    static const char *const n[] = {"allow", "block", "deny", "abort", "reclaim"};
    return action >= 0 && action <= CG_RECLAIM ? n[action] : "allow";
}

static void format_json(struct out *o, const struct cg_event *ev, const struct cg_head *h, const char *api,
                        long tid, size_t list_cap, size_t field_max, int list_max)
{
    head_json(o, h, cg_event_kind(ev), cg_event_sev(ev), field_max);
    putf(o, ",\"tid\":%ld,\"api\":\"%s\",\"call\":", tid, api);
    put_json_str_max(o, ev->call ? ev->call : "", field_max);
    if (ev->device >= 0)
        putf(o, ",\"device\":%d", ev->device);
    else
        puts_(o, ",\"device\":null");
    if (ev->ctx)
        putf(o, ",\"ctx\":\"%p\"", ev->ctx);
    else
        puts_(o, ",\"ctx\":null");
    putf(o, ",\"ctx_kind\":\"%s\"", cg_ctx_kind_name(ev->ctx_kind));
    if (ev->ctx_gen)
        putf(o, ",\"ctx_gen\":%u", ev->ctx_gen);
    puts_(o, ",\"shared_with\":[");
    int listed = 0;
    for (int i = 0; i < shared_listed(ev) && listed < list_max; i++) {
        const char *p = module_path(ev->shared_with[i]);
        if (o->n + strlen(p) + 8 > list_cap)
            break; /* list cut short rather than the line made invalid */
        if (listed)
            puts_(o, ",");
        put_json_str_max(o, p, field_max);
        listed++;
    }
    puts_(o, "]");
    if (listed < ev->shared_count) /* cut (by the line's length or the event's list): how many there were */
        putf(o, ",\"shared_with_count\":%d", ev->shared_count);
    puts_(o, ",\"caller\":");
    put_json_str_max(o, module_path(ev->caller), field_max);
    putf(o, ",\"action\":\"%s\",", cg_action_name(ev->action));
    if (ev->would > 0)
        putf(o, "\"would\":\"%s\",", cg_action_name(ev->would - 1));
    putf(o, "\"result\":%d,", ev->result);
    if (ev->res_report)
        putf(o, "\"%s\":{\"allocations\":%ld,\"bytes\":%llu,\"streams\":%ld,\"events\":%ld},",
             ev->res_report == CG_RES_RECLAIMED ? "reclaimed" : "left", ev->res.allocations, ev->res.bytes,
             ev->res.streams, ev->res.events);
    puts_(o, "\"decided_by\":");
    put_json_str_max(o, ev->decided_by ? ev->decided_by : "", field_max);
    puts_(o, ",\"reason\":");
    put_json_str_max(o, ev->reason ? ev->reason : "", field_max);
    puts_(o, "}");
}

size_t cg_format_event(char *buf, size_t cap, const struct cg_event *ev, int format, const struct cg_head *h,
                       long tid)
{
    struct out o = {buf, 0, cap > 8 ? cap - 2 : 0, 0};
    if (o.cap == 0) {
        if (cap)
            buf[0] = '\0';
        return 0;
    }
    const char *api = ev->api == CG_API_DRIVER ? "driver" : "runtime";
    /* Keep room for the tail (action, result, reason) even with a long shared_with list. */
    size_t list_cap = o.cap > 1200 ? o.cap - 1200 : o.cap / 2;

    if (format == CG_FORMAT_JSON) {
        format_json(&o, ev, h, api, tid, list_cap, (size_t)-1, CG_SHARED_LIST);
        /* Hostile paths or reasons (control bytes escape to six characters each) filled the line, or
         * the line is kept in a flight-recorder slot: write it again with every string capped, then
         * capped harder, so it is still one valid object. */
        static const size_t caps[] = {200, 60, 16};
        for (int k = 0; o.overflow && k < 3; k++) {
            o.n = 0;
            o.overflow = 0;
            format_json(&o, ev, h, api, tid, list_cap, caps[k], 3 - k);
        }
    } else {
        head_text(&o, h, cg_event_kind(ev), cg_event_sev(ev));
        putf(&o, " tid=%ld %s %s ", tid, cg_action_name(ev->action), api);
        put_text_str(&o, ev->call ? ev->call : "");
        if (ev->device >= 0)
            putf(&o, " device=%d", ev->device);
        else
            puts_(&o, " device=?");
        if (ev->ctx)
            putf(&o, " ctx=%p", ev->ctx);
        else
            puts_(&o, " ctx=none");
        putf(&o, " ctx_kind=%s", cg_ctx_kind_name(ev->ctx_kind));
        if (ev->ctx_gen)
            putf(&o, " ctx_gen=%u", ev->ctx_gen);
        puts_(&o, " caller=");
        put_text_val(&o, module_path(ev->caller));
        puts_(&o, " shared_with=[");
        int listed = 0;
        for (int i = 0; i < shared_listed(ev); i++) {
            const char *p = module_path(ev->shared_with[i]);
            if (o.n + strlen(p) + 8 > list_cap)
                break;
            if (listed)
                puts_(&o, ",");
            put_text_str(&o, p);
            listed++;
        }
        putf(&o, "] result=%d", ev->result);
        if (ev->would > 0)
            putf(&o, " would=%s", cg_action_name(ev->would - 1));
        if (ev->res_report)
            putf(&o, " %s=\"%ld allocation%s (%llu bytes), %ld stream%s, %ld event%s\"",
                 ev->res_report == CG_RES_RECLAIMED ? "reclaimed" : "left", ev->res.allocations,
                 ev->res.allocations == 1 ? "" : "s", ev->res.bytes, ev->res.streams, ev->res.streams == 1 ? "" : "s",
                 ev->res.events, ev->res.events == 1 ? "" : "s");
        puts_(&o, " decided_by=");
        put_text_val(&o, ev->decided_by ? ev->decided_by : "-");
        puts_(&o, " reason=");
        /* always quoted: the reason ends the line, and readers take it up to the closing quote */
        put_text_quoted(&o, ev->reason ? ev->reason : "");
        if (listed < ev->shared_count) /* after the reason: readers of the older form still parse it */
            putf(&o, " shared_with_count=%d", ev->shared_count);
    }
    buf[o.n] = '\0';
    return o.n;
}

size_t cg_format_fields(char *buf, size_t cap, const struct cg_head *h, const struct cg_field *f, int nf, int format)
{
    struct out o = {buf, 0, cap > 8 ? cap - 2 : 0, 0};
    if (o.cap == 0) {
        if (cap)
            buf[0] = '\0';
        return 0;
    }
    int json = format == CG_FORMAT_JSON;
    for (int pass = 0; pass < 2; pass++) {
        /* a second pass with strings capped when the first did not fit: still one valid line */
        size_t max = pass ? (o.cap > 600 ? (o.cap - 600) / (size_t)(nf + 1) : 8) : (size_t)-1;
        o.n = 0;
        o.overflow = 0;
        if (json)
            head_json(&o, h, h->event, h->sev, max);
        else
            head_text(&o, h, h->event, h->sev);
        for (int i = 0; i < nf; i++) {
            putf(&o, json ? ",\"%s\":" : " %s=", f[i].key);
            if (f[i].kind == CG_FIELD_NUM)
                putf(&o, "%ld", f[i].n);
            else if (f[i].kind == CG_FIELD_STR && json)
                put_json_str_max(&o, f[i].s ? f[i].s : "", max);
            else if (f[i].kind == CG_FIELD_STR)
                put_text_val(&o, f[i].s ? f[i].s : "");
            else {
                puts_(&o, "[");
                for (long k = 0; k < f[i].n; k++) {
                    if (k)
                        puts_(&o, ",");
                    if (json)
                        put_json_str_max(&o, f[i].list[k], max < 200 ? max : 200);
                    else
                        put_text_str(&o, f[i].list[k]);
                }
                puts_(&o, "]");
            }
        }
        if (json)
            puts_(&o, "}");
        if (!o.overflow || !json)
            break;
    }
    buf[o.n] = '\0';
    return o.n;
}

size_t cg_format_note(char *buf, size_t cap, const struct cg_head *h, const char *text, int format)
{
    struct cg_field f = {.key = "message", .kind = CG_FIELD_STR, .s = text};
    return cg_format_fields(buf, cap, h, &f, 1, format);
}
