/* ctxguard report on hand-made logs and dumps (the library's contract: seq, start, event on every
 * line; see cli/jsonl.h): each event counted once across a log and dumps of the same process; hostile
 * input (forged rows, NUL bytes, no caps, directories, stdin); the timeline, the filters, the order of
 * rows, reason counts and the Prometheus exposition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define CLI BUILD_DIR "/ctxguard"
#define START "2026-05-01T10:00:00.000000Z"
static struct run R;
static char dir[64];

static const char *path(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_bytes(const char *name, const char *text, size_t n)
{
    FILE *f = fopen(path(name), "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static void write_text(const char *name, const char *text)
{
    write_bytes(name, text, strlen(text));
}

/* One JSON event line as the library writes it (with the seq/start contract). */
static int json_ev(char *out, size_t cap, long pid, const char *start, long seq, const char *ts, const char *event,
                   const char *call, const char *caller, const char *action, const char *decided_by, int result,
                   const char *shared)
{
    return snprintf(out, cap,
                    "{\"ts\":\"%s\",\"event\":\"%s\",\"level\":\"info\",\"pid\":%ld,\"exe\":\"/usr/bin/host\","
                    "\"version\":\"0.2.0\",\"seq\":%ld,\"start\":\"%s\",\"tid\":%ld,\"api\":\"runtime\",\"call\":\"%s\","
                    "\"device\":0,\"ctx\":\"0x1\",\"ctx_kind\":\"primary\",\"shared_with\":[%s],\"caller\":\"%s\","
                    "\"action\":\"%s\",\"result\":%d,\"decided_by\":\"%s\",\"reason\":\"why %s\"}\n",
                    ts, event, pid, seq, start, pid, call, shared, caller, action, result, decided_by, call);
}

/* The same event as a text line of a dump (key=value; seq and start after tid). */
static int text_ev(char *out, size_t cap, long pid, const char *start, long seq, const char *ts, const char *call,
                   const char *caller, const char *action, const char *decided_by, int result, const char *shared)
{
    return snprintf(out, cap,
                    "ctxguard: %s pid=%ld tid=%ld seq=%ld start=%s %s runtime %s device=0 ctx=0x1 ctx_kind=primary "
                    "caller=%s shared_with=[%s] result=%d decided_by=%s reason=\"why %s\"\n",
                    ts, pid, pid, seq, start, action, call, caller, shared, result, decided_by, call);
}

