/* ctxguard report [OPTIONS] LOG…: what happened, per module and call (or per process in order), across
 * processes, logs and dumps, each event counted once. Reads; prints with report_out.c.
 *
 * Once: a log and the dumps of the same process repeat events; (pid, start, seq) names an event
 * wherever it is read (jsonl.h). Lines from before seq existed fall back to (pid, ts, call, caller,
 * action), which at least merges the same line read from several dumps.
 * Hostile input: a line is read up to 1 MiB (the rest skipped and counted); a NUL byte (a torn write)
 * splits a line, so only the torn part is lost; nothing is capped: rows and processes grow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "jsonl.h"
#include "report.h"
#include "strmap.h"

#define LINE_MAX_BYTES (1 << 20)

static const char usage[] =
    "usage: ctxguard report [OPTIONS] LOG...\n"
    "Summarises ctxguard's logs and dumps (JSON lines or text, any mix; LOG '-' is stdin). An event\n"
    "read from a log and from dumps of the same process is counted once (by pid, start and seq).\n"
    "  --timeline             each process's events in order (reset, re-attach, failure), not the table\n"
    "  --pid PID[,PID...]     only these processes (repeatable)\n"
    "  --since TIME           only events at or after TIME: an ISO-8601 UTC prefix (2026-05-01,\n"
    "                         2026-05-01T12:30) or an age (90s, 15m, 2h, 7d)\n"
    "  --action A[,A...]      only these: allow, block, deny, abort, explained\n"
    "  --format text|json|prometheus, --json\n"
    "                         text (default); JSON (rows with reason counts; with --timeline, the\n"
    "                         processes' events); Prometheus exposition for node_exporter's textfile\n"
    "                         collector\n"
    "Rows where ctxguard explained lost data come first, then blocks, denies and aborts.\n"
    "Exit status: 0 report printed (also when lines were skipped: the report counts them), 2 usage\n"
    "error, or a LOG that cannot be read (a directory, missing, unreadable).\n";

enum { O_JSON, O_FORMAT, O_TIMELINE, O_PID, O_SINCE, O_ACTION };
static const struct cli_opt opts[] = {{"--json", 0, O_JSON},         {"--format", 1, O_FORMAT},
                                      {"--timeline", 0, O_TIMELINE}, {"--pid", 1, O_PID},
                                      {"--since", 1, O_SINCE},       {"--action", 1, O_ACTION},
                                      {NULL, 0, 0}};

static struct {
    long *pids;
    size_t npids;
    char since[64];
    int actions; /* bit per A_*; 0 = all */
} filter;

static struct rp_model M;
static struct strmap seen, rowmap, procmap;

static int action_index(const char *a)
{
    static const char *const names[] = {"allow", "block", "deny", "abort", "explained"};
    for (int i = 0; i < A_N; i++)
        if (strcmp(a, names[i]) == 0)
            return i;
    return -1;
}

static int parse_pids(const char *v)
{
    for (const char *p = v; *p;) {
        char *end;
        errno = 0;
        long pid = strtol(p, &end, 10);
        if (errno || end == p || pid <= 0 || (*end && *end != ','))
            return -1;
        filter.pids = xrealloc(filter.pids, (filter.npids + 1) * sizeof *filter.pids);
        filter.pids[filter.npids++] = pid;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static int parse_actions(const char *v)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int a = action_index(t);
        if (a < 0)
            return -1;
        filter.actions |= 1 << a;
    }
    return filter.actions ? 0 : -1;
}

/* An ISO-8601 prefix as the library writes ts (compared as text), or an age before now. */
static int parse_since(const char *v)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!errno && end != v && n >= 0 && end[0] && !end[1] && strchr("smhd", end[0])) {
        long mul = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
        time_t t = time(NULL) - (time_t)(n * mul);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(filter.since, sizeof filter.since, "%Y-%m-%dT%H:%M:%S", &tm);
        return 0;
    }
    size_t len = strlen(v);
    if (len < 4 || len >= sizeof filter.since || strspn(v, "0123456789") != 4 || strspn(v, "0123456789-T:.Z") != len)
        return -1;
    snprintf(filter.since, sizeof filter.since, "%s", v);
    return 0;
}

