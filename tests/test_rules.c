/* The policy grammar: valid rules, every class of error with its exact line:col, limits, first-match
 * semantics, and random inputs that must not crash the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "decide/rules.h"

static struct cg_ruleset rs;
static char msgs[16][512];
static int nmsgs;

static void complain(const char *line)
{
    if (nmsgs < 16)
        snprintf(msgs[nmsgs], sizeof msgs[0], "%s", line);
    nmsgs++;
}

static int parse(const char *text, int semis)
{
    memset(&rs, 0, sizeof rs);
    nmsgs = 0;
    return cg_rules_parse(&rs, text, strlen(text), "p.rules", semis, complain);
}

static void valid_rules(void **s)
{
    (void)s;
    assert_int_equal(parse("# policy\n\nallow @reset from /opt/host/bin/* on primary\n"
                           "block log cudaDeviceReset,cuDevicePrimaryCtxReset* from *optflow* on shared  # x\n"
                           "deny nolog @destroy on created\nabort @destructive\n", 0), 0);
    assert_int_equal(rs.n, 4);
    assert_int_equal(rs.rules[0].action, CG_RULE_ALLOW);
    assert_string_equal(rs.rules[0].from, "/opt/host/bin/*");
    assert_int_equal(rs.rules[0].situation, CG_SIT_PRIMARY);
    assert_string_equal(rs.rules[0].where, "p.rules:3");
    assert_int_equal(rs.rules[1].log, 1);
    assert_int_equal(rs.rules[1].ncalls, 2);
    assert_string_equal(rs.rules[1].calls[1], "cuDevicePrimaryCtxReset*");
    assert_int_equal(rs.rules[2].log, 0);
    assert_int_equal(rs.rules[3].situation, CG_SIT_ANY);
    assert_int_equal(parse("reclaim @reset from *optflow*", 0), 0);
    assert_int_equal(rs.rules[0].action, CG_RULE_RECLAIM);
    assert_string_equal(cg_rule_action_name(rs.rules[0].action), "reclaim");
    assert_int_equal(parse("allow @reset; deny @all from x.so", 1), 0);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.rules[1].where, "p.rules:1");
}

static void errors_name_line_and_column(void **s)
{
    (void)s;
    struct {
        const char *text, *want;
    } cases[] = {
        {"alow @reset", "p.rules:1:1: unknown action 'alow'; expected allow, block, deny, abort or reclaim"},
        {"\n  block", "p.rules:2:8: missing calls; expected"},
        {"deny @rest", "p.rules:1:6: bad call '@rest'; expected"},
        {"deny cuda-Reset", "p.rules:1:6: bad call 'cuda-Reset'"},
        {"deny @reset from", "p.rules:1:17: missing caller after 'from'"},
        {"deny @reset on sharred", "p.rules:1:16: unknown situation 'sharred'"},
        {"deny @reset frm x", "p.rules:1:13: unexpected 'frm'"},
        {"deny @reset from a from b", "p.rules:1:20: unexpected 'from'"},
        {"deny cudaMalloc,cudaFree,cudaMemcpy,cudaMemset,cudaSetDevice,cudaGetDevice,cudaDeviceReset,"
         "cudaThreadExit,cudaEventCreate", "p.rules:1:107: too many calls in one rule 'cudaEventCreate'"},
        /* rules the library would never apply: a call it passes through unjudged, a misspelling, a
         * glob that matches nothing judged */
        {"deny cuCtxCreate", "p.rules:1:6: call ctxguard never judges 'cuCtxCreate'; expected a call it decides"},
        {"block @reset,cuCtxSetCurrent from x", "p.rules:1:14: call ctxguard never judges 'cuCtxSetCurrent'"},
        {"deny cudaGetDriverEntryPoint", "p.rules:1:6: call ctxguard never judges 'cudaGetDriverEntryPoint'"},
        {"deny cuCtxCreate*", "p.rules:1:6: call ctxguard never judges 'cuCtxCreate*'"},
        {"deny cudaDeviceRest", "p.rules:1:6: unknown call 'cudaDeviceRest'; expected 'cudaDeviceReset' or a call"},
        {"allow cuMemAlloc", "p.rules:1:7: unknown call 'cuMemAlloc'; expected a call ctxguard judges"},
        {"deny cudaGraph*", "p.rules:1:6: pattern matches no judged call 'cudaGraph*'"},
        {"deny @reset on \x01", "p.rules:1:16: unknown situation '\\x01'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(cases[i].text, 0), 1);
        assert_int_equal(rs.n, 0);
        if (strncmp(msgs[0], cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, msgs[0], cases[i].want);
    }
    /* several problems: each reported, good rules kept */
    assert_int_equal(parse("allow @reset\nbogus\ndeny @all on nowhere\n", 0), 2);
    assert_int_equal(rs.n, 1);
    assert_non_null(strstr(msgs[0], "p.rules:2:1:"));
    assert_non_null(strstr(msgs[1], "p.rules:3:14:"));
}

