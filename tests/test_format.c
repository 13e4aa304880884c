/* Event lines: JSON stays valid JSON whatever a module path holds; text stays one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/stamp.h"
#include "harness.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/state.h"

/* format.c reads module paths through cg_module_path (track/modules.c in the library) */
#define NPATHS (CG_SHARED_LIST + 2)
static char paths[NPATHS][CG_PATH_MAX];
const char *cg_module_path(int m)
{
    return m > 0 && m < NPATHS ? paths[m] : "(unknown)";
}

/* an event whose shared_with lists modules 1..n (n <= CG_SHARED_LIST) of `count` */
static void share(struct cg_event *ev, int n, int count)
{
    for (int i = 0; i < n; i++)
        ev->shared_with[i] = i + 1;
    ev->shared_count = count;
}

static const struct timespec ts = {1764072003, 114123456};
static const struct cg_head H = {&ts, NULL, -1, 1, 7, "2025-11-25T12:00:00.000001Z", "/usr/bin/my host", "0.2.0"};

static void hostile_paths_stay_valid_json(void **s)
{
    (void)s;
    const char *hostile[] = {"/opt/a\"b\\c.so", "/opt/new\nline.so", "/opt/\x01\x1f\x7f.so",
                           "/opt/\xff\xfe\xc3(.so", "/opt/caf\xc3\xa9/\xe2\x82\xac.so", "/opt/\xed\xa0\x80.so", NULL};
    for (int i = 0; hostile[i]; i++) {
        snprintf(paths[1], sizeof paths[1], "%s", hostile[i]);
        snprintf(paths[2], sizeof paths[2], "%s", hostile[i]);
        struct cg_event ev = {.api = CG_API_RUNTIME, .call = "cudaDeviceReset", .device = 0,
                              .ctx = (void *)0x1234, .ctx_kind = CG_CTX_PRIMARY, .shared_count = 1, .shared_with = {2},
                              .caller = 1, .action = CG_BLOCK, .result = 0, .destructive = 1,
                              .reason = "quote \" and newline \n inside"};
        char buf[8192];
        size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
        assert_int_equal(n, strlen(buf));
        if (!json_valid(buf, n))
            fail_msg("invalid JSON for path %d: %s", i, buf);
        n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_TEXT, &H, 2);
        assert_null(strchr(buf, '\n'));
    }
    char v[256];
    snprintf(paths[1], sizeof paths[1], "/opt/caf\xc3\xa9.so");
    struct cg_event ev = {.call = "x", .device = -1, .caller = 1};
    char buf[4096];
    cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_true(json_get(buf, "caller", v, sizeof v));
    assert_string_equal(v, "\"/opt/caf\xc3\xa9.so\""); /* valid UTF-8 kept as is */
    assert_true(json_get(buf, "device", v, sizeof v));
    assert_string_equal(v, "null");
    assert_true(json_get(buf, "ts", v, sizeof v));
    assert_string_equal(v, "\"2025-11-25T12:00:03.114123Z\"");
}

/* Sixty long module paths in shared_with: the line is cut, never made invalid. */
static void long_lists_are_cut_not_broken(void **s)
{
    (void)s;
    for (int m = 1; m < NPATHS; m++) {
        memset(paths[m], 'x', 900);
        paths[m][0] = '/';
        paths[m][900] = '\0';
    }
    struct cg_event ev = {.call = "cudaDeviceReset", .device = 0, .caller = 1, .reason = "r"};
    share(&ev, CG_SHARED_LIST, CG_SHARED_LIST);
    for (size_t cap = 64; cap <= 8192; cap *= 2) {
        char buf[8192];
        size_t n = cg_format_event(buf, cap, &ev, CG_FORMAT_JSON, &H, 2);
        assert_true(n < cap);
        if (cap >= 2048 && !json_valid(buf, n))
            fail_msg("invalid JSON at cap %zu: %s", cap, buf);
        /* cut: the line says how many there were */
        char v[64];
        if (cap >= 2048 && (!json_get(buf, "shared_with_count", v, sizeof v) || strcmp(v, "64") != 0))
            fail_msg("no shared_with_count 64 at cap %zu: %s", cap, buf);
    }
}

