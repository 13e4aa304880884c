/* CTXGUARD_* parsing, driven directly (no process): defaults, every accepted value, strict refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"

static const char *vars[16][2];
static char complaints[8][600];
static int ncomplaints;

static const char *get(const char *name)
{
    for (int i = 0; vars[i][0]; i++)
        if (strcmp(vars[i][0], name) == 0)
            return vars[i][1];
    return NULL;
}

static void complain(const char *line)
{
    if (ncomplaints < 8)
        snprintf(complaints[ncomplaints], sizeof complaints[0], "%s", line);
    ncomplaints++;
}

static int parse(struct cg_config *c, const char *const kv[])
{
    memset(vars, 0, sizeof vars);
    ncomplaints = 0;
    for (int i = 0; kv && kv[2 * i]; i++) {
        vars[i][0] = kv[2 * i];
        vars[i][1] = kv[2 * i + 1];
    }
    return cg_config_parse(c, get, 4242, complain);
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void defaults(void **s)
{
    (void)s;
    struct cg_config c;
    assert_int_equal(parse(&c, NULL), 0);
    assert_int_equal(c.mode, CG_MODE_GUARD);
    assert_int_equal(c.level, CG_LEVEL_INFO);
    assert_int_equal(c.format, CG_FORMAT_TEXT);
    assert_int_equal(c.sink, CG_SINK_STDERR);
    assert_int_equal(ncomplaints, 0);
}

static void accepted_values(void **s)
{
    (void)s;
    struct cg_config c;
    assert_int_equal(parse(&c, KV("CTXGUARD_MODE", "observe", "CTXGUARD_LOG_LEVEL", "debug",
                                  "CTXGUARD_LOG_FORMAT", "json", "CTXGUARD_LOG", "syslog")), 0);
    assert_int_equal(c.mode, CG_MODE_OBSERVE);
    assert_int_equal(c.level, CG_LEVEL_DEBUG);
    assert_int_equal(c.format, CG_FORMAT_JSON);
    assert_int_equal(c.sink, CG_SINK_SYSLOG);
    assert_int_equal(parse(&c, KV("CTXGUARD_MODE", "enforce", "CTXGUARD_LOG_LEVEL", "quiet")), 0);
    assert_int_equal(c.mode, CG_MODE_ENFORCE);
    assert_int_equal(c.level, CG_LEVEL_QUIET);
}

static void log_path_expands_pid(void **s)
{
    (void)s;
    struct cg_config c;
    assert_int_equal(parse(&c, KV("CTXGUARD_LOG", "/var/log/cg-%p.%%.log")), 0);
    assert_int_equal(c.sink, CG_SINK_FILE);
    assert_string_equal(c.log_path, "/var/log/cg-4242.%.log");
}

static void bad_values_named_and_defaulted(void **s)
{
    (void)s;
    struct cg_config c;
    const char *bad[] = {"", "GUARD", "guard ", "gaurd", "-1", "observe\n", "\xc3\xa9nforce", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(parse(&c, KV("CTXGUARD_MODE", bad[i])), 1);
        assert_int_equal(c.mode, CG_MODE_GUARD);
        assert_int_equal(ncomplaints, 1);
        assert_non_null(strstr(complaints[0], "ctxguard: CTXGUARD_MODE=\""));
        assert_non_null(strstr(complaints[0], "expected observe, guard or enforce"));
        assert_non_null(strstr(complaints[0], "using guard"));
        assert_null(strchr(complaints[0], '\n')); /* control bytes escaped: one line */
    }
    assert_int_equal(parse(&c, KV("CTXGUARD_LOG_LEVEL", "verbose", "CTXGUARD_LOG_FORMAT", "xml")), 2);
    assert_int_equal(c.level, CG_LEVEL_INFO);
    assert_int_equal(c.format, CG_FORMAT_TEXT);
    assert_non_null(strstr(complaints[0], "CTXGUARD_LOG_LEVEL=\"verbose\""));
    assert_non_null(strstr(complaints[1], "CTXGUARD_LOG_FORMAT=\"xml\""));
}

static void nvtx_settings(void **s)
{
    (void)s;
    struct cg_config c;
    assert_int_equal(parse(&c, KV("CTXGUARD_NVTX", "1", "CTXGUARD_NVTX_LIB", "/opt/nvtx/lib%p.so")), 0);
    assert_int_equal(c.nvtx, 1);
    assert_string_equal(c.nvtx_lib, "/opt/nvtx/lib4242.so");
    const char *bad[] = {"", "yes", "2", "-1", "1 ", "\x01", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(parse(&c, KV("CTXGUARD_NVTX", bad[i])), 1);
        assert_int_equal(c.nvtx, 0);
        assert_non_null(strstr(complaints[0], "CTXGUARD_NVTX="));
        assert_non_null(strstr(complaints[0], "expected 0 or 1"));
    }
    assert_int_equal(parse(&c, KV("CTXGUARD_NVTX_LIB", "lib\nnvtx.so")), 1);
    assert_string_equal(c.nvtx_lib, "");
    assert_non_null(strstr(complaints[0], "CTXGUARD_NVTX_LIB="));
}

