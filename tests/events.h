/* Helpers of the scenario suites (cmocka): argument lists, and the one JSON event of a log line by
 * line. Static functions in a header: each suite includes it once (the harness itself links into
 * programs without cmocka). */
#ifndef CTXGUARD_TEST_EVENTS_H
#define CTXGUARD_TEST_EVENTS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define STEPS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The single JSON event line of `log` whose "call" is `call`; fails the test if not exactly one. */
static const char *event(const char *log, const char *call)
{
    static char line[16384];
    char want[128];
    snprintf(want, sizeof want, "\"call\":\"%s\"", call);
    int found = 0;
    for (const char *p = log; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        /* the exit summary's rows name calls too: they say "event":"summary" and are not events */
        if (memmem(p, n, want, strlen(want)) && !memmem(p, n, "\"event\":\"summary\"", 17) && n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            found++;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (found != 1)
        fail_msg("expected exactly one %s event, found %d in log:\n%s", call, found, log);
    return line;
}

static void expect_field(const char *line, const char *key, const char *want)
{
    char v[16384];
    if (!json_get(line, key, v, sizeof v))
        fail_msg("no %s in %s", key, line);
    if (strcmp(v, want) != 0)
        fail_msg("%s: got %s, want %s (line: %s)", key, v, want, line);
}

static void expect_field_contains(const char *line, const char *key, const char *part)
{
    char v[16384];
    if (!json_get(line, key, v, sizeof v))
        fail_msg("no %s in %s", key, line);
    if (!strstr(v, part))
        fail_msg("%s: %s does not contain %s", key, v, part);
}

#endif
