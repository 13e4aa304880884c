/* The library exports exactly the interposed symbols, all generated from hooks.def, and nothing of
 * its own internals (cg_*), so it cannot collide with or be interposed by the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static const char *const expected[] = {
#define CG_RT(name, params, args, kind) #name,
#define CG_DRV(name, base, since, kind, group, params, args) #name,
#include "core/hooks.def"
    "dlsym", "dlopen", "dlclose", NULL};

static void export_list_is_exactly_the_hooks(void **s)
{
    (void)s;
    FILE *p = popen("nm -D --defined-only " SHIM, "r");
    assert_non_null(p);
    char line[512], got[128][256];
    int n = 0;
    while (fgets(line, sizeof line, p)) {
        char addr[64], type[8], name[256];
        if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3)
            continue;
        assert_true(n < 128);
        snprintf(got[n++], sizeof got[0], "%s", name);
        if (strncmp(name, "cg_", 3) == 0)
            fail_msg("internal symbol exported: %s", name);
    }
    assert_int_equal(pclose(p), 0);
    int want = 0;
    for (; expected[want]; want++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(got[i], expected[want]) == 0;
        if (!found)
            fail_msg("not exported: %s", expected[want]);
    }
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int k = 0; expected[k]; k++)
            found |= strcmp(got[i], expected[k]) == 0;
        if (!found)
            fail_msg("exported but not a hook: %s", got[i]);
    }
    assert_int_equal(n, want);
}

/* Unversioned exports: a named version node would stop them binding to versioned references such as
 * cudaDeviceReset@libcudart.so.13. */
static void exports_are_unversioned(void **s)
{
    (void)s;
    FILE *p = popen("objdump -T " SHIM, "r");
    assert_non_null(p);
    char line[512];
    int checked = 0;
    while (fgets(line, sizeof line, p)) {
        if (!strstr(line, "cudaDeviceReset") && !strstr(line, "cuDevicePrimaryCtxReset"))
            continue;
        assert_non_null(strstr(line, "Base"));
        checked++;
    }
    pclose(p);
    assert_true(checked >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_list_is_exactly_the_hooks),
        cmocka_unit_test(exports_are_unversioned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
