/* ctxguard report's outputs: the table, the timeline, JSON, Prometheus exposition. Every string from
 * a log is escaped for its output (module paths can hold newlines and quotes). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "jsonl.h"
#include "report.h"

static const char *const action_names[] = {"allow", "block", "deny", "abort", "explained"};

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Escaped (cli_escape) and padded to `width` columns. */
static void put_col(const char *s, int width)
{
    char buf[4096];
    cli_escape(buf, sizeof buf, s);
    printf("%-*s", width, buf);
}

const char *rp_event_label(const struct rp_event *e)
{
    if (e->kind == JL_MESSAGE)
        return e->event[0] ? e->event : "message";
    if (e->kind == JL_DECISION)
        return e->action;
    if (!strcmp(e->decided_by, "device-switch") || !strcmp(e->decided_by, "context-switch"))
        return e->decided_by;
    if (!strncmp(e->call, "cuDevicePrimaryCtxRetain", 24))
        return "re-attach";
    return e->result ? "failure" : "explained";
}

static void header(const struct rp_model *m)
{
    printf("ctxguard report: %d file%s, %zu process%s, %ld event%s", m->files, m->files == 1 ? "" : "s", m->nprocs,
           m->nprocs == 1 ? "" : "es", m->events, m->events == 1 ? "" : "s");
    if (m->duplicates)
        printf(" (%ld repeated in another log or dump, counted once)", m->duplicates);
    if (m->invalid || m->foreign)
        printf(" (skipped: %ld truncated or invalid line%s, %ld not ctxguard's)", m->invalid,
               m->invalid == 1 ? "" : "s", m->foreign);
    if (m->filtered)
        printf(" (%ld left out by the filters)", m->filtered);
    printf("\n");
}

static void messages(const struct rp_model *m)
{
    if (m->nmsgs == 0)
        return;
    printf("\n%ld warning%s and configuration error%s:\n", m->messages, m->messages == 1 ? "" : "s",
           m->messages == 1 ? "" : "s");
    for (size_t i = 0; i < m->nmsgs; i++) {
        printf("  %ldx ", m->msgs[i].n);
        cli_put_escaped(stdout, m->msgs[i].text);
        printf("\n");
    }
}

void rp_print_text(const struct rp_model *m)
{
    header(m);
    printf("\n%-28s %-28s %6s %6s %6s %6s %9s %13s  %-27s %s\n", "module", "call", "allow", "block", "deny", "abort",
           "explained", "left/recl MiB", "first", "last");
    for (size_t i = 0; i < m->nrows; i++) {
        const struct rp_row *r = &m->rows[i];
        put_col(base(r->caller), 28);
        printf(" ");
        put_col(r->call, 28);
        char lr[48] = "-"; /* a block's "left" (largest) / a reclaim's "reclaimed" (total) */
        if (r->left_bytes || r->reclaimed_bytes)
            snprintf(lr, sizeof lr, "%.0f/%.0f", r->left_bytes / 1048576.0, r->reclaimed_bytes / 1048576.0);
        printf(" %6ld %6ld %6ld %6ld %9ld %13s  ", r->count[0], r->count[1], r->count[2], r->count[3], r->count[4], lr);
        put_col(r->first, 27);
        printf(" ");
        put_col(r->last, 0);
        printf("\n");
        for (size_t k = 0; k < r->nreasons && k < 3; k++) {
            char buf[4096];
            cli_escape(buf, sizeof buf, r->reasons[k].text);
            printf("    %ldx %.150s%s\n", r->reasons[k].n, buf, strlen(buf) > 150 ? "..." : "");
        }
        if (r->nreasons > 3)
            printf("    (%zu more reasons: --format json lists them all)\n", r->nreasons - 3);
        if (r->nshared) {
            /* for an explanation, the other modules are the ones that caused it */
            int only_explained = r->count[4] && !r->count[0] && !r->count[1] && !r->count[2] && !r->count[3];
            printf("    %s", only_explained ? "caused by:" : "shared with:");
            for (size_t k = 0; k < r->nshared; k++) {
                printf(" ");
                cli_put_escaped(stdout, base(r->shared[k]));
            }
            printf("\n");
        }
    }
    messages(m);
}