/* A list cut for length says how many modules there were; a whole list does not. */
static void cut_list_says_how_many(void **s)
{
    (void)s;
    for (int m = 1; m < NPATHS; m++)
        snprintf(paths[m], sizeof paths[m], "/plugins/libp%03d.so", m);
    struct cg_event ev = {.call = "cudaDeviceReset", .device = 0, .caller = 1, .reason = "r"};
    char buf[8192], v[8192];
    share(&ev, 3, 3);
    size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_true(json_valid(buf, n));
    assert_false(json_get(buf, "shared_with_count", v, sizeof v));
    assert_true(json_get(buf, "shared_with", v, sizeof v));
    assert_string_equal(v, "[\"/plugins/libp001.so\",\"/plugins/libp002.so\",\"/plugins/libp003.so\"]");
    share(&ev, CG_SHARED_LIST, 10000); /* ten thousand users, the first 64 listed */
    n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_true(json_valid(buf, n));
    assert_true(json_get(buf, "shared_with_count", v, sizeof v));
    assert_string_equal(v, "10000");
    assert_non_null(strstr(buf, "/plugins/libp064.so\"]"));
    n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_TEXT, &H, 2);
    assert_non_null(strstr(buf, "\" shared_with_count=10000"));
}

/* Found by fuzz_json: fields of control bytes (each escaped to six characters) filled the line and
 * the object was cut open. The writer now starts again with capped fields. */
static void oversized_fields_still_close_the_object(void **s)
{
    (void)s;
    static char ctl[1000];
    memset(ctl, 0x16, sizeof ctl - 1);
    ctl[sizeof ctl - 1] = '\0';
    for (int m = 1; m < NPATHS; m++)
        snprintf(paths[m], sizeof paths[m], "%s", ctl);
    struct cg_event ev = {.call = ctl, .device = 0, .caller = 1, .reason = ctl, .decided_by = ctl, .action = CG_BLOCK};
    share(&ev, CG_SHARED_LIST, 100);
    char buf[8192];
    size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    if (!json_valid(buf, n))
        fail_msg("invalid JSON: %.300s...", buf);
    char v[64];
    assert_true(json_get(buf, "action", v, sizeof v));
    assert_string_equal(v, "\"block\""); /* the facts that matter survive the cut */
}

/* A blocked reset says what it left, a reclaim what it freed: an object of four counts, in JSON and
 * in words. */
static void left_and_reclaimed_counts(void **s)
{
    (void)s;
    snprintf(paths[1], sizeof paths[1], "/opt/plug.so");
    struct cg_event ev = {.api = CG_API_RUNTIME, .call = "cudaDeviceReset", .device = 0, .ctx_kind = CG_CTX_PRIMARY,
                          .caller = 1, .action = CG_RECLAIM, .destructive = 1, .reason = "r",
                          .res_report = CG_RES_RECLAIMED, .res = {3, 69206016ull, 1, 2}};
    char buf[4096], v[256];
    size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_true(json_valid(buf, n));
    assert_true(json_get(buf, "action", v, sizeof v));
    assert_string_equal(v, "\"reclaim\"");
    assert_true(json_get(buf, "reclaimed", v, sizeof v));
    assert_string_equal(v, "{\"allocations\":3,\"bytes\":69206016,\"streams\":1,\"events\":2}");
    assert_false(json_get(buf, "left", v, sizeof v));
    cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_TEXT, &H, 2);
    assert_non_null(strstr(buf, " reclaim runtime cudaDeviceReset "));
    assert_non_null(strstr(buf, " reclaimed=\"3 allocations (69206016 bytes), 1 stream, 2 events\""));
    ev.action = CG_BLOCK;
    ev.res_report = CG_RES_LEFT;
    n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_true(json_valid(buf, n));
    assert_true(json_get(buf, "left", v, sizeof v));
    assert_false(json_get(buf, "reclaimed", v, sizeof v));
    ev.res_report = CG_RES_NONE; /* other events carry neither */
    cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_false(json_get(buf, "left", v, sizeof v));
}