static int wanted(const struct jl_event *e)
{
    if (filter.npids) {
        size_t i = 0;
        while (i < filter.npids && filter.pids[i] != e->pid)
            i++;
        if (i == filter.npids)
            return 0;
    }
    if (filter.since[0] && strcmp(e->ts, filter.since) < 0)
        return 0;
    if (filter.actions) {
        if (e->kind == JL_MESSAGE)
            return 0;
        int a = e->kind == JL_EXPLANATION ? A_EXPLAINED : action_index(e->action);
        if (a < 0 || !(filter.actions & (1 << a)))
            return 0;
    }
    return 1;
}

/* One event, once: the first time its key is seen. */
static int first_sight(const struct jl_event *e)
{
    size_t n = strlen(e->ts) + strlen(e->start) + strlen(e->call) + strlen(e->caller) + strlen(e->action) +
               strlen(e->message) + 96;
    char *key = xrealloc(NULL, n);
    if (e->seq > 0)
        snprintf(key, n, "S\x1f%ld\x1f%s\x1f%ld", e->pid, e->start, e->seq);
    else
        snprintf(key, n, "T\x1f%ld\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", e->pid, e->ts, e->call, e->caller, e->action,
                 e->message);
    int created;
    strmap_put(&seen, key, 0, &created);
    free(key);
    return created;
}

static long process_of(const struct jl_event *e)
{
    char key[128];
    snprintf(key, sizeof key, "%ld\x1f%s", e->pid, e->start);
    int created;
    long *v = strmap_put(&procmap, key, (long)M.nprocs, &created);
    if (created) {
        M.procs = xrealloc(M.procs, (M.nprocs + 1) * sizeof *M.procs);
        M.procs[M.nprocs++] = (struct rp_proc){e->pid, xstrdup(e->start), xstrdup(e->exe), xstrdup(e->ts), 0};
    }
    struct rp_proc *p = &M.procs[*v];
    if (strcmp(e->ts, p->first) < 0) {
        free(p->first);
        p->first = xstrdup(e->ts);
    }
    if (!p->exe[0] && e->exe[0]) {
        free(p->exe);
        p->exe = xstrdup(e->exe);
    }
    p->nevents++;
    return *v;
}

static void count_text(struct rp_count **list, size_t *n, const char *text)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i].text, text) == 0) {
            (*list)[i].n++;
            return;
        }
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = (struct rp_count){xstrdup(text), 1};
}

static void add_to_row(const struct jl_event *e)
{
    size_t n = strlen(e->caller) + strlen(e->call) + 2;
    char *key = xrealloc(NULL, n);
    snprintf(key, n, "%s\x1f%s", e->caller, e->call);
    int created;
    long *v = strmap_put(&rowmap, key, (long)M.nrows, &created);
    free(key);
    if (created) {
        M.rows = xrealloc(M.rows, (M.nrows + 1) * sizeof *M.rows);
        M.rows[M.nrows++] = (struct rp_row){.caller = xstrdup(e->caller), .call = xstrdup(e->call),
                                            .first = xstrdup(e->ts), .last = xstrdup(e->ts)};
    }
    struct rp_row *r = &M.rows[*v];
    /* a reclaim is a block that also freed the caller's own objects: counted with the blocks */
    int a = e->kind == JL_EXPLANATION ? A_EXPLAINED : action_index(strcmp(e->action, "reclaim") ? e->action : "block");
    if (a >= 0)
        r->count[a]++;
    if (e->left_bytes > r->left_bytes)
        r->left_bytes = e->left_bytes; /* each block's "left" is a snapshot: the largest */
    r->reclaimed_bytes += e->reclaimed_bytes;
    if (strcmp(e->ts, r->first) < 0) {
        free(r->first);
        r->first = xstrdup(e->ts);
    }
    if (strcmp(e->ts, r->last) > 0) {
        free(r->last);
        r->last = xstrdup(e->ts);
    }
    count_text(&r->reasons, &r->nreasons, e->reason);
    for (const char *p = e->shared; *p;) {
        size_t k = strcspn(p, JL_SEP_S);
        size_t i = 0;
        while (i < r->nshared && !(strlen(r->shared[i]) == k && strncmp(r->shared[i], p, k) == 0))
            i++;
        if (i == r->nshared) {
            r->shared = xrealloc(r->shared, (r->nshared + 1) * sizeof *r->shared);
            char *one = xrealloc(NULL, k + 1);
            memcpy(one, p, k);
            one[k] = '\0';
            r->shared[r->nshared++] = one;
        }
        p += k + (p[k] == JL_SEP);
    }
}

