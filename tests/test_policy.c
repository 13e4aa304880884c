/* The decision as a pure function (shim/decide/decision.c): a table of mode x situation x rule x
 * caller, each row with the action, the dry-run verdict and who decided. No process is started. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decide/policy.h"
#include "track/state.h"

#define A "/opt/host/plugins/libplugA.so"
#define B "/opt/host/plugins/libplugB.so"

enum sit { PRIMARY_ALONE, PRIMARY_SHARED, UNKNOWN_SHARED, CREATED, NONE };

struct row {
    int mode;
    enum sit sit;
    const char *rules; /* CTXGUARD_RULES syntax, NULL: none */
    int strict_deny, broken;
    const char *call, *caller;
    int action, would; /* would: 0 none, else 1 + action */
    const char *decided_by;
};

static const struct row rows[] = {
    /* presets */
    {CG_MODE_GUARD, PRIMARY_SHARED, NULL, 0, 0, "cudaDeviceReset", B, CG_BLOCK, 0, "preset guard"},
    {CG_MODE_GUARD, PRIMARY_ALONE, NULL, 0, 0, "cudaDeviceReset", B, CG_ALLOW, 0, "preset guard"},
    {CG_MODE_GUARD, UNKNOWN_SHARED, NULL, 0, 0, "cuDevicePrimaryCtxReset_v2", B, CG_BLOCK, 0, "preset guard"},
    {CG_MODE_GUARD, CREATED, NULL, 0, 0, "cuCtxDestroy_v2", B, CG_ALLOW, 0, "preset guard"},
    {CG_MODE_GUARD, NONE, NULL, 0, 0, "cudaDeviceReset", B, CG_ALLOW, 0, "preset guard"},
    {CG_MODE_ENFORCE, PRIMARY_ALONE, NULL, 0, 0, "cudaDeviceReset", B, CG_BLOCK, 0, "preset enforce"},
    {CG_MODE_ENFORCE, CREATED, NULL, 0, 0, "cuCtxDestroy_v2", B, CG_ALLOW, 0, "preset enforce"},
    {CG_MODE_OBSERVE, PRIMARY_SHARED, NULL, 0, 0, "cudaDeviceReset", B, CG_ALLOW, 1 + CG_BLOCK, "preset observe"},
    {CG_MODE_OBSERVE, PRIMARY_ALONE, NULL, 0, 0, "cudaDeviceReset", B, CG_ALLOW, 0, "preset observe"},
    /* rules: first match, by call, group, caller glob and situation */
    {CG_MODE_GUARD, PRIMARY_SHARED, "allow @reset from libplugB.so", 0, 0, "cudaDeviceReset", B, CG_ALLOW, 0, "CTXGUARD_RULES:1"},
    {CG_MODE_GUARD, PRIMARY_SHARED, "allow @reset from libplugB.so", 0, 0, "cudaDeviceReset", A, CG_BLOCK, 0, "preset guard"},
    {CG_MODE_GUARD, PRIMARY_ALONE, "deny @reset from */plugins/*", 0, 0, "cudaThreadExit", A, CG_DENY, 0, "CTXGUARD_RULES:1"},
    {CG_MODE_GUARD, PRIMARY_ALONE, "deny @destroy", 0, 0, "cudaDeviceReset", A, CG_ALLOW, 0, "preset guard"},
    {CG_MODE_GUARD, PRIMARY_ALONE, "deny @destroy", 0, 0, "cuCtxDestroy_v2", A, CG_DENY, 0, "CTXGUARD_RULES:1"},
    {CG_MODE_GUARD, PRIMARY_ALONE, "deny @destroy", 0, 0, "cuDevicePrimaryCtxRelease_v2", A, CG_DENY, 0, "CTXGUARD_RULES:1"},
    {CG_MODE_GUARD, PRIMARY_SHARED, "abort @destructive on shared; allow @all", 0, 0, "cuDevicePrimaryCtxReset", A, CG_ABORT, 0, "CTXGUARD_RULES:1"},
    {CG_MODE_GUARD, PRIMARY_ALONE, "abort @destructive on shared; block @all", 0, 0, "cuDevicePrimaryCtxReset", A, CG_BLOCK, 0, "CTXGUARD_RULES:1"},
    {CG_MODE_GUARD, CREATED, "block @reset on primary", 0, 0, "cudaDeviceReset", A, CG_ALLOW, 0, "preset guard"},
    {CG_MODE_GUARD, PRIMARY_SHARED, "block @reset on primary", 0, 0, "cudaDeviceReset", A, CG_BLOCK, 0, "CTXGUARD_RULES:1"},
    /* observe is a dry run: a rule's verdict becomes `would` */
    {CG_MODE_OBSERVE, PRIMARY_ALONE, "deny @reset from libplugB.so", 0, 0, "cudaDeviceReset", B, CG_ALLOW, 1 + CG_DENY, "CTXGUARD_RULES:1"},
    {CG_MODE_OBSERVE, PRIMARY_SHARED, "abort @reset", 0, 0, "cudaDeviceReset", B, CG_ALLOW, 1 + CG_ABORT, "CTXGUARD_RULES:1"},
    {CG_MODE_OBSERVE, PRIMARY_SHARED, "allow @reset", 0, 0, "cudaDeviceReset", B, CG_ALLOW, 0, "CTXGUARD_RULES:1"},
    /* a broken policy: the fallback names itself; strict denies, except in a dry run */
    {CG_MODE_GUARD, PRIMARY_SHARED, NULL, 0, 1, "cudaDeviceReset", B, CG_BLOCK, 0, "preset guard (policy has errors)"},
    {CG_MODE_OBSERVE, PRIMARY_SHARED, NULL, 0, 1, "cudaDeviceReset", B, CG_ALLOW, 1 + CG_BLOCK, "preset observe (policy has errors)"},
    {CG_MODE_GUARD, PRIMARY_ALONE, NULL, 1, 1, "cudaDeviceReset", B, CG_DENY, 0, "CTXGUARD_STRICT"},
    {CG_MODE_OBSERVE, PRIMARY_ALONE, NULL, 1, 1, "cudaDeviceReset", B, CG_ALLOW, 1 + CG_DENY, "CTXGUARD_STRICT"},
};