/* Issue 16: every line says what it is and where it comes from, in JSON and as key=value text. */
static void lines_describe_themselves(void **s)
{
    (void)s;
    snprintf(paths[1], sizeof paths[1], "/opt/my plugins/libA.so");
    struct cg_event ev = {.call = "cudaDeviceReset", .device = 0, .caller = 1, .action = CG_BLOCK, .destructive = 1,
                          .decided_by = "preset guard", .reason = "a \"quoted\" reason"};
    char buf[8192], v[256];
    static const char *const keys[] = {"ts", "event", "level", "pid", "seq", "start", "exe", "version", NULL};
    size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_true(json_valid(buf, n));
    for (int k = 0; keys[k]; k++)
        if (!json_get(buf, keys[k], v, sizeof v))
            fail_msg("no \"%s\" in %s", keys[k], buf);
    assert_true(json_get(buf, "event", v, sizeof v));
    assert_string_equal(v, "\"decision\"");
    assert_true(json_get(buf, "level", v, sizeof v));
    assert_string_equal(v, "\"warning\"");
    assert_true(json_get(buf, "seq", v, sizeof v));
    assert_string_equal(v, "7");
    /* text: key=value, values with spaces quoted */
    n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_TEXT, &H, 2);
    assert_non_null(strstr(buf, " event=decision level=warning pid=1 seq=7 start=2025-11-25T12:00:00.000001Z "
                                "exe=\"/usr/bin/my host\" version=0.2.0 tid=2 block "));
    assert_non_null(strstr(buf, " caller=\"/opt/my plugins/libA.so\" "));
    assert_non_null(strstr(buf, " decided_by=\"preset guard\" "));
    assert_non_null(strstr(buf, " reason=\"a \\\"quoted\\\" reason\""));
    /* an attribution explains a failure: its own event, level notice */
    ev.action = CG_ALLOW;
    ev.decided_by = "attribution";
    n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &H, 2);
    assert_true(json_get(buf, "event", v, sizeof v));
    assert_string_equal(v, "\"attribution\"");
    assert_true(json_get(buf, "level", v, sizeof v));
    assert_string_equal(v, "\"notice\"");
    /* structured summary rows */
    const char *users[] = {"libA.so", "lib\"B\".so"};
    struct cg_field f[] = {{.key = "device", .kind = CG_FIELD_NUM, .n = 0},
                           {.key = "users", .kind = CG_FIELD_LIST, .n = 2, .list = users}};
    struct cg_head h = H;
    h.event = "summary";
    h.sev = 6;
    n = cg_format_fields(buf, sizeof buf, &h, f, 2, CG_FORMAT_JSON);
    assert_true(json_valid(buf, n));
    assert_true(json_get(buf, "users", v, sizeof v));
    assert_string_equal(v, "[\"libA.so\",\"lib\\\"B\\\".so\"]");
    assert_true(json_get(buf, "level", v, sizeof v));
    assert_string_equal(v, "\"info\"");
}

/* A flight-recorder slot holds 1023 bytes: a long event still fits there as one valid object. */
static void recorder_sized_lines_stay_valid(void **s)
{
    (void)s;
    for (int m = 1; m < NPATHS; m++) {
        memset(paths[m], 'p', 700);
        paths[m][0] = '/';
        paths[m][700] = '\0';
    }
    static char reason[600], where[300];
    memset(reason, 'r', sizeof reason - 1);
    memset(where, 'w', sizeof where - 1);
    struct cg_event ev = {.call = "cudaDeviceReset", .device = 0, .caller = 1, .action = CG_DENY,
                          .decided_by = where, .reason = reason};
    share(&ev, CG_SHARED_LIST, CG_SHARED_LIST);
    struct cg_head h = H;
    char exe[400];
    memset(exe, 'e', sizeof exe - 1);
    exe[sizeof exe - 1] = '\0';
    h.exe = exe;
    char buf[1023];
    size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &h, 2);
    if (!json_valid(buf, n))
        fail_msg("invalid JSON in %zu bytes: %s", n, buf);
    char v[64];
    assert_true(json_get(buf, "seq", v, sizeof v));
    assert_string_equal(v, "7");
}

/* The clock text every line carries, without gmtime_r (core/stamp.c). */
static void utc_text_matches_gmtime(void **s)
{
    (void)s;
    for (long t = 0; t < 4102444800L; t += 86399L * 37 + 13) {
        struct timespec x = {t, 123456789};
        char mine[40], ref[64];
        cg_utc_text(&x, mine, sizeof mine);
        struct tm tm;
        time_t tt = t;
        gmtime_r(&tt, &tm);
        strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%S.123456Z", &tm);
        assert_string_equal(mine, ref);
    }
}

/* A diagnostic formatted into a small buffer, from a program whose path is all control bytes (each
 * escapes to six): the capped pass narrows the path too, and the line stays one JSON object (the
 * path's 300-byte allowance once pushed the rest past a 256-byte buffer: found by fuzz_json). */
static void small_note_with_hostile_exe(void **s)
{
    (void)s;
    static char exe[400];
    memset(exe, 0x1c, sizeof exe - 1);
    struct cg_head h = H;
    h.exe = exe;
    h.event = "message";
    char buf[256];
    size_t n = cg_format_note(buf, sizeof buf, &h, "\x1c\x1c\x1c hello", CG_FORMAT_JSON);
    assert_true(n < sizeof buf);
    if (!json_valid(buf, n))
        fail_msg("invalid JSON: %s", buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_paths_stay_valid_json),
        cmocka_unit_test(long_lists_are_cut_not_broken),
        cmocka_unit_test(cut_list_says_how_many),
        cmocka_unit_test(oversized_fields_still_close_the_object),
        cmocka_unit_test(left_and_reclaimed_counts),
        cmocka_unit_test(small_note_with_hostile_exe),
        cmocka_unit_test(lines_describe_themselves),
        cmocka_unit_test(recorder_sized_lines_stay_valid),
        cmocka_unit_test(utc_text_matches_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