/* What the library judges: every runtime call but the entry-point lookups; of the driver calls, the
 * ones that can end a context. @all matches each of them; the list is what check --list-calls shows. */
static void judged_calls(void **s)
{
    (void)s;
    assert_true(cg_rules_judged("cudaDeviceReset"));
    assert_true(cg_rules_judged("cudaMalloc"));
    assert_true(cg_rules_judged("cuDevicePrimaryCtxReset_v2"));
    assert_true(cg_rules_judged("cuDevicePrimaryCtxRelease"));
    assert_true(cg_rules_judged("cuCtxDestroy_v2"));
    assert_false(cg_rules_judged("cuCtxCreate_v2"));
    assert_false(cg_rules_judged("cuDevicePrimaryCtxRetain"));
    assert_false(cg_rules_judged("cudaGetDriverEntryPoint"));
    assert_false(cg_rules_judged("cuGetProcAddress_v2"));
    assert_false(cg_rules_judged("cudaDeviceRest"));
    assert_int_equal(parse("deny @all", 0), 0);
    int n = 0;
    for (const char *c; (c = cg_rules_judged_name(n)) != NULL; n++) {
        assert_true(cg_rules_judged(c));
        assert_non_null(cg_rules_match(&rs, c, "/x/liba.so", CG_SIT_SHARED));
        char one[80];
        snprintf(one, sizeof one, "deny %s", c); /* each judged call is a valid rule on its own */
        assert_int_equal(parse(one, 0), 0);
        parse("deny @all", 0);
    }
    assert_true(n >= 20);
}

static void limits(void **s)
{
    (void)s;
    char line[CG_RULE_LINE_MAX + 100];
    memset(line, ' ', sizeof line - 1);
    memcpy(line, "deny @reset", 11);
    line[sizeof line - 1] = '\0';
    assert_int_equal(parse(line, 0), 1);
    assert_non_null(strstr(msgs[0], "line too long"));
    static char many[CG_MAX_RULES * 16 + 64];
    many[0] = '\0';
    for (int i = 0; i <= CG_MAX_RULES; i++)
        strcat(many, "deny @reset\n");
    assert_int_equal(parse(many, 0), 1);
    assert_int_equal(rs.n, CG_MAX_RULES);
    assert_non_null(strstr(msgs[0], "too many rules"));
    const char nul[] = "deny @reset\nallow\0x\n";
    memset(&rs, 0, sizeof rs);
    nmsgs = 0;
    assert_int_equal(cg_rules_parse(&rs, nul, sizeof nul - 1, "p.rules", 0, complain), 1);
    assert_non_null(strstr(msgs[0], "p.rules:2:6: NUL byte"));
}