static void complain(const char *line)
{
    fail_msg("unexpected policy problem: %s", line);
}

static void event_for(struct cg_event *ev, enum sit sit, const char *call)
{
    memset(ev, 0, sizeof *ev);
    ev->call = call;
    ev->destructive = 1;
    ev->device = 0;
    ev->ctx_kind = sit == CREATED ? CG_CTX_CREATED : sit == NONE ? CG_CTX_NONE : sit == UNKNOWN_SHARED ? CG_CTX_UNKNOWN : CG_CTX_PRIMARY;
    ev->shared_count = sit == PRIMARY_SHARED || sit == UNKNOWN_SHARED ? 1 : 0;
    ev->shared_with[0] = 2;
}

static void decision_table(void **s)
{
    (void)s;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        static struct cg_ruleset rs;
        memset(&rs, 0, sizeof rs);
        if (r->rules)
            assert_int_equal(cg_rules_parse(&rs, r->rules, strlen(r->rules), "CTXGUARD_RULES", 1, complain), 0);
        struct cg_policy_view pv = {r->mode, r->strict_deny, r->broken, &rs, 0};
        struct cg_event ev;
        event_for(&ev, r->sit, r->call);
        char reason[512];
        cg_decide_with(&ev, &pv, r->caller, reason, sizeof reason);
        if (ev.action != r->action || ev.would != r->would || strcmp(ev.decided_by, r->decided_by) != 0)
            fail_msg("row %zu (%s by %s): action %d would %d decided_by %s; expected %d %d %s", i, r->call, r->caller,
                     ev.action, ev.would, ev.decided_by, r->action, r->would, r->decided_by);
        assert_non_null(ev.reason);
        assert_true(strlen(ev.reason) > 0);
    }
}

/* Ordinary calls: only rules decide; block acts as deny; observe only says what would happen. */
static void ordinary_calls(void **s)
{
    (void)s;
    static struct cg_ruleset rs;
    const char *text = "block cudaMalloc from libplugA.so; allow log cudaMemcpy";
    assert_int_equal(cg_rules_parse(&rs, text, strlen(text), "CTXGUARD_RULES", 1, complain), 0);
    struct cg_policy_view guard = {CG_MODE_GUARD, 0, 0, &rs, 0}, observe = {CG_MODE_OBSERVE, 0, 0, &rs, 0};
    struct cg_event ev;
    char reason[512];
    event_for(&ev, PRIMARY_ALONE, "cudaMalloc");
    ev.destructive = 0;
    assert_int_equal(cg_decide_plain_with(&ev, &guard, A, reason, sizeof reason), CG_DENY);
    assert_non_null(strstr(ev.reason, "block acts as deny"));
    assert_int_equal(cg_decide_plain_with(&ev, &observe, A, reason, sizeof reason), CG_ALLOW);
    assert_int_equal(ev.would, 1 + CG_DENY);
    assert_int_equal(ev.log, 1);
    assert_int_equal(cg_decide_plain_with(&ev, &guard, B, reason, sizeof reason), -1);
    event_for(&ev, PRIMARY_ALONE, "cudaMemcpy");
    assert_int_equal(cg_decide_plain_with(&ev, &guard, B, reason, sizeof reason), CG_ALLOW);
    assert_int_equal(ev.log, 1);
    /* which modules take the slow path for rules */
    assert_int_equal(cg_watched_by(&rs, A), 1);
    assert_int_equal(cg_watched_by(&rs, B), 1); /* the logged allow on cudaMemcpy names no caller */
    static struct cg_ruleset quiet;
    const char *t2 = "allow cudaMalloc; deny @reset from libplugB.so";
    assert_int_equal(cg_rules_parse(&quiet, t2, strlen(t2), "CTXGUARD_RULES", 1, complain), 0);
    assert_int_equal(cg_watched_by(&quiet, B), 0); /* a silent allow and a group change nothing */
}