static void add(struct jl_event *e)
{
    if (!first_sight(e)) {
        M.duplicates++;
        return;
    }
    if (!wanted(e)) {
        M.filtered++;
        return;
    }
    long proc = process_of(e);
    M.ev = xrealloc(M.ev, (M.nev + 1) * sizeof *M.ev);
    M.ev[M.nev] = (struct rp_event){xstrdup(e->ts), xstrdup(e->call), xstrdup(e->caller), xstrdup(e->action),
                                    xstrdup(e->reason), xstrdup(e->decided_by), xstrdup(e->shared),
                                    xstrdup(e->message), xstrdup(e->event), e->seq, e->result, e->kind, proc,
                                    (long)M.nev};
    M.nev++;
    if (e->kind == JL_MESSAGE) {
        M.messages++;
        size_t n = strlen(e->message) + 32;
        char *text = xrealloc(NULL, n);
        snprintf(text, n, "%s: %s", e->event[0] ? e->event : "message", e->message);
        count_text(&M.msgs, &M.nmsgs, text);
        free(text);
        return;
    }
    M.events++;
    add_to_row(e);
}

static void one_line(const char *s)
{
    static struct jl_event e;
    if (*s == '\0' || (*s == '\n' && s[1] == '\0'))
        return;
    int r = *s == '{' ? jl_parse(s, &e) : tl_parse(s, &e);
    if (r < 0)
        M.invalid++;
    else if (r == 0)
        M.foreign++;
    else if (r == 1 || r == 3)
        add(&e);
}

/* A line as read, NUL bytes included: each NUL-separated piece is a line of its own, so a torn
 * write (a line cut off, the next written over NULs) loses only the torn line. */
static void one_record(const char *buf, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = strnlen(buf + i, n - i);
        if (k)
            one_line(buf + i);
        i += k + 1;
    }
}

static int read_input(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        int e = f == NULL ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
        fprintf(stderr, "ctxguard report: ");
        cli_put_escaped(stderr, path);
        fprintf(stderr, ": %s\n", strerror(e));
        if (f && f != stdin)
            fclose(f);
        return -1;
    }
    static char *buf;
    static size_t cap;
    size_t n = 0;
    int c, overlong = 0;
    while ((c = getc_unlocked(f)) != EOF) {
        if (overlong) {
            if (c == '\n')
                overlong = 0, n = 0;
            continue;
        }
        if (n + 2 > cap) {
            cap = cap ? 2 * cap : 4096;
            buf = xrealloc(buf, cap);
        }
        buf[n++] = (char)c;
        if (c == '\n') {
            buf[n] = '\0';
            one_record(buf, n);
            n = 0;
        } else if (n >= LINE_MAX_BYTES) {
            M.invalid++;
            overlong = 1;
        }
    }
    if (n && !overlong) {
        buf[n] = '\0';
        one_record(buf, n);
    }
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (err) {
        fprintf(stderr, "ctxguard report: ");
        cli_put_escaped(stderr, path);
        fprintf(stderr, ": read error\n");
        return -1;
    }
    M.files++;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const struct rp_count *x = a, *y = b;
    return x->n != y->n ? (x->n < y->n ? 1 : -1) : strcmp(x->text, y->text);
}

/* Lost data explained first, then blocks/denies/aborts, then the rest; busiest first. */
static int row_rank(const struct rp_row *r)
{
    return r->count[A_EXPLAINED] ? 0 : r->count[A_BLOCK] + r->count[A_DENY] + r->count[A_ABORT] ? 1 : 2;
}

