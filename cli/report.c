/* ctxguard report LOG… [--json]: what happened, per module and call, across processes and files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

#define MAX_ROWS 1024
#define MAX_PIDS 4096

struct row {
    char caller[1024], call[128];
    long count[5]; /* allow block deny abort, and explained (ctxguard's explanations: not decisions) */
    char first[48], last[48];
    char reasons[3][512];
    long reason_n[3];
    char shared[2048];
    unsigned long long left_bytes, reclaimed_bytes; /* issue 15: the largest "left", the sum "reclaimed" */
};

static struct row rows[MAX_ROWS];
static int nrows;
static long pids[MAX_PIDS];
static int npids;

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Events the library writes to explain, not to decide: a failure attributed to a reset, a device or a
 * context left behind by another module. */
static int is_explanation(const char *decided_by)
{
    return !strcmp(decided_by, "attribution") || !strcmp(decided_by, "device-switch") ||
           !strcmp(decided_by, "context-switch");
}

static void add(const struct jl_event *e)
{
    struct row *r = NULL;
    for (int i = 0; i < nrows && !r; i++)
        if (!strcmp(rows[i].caller, e->caller) && !strcmp(rows[i].call, e->call))
            r = &rows[i];
    if (!r) {
        if (nrows == MAX_ROWS)
            return;
        r = &rows[nrows++];
        snprintf(r->caller, sizeof r->caller, "%s", e->caller);
        snprintf(r->call, sizeof r->call, "%s", e->call);
        snprintf(r->first, sizeof r->first, "%s", e->ts);
        snprintf(r->last, sizeof r->last, "%s", e->ts);
    }
    static const char *const acts[] = {"allow", "block", "deny", "abort"};
    if (is_explanation(e->decided_by))
        r->count[4]++;
    else
        for (int a = 0; a < 4; a++)
            if (!strcmp(e->action, acts[a]) || (a == 1 && !strcmp(e->action, "reclaim")))
                r->count[a]++; /* a reclaim is a block that also freed the caller's own objects */
    if (e->left_bytes > r->left_bytes)
        r->left_bytes = e->left_bytes; /* each block's "left" is a snapshot: the largest */
    r->reclaimed_bytes += e->reclaimed_bytes;
    if (strcmp(e->ts, r->first) < 0)
        snprintf(r->first, sizeof r->first, "%s", e->ts);
    if (strcmp(e->ts, r->last) > 0)
        snprintf(r->last, sizeof r->last, "%s", e->ts);
    for (int k = 0; k < 3; k++) {
        if (!r->reasons[k][0])
            snprintf(r->reasons[k], sizeof r->reasons[k], "%s", e->reason);
        if (!strcmp(r->reasons[k], e->reason)) {
            r->reason_n[k]++;
            break;
        }
    }
    /* union of shared_with, as lines */
    for (const char *p = e->shared; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char one[1024];
        snprintf(one, sizeof one, "%.*s", (int)n, p);
        int have = 0;
        for (const char *q = r->shared; *q && !have;) {
            const char *ql = strchr(q, '\n');
            size_t m = ql ? (size_t)(ql - q) : strlen(q);
            have = m == n && !strncmp(q, one, n);
            q = ql ? ql + 1 : q + m;
        }
        size_t used = strlen(r->shared);
        if (!have && used + n + 2 < sizeof r->shared)
            snprintf(r->shared + used, sizeof r->shared - used, "%s%s", used ? "\n" : "", one);
        p = nl ? nl + 1 : p + n;
    }
    for (int i = 0; i < npids; i++)
        if (pids[i] == e->pid)
            return;
    if (npids < MAX_PIDS)
        pids[npids++] = e->pid;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int cmd_report(int argc, char **argv)
{
    int as_json = 0, nfiles = 0;
    long events = 0, invalid = 0, foreign = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            as_json = 1;
            continue;
        }
        FILE *f = fopen(argv[i], "r");
        if (!f) {
            fprintf(stderr, "ctxguard report: %s: cannot open\n", argv[i]);
            return 2;
        }
        nfiles++;
        static char line[65536];
        while (fgets(line, sizeof line, f)) {
            size_t n = strlen(line);
            int complete = n && line[n - 1] == '\n';
            if (!complete && !feof(f)) { /* over-long line: skip the rest of it */
                int c;
                while ((c = fgetc(f)) != EOF && c != '\n')
                    ;
                invalid++;
                continue;
            }
            if (n == 0 || (n == 1 && complete))
                continue;
            struct jl_event e;
            int r = line[0] == '{' ? jl_parse(line, &e) : tl_parse(line, &e);
            if (r < 0)
                invalid++;
            else if (r == 0)
                foreign++;
            else if (r == 2)
                continue; /* exit summary lines: the events themselves are counted */
            else {
                events++;
                add(&e);
            }
        }
        fclose(f);
    }
    if (nfiles == 0) {
        fprintf(stderr, "usage: ctxguard report LOG... [--json]\n");
        return 2;
    }
    if (as_json) {
        printf("{\"files\":%d,\"processes\":%d,\"events\":%ld,\"skipped_invalid\":%ld,\"skipped_foreign\":%ld,\"rows\":[",
               nfiles, npids, events, invalid, foreign);
        for (int i = 0; i < nrows; i++) {
            struct row *r = &rows[i];
            printf("%s{\"caller\":", i ? "," : "");
            json_str(r->caller);
            printf(",\"call\":");
            json_str(r->call);
            printf(",\"allow\":%ld,\"block\":%ld,\"deny\":%ld,\"abort\":%ld,\"explained\":%ld,\"left_bytes\":%llu,"
                   "\"reclaimed_bytes\":%llu,\"first\":",
                   r->count[0], r->count[1], r->count[2], r->count[3], r->count[4], r->left_bytes, r->reclaimed_bytes);
            json_str(r->first);
            printf(",\"last\":");
            json_str(r->last);
            printf(",\"reasons\":[");
            for (int k = 0; k < 3 && r->reasons[k][0]; k++) {
                printf("%s", k ? "," : "");
                json_str(r->reasons[k]);
            }
            printf("],\"shared_with\":[");
            int first = 1;
            for (char *p = r->shared; *p;) {
                char *nl = strchr(p, '\n');
                if (nl)
                    *nl = '\0';
                printf("%s", first ? "" : ",");
                json_str(p);
                first = 0;
                p = nl ? nl + 1 : p + strlen(p);
            }
            printf("]}");
        }
        printf("]}\n");
        return 0;
    }
    printf("ctxguard report: %d file%s, %d process%s, %ld event%s", nfiles, nfiles == 1 ? "" : "s", npids,
           npids == 1 ? "" : "es", events, events == 1 ? "" : "s");
    if (invalid || foreign)
        printf(" (skipped: %ld truncated or invalid line%s, %ld not ctxguard's)", invalid, invalid == 1 ? "" : "s",
               foreign);
    printf("\n\n%-28s %-28s %6s %6s %6s %6s %9s %13s  %-27s %s\n", "module", "call", "allow", "block", "deny", "abort",
           "explained", "left/recl MiB", "first", "last");
    for (int i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        char lr[32] = "-"; /* a block's "left" (largest) / a reclaim's "reclaimed" (total) */
        if (r->left_bytes || r->reclaimed_bytes)
            snprintf(lr, sizeof lr, "%.0f/%.0f", r->left_bytes / 1048576.0, r->reclaimed_bytes / 1048576.0);
        printf("%-28s %-28s %6ld %6ld %6ld %6ld %9ld %13s  %-27s %s\n", base(r->caller), r->call, r->count[0],
               r->count[1], r->count[2], r->count[3], r->count[4], lr, r->first, r->last);
        for (int k = 0; k < 3 && r->reasons[k][0]; k++)
            printf("    %ldx %.150s%s\n", r->reason_n[k], r->reasons[k], strlen(r->reasons[k]) > 150 ? "..." : "");
        if (r->shared[0]) {
            /* for an explanation, the other modules are the ones that caused it */
            int only_explained = r->count[4] && !r->count[0] && !r->count[1] && !r->count[2] && !r->count[3];
            printf("    %s", only_explained ? "caused by:" : "shared with:");
            for (char *p = r->shared; *p;) {
                char *nl = strchr(p, '\n');
                if (nl)
                    *nl = '\0';
                printf(" %s", base(p));
                p = nl ? nl + 1 : p + strlen(p);
            }
            printf("\n");
        }
    }
    return 0;
}