/* Groups come from hooks.def: every interposed reset is @reset, every destroy @destroy. */
static void groups_from_the_table(void **s)
{
    (void)s;
    assert_int_equal(cg_hook_group("cudaDeviceReset"), CG_GROUP_RESET);
    assert_int_equal(cg_hook_group("cudaThreadExit"), CG_GROUP_RESET);
    assert_int_equal(cg_hook_group("cuDevicePrimaryCtxReset_v2"), CG_GROUP_RESET);
    assert_int_equal(cg_hook_group("cuCtxDestroy"), CG_GROUP_DESTROY);
    assert_int_equal(cg_hook_group("cuDevicePrimaryCtxRelease"), CG_GROUP_DESTROY);
    assert_int_equal(cg_hook_group("cuCtxCreate_v4"), CG_GROUP_NONE);
    assert_int_equal(cg_hook_group("cudaMalloc"), CG_GROUP_NONE);
    assert_int_equal(cg_hook_group("cuDevicePrimaryCtxResetX"), -1); /* no prefix match */
}

/* CTXGUARD_RECLAIM=1 turns guard's blocks into reclaims, and nothing else; a rule may say reclaim;
 * on an ordinary call reclaim acts as deny; observe says it would have reclaimed. */
static void reclaim_decisions(void **s)
{
    (void)s;
    static struct cg_ruleset rs, none;
    const char *text = "reclaim @reset from *plugB*";
    assert_int_equal(cg_rules_parse(&rs, text, strlen(text), "CTXGUARD_RULES", 1, complain), 0);
    struct {
        int mode, reclaim, sit;
        const struct cg_ruleset *rules;
        const char *caller;
        int action, would;
    } t[] = {
        {CG_MODE_GUARD, 1, PRIMARY_SHARED, &none, A, CG_RECLAIM, 0},
        {CG_MODE_GUARD, 1, PRIMARY_ALONE, &none, A, CG_ALLOW, 0},
        {CG_MODE_GUARD, 1, CREATED, &none, A, CG_ALLOW, 0},
        {CG_MODE_ENFORCE, 1, PRIMARY_ALONE, &none, A, CG_BLOCK, 0}, /* only guard's blocks */
        {CG_MODE_GUARD, 0, PRIMARY_SHARED, &rs, B, CG_RECLAIM, 0},
        {CG_MODE_GUARD, 0, PRIMARY_SHARED, &rs, A, CG_BLOCK, 0},
        {CG_MODE_OBSERVE, 0, PRIMARY_SHARED, &rs, B, CG_ALLOW, 1 + CG_RECLAIM},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct cg_policy_view pv = {t[i].mode, 0, 0, t[i].rules, t[i].reclaim};
        struct cg_event ev;
        event_for(&ev, t[i].sit, "cudaDeviceReset");
        char reason[512];
        cg_decide_with(&ev, &pv, t[i].caller, reason, sizeof reason);
        if (ev.action != t[i].action || ev.would != t[i].would)
            fail_msg("case %zu: action %d would %d; expected %d %d", i, ev.action, ev.would, t[i].action, t[i].would);
    }
    struct cg_policy_view guard = {CG_MODE_GUARD, 0, 0, &rs, 0};
    struct cg_event ev;
    char reason[512];
    event_for(&ev, PRIMARY_ALONE, "cudaDeviceReset");
    ev.destructive = 0;
    ev.call = "cudaDeviceReset";
    static struct cg_ruleset plain;
    const char *p = "reclaim cudaMalloc from *plugB*";
    assert_int_equal(cg_rules_parse(&plain, p, strlen(p), "CTXGUARD_RULES", 1, complain), 0);
    guard.rules = &plain;
    event_for(&ev, PRIMARY_ALONE, "cudaMalloc");
    ev.destructive = 0;
    assert_int_equal(cg_decide_plain_with(&ev, &guard, B, reason, sizeof reason), CG_DENY);
    assert_non_null(strstr(ev.reason, "reclaim acts as deny"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decision_table),
        cmocka_unit_test(ordinary_calls),
        cmocka_unit_test(groups_from_the_table),
        cmocka_unit_test(reclaim_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