static void reclaim_setting(void **s)
{
    (void)s;
    struct cg_config c;
    assert_int_equal(parse(&c, KV("CTXGUARD_MODE", "guard")), 0);
    assert_int_equal(c.reclaim, 0);
    assert_int_equal(parse(&c, KV("CTXGUARD_RECLAIM", "1")), 0);
    assert_int_equal(c.reclaim, 1);
    assert_int_equal(parse(&c, KV("CTXGUARD_RECLAIM", "yes")), 1);
    assert_int_equal(c.reclaim, 0);
    assert_non_null(strstr(complaints[0], "CTXGUARD_RECLAIM=\"yes\" is not valid: expected 0 or 1"));
}

static void dump_events_range(void **s)
{
    (void)s;
    struct cg_config c;
    assert_int_equal(parse(&c, KV("CTXGUARD_DUMP", "/tmp/d")), 0);
    assert_int_equal(c.dump_events, 4096);
    assert_int_equal(parse(&c, KV("CTXGUARD_DUMP_EVENTS", "16")), 0);
    assert_int_equal(c.dump_events, 16);
    assert_int_equal(parse(&c, KV("CTXGUARD_DUMP_EVENTS", "65536")), 0);
    assert_int_equal(c.dump_events, 65536);
    const char *bad[] = {"", "15", "65537", "-16", "+100", " 100", "100 ", "1e3", "0x100", "99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(parse(&c, KV("CTXGUARD_DUMP_EVENTS", bad[i])), 1);
        assert_int_equal(c.dump_events, 4096);
        assert_non_null(strstr(complaints[0], "expected a whole number from 16 to 65536; using 4096"));
    }
}

static void bad_log_paths(void **s)
{
    (void)s;
    struct cg_config c;
    char huge[5000];
    memset(huge, 'a', sizeof huge - 1);
    huge[0] = '/';
    huge[sizeof huge - 1] = '\0';
    const char *bad[] = {"", "/tmp/a\nb", huge, NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(parse(&c, KV("CTXGUARD_LOG", bad[i])), 1);
        assert_int_equal(c.sink, CG_SINK_STDERR);
        assert_non_null(strstr(complaints[0], "CTXGUARD_LOG="));
        assert_true(strlen(complaints[0]) < 400); /* a huge value is cut in the message */
    }
}

/* Issue 16's settings: facility, log mode and exit code, strictly parsed; one complaint each. */
static void operator_settings(void **s)
{
    (void)s;
    struct cg_config c;
    assert_int_equal(parse(&c, NULL), 0);
    assert_int_equal(c.syslog_facility, 1 << 3); /* user */
    assert_int_equal(c.log_mode, 0600);
    assert_int_equal(c.exit_code, 0);
    assert_int_equal(parse(&c, KV("CTXGUARD_SYSLOG_FACILITY", "local7", "CTXGUARD_LOG_MODE", "0640", "CTXGUARD_EXIT_CODE", "255",
                                  "CTXGUARD_SYSLOG_SOCKET", "/tmp/t.sock")), 0);
    assert_int_equal(c.syslog_facility, 23 << 3);
    assert_int_equal(c.log_mode, 0640);
    assert_int_equal(c.exit_code, 255);
    assert_string_equal(c.syslog_socket, "/tmp/t.sock");
    assert_int_equal(parse(&c, KV("CTXGUARD_SYSLOG_FACILITY", "daemon", "CTXGUARD_LOG_MODE", "644", "CTXGUARD_EXIT_CODE", "1")), 0);
    assert_int_equal(c.syslog_facility, 3 << 3);
    assert_int_equal(c.log_mode, 0644);
    assert_int_equal(c.exit_code, 1);
    static const char *const bad[][2] = {
        {"CTXGUARD_SYSLOG_FACILITY", "local8"}, {"CTXGUARD_SYSLOG_FACILITY", "LOCAL0"}, {"CTXGUARD_SYSLOG_FACILITY", ""},
        {"CTXGUARD_LOG_MODE", "0800"}, {"CTXGUARD_LOG_MODE", "1777"}, {"CTXGUARD_LOG_MODE", "0o640"},
        {"CTXGUARD_LOG_MODE", " 0640"}, {"CTXGUARD_LOG_MODE", ""}, {"CTXGUARD_LOG_MODE", "0640 "},
        {"CTXGUARD_EXIT_CODE", "0"}, {"CTXGUARD_EXIT_CODE", "256"}, {"CTXGUARD_EXIT_CODE", "-1"},
        {"CTXGUARD_EXIT_CODE", "3x"}, {"CTXGUARD_EXIT_CODE", ""}, {"CTXGUARD_EXIT_CODE", "99999999999999999999"},
        {"CTXGUARD_SYSLOG_SOCKET", "relative/path"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(&c, KV(bad[i][0], bad[i][1])) != 1 || ncomplaints != 1 || !strstr(complaints[0], bad[i][0]))
            fail_msg("%s=\"%s\": %d complaints", bad[i][0], bad[i][1], ncomplaints);
        assert_int_equal(c.syslog_facility, 1 << 3); /* defaults kept */
        assert_int_equal(c.log_mode, 0600);
        assert_int_equal(c.exit_code, 0);
        assert_string_equal(c.syslog_socket, "");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(operator_settings),
        cmocka_unit_test(accepted_values),
        cmocka_unit_test(log_path_expands_pid),
        cmocka_unit_test(bad_values_named_and_defaulted),
        cmocka_unit_test(bad_log_paths),
        cmocka_unit_test(nvtx_settings),
        cmocka_unit_test(dump_events_range),
        cmocka_unit_test(reclaim_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