static int setup(void **s)
{
    (void)s;
    snprintf(dir, sizeof dir, "/tmp/ctxguard-report-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

/* The six events of one process: B's reset allowed (observe), A re-attaches and fails, then C's reset
 * blocked, twice, and a runtime release. */
static char events_json[6][1024], events_text[6][1024];
static void make_events(long pid, const char *start)
{
    static const struct {
        const char *ts, *event, *call, *caller, *action, *by, *shared;
        int result;
    } e[6] = {
        {"2026-05-01T10:00:01.000001Z", "decision", "cudaDeviceReset", "/p/libplugB.so", "allow", "preset observe", "\"/p/libplugA.so\"", 0},
        {"2026-05-01T10:00:01.000002Z", "attribution", "cuDevicePrimaryCtxRetain", "/p/libplugA.so", "allow", "attribution", "\"/p/libplugB.so\"", 0},
        {"2026-05-01T10:00:01.000003Z", "attribution", "cudaMemcpy", "/p/libplugA.so", "allow", "attribution", "\"/p/libplugB.so\"", 1},
        {"2026-05-01T10:00:02.000001Z", "decision", "cudaDeviceReset", "/p/libplugC.so", "block", "preset guard", "\"/p/libplugA.so\"", 0},
        {"2026-05-01T10:00:03.000001Z", "decision", "cudaDeviceReset", "/p/libplugC.so", "block", "preset guard", "\"/p/libplugA.so\"", 0},
        {"2026-05-01T10:00:04.000001Z", "decision", "cuDevicePrimaryCtxRelease_v2", "/p/libcudart.so.13", "allow", "teardown", "", 0},
    };
    for (int i = 0; i < 6; i++) {
        char shared_text[64];
        snprintf(shared_text, sizeof shared_text, "%.*s", e[i].shared[0] ? (int)strlen(e[i].shared) - 2 : 0,
                 e[i].shared[0] ? e[i].shared + 1 : "");
        json_ev(events_json[i], sizeof events_json[i], pid, start, i + 1, e[i].ts, e[i].event, e[i].call, e[i].caller,
                e[i].action, e[i].by, e[i].result, e[i].shared);
        /* the recorder's own time stamps differ from the log's by microseconds: only seq matches */
        char ts[48];
        snprintf(ts, sizeof ts, "%.26sZ", e[i].ts);
        ts[25] = (char)('5' + i % 4);
        text_ev(events_text[i], sizeof events_text[i], pid, start, i + 1, ts, e[i].call, e[i].caller, e[i].action,
                e[i].by, e[i].result, shared_text);
    }
}

static void report(const char *const args[])
{
    const char *argv[32] = {CLI, "report"};
    int n = 2;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    run_prog(&R, 0, 0, NULL, argv);
}

/* Issue 16: a log and three dumps of the same process (the recorder keeps the last events, so
 * every dump repeats the earlier ones) hold 6 events: the report says 6, not 15 or 18. A process
 * with the same pid but another start (pid reuse) is another process. */
static void each_event_counted_once(void **s)
{
    (void)s;
    make_events(4242, START);
    char log[8192] = "", d1[8192] = "ctxguard dump (pid 4242): on SIGUSR2; the last events, oldest first:\n", d2[8192],
         d3[8192];
    strcat(log, events_json[0]);
    strcat(log, events_json[1]);
    strcat(log, events_json[2]);
    strcat(log, events_json[3]);
    strcat(log, events_json[4]);
    for (int i = 0; i < 4; i++)
        strcat(d1, events_text[i]);
    strcat(d1, "ctxguard dump end\n");
    snprintf(d2, sizeof d2, "%s", d1);
    snprintf(d3, sizeof d3, "%s", d1);
    strcpy(strstr(d2, "ctxguard dump end"), events_text[4]);
    strcat(d2, "ctxguard dump end\n");
    strcpy(strstr(d3, "ctxguard dump end"), events_text[4]);
    strcat(d3, events_text[5]);
    strcat(d3, "ctxguard dump end\n");
    write_text("a.jsonl", log);
    write_text("d1.txt", d1);
    write_text("d2.txt", d2);
    write_text("d3.txt", d3);
    report((const char *const[]){path("a.jsonl"), path("d1.txt"), path("d2.txt"), path("d3.txt"), NULL});
    assert_int_equal(R.status, 0);
    if (!strstr(R.out, "4 files, 1 process, 6 events (14 repeated in another log or dump, counted once)"))
        fail_msg("%s", R.out);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugC.so ", "cudaDeviceReset ", "     0      2      0      0         0", NULL}), 1);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugA.so ", "cudaMemcpy ", "     0      0      0      0         1", NULL}), 1);
    /* the block alone, log and one dump: one block */
    write_text("b.jsonl", events_json[3]);
    write_text("b.txt", events_text[3]);
    report((const char *const[]){"--json", path("b.jsonl"), path("b.txt"), NULL});
    char v[64];
    assert_true(json_get(R.out, "events", v, sizeof v));
    assert_string_equal(v, "1");
    /* the same pid and seq in a process started later (pid reuse) is another event */
    make_events(4242, "2026-05-02T09:00:00.000000Z");
    write_text("c.jsonl", events_json[3]);
    report((const char *const[]){path("b.jsonl"), path("b.txt"), path("c.jsonl"), NULL});
    assert_non_null(strstr(R.out, "3 files, 2 processes, 2 events"));
}

