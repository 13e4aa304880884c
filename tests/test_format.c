/* Event lines: JSON stays valid JSON whatever a module path holds; text stays one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "harness.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/state.h"

struct cg_module cg_modules[CG_MAX_MODULES]; /* format.c reads paths from here */

static const struct timespec ts = {1764072003, 114123456};

static void hostile_paths_stay_valid_json(void **s)
{
    (void)s;
    const char *paths[] = {"/opt/a\"b\\c.so", "/opt/new\nline.so", "/opt/\x01\x1f\x7f.so",
                           "/opt/\xff\xfe\xc3(.so", "/opt/caf\xc3\xa9/\xe2\x82\xac.so", "/opt/\xed\xa0\x80.so", NULL};
    for (int i = 0; paths[i]; i++) {
        snprintf(cg_modules[1].path, sizeof cg_modules[1].path, "%s", paths[i]);
        snprintf(cg_modules[2].path, sizeof cg_modules[2].path, "%s", paths[i]);
        struct cg_event ev = {.api = CG_API_RUNTIME, .call = "cudaDeviceReset", .device = 0,
                              .ctx = (void *)0x1234, .ctx_kind = CG_CTX_PRIMARY, .shared_with = 1ull << 2,
                              .caller = 1, .action = CG_BLOCK, .result = 0, .destructive = 1,
                              .reason = "quote \" and newline \n inside"};
        char buf[8192];
        size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &ts, 1, 2);
        assert_int_equal(n, strlen(buf));
        if (!json_valid(buf, n))
            fail_msg("invalid JSON for path %d: %s", i, buf);
        n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_TEXT, &ts, 1, 2);
        assert_null(strchr(buf, '\n'));
    }
    char v[256];
    snprintf(cg_modules[1].path, sizeof cg_modules[1].path, "/opt/caf\xc3\xa9.so");
    struct cg_event ev = {.call = "x", .device = -1, .caller = 1};
    char buf[4096];
    cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &ts, 1, 2);
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
    for (int m = 1; m < CG_MAX_MODULES; m++) {
        memset(cg_modules[m].path, 'x', 900);
        cg_modules[m].path[0] = '/';
        cg_modules[m].path[900] = '\0';
    }
    struct cg_event ev = {.call = "cudaDeviceReset", .device = 0, .shared_with = ~1ull, .caller = 1,
                          .reason = "r"};
    for (size_t cap = 64; cap <= 8192; cap *= 2) {
        char buf[8192];
        size_t n = cg_format_event(buf, cap, &ev, CG_FORMAT_JSON, &ts, 1, 2);
        assert_true(n < cap);
        if (cap >= 2048 && !json_valid(buf, n))
            fail_msg("invalid JSON at cap %zu: %s", cap, buf);
    }
}

/* Found by fuzz_json: fields of control bytes (each escaped to six characters) filled the line and
 * the object was cut open. The writer now starts again with capped fields. */
static void oversized_fields_still_close_the_object(void **s)
{
    (void)s;
    static char ctl[1000];
    memset(ctl, 0x16, sizeof ctl - 1);
    ctl[sizeof ctl - 1] = '\0';
    for (int m = 1; m < CG_MAX_MODULES; m++)
        snprintf(cg_modules[m].path, sizeof cg_modules[m].path, "%s", ctl);
    struct cg_event ev = {.call = ctl, .device = 0, .shared_with = ~1ull, .caller = 1, .reason = ctl,
                          .decided_by = ctl, .action = CG_BLOCK};
    char buf[8192];
    size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &ts, 1, 2);
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
    snprintf(cg_modules[1].path, sizeof cg_modules[1].path, "/opt/plug.so");
    struct cg_event ev = {.api = CG_API_RUNTIME, .call = "cudaDeviceReset", .device = 0, .ctx_kind = CG_CTX_PRIMARY,
                          .caller = 1, .action = CG_RECLAIM, .destructive = 1, .reason = "r",
                          .res_report = CG_RES_RECLAIMED, .res = {3, 69206016ull, 1, 2}};
    char buf[4096], v[256];
    size_t n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &ts, 1, 2);
    assert_true(json_valid(buf, n));
    assert_true(json_get(buf, "action", v, sizeof v));
    assert_string_equal(v, "\"reclaim\"");
    assert_true(json_get(buf, "reclaimed", v, sizeof v));
    assert_string_equal(v, "{\"allocations\":3,\"bytes\":69206016,\"streams\":1,\"events\":2}");
    assert_false(json_get(buf, "left", v, sizeof v));
    cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_TEXT, &ts, 1, 2);
    assert_non_null(strstr(buf, " reclaim runtime cudaDeviceReset "));
    assert_non_null(strstr(buf, " reclaimed=\"3 allocations (69206016 bytes), 1 stream, 2 events\""));
    ev.action = CG_BLOCK;
    ev.res_report = CG_RES_LEFT;
    n = cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &ts, 1, 2);
    assert_true(json_valid(buf, n));
    assert_true(json_get(buf, "left", v, sizeof v));
    assert_false(json_get(buf, "reclaimed", v, sizeof v));
    ev.res_report = CG_RES_NONE; /* other events carry neither */
    cg_format_event(buf, sizeof buf, &ev, CG_FORMAT_JSON, &ts, 1, 2);
    assert_false(json_get(buf, "left", v, sizeof v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_paths_stay_valid_json),
        cmocka_unit_test(long_lists_are_cut_not_broken),
        cmocka_unit_test(oversized_fields_still_close_the_object),
        cmocka_unit_test(left_and_reclaimed_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