static void files(void **s)
{
    (void)s;
    memset(&rs, 0, sizeof rs);
    nmsgs = 0;
    assert_int_equal(cg_rules_load_file(&rs, "/nonexistent/x.rules", complain), 1);
    assert_non_null(strstr(msgs[0], "/nonexistent/x.rules: cannot read policy: No such file"));
    nmsgs = 0;
    assert_int_equal(cg_rules_load_file(&rs, "/tmp", complain), 1);
    assert_non_null(strstr(msgs[0], "not a regular file"));
    char path[] = "/tmp/ctxguard-rules-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "allow @reset\n", 13), 13);
    close(fd);
    nmsgs = 0;
    assert_int_equal(cg_rules_load_file(&rs, path, complain), 0);
    assert_int_equal(rs.n, 1);
    unlink(path);
}

static void first_match_semantics(void **s)
{
    (void)s;
    assert_int_equal(parse("allow @reset from libhost.so on primary\n"
                           "deny cuDevicePrimaryCtxReset* from /opt/plugins/*\n"
                           "block @destructive on shared\n", 0), 0);
    const struct cg_rule *r;
    r = cg_rules_match(&rs, "cudaDeviceReset", "/usr/lib/libhost.so", CG_SIT_PRIMARY);
    assert_non_null(r);
    assert_int_equal(r->action, CG_RULE_ALLOW);
    /* "primary" also covers a shared primary */
    r = cg_rules_match(&rs, "cudaDeviceReset", "/usr/lib/libhost.so", CG_SIT_SHARED);
    assert_int_equal(r->action, CG_RULE_ALLOW);
    r = cg_rules_match(&rs, "cuDevicePrimaryCtxReset_v2", "/opt/plugins/libb.so", CG_SIT_SHARED);
    assert_int_equal(r->action, CG_RULE_DENY);
    r = cg_rules_match(&rs, "cuDevicePrimaryCtxReset_v2", "/srv/libb.so", CG_SIT_SHARED);
    assert_int_equal(r->action, CG_RULE_BLOCK);
    assert_null(cg_rules_match(&rs, "cuDevicePrimaryCtxReset_v2", "/srv/libb.so", CG_SIT_PRIMARY));
    r = cg_rules_match(&rs, "cuCtxDestroy_v2", "/srv/libb.so", CG_SIT_SHARED);
    assert_int_equal(r->action, CG_RULE_BLOCK); /* @destructive includes destroys */
    assert_null(cg_rules_match(&rs, "cudaSetDevice", "/srv/libb.so", CG_SIT_SHARED));
}

/* Random bytes and random token soup: the parser must terminate without crashing. */
static void random_inputs_do_not_crash(void **s)
{
    (void)s;
    static const char *const words[] = {"allow", "block", "deny", "abort", "log", "nolog", "@reset", "@all",
                                        "from", "on", "shared", "x*", ",", ";", "#", "\n", " ", "\t", "\xff", "cu[A"};
    srand(12345);
    char buf[2048];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        if (iter % 2) {
            n = (size_t)(rand() % (int)sizeof buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)(rand() & 0xff);
        } else {
            while (n < sizeof buf - 16) {
                const char *w = words[rand() % (int)(sizeof words / sizeof words[0])];
                size_t k = strlen(w);
                memcpy(buf + n, w, k);
                n += k;
                if (rand() % 8 == 0)
                    break;
            }
        }
        memset(&rs, 0, sizeof rs);
        nmsgs = 0;
        cg_rules_parse(&rs, buf, n, "fuzz", iter % 3 == 0, complain);
        assert_true(rs.n >= 0 && rs.n <= CG_MAX_RULES);
        for (int i = 0; i < rs.n; i++)
            cg_rules_match(&rs, "cudaDeviceReset", "/a/b.so", CG_SIT_SHARED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_rules),          cmocka_unit_test(errors_name_line_and_column),
        cmocka_unit_test(limits),               cmocka_unit_test(files),
        cmocka_unit_test(first_match_semantics), cmocka_unit_test(random_inputs_do_not_crash),
        cmocka_unit_test(judged_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