/* Logs from before seq: the same line read from several dumps is one event. */
static void old_lines_deduplicated_by_content(void **s)
{
    (void)s;
    const char *line = "ctxguard: 2026-05-01T10:00:02.000001Z pid=77 tid=77 block runtime cudaDeviceReset device=0 "
                       "ctx=0x1 ctx_kind=primary caller=/p/libplugC.so shared_with=[/p/libplugA.so] result=0 "
                       "decided_by=preset guard reason=\"guard\"\n";
    char dump[2048];
    snprintf(dump, sizeof dump, "ctxguard dump (pid 77): at exit\n%sctxguard dump end\n", line);
    write_text("o1.txt", dump);
    write_text("o2.txt", dump);
    report((const char *const[]){path("o1.txt"), path("o2.txt"), NULL});
    assert_non_null(strstr(R.out, "2 files, 1 process, 1 event (1 repeated in another log or dump, counted once)"));
}

/* A module path with a newline, an escape sequence or a quote cannot forge a row or a label. */
static void hostile_names_are_escaped(void **s)
{
    (void)s;
    char line[2048];
    json_ev(line, sizeof line, 5, START, 1, "2026-05-01T10:00:01.000001Z", "decision", "cudaDeviceReset",
            "/tmp/x\\nlibplugZ.so                  cudaDeviceReset                   9      9\\u001b[2J\\\"q\\\\", "block",
            "preset guard", 0, "\"/tmp/y\\nz\"");
    write_text("h.jsonl", line);
    report((const char *const[]){path("h.jsonl"), NULL});
    assert_int_equal(R.status, 0);
    assert_null(strchr(R.out, '\x1b'));
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugZ.so", NULL}), 1);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"x\\x0alibplugZ.so", "\\x1b[2J\"q\\x5c", NULL}), 1);
    assert_non_null(strstr(R.out, "shared with: y\\x0az"));
    report((const char *const[]){"--timeline", path("h.jsonl"), NULL});
    assert_null(strchr(R.out, '\x1b'));
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugZ.so", NULL}), 1);
    report((const char *const[]){"--format=prometheus", path("h.jsonl"), NULL});
    assert_non_null(strstr(R.out, "module=\"/tmp/x\\nlibplugZ.so"));
    assert_non_null(strstr(R.out, "\\\"q\\\\\",call=\"cudaDeviceReset\",action=\"block\"} 1\n"));
}

/* A torn write (a line cut off, the next written over NUL bytes) loses only the torn line; the line
 * after it is whole and counted. */
static void nul_bytes_lose_only_the_torn_line(void **s)
{
    (void)s;
    make_events(9, START);
    char buf[8192];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", events_json[0]);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%.60s", events_json[1]); /* torn */
    memset(buf + n, 0, 5);
    n += 5;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", events_json[3]);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", events_json[4]);
    write_bytes("nul.jsonl", buf, n);
    report((const char *const[]){path("nul.jsonl"), NULL});
    assert_int_equal(R.status, 0);
    if (!strstr(R.out, "1 file, 1 process, 3 events (skipped: 1 truncated or invalid line, 0 not ctxguard's)"))
        fail_msg("%s", R.out);
}

