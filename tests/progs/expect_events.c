/* The scenario table's checker (tests/scenarios.tab), one for both runners: tests/test_table.c on
 * the fakes and scripts/gpu-test.sh on real GPUs.
 *   expect_events LOG 'EXPECT'   exit 0 when the JSON log holds the expected events in order, else 1
 * Prints one line either way: the notable events logged, short (what the GPU table shows). EXPECT is
 * the table's last column: "ACTION CALL by MODULE [with M,...|with -] [would ACTION] [result N]"
 * (CALL, MODULE and the "with" list are globs: the list is matched as "a.so,b.so")
 * items joined by " ; ", or "-" (nothing notable may be logged). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct ev {
    char action[16], call[128], caller[256], with[1024], would[16], decided_by[128];
    long result;
};

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* A JSON string value without its quotes (module paths hold no escapes in the test builds). */
static void str(const char *line, const char *key, char *out, size_t cap)
{
    char raw[2048];
    out[0] = '\0';
    if (!json_get(line, key, raw, sizeof raw))
        return;
    size_t n = strlen(raw), from = 0;
    if (n >= 2 && raw[0] == '"') {
        from = 1;
        n -= 2;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, raw + from, n);
    out[n] = '\0';
}

static int parse(const char *line, struct ev *e)
{
    memset(e, 0, sizeof *e);
    char raw[4096], path[256];
    if (!json_get(line, "action", raw, sizeof raw) || !json_get(line, "call", raw, sizeof raw))
        return 0;
    str(line, "action", e->action, sizeof e->action);
    str(line, "call", e->call, sizeof e->call);
    str(line, "caller", path, sizeof path);
    snprintf(e->caller, sizeof e->caller, "%s", base(path));
    str(line, "would", e->would, sizeof e->would);
    str(line, "decided_by", e->decided_by, sizeof e->decided_by);
    if (json_get(line, "result", raw, sizeof raw))
        e->result = atol(raw);
    /* shared_with: ["/a/x.so","/b/y.so"] -> "x.so,y.so" */
    if (json_get(line, "shared_with", raw, sizeof raw))
        for (char *p = strchr(raw, '"'); p; p = strchr(p, '"')) {
            char *q = strchr(p + 1, '"');
            if (!q)
                break;
            *q = '\0';
            size_t n = strlen(e->with);
            snprintf(e->with + n, sizeof e->with - n, "%s%s", n ? "," : "", base(p + 1));
            p = q + 1;
        }
    char reason[64];
    str(line, "reason", reason, sizeof reason);
    return strcmp(reason, "pass-through") != 0; /* debug-level pass-through lines are not notable */
}

static int explanation(const struct ev *e)
{
    return !strcmp(e->decided_by, "attribution") || !strcmp(e->decided_by, "device-switch") ||
           !strcmp(e->decided_by, "context-switch");
}

/* One expectation against one event. */
static int matches(const char *want, const struct ev *e)
{
    char w[1024], *save = NULL;
    snprintf(w, sizeof w, "%s", want);
    char *action = strtok_r(w, " ", &save), *call = strtok_r(NULL, " ", &save);
    char *by = strtok_r(NULL, " ", &save), *module = strtok_r(NULL, " ", &save);
    if (!action || !call || !by || strcmp(by, "by") || !module)
        return -1;
    if (!strcmp(action, "explain") ? !explanation(e) : (explanation(e) || strcmp(action, e->action)))
        return 0;
    if (fnmatch(call, e->call, 0) || fnmatch(module, e->caller, 0))
        return 0;
    for (char *k = strtok_r(NULL, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
        char *v = strtok_r(NULL, " ", &save);
        if (!v)
            return -1;
        if (!strcmp(k, "with") && (!strcmp(v, "-") ? e->with[0] != '\0' : fnmatch(v, e->with, 0) != 0))
            return 0;
        if (!strcmp(k, "would") && strcmp(v, e->would))
            return 0;
        if (!strcmp(k, "result") && atol(v) != e->result)
            return 0;
        if (strcmp(k, "with") && strcmp(k, "would") && strcmp(k, "result"))
            return -1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: expect_events LOG EXPECT\n");
        return 2;
    }
    static struct ev evs[4096];
    int n = 0;
    FILE *f = fopen(argv[1], "r");
    static char line[1 << 16];
    while (f && n < 4096 && fgets(line, sizeof line, f))
        if (parse(line, &evs[n]))
            n++;
    if (f)
        fclose(f);
    /* the short form of what was logged */
    static char seen[1 << 16];
    size_t k = 0;
    for (int i = 0; i < n && k < sizeof seen - 512; i++)
        k += (size_t)snprintf(seen + k, sizeof seen - k, "%s%s %s by %s with %s%s%s", i ? " ; " : "",
                              explanation(&evs[i]) ? "explain" : evs[i].action, evs[i].call, evs[i].caller,
                              evs[i].with[0] ? evs[i].with : "-", evs[i].would[0] ? " would " : "", evs[i].would);
    printf("%s\n", n ? seen : "(nothing logged)");
    if (!strcmp(argv[2], "-"))
        return n == 0 ? 0 : 1;
    /* each expectation, in order, matches a later event than the one before */
    char want[4096], *save = NULL;
    snprintf(want, sizeof want, "%s", argv[2]);
    int at = 0;
    for (char *item = strtok_r(want, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        while (*item == ' ')
            item++;
        size_t len = strlen(item);
        while (len && item[len - 1] == ' ')
            item[--len] = '\0';
        int found = 0;
        for (; at < n && !found; at++) {
            int m = matches(item, &evs[at]);
            if (m < 0) {
                fprintf(stderr, "expect_events: cannot read expectation '%s'\n", item);
                return 2;
            }
            found = m;
        }
        if (!found) {
            printf("missing: %s\n", item);
            return 1;
        }
    }
    return 0;
}