static int by_row(const void *a, const void *b)
{
    const struct rp_row *x = a, *y = b;
    int rx = row_rank(x), ry = row_rank(y);
    if (rx != ry)
        return rx - ry;
    long tx = 0, ty = 0;
    for (int i = 0; i < A_N; i++)
        tx += x->count[i], ty += y->count[i];
    if (tx != ty)
        return tx < ty ? 1 : -1;
    int c = strcmp(x->caller, y->caller);
    return c ? c : strcmp(x->call, y->call);
}

/* Timeline order: processes by their first event; within one, by seq where there is one, else by
 * time; then as read. */
static int by_time(const void *a, const void *b)
{
    const struct rp_event *x = a, *y = b;
    if (x->proc != y->proc) {
        int c = strcmp(M.procs[x->proc].first, M.procs[y->proc].first);
        return c ? c : (x->proc < y->proc ? -1 : 1);
    }
    if (x->seq && y->seq && x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    int c = strcmp(x->ts, y->ts);
    return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* qsort, but an empty list may be NULL (qsort's base must not be) */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

int cmd_report(int argc, char **argv)
{
    int format = 0, timeline = 0, ninputs = 0; /* format: 0 text, 1 json, 2 prometheus */
    char **inputs = xrealloc(NULL, (size_t)(argc + 1) * sizeof *inputs);
    for (int i = 0; i < argc;) {
        const char *v;
        int id = cli_next("report", opts, argc, argv, &i, &v);
        if (id == CLI_HELP) {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if (id == CLI_BAD)
            return CLI_USAGE;
        if (id == CLI_END) {
            while (i < argc)
                inputs[ninputs++] = argv[i++];
        } else if (id == CLI_ARG)
            inputs[ninputs++] = argv[i++];
        else if (id == O_JSON)
            format = 1;
        else if (id == O_TIMELINE)
            timeline = 1;
        else if (id == O_FORMAT) {
            if (!strcmp(v, "text") || !strcmp(v, "json") || !strcmp(v, "prometheus"))
                format = !strcmp(v, "text") ? 0 : !strcmp(v, "json") ? 1 : 2;
            else
                return cli_usage_error("report", usage, "--format %s: expected text, json or prometheus", v);
        } else if (id == O_PID && parse_pids(v) < 0)
            return cli_usage_error("report", usage, "--pid %s: expected process ids, comma-separated", v);
        else if (id == O_SINCE && parse_since(v) < 0)
            return cli_usage_error("report", usage, "--since %s: expected an ISO-8601 UTC time (2026-05-01T12:30) "
                                                    "or an age (90s, 15m, 2h, 7d)", v);
        else if (id == O_ACTION && parse_actions(v) < 0)
            return cli_usage_error("report", usage, "--action %s: expected allow, block, deny, abort or explained, "
                                                    "comma-separated", v);
    }
    if (ninputs == 0)
        return cli_usage_error("report", usage, "no LOG given ('-' reads stdin)");
    if (timeline && format == 2)
        return cli_usage_error("report", usage, "--timeline has no Prometheus form");
    for (int i = 0; i < ninputs; i++)
        if (read_input(inputs[i]) < 0)
            return CLI_USAGE;
    free(inputs);
    for (size_t i = 0; i < M.nrows; i++)
        sort(M.rows[i].reasons, M.rows[i].nreasons, sizeof *M.rows[i].reasons, by_count);
    sort(M.rows, M.nrows, sizeof *M.rows, by_row);
    sort(M.msgs, M.nmsgs, sizeof *M.msgs, by_count);
    sort(M.ev, M.nev, sizeof *M.ev, by_time);
    if (format == 1)
        rp_print_json(&M, timeline);
    else if (format == 2)
        rp_print_prometheus(&M);
    else if (timeline)
        rp_print_timeline(&M);
    else
        rp_print_text(&M);
    return fflush(stdout) == 0 ? CLI_OK : CLI_USAGE;
}