/* More rows than 1024 and more processes than 4096: none dropped. */
static void no_caps_on_rows_or_processes(void **s)
{
    (void)s;
    FILE *f = fopen(path("many.jsonl"), "w");
    assert_non_null(f);
    for (int i = 0; i < 5000; i++) {
        char line[1024], caller[64];
        snprintf(caller, sizeof caller, "/p/libmod%d.so", i);
        json_ev(line, sizeof line, 10000 + i, START, 1, "2026-05-01T10:00:01.000001Z", "decision", "cudaDeviceReset",
                caller, "block", "preset guard", 0, "");
        fputs(line, f);
    }
    fclose(f);
    report((const char *const[]){"--json", path("many.jsonl"), NULL});
    assert_int_equal(R.status, 0);
    char v[64];
    assert_true(json_get(R.out, "processes", v, sizeof v));
    assert_string_equal(v, "5000");
    assert_true(json_get(R.out, "events", v, sizeof v));
    assert_string_equal(v, "5000");
    char cmd[256]; /* the table is larger than the harness keeps: counted by grep */
    snprintf(cmd, sizeof cmd, "%s report %s | grep -c '^libmod[0-9]*[.]so  *cudaDeviceReset  *0  *1 '", CLI, path("many.jsonl"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/sh", "-c", cmd, NULL});
    assert_string_equal(R.out, "5000\n");
}

/* A directory is an error (exit 2, stderr), so is a missing file; '-' reads stdin. */
static void inputs_directory_missing_stdin(void **s)
{
    (void)s;
    report((const char *const[]){dir, NULL});
    assert_int_equal(R.status, 2);
    assert_string_equal(R.out, "");
    assert_non_null(strstr(R.err, "Is a directory"));
    report((const char *const[]){"/nonexistent/x.log", NULL});
    assert_int_equal(R.status, 2);
    assert_non_null(strstr(R.err, "No such file"));
    make_events(11, START);
    write_text("in.jsonl", events_json[3]);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s report - < %s", CLI, path("in.jsonl"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/sh", "-c", cmd, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "1 file, 1 process, 1 event"));
    report((const char *const[]){NULL});
    assert_int_equal(R.status, 2);
    report((const char *const[]){"--format", "xml", path("in.jsonl"), NULL});
    assert_int_equal(R.status, 2);
    report((const char *const[]){"--since", "yesterday", path("in.jsonl"), NULL});
    assert_int_equal(R.status, 2);
    report((const char *const[]){"--action", "blok", path("in.jsonl"), NULL});
    assert_int_equal(R.status, 2);
}

static const char *after(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    if (p == NULL)
        fail_msg("no '%s' in:\n%s", needle, hay);
    return p;
}

/* --timeline: one process's events in order (reset, re-attach, failure), whatever order the files
 * were read in; filters by pid, time and action; rows that explain lost data first. */
static void timeline_filters_and_order(void **s)
{
    (void)s;
    make_events(31, START);
    char log[8192] = "";
    strcat(log, events_json[2]); /* the failure read first */
    strcat(log, events_json[0]);
    write_text("t1.jsonl", log);
    char dump[4096] = "";
    strcat(dump, events_text[1]);
    strcat(dump, events_text[3]);
    write_text("t2.txt", dump);
    make_events(32, "2026-05-01T11:00:00.000000Z");
    write_text("t3.jsonl", events_json[4]);
    report((const char *const[]){"--timeline", path("t1.jsonl"), path("t2.txt"), path("t3.jsonl"), NULL});
    assert_int_equal(R.status, 0);
    const char *p31 = after(R.out, "process 31 (/usr/bin/host), ctxguard started " START ": 4 events");
    const char *reset = after(p31, "#1     allow");
    const char *reattach = after(reset, "#2     re-attach      cuDevicePrimaryCtxRetain");
    const char *failure = after(reattach, "#3     failure        cudaMemcpy");
    const char *block = after(failure, "#4     block          cudaDeviceReset");
    after(block, "process 32");
    assert_non_null(strstr(failure, "by libplugA.so, result 1, after libplugB.so"));
    /* filters */
    report((const char *const[]){"--pid=32", path("t1.jsonl"), path("t2.txt"), path("t3.jsonl"), NULL});
    assert_non_null(strstr(R.out, "3 files, 1 process, 1 event (4 left out by the filters)"));
    report((const char *const[]){"--since", "2026-05-01T10:00:02", path("t1.jsonl"), path("t2.txt"), path("t3.jsonl"), NULL});
    assert_non_null(strstr(R.out, "2 processes, 2 events (3 left out by the filters)"));
    report((const char *const[]){"--action", "block,explained", "--pid", "31", path("t1.jsonl"), path("t2.txt"), path("t3.jsonl"), NULL});
    assert_non_null(strstr(R.out, "1 process, 3 events (2 left out by the filters)"));
    report((const char *const[]){"--since=1d", path("t1.jsonl"), NULL}); /* an age: these are older */
    assert_non_null(strstr(R.out, "0 processes, 0 events (2 left out by the filters)"));
    /* order of rows: the explained failure and re-attach, then the blocks, then the allows */
    report((const char *const[]){path("t1.jsonl"), path("t2.txt"), path("t3.jsonl"), NULL});
    const char *x1 = after(R.out, "libplugA.so                  cuDevicePrimaryCtxRetain");
    const char *x2 = strstr(R.out, "libplugA.so                  cudaMemcpy");
    const char *b = after(R.out, "libplugC.so                  cudaDeviceReset");
    const char *a = after(R.out, "libplugB.so                  cudaDeviceReset");
    assert_non_null(x2);
    assert_true(x1 < b && x2 < b && b < a);
    /* the timeline in JSON */
    report((const char *const[]){"--json", "--timeline", path("t1.jsonl"), path("t2.txt"), NULL});
    assert_true(json_valid(R.out, strlen(R.out)));
    const char *j = after(R.out, "\"timeline\":[{\"pid\":31,\"start\":\"" START "\"");
    after(after(after(j, "\"what\":\"allow\""), "\"what\":\"re-attach\""), "\"what\":\"failure\"");
}