void rp_print_timeline(const struct rp_model *m)
{
    header(m);
    long proc = -1;
    for (size_t i = 0; i < m->nev; i++) {
        const struct rp_event *e = &m->ev[i];
        if (e->proc != proc) {
            const struct rp_proc *p = &m->procs[e->proc];
            proc = e->proc;
            printf("\nprocess %ld", p->pid);
            if (p->exe[0]) {
                printf(" (");
                cli_put_escaped(stdout, p->exe);
                printf(")");
            }
            if (p->start[0]) {
                printf(", ctxguard started ");
                cli_put_escaped(stdout, p->start);
            }
            printf(": %ld event%s\n", p->nevents, p->nevents == 1 ? "" : "s");
        }
        printf("  ");
        put_col(e->ts, 27);
        if (e->seq)
            printf(" #%-5ld ", e->seq);
        else
            printf(" %-6s ", "");
        put_col(rp_event_label(e), 14);
        if (e->kind == JL_MESSAGE) {
            printf(" ");
            cli_put_escaped(stdout, e->message);
            printf("\n");
            continue;
        }
        printf(" ");
        put_col(e->call, 26);
        printf(" by ");
        cli_put_escaped(stdout, base(e->caller));
        if (e->result)
            printf(", result %ld", e->result);
        if (e->shared[0]) {
            printf(e->kind == JL_EXPLANATION ? ", after " : ", shared with ");
            for (const char *p = e->shared; *p;) {
                size_t k = strcspn(p, JL_SEP_S);
                char one[4096];
                snprintf(one, sizeof one, "%.*s", (int)k, p);
                cli_put_escaped(stdout, base(one));
                p += k;
                if (*p) {
                    p++;
                    printf(", ");
                }
            }
        }
        printf("\n      ");
        cli_put_escaped(stdout, e->reason);
        printf("\n");
    }
    messages(m);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_lines(const char *s)
{
    putchar('[');
    for (const char *p = s; *p;) {
        size_t k = strcspn(p, JL_SEP_S);
        char one[4096];
        snprintf(one, sizeof one, "%.*s", (int)k, p);
        if (p != s)
            putchar(',');
        json_str(one);
        p += k + (p[k] == JL_SEP);
    }
    putchar(']');
}

void rp_print_json(const struct rp_model *m, int timeline)
{
    printf("{\"files\":%d,\"processes\":%zu,\"events\":%ld,\"duplicates\":%ld,\"skipped_invalid\":%ld,"
           "\"skipped_foreign\":%ld,\"filtered\":%ld,\"messages\":%ld,\"rows\":[",
           m->files, m->nprocs, m->events, m->duplicates, m->invalid, m->foreign, m->filtered, m->messages);
    for (size_t i = 0; i < m->nrows; i++) {
        const struct rp_row *r = &m->rows[i];
        printf("%s{\"caller\":", i ? "," : "");
        json_str(r->caller);
        printf(",\"call\":");
        json_str(r->call);
        printf(",\"allow\":%ld,\"block\":%ld,\"deny\":%ld,\"abort\":%ld,\"explained\":%ld,", r->count[0],
               r->count[1], r->count[2], r->count[3], r->count[4]);
        printf("\"left_bytes\":%llu,\"reclaimed_bytes\":%llu,\"first\":", r->left_bytes, r->reclaimed_bytes);
        json_str(r->first);
        printf(",\"last\":");
        json_str(r->last);
        printf(",\"reasons\":[");
        for (size_t k = 0; k < r->nreasons; k++) {
            printf("%s{\"reason\":", k ? "," : "");
            json_str(r->reasons[k].text);
            printf(",\"count\":%ld}", r->reasons[k].n);
        }
        printf("],\"shared_with\":[");
        for (size_t k = 0; k < r->nshared; k++) {
            printf("%s", k ? "," : "");
            json_str(r->shared[k]);
        }
        printf("]}");
    }
    printf("],\"warnings\":[");
    for (size_t i = 0; i < m->nmsgs; i++) {
        printf("%s{\"message\":", i ? "," : "");
        json_str(m->msgs[i].text);
        printf(",\"count\":%ld}", m->msgs[i].n);
    }
    printf("]");
    if (timeline) {
        printf(",\"timeline\":[");
        long proc = -1;
        for (size_t i = 0; i < m->nev; i++) {
            const struct rp_event *e = &m->ev[i];
            if (e->proc != proc) {
                const struct rp_proc *p = &m->procs[e->proc];
                printf("%s{\"pid\":%ld,\"start\":", proc >= 0 ? "]}," : "", p->pid);
                json_str(p->start);
                printf(",\"exe\":");
                json_str(p->exe);
                printf(",\"events\":[");
                proc = e->proc;
            } else
                putchar(',');
            printf("{\"seq\":%ld,\"ts\":", e->seq);
            json_str(e->ts);
            printf(",\"what\":");
            json_str(rp_event_label(e));
            if (e->kind == JL_MESSAGE) {
                printf(",\"message\":");
                json_str(e->message);
            } else {
                printf(",\"call\":");
                json_str(e->call);
                printf(",\"caller\":");
                json_str(e->caller);
                printf(",\"action\":");
                json_str(e->action);
                printf(",\"result\":%ld,\"decided_by\":", e->result);
                json_str(e->decided_by);
                printf(",\"reason\":");
                json_str(e->reason);
                printf(",\"shared_with\":");
                json_lines(e->shared);
            }
            putchar('}');
        }
        printf("%s]", proc >= 0 ? "]}" : "");
    }
    printf("}\n");
}

/* A label value in the exposition format: backslash, double quote and newline escaped. */
static void prom_label(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            printf("\\%c", *s);
        else if (*s == '\n')
            printf("\\n");
        else
            putchar(*s);
    }
    putchar('"');
}