/* --json counts every reason; warnings and configuration errors are counted and listed apart. */
static void json_reason_counts_and_warnings(void **s)
{
    (void)s;
    make_events(41, START);
    char log[8192] = "", line[1024];
    strcat(log, events_json[3]);
    strcat(log, events_json[4]);
    json_ev(line, sizeof line, 41, START, 7, "2026-05-01T10:00:05.000001Z", "decision", "cudaDeviceReset",
            "/p/libplugC.so", "block", "/etc/ctxguard.rules:3", 0, "");
    strcat(log, line);
    strcat(log, "{\"ts\":\"2026-05-01T10:00:00.5Z\",\"event\":\"config_error\",\"level\":\"error\",\"pid\":41,"
                "\"seq\":8,\"start\":\"" START "\",\"message\":\"CTXGUARD_MODE=\\\"x\\\" is not valid\"}\n");
    write_text("r.jsonl", log);
    report((const char *const[]){"--json", path("r.jsonl"), NULL});
    assert_true(json_valid(R.out, strlen(R.out)));
    assert_non_null(strstr(R.out, "\"reasons\":[{\"reason\":\"why cudaDeviceReset\",\"count\":3}]"));
    char v[64];
    assert_true(json_get(R.out, "messages", v, sizeof v));
    assert_string_equal(v, "1");
    assert_non_null(strstr(R.out, "\"warnings\":[{\"message\":\"config_error: CTXGUARD_MODE=\\\"x\\\" is not valid\",\"count\":1}]"));
    report((const char *const[]){path("r.jsonl"), NULL});
    assert_non_null(strstr(R.out, "1 warning and configuration error:\n  1x config_error: CTXGUARD_MODE=\"x\" is not valid"));
}

/* A small reader of the Prometheus text format (0.0.4): each sample line is NAME{LABELS} VALUE with
 * label values escaped; HELP and TYPE come before a metric's samples, once. */
static int prom_valid(const char *text, char *why, size_t cap)
{
    char typed[64][80];
    int ntyped = 0;
    for (const char *l = text; *l;) {
        const char *e = strchr(l, '\n');
        if (e == NULL)
            return snprintf(why, cap, "no final newline"), 0;
        if (strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0) {
            if (strncmp(l, "# TYPE ", 7) == 0) {
                const char *n = l + 7, *sp = strchr(n, ' ');
                if (!sp || sp > e || ntyped == 64)
                    return snprintf(why, cap, "bad TYPE line"), 0;
                if (strncmp(sp + 1, "gauge\n", 6) && strncmp(sp + 1, "counter\n", 8))
                    return snprintf(why, cap, "bad type"), 0;
                snprintf(typed[ntyped++], sizeof typed[0], "%.*s", (int)(sp - n), n);
            }
        } else {
            const char *p = l;
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
                return snprintf(why, cap, "bad name at '%.20s'", l), 0;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == ':')
                p++;
            int known = 0;
            for (int i = 0; i < ntyped; i++)
                known |= strlen(typed[i]) == (size_t)(p - l) && strncmp(typed[i], l, (size_t)(p - l)) == 0;
            if (!known)
                return snprintf(why, cap, "sample before its TYPE: %.40s", l), 0;
            if (*p == '{') {
                p++;
                while (*p != '}') {
                    while ((*p >= 'a' && *p <= 'z') || *p == '_')
                        p++;
                    if (*p++ != '=' || *p++ != '"')
                        return snprintf(why, cap, "bad label at '%.20s'", p), 0;
                    while (*p != '"') {
                        if (*p == '\n' || *p == '\0')
                            return snprintf(why, cap, "raw newline in a label"), 0;
                        if (*p == '\\') {
                            if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
                                return snprintf(why, cap, "bad escape"), 0;
                            p++;
                        }
                        p++;
                    }
                    p++;
                    if (*p == ',')
                        p++;
                    else if (*p != '}')
                        return snprintf(why, cap, "bad label list"), 0;
                }
                p++;
            }
            if (*p++ != ' ')
                return snprintf(why, cap, "no value: %.40s", l), 0;
            char *end;
            strtod(p, &end);
            if (end == p || end != e)
                return snprintf(why, cap, "bad value: %.40s", l), 0;
        }
        l = e + 1;
    }
    return 1;
}

static void prometheus_exposition(void **s)
{
    (void)s;
    make_events(51, START);
    char log[8192] = "";
    for (int i = 0; i < 6; i++)
        strcat(log, events_json[i]);
    write_text("p.jsonl", log);
    write_text("p.txt", events_text[3]);
    report((const char *const[]){"--format", "prometheus", path("p.jsonl"), path("p.txt"), NULL});
    assert_int_equal(R.status, 0);
    char why[128] = "";
    if (!prom_valid(R.out, why, sizeof why))
        fail_msg("not valid exposition format: %s\n%s", why, R.out);
    assert_non_null(strstr(R.out, "# HELP ctxguard_report_events "));
    assert_non_null(strstr(R.out, "ctxguard_report_events{module=\"/p/libplugC.so\",call=\"cudaDeviceReset\",action=\"block\"} 2\n"));
    assert_non_null(strstr(R.out, "ctxguard_report_events{module=\"/p/libplugA.so\",call=\"cudaMemcpy\",action=\"explained\"} 1\n"));
    assert_non_null(strstr(R.out, "ctxguard_report_processes 1\n"));
    assert_non_null(strstr(R.out, "ctxguard_report_last_event_timestamp_seconds 1777629604.000001\n"));
    /* the checker itself rejects a raw newline in a label */
    assert_false(prom_valid("# TYPE m gauge\nm{a=\"x\ny\"} 1\n", why, sizeof why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_event_counted_once),
        cmocka_unit_test(old_lines_deduplicated_by_content),
        cmocka_unit_test(hostile_names_are_escaped),
        cmocka_unit_test(nul_bytes_lose_only_the_torn_line),
        cmocka_unit_test(no_caps_on_rows_or_processes),
        cmocka_unit_test(inputs_directory_missing_stdin),
        cmocka_unit_test(timeline_filters_and_order),
        cmocka_unit_test(json_reason_counts_and_warnings),
        cmocka_unit_test(prometheus_exposition),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