/* Seconds since the epoch of the library's "YYYY-MM-DDTHH:MM:SS.ffffffZ", or -1. */
static double epoch(const char *ts)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
        return -1;
    double frac = 0;
    if (*rest == '.') {
        double scale = 0.1;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            frac += (*rest - '0') * scale;
    }
    return (double)timegm(&tm) + frac;
}

void rp_print_prometheus(const struct rp_model *m)
{
    printf("# HELP ctxguard_report_events ctxguard events in the logs read, each counted once, by module, call "
           "and action (explained: ctxguard explained a failure or a move, it decided nothing).\n"
           "# TYPE ctxguard_report_events gauge\n");
    for (size_t i = 0; i < m->nrows; i++)
        for (int a = 0; a < 5; a++) {
            printf("ctxguard_report_events{module=");
            prom_label(m->rows[i].caller);
            printf(",call=");
            prom_label(m->rows[i].call);
            printf(",action=\"%s\"} %ld\n", action_names[a], m->rows[i].count[a]);
        }
    double last = -1;
    for (size_t i = 0; i < m->nrows; i++) {
        double t = epoch(m->rows[i].last);
        if (t > last)
            last = t;
    }
    printf("# HELP ctxguard_report_processes Processes with events in the logs read.\n"
           "# TYPE ctxguard_report_processes gauge\n"
           "ctxguard_report_processes %zu\n", m->nprocs);
    printf("# HELP ctxguard_report_warnings Warnings and configuration errors in the logs read.\n"
           "# TYPE ctxguard_report_warnings gauge\n"
           "ctxguard_report_warnings %ld\n", m->messages);
    printf("# HELP ctxguard_report_skipped_lines Lines the report could not use: invalid (truncated, torn) "
           "or foreign (not ctxguard's).\n"
           "# TYPE ctxguard_report_skipped_lines gauge\n"
           "ctxguard_report_skipped_lines{reason=\"invalid\"} %ld\n"
           "ctxguard_report_skipped_lines{reason=\"foreign\"} %ld\n", m->invalid, m->foreign);
    if (last >= 0)
        printf("# HELP ctxguard_report_last_event_timestamp_seconds Time of the newest event in the logs read.\n"
               "# TYPE ctxguard_report_last_event_timestamp_seconds gauge\n"
               "ctxguard_report_last_event_timestamp_seconds %.6f\n", last);
}
