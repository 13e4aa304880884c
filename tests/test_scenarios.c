/* The plugin-host scenarios on the fake CUDA libraries: what breaks without ctxguard, and what each
 * mode does about it. Each test runs real processes with LD_PRELOAD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../include/ctxguard.h"
#include "harness.h"
#include "events.h"

static struct run R, R2;


/* Runs the steps bare (another module's data must be lost: status 1) and under ctxguard (kept:
 * status 0), and returns the one `call` event of the guarded run, which must be a block. */
static const char *bare_loses_guard_blocks(const char *const steps[], const char *call)
{
    run_prog(&R, 0, 0, NULL, steps);
    assert_int_equal(R.status, 1);
    run_prog(&R, 1, 1, NULL, steps);
    assert_int_equal(R.status, 0);
    const char *ev = event(R.log, call);
    expect_field(ev, "action", "\"block\"");
    return ev;
}

/* ---- the failure ctxguard exists for ---- */

static void bare_reset_breaks_other_plugin(void **s)
{
    (void)s;
    run_prog(&R, 0, 0, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 1);
    assert_non_null(strstr(R.out, "libplugA.so:check -> 1 cudaErrorInvalidValue"));
}

static void guard_blocks_shared_reset(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "libplugB.so:reset -> 0 cudaSuccess"));
    assert_non_null(strstr(R.out, "libplugA.so:check -> 0 cudaSuccess"));
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"block\"");
    expect_field(ev, "api", "\"runtime\"");
    expect_field(ev, "ctx_kind", "\"primary\"");
    expect_field(ev, "device", "0");
    expect_field(ev, "result", "0");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugB.so\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugA.so\"]");
    /* judged once: the driver reset underneath never ran, so no driver event either */
    assert_null(strstr(R.log, "cuDevicePrimaryCtxReset"));
    /* the runtime's own release at exit (as on the H100) is teardown: not blocked, not at info */
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"action\":\"block\"", NULL}), 1);
    assert_null(strstr(R.log, "cuDevicePrimaryCtxRelease"));
}

/* The real runtime releases the primary context from an exit handler; the fake does the same. With
 * no module on the stack that is teardown: allowed even though A shared the context. */
static void runtime_teardown_release_allowed(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_LOG_LEVEL=debug"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    const char *ev = event(R.log, "cuDevicePrimaryCtxRelease");
    expect_field(ev, "action", "\"allow\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/fake/libcudart.so.13\"");
    expect_field_contains(ev, "reason", "no module on the stack");
}

/* A reset nobody else is affected by stays allowed in guard mode. */
static void guard_allows_unshared_reset(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("B") ":setup", PLUG("B") ":reset", PLUG("B") ":check"));
    assert_int_equal(R.status, 1); /* B reset its own data: the reset really happened */
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"allow\"");
    expect_field(ev, "shared_with", "[]");
}

/* ---- static runtime: the driver door ---- */

static void static_runtime_reset_blocked_at_driver(void **s)
{
    (void)s;
    run_prog(&R, 0, 0, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("S1") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 1);
    assert_non_null(strstr(R.out, "libplugA.so:check -> 1 cudaErrorInvalidValue"));

    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("S1") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    const char *ev = event(R.log, "cuDevicePrimaryCtxReset");
    expect_field(ev, "api", "\"driver\"");
    expect_field(ev, "action", "\"block\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugS1.so\"");
    expect_field_contains(ev, "shared_with", "libplugA.so");
}

static void mixed_static_user_shared_resetter(void **s)
{
    (void)s;
    const char *ev = bare_loses_guard_blocks(STEPS(HOST, PLUG("S1") ":setup", PLUG("B") ":reset", PLUG("S1") ":check"),
                                             "cudaDeviceReset");
    expect_field_contains(ev, "shared_with", "libplugS1.so");
}

static void two_static_runtimes(void **s)
{
    (void)s;
    const char *ev = bare_loses_guard_blocks(STEPS(HOST, PLUG("S1") ":setup", PLUG("S2") ":reset", PLUG("S1") ":check"),
                                             "cuDevicePrimaryCtxReset");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugS2.so\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugS1.so\"]");
}

/* ---- RTLD_LOCAL: the host links no runtime; each call must reach the plugin's own ---- */

static void rtld_local_calls_reach_plugin_runtime(void **s)
{
    (void)s;
    /* observe: ctxguard forwards everything; if forwarding failed, setup would return 302 */
    run_prog(&R, 1, 0, ENV("CTXGUARD_MODE=observe", "CTXGUARD_LOG_LEVEL=debug"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "libplugA.so:setup -> 0 cudaSuccess"));
    assert_null(strstr(R.err, "cannot find the real"));
    /* and every runtime call was seen (debug logs each): malloc, memcpy, launch, synchronize */
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"runtime cudaMalloc", "libplugA.so", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"runtime cudaLaunchKernel", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"runtime cudaMemcpy ", NULL}), 2);
}

/* ---- a module with its own context ---- */

static void created_context_reset_allowed(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":ctxreset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "libplugB.so:ctxreset -> 0 cudaSuccess"));
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"allow\"");
    expect_field(ev, "ctx_kind", "\"created\"");
    expect_field(ev, "shared_with", "[]");
    ev = event(R.log, "cuCtxDestroy_v2");
    expect_field(ev, "ctx_kind", "\"created\"");
    expect_field(ev, "action", "\"allow\"");
    assert_null(strstr(R.log, "\"block\""));
}

/* ---- other doors ---- */

static void driver_entry_point_reset_blocked(void **s)
{
    (void)s;
    /* asked with version 12000: the _v2 variant, named as called */
    const char *ev = bare_loses_guard_blocks(STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":drvreset", PLUG("A") ":check"),
                                             "cuDevicePrimaryCtxReset_v2");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugB.so\"");
}

static void dlsym_runtime_reset_blocked(void **s)
{
    (void)s;
    const char *ev = bare_loses_guard_blocks(STEPS(HOST, PLUG("A") ":setup", PLUG("C") ":dlsymreset", PLUG("A") ":check"),
                                             "cudaDeviceReset");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugC.so\"");
}

static void thread_exit_is_a_reset(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":threadexit", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    expect_field(event(R.log, "cudaThreadExit"), "action", "\"block\"");
}

/* RTLD_DEEPBIND bypasses any preload: ctxguard cannot guard such a plugin, so it says so by name. */
static void deepbind_reported_as_bypass(void **s)
{
    (void)s;
    if (getenv("CTXGUARD_TEST_PRELOAD_FIRST"))
        skip(); /* the sanitizer runtimes refuse RTLD_DEEPBIND themselves ("incompatible with sanitizer runtime") */
    run_prog(&R, 1, 1, ENV("PLUGIN_HOST_DEEPBIND=1"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 1);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"dlopen(RTLD_DEEPBIND)\"",
                                                                   "libplugB.so is loaded with RTLD_DEEPBIND", NULL}), 1);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"dlopen(RTLD_DEEPBIND)\"",
                                                                   "libplugA.so is loaded with RTLD_DEEPBIND", NULL}), 1);
}

/* Eight threads each hold data; one thread's plugin resets: blocked once, every thread intact. */
static void threads_one_resets(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/mt_host", PLUG("A"), PLUG("B"), "8", NULL};
    run_prog(&R, 0, 0, NULL, argv);
    assert_int_equal(R.status, 1);
    run_prog(&R, 1, 1, NULL, argv);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"A:check -> 0", NULL}), 8);
    expect_field(event(R.log, "cudaDeviceReset"), "action", "\"block\"");
}

/* ---- two devices (issue 8 on the fakes; FAKE_CUDA_DEVICES=2) ---- */

/* A works on device 0; B resets device 1, where nobody else works: allowed. Then B resets device 0:
 * blocked, A intact. Each decision names only the users of that device. */
static void two_devices_reset_judged_per_device(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("FAKE_CUDA_DEVICES=2"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":setup1", PLUG("B") ":reset1", PLUG("B") ":reset0",
                   PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "libplugB.so:reset1 -> 0"));
    int allowed = 0, blocked = 0;
    for (char *line = strtok(R.log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, "\"call\":\"cudaDeviceReset\"") || strstr(line, "\"event\":\"summary\""))
            continue;
        char dev[16], act[32], shared[4096];
        assert_true(json_get(line, "device", dev, sizeof dev));
        assert_true(json_get(line, "action", act, sizeof act));
        assert_true(json_get(line, "shared_with", shared, sizeof shared));
        if (strcmp(dev, "1") == 0) {
            assert_string_equal(act, "\"allow\"");
            assert_string_equal(shared, "[]");
            allowed++;
        } else {
            assert_string_equal(dev, "0");
            assert_string_equal(act, "\"block\"");
            assert_string_equal(shared, "[\"" BUILD_DIR "/plugins/libplugA.so\"]");
            blocked++;
        }
    }
    assert_int_equal(allowed, 1);
    assert_int_equal(blocked, 1);
}

/* A on device 0 and C on device 1; B resets device 1: blocked, and only C is named. */
static void two_devices_only_that_devices_users_named(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("FAKE_CUDA_DEVICES=2"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("C") ":setup1", PLUG("B") ":reset1", PLUG("A") ":check",
                   PLUG("C") ":check"));
    assert_int_equal(R.status, 0);
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "device", "1");
    expect_field(ev, "action", "\"block\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugC.so\"]");
    /* bare: C's data on device 1 is lost, A's on device 0 survives */
    run_prog(&R, 0, 0, ENV("FAKE_CUDA_DEVICES=2"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("C") ":setup1", PLUG("B") ":reset1", PLUG("A") ":check",
                   PLUG("C") ":check"));
    assert_non_null(strstr(R.out, "libplugA.so:check -> 0"));
    assert_non_null(strstr(R.out, "libplugC.so:check -> 1 cudaErrorInvalidValue"));
}

/* ---- modes ---- */

/* observe must not change a single return value: the host prints every step's result. */
static void observe_changes_no_return_value(void **s)
{
    (void)s;
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":setup", PLUG("A") ":sync",
                                 PLUG("B") ":ctxreset", PLUG("S1") ":setup", PLUG("B") ":drvreset",
                                 PLUG("A") ":check", PLUG("A") ":setup", PLUG("S1") ":reset",
                                 PLUG("S1") ":check", PLUG("B") ":reset", PLUG("B") ":check",
                                 PLUG("C") ":dlsymreset", PLUG("A") ":threadexit", PLUG("A") ":check", NULL};
    run_prog(&R, 0, 0, NULL, steps);
    run_prog(&R2, 1, 1, ENV("CTXGUARD_MODE=observe"), steps);
    assert_string_equal(R.out, R2.out);
    assert_int_equal(R.status, R2.status);
    assert_int_equal(R.status, 1);        /* the bare run did lose data */
    assert_null(strstr(R2.log, "\"action\":\"block\""));
    assert_non_null(strstr(R2.log, "\"action\":\"allow\""));
    /* the dry run says what guard would have done with the shared resets (B's, and C's through dlsym) */
    assert_int_equal(count_lines_with(R2.log, (const char *const[]){"\"call\":\"cudaDeviceReset\"", "\"would\":\"block\"", NULL}), 2);
}

/* Observe is a dry run of a policy: the rules are evaluated, what they would have done is logged, and
 * every call passes through (a deny rule once returned 800 under observe). */
static void observe_is_a_dry_run_of_rules(void **s)
{
    (void)s;
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL};
    run_prog(&R, 0, 0, NULL, steps);
    run_prog(&R2, 1, 1, ENV("CTXGUARD_MODE=observe", "CTXGUARD_RULES=deny @reset from libplugB.so; deny cudaMalloc from libplugA.so"), steps);
    assert_string_equal(R.out, R2.out); /* every return value as bare, 0 for the reset, not 800 */
    assert_int_equal(R.status, R2.status);
    const char *ev = event(R2.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"allow\"");
    expect_field(ev, "would", "\"deny\"");
    expect_field(ev, "result", "0");
    expect_field(ev, "decided_by", "\"CTXGUARD_RULES:1\"");
    ev = event(R2.log, "cudaMalloc");
    expect_field(ev, "action", "\"allow\"");
    expect_field(ev, "would", "\"deny\"");
    expect_field(ev, "result", "0");
    /* the text log says it too */
    run_prog(&R2, 1, 0, ENV("CTXGUARD_MODE=observe", "CTXGUARD_RULES=deny @reset from libplugB.so"), steps);
    assert_int_equal(count_lines_with(R2.err, (const char *const[]){"allow runtime cudaDeviceReset", " would=deny ", NULL}), 1);
}

static void enforce_blocks_even_unshared(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, NULL, STEPS(CUDA_HOST, "self:setup", "self:reset", "self:check"));
    assert_int_equal(R.status, 1); /* guard: the host is the only user; its reset is allowed */
    expect_field(event(R.log, "cudaDeviceReset"), "action", "\"allow\"");
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=enforce"), STEPS(CUDA_HOST, "self:setup", "self:reset", "self:check"));
    assert_int_equal(R.status, 0);
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"block\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/progs/cuda_host\"");
}

/* ---- failure attribution (observe: the reset happens, the victim's failure is explained) ---- */

static void failure_attributed_to_the_reset(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", PLUG("A") ":check"));
    assert_int_equal(R.status, 1);
    const char *ev = event(R.log, "cudaMemcpy"); /* exactly one, although A failed twice */
    expect_field(ev, "decided_by", "\"attribution\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugA.so\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugB.so\"]");
    expect_field(ev, "result", "1");
    expect_field_contains(ev, "reason", "libplugA.so's cudaMemcpy failed with cudaErrorInvalidValue (1) on device 0");
    expect_field_contains(ev, "reason", "by libplugB.so (cudaDeviceReset; reset 1 of that context");
    /* the same through a static runtime's driver-level reset */
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"), STEPS(HOST, PLUG("A") ":setup", PLUG("S1") ":reset", PLUG("A") ":check"));
    expect_field_contains(event(R.log, "cudaMemcpy"), "reason", "by libplugS1.so (cuDevicePrimaryCtxReset;");
    /* guard: nothing was reset, nothing failed, nothing to explain */
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_null(strstr(R.log, "attribution"));
}

/* A static runtime's own runtime calls never leave its plugin; its re-attach to the primary context
 * after another module's reset does, and is explained once (not on later retains, not for the resetter). */
static void static_runtime_reattach_attributed(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"),
             STEPS(HOST, PLUG("S1") ":setup", PLUG("S2") ":reset", PLUG("S1") ":check", PLUG("S1") ":check"));
    assert_int_equal(R.status, 1);
    const char *ev = event(R.log, "cuDevicePrimaryCtxRetain"); /* exactly one */
    expect_field(ev, "decided_by", "\"attribution\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugS1.so\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugS2.so\"]");
    expect_field_contains(ev, "reason", "libplugS1.so attached again to the primary context of device 0, "
                                        "which it used before libplugS2.so reset it at ");
    expect_field_contains(ev, "reason", "(cuDevicePrimaryCtxReset; reset 1 of that context");
    /* the resetter re-attaching to what it reset itself is not a victim */
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"),
             STEPS(HOST, PLUG("S1") ":setup", PLUG("S1") ":reset", PLUG("S1") ":check"));
    assert_null(strstr(R.log, "attached again"));
    /* guard: the reset is blocked, nobody loses anything, nothing to explain */
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("S1") ":setup", PLUG("S2") ":reset", PLUG("S1") ":check"));
    assert_int_equal(R.status, 0);
    assert_null(strstr(R.log, "attribution"));
}

/* A static runtime's failing cudaMemcpy is its driver call cuMemcpyDtoH_v2, made through the pointer
 * ctxguard's cuGetProcAddress handed out: explained at that call, once however often it fails. A
 * shared runtime's failure is explained at the runtime door only, never again at its driver call. */
static void static_runtime_failure_explained_at_the_call(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"),
             STEPS(HOST, PLUG("S1") ":setup", PLUG("S2") ":reset", PLUG("S1") ":check", PLUG("S1") ":check"));
    assert_int_equal(R.status, 1);
    const char *ev = event(R.log, "cuMemcpyDtoH_v2"); /* exactly one, although S1 failed twice */
    expect_field(ev, "api", "\"driver\"");
    expect_field(ev, "decided_by", "\"attribution\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugS1.so\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugS2.so\"]");
    expect_field(ev, "result", "1");
    expect_field_contains(ev, "reason", "libplugS1.so's cuMemcpyDtoH_v2 failed with CUDA_ERROR_INVALID_VALUE (1) "
                                        "on device 0 after the primary context of device 0 was reset at ");
    expect_field_contains(ev, "reason", "by libplugS2.so (cuDevicePrimaryCtxReset; reset 1 of that context");
    /* the re-attach is still told, before the failing copy */
    const char *retain = strstr(R.log, "\"call\":\"cuDevicePrimaryCtxRetain\"");
    assert_non_null(retain);
    assert_true(retain < strstr(R.log, "\"call\":\"cuMemcpyDtoH_v2\""));
    /* a shared runtime: one explanation of the failing copy, at the runtime door */
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 1);
    expect_field(event(R.log, "cudaMemcpy"), "decided_by", "\"attribution\"");
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cuMemcpy", NULL}), 0);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"decided_by\":\"attribution\"", NULL}), 2);
    /* the same static plugin whose copy succeeds (nothing reset): nothing explained */
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"), STEPS(HOST, PLUG("S1") ":setup", PLUG("S1") ":check"));
    assert_int_equal(R.status, 0);
    assert_null(strstr(R.log, "attribution"));
}

/* CTXGUARD_NVTX=1: each notable event is also an NVTX mark in the "ctxguard" domain (here the stand-in
 * NVTX library records them); pass-through calls make none; without the setting nothing is loaded; a
 * library that cannot be loaded is said once and the host runs on. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 14];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void nvtx_marks_for_notable_events(void **s)
{
    (void)s;
    char out[] = "/tmp/ctxguard-nvtx-XXXXXX", env[64];
    close(mkstemp(out));
    unlink(out);
    snprintf(env, sizeof env, "FAKE_NVTX_OUT=%s", out);
    const char *lib = "CTXGUARD_NVTX_LIB=" BUILD_DIR "/fake/libfake_nvtx.so";
    run_prog(&R, 1, 1, ENV("CTXGUARD_NVTX=1", lib, env),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    char *t = read_all(out);
    assert_non_null(t);
    assert_non_null(strstr(t, "loaded\ndomain ctxguard\n"));
    assert_non_null(strstr(t, "mark FFE02020 ctxguard: block cudaDeviceReset by libplugB.so, device 0 "
                              "(primary; shared with libplugA.so) [preset guard]\n"));
    assert_int_equal(count_lines_with(t, (const char *const[]){"mark ", NULL}), 1); /* nothing else */
    assert_null(strstr(t, "bad-attributes"));
    unlink(out);
    /* observe: the reset let through (amber), then the explanations (purple) */
    run_prog(&R, 1, 1, ENV("CTXGUARD_NVTX=1", "CTXGUARD_MODE=observe", lib, env),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    t = read_all(out);
    assert_non_null(t);
    assert_non_null(strstr(t, "mark FFF0A000 ctxguard: allow cudaDeviceReset by libplugB.so"));
    assert_non_null(strstr(t, "mark FFB040E0 ctxguard: explains cudaMemcpy by libplugA.so, device 0 "
                              "(primary; reset by libplugB.so) [attribution]\n"));
    unlink(out);
    /* not asked for: the library is never loaded */
    run_prog(&R, 1, 1, ENV(lib, env), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_null(read_all(out));
    /* a library that is not there: one message, the guard still works */
    run_prog(&R, 1, 1, ENV("CTXGUARD_NVTX=1", "CTXGUARD_NVTX_LIB=/nonexistent/libnvToolsExt.so.1"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    /* the message is a JSON object in a JSON log: {…,"event":"warning",…,"message":"CTXGUARD_NVTX=1 but …"} */
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"event\":\"warning\"", "\"message\":\"CTXGUARD_NVTX=1 but /nonexistent/libnvToolsExt.so.1 could not be loaded", NULL}), 1);
    for (char *l = R.log, *e; l && *l; l = e + 1) { /* the log stays valid JSON lines */
        e = strchr(l, '\n');
        assert_non_null(e);
        assert_true(json_valid(l, (size_t)(e - l)));
    }
}

/* The driver hands the same primary context handle back after a reset: attribution goes by the
 * reset generation, so a later failure names the later reset, and a success in between stays quiet. */
/* A module loaded after a reset, whose call fails for a reason of its own (here a copy from a buffer it
 * never allocated), is not told the reset destroyed its memory: it held nothing then (found in review:
 * the explanation once only asked whether some reset had happened on the device). */
static void no_attribution_for_a_module_that_came_later(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("C") ":check", PLUG("A") ":check"));
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"decided_by\":\"attribution\"", "libplugC.so", NULL}), 0);
    /* A, which did hold memory, is still told */
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"decided_by\":\"attribution\"", "\"call\":\"cudaMemcpy\"",
                                                                   "\"caller\":\"" BUILD_DIR "/plugins/libplugA.so\"", NULL}), 1);
}

static void attribution_survives_handle_reuse(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":setup", PLUG("A") ":check",
                   PLUG("C") ":reset", PLUG("A") ":check"));
    assert_non_null(strstr(R.out, "libplugA.so:check -> 0"));
    const char *ev = event(R.log, "cudaMemcpy");
    expect_field_contains(ev, "reason", "by libplugC.so (cudaDeviceReset; reset 2 of that context");
    /* the reset handle was the same both times; the incarnation each reset ended (ctx_gen) was not */
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cudaDeviceReset\"", NULL}), 2);
    char ctx[2][40], gen[2][16];
    const char *line = R.log;
    for (int k = 0; k < 2; k++) {
        const char *hit = strstr(line, "\"call\":\"cudaDeviceReset\"");
        assert_non_null(hit);
        while (hit > R.log && hit[-1] != '\n')
            hit--;
        assert_true(json_get(hit, "ctx", ctx[k], sizeof ctx[k]));
        assert_true(json_get(hit, "ctx_gen", gen[k], sizeof gen[k]));
        line = strchr(hit, '\n');
        assert_non_null(line);
    }
    assert_string_equal(ctx[0], ctx[1]);
    assert_string_equal(gen[0], "1");
    assert_string_equal(gen[1], "2");
}

/* A module that leaves the thread on another device: reported once, naming both modules and both
 * devices; a module that moves back before returning: nothing. (Issue 8's scenario 2, on the fakes.) */
static void device_switch_left_behind(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("FAKE_CUDA_DEVICES=2"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":switch1", PLUG("A") ":sync", PLUG("A") ":sync"));
    assert_int_equal(R.status, 0);
    const char *ev = event(R.log, "cudaDeviceSynchronize");
    expect_field(ev, "decided_by", "\"device-switch\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugA.so\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugB.so\"]");
    expect_field(ev, "device", "1");
    expect_field_contains(ev, "reason", "libplugB.so moved this thread from device 0 to device 1 (cudaSetDevice) and did not move it back");
    run_prog(&R, 1, 1, ENV("FAKE_CUDA_DEVICES=2"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":switch1back", PLUG("A") ":sync"));
    assert_int_equal(R.status, 0);
    assert_null(strstr(R.log, "device-switch"));
}

/* A module that leaves its own context current: the next module's call runs on it. Reported once,
 * naming both modules and the context; a module that pops what it pushed: nothing. */
static void context_left_current(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, NULL,
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":ctxleave", PLUG("A") ":sync", PLUG("A") ":sync"));
    const char *ev = event(R.log, "cudaDeviceSynchronize"); /* exactly one */
    expect_field(ev, "decided_by", "\"context-switch\"");
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugA.so\"");
    expect_field(ev, "shared_with", "[\"" BUILD_DIR "/plugins/libplugB.so\"]");
    expect_field(ev, "ctx_kind", "\"created\"");
    expect_field_contains(ev, "reason", "libplugB.so made its own context 0x");
    expect_field_contains(ev, "reason", " current (cuCtxCreate");
    expect_field_contains(ev, "reason", "returned without restoring the previous one; libplugA.so's "
                                        "cudaDeviceSynchronize now runs on that context");
    /* cudaSetDevice makes the device's primary context current again: a repair, not a victim */
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":ctxleave", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_null(strstr(R.log, "context-switch"));
    run_prog(&R, 1, 1, NULL,
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":ctxpushpop", PLUG("A") ":sync", PLUG("A") ":check"));
    assert_non_null(strstr(R.out, "libplugB.so:ctxpushpop -> 0"));
    assert_null(strstr(R.log, "context-switch"));
}

/* ---- rules ---- */

/* A deny rule: the caller sees the documented error, 800 (cudaErrorNotPermitted); nothing reset. */
static void deny_rule_returns_not_permitted(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=enforce", "CTXGUARD_RULES=deny @reset from libplugB.so"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("B") ":drvreset", PLUG("A") ":check"));
    assert_int_equal(R.status, 2); /* a non-check step failed: B's resets were denied */
    assert_non_null(strstr(R.out, "libplugB.so:reset -> 800 cudaErrorNotPermitted"));
    assert_non_null(strstr(R.out, "libplugB.so:drvreset -> 800 cudaErrorNotPermitted"));
    assert_non_null(strstr(R.out, "libplugA.so:check -> 0 cudaSuccess"));
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"deny\"");
    expect_field(ev, "result", "800");
    expect_field(ev, "decided_by", "\"CTXGUARD_RULES:1\"");
    expect_field(event(R.log, "cuDevicePrimaryCtxReset_v2"), "action", "\"deny\"");
}

/* First match wins; the preset decides what no rule matches; a file's rules name file:line. */
static void rules_first_match_then_preset(void **s)
{
    (void)s;
    char path[] = "/tmp/ctxguard-rules-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# the host may reset at exit\nallow @reset from cuda_host on primary\n\n"
                       "block @all from cuda_host   # never reached for resets\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    char env[128];
    snprintf(env, sizeof env, "CTXGUARD_CONFIG=%s", path);
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=enforce", env), STEPS(CUDA_HOST, "self:setup", "self:reset", "self:check"));
    assert_int_equal(R.status, 1); /* allowed by the rule although enforce would block */
    char want[160];
    snprintf(want, sizeof want, "\"%s:2\"", path);
    expect_field(event(R.log, "cudaDeviceReset"), "decided_by", want);
    expect_field(event(R.log, "cudaDeviceReset"), "action", "\"allow\"");
    /* a caller no rule names: the preset (enforce) blocks */
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=enforce", env),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    expect_field(event(R.log, "cudaDeviceReset"), "decided_by", "\"preset enforce\"");
    unlink(path);
}

/* Rules on ordinary calls: "log every cudaSetDevice from libplugA", "deny cudaMalloc from libplugC".
 * Modules no rule names keep the fast path: their calls are not logged. */
static void rules_on_ordinary_calls(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_RULES=allow log cudaSetDevice from libplugA.so; block cudaMalloc from libplugC.so"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":setup", PLUG("C") ":setup", PLUG("A") ":check"));
    assert_int_equal(R.status, 2);
    assert_non_null(strstr(R.out, "libplugC.so:setup -> 800 cudaErrorNotPermitted"));
    assert_non_null(strstr(R.out, "libplugA.so:check -> 0"));
    /* A's setup and check each call cudaSetDevice once: two logged allows, nothing from B */
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cudaSetDevice\"", "libplugA.so", "\"action\":\"allow\"", NULL}), 2);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"caller\":\"" BUILD_DIR "/plugins/libplugB.so\"", NULL}), 0);
    const char *ev = event(R.log, "cudaMalloc");
    expect_field(ev, "action", "\"deny\"");
    expect_field(ev, "result", "800");
    expect_field_contains(ev, "reason", "block acts as deny");
}

static void abort_rule_ends_process(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, ENV("CTXGUARD_RULES=abort @destructive on shared"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 128 + 6); /* SIGABRT */
    assert_null(strstr(R.out, "libplugA.so:check"));
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"abort", "cudaDeviceReset", "CTXGUARD_RULES:1", NULL}), 2);
}

/* A broken policy: every problem named with line:col, no rule used, and guard holds; under observe
 * the dry run stays a dry run (nothing blocked) and says the policy is broken; with
 * CTXGUARD_STRICT=1 every guarded call is denied instead. Problems reach the configured log. */
static void broken_policy_falls_back_or_denies(void **s)
{
    (void)s;
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL};
    run_prog(&R, 1, 0, ENV("CTXGUARD_RULES=allow @reset; alow @reset; deny cudaDeviceReset on sharred"), steps);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard: ", "event=config_error level=error", "message=\"CTXGUARD_RULES:1:15: unknown action 'alow'", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard: ", "event=config_error", "message=\"CTXGUARD_RULES:1:52: unknown situation 'sharred'", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"no rule is used; the guard preset decides", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", "preset guard (policy has errors)", NULL}), 1);
    /* observe: a dry run even with a broken policy */
    run_prog(&R2, 0, 0, NULL, steps);
    run_prog(&R, 1, 1, ENV("CTXGUARD_MODE=observe", "CTXGUARD_RULES=alow @reset"), steps);
    assert_string_equal(R.out, R2.out);
    assert_int_equal(R.status, 1); /* as bare: A lost its data */
    /* issue 16: configuration errors reach the configured log as what they are */
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"event\":\"config_error\"", "\"level\":\"error\"", "unknown action 'alow'", NULL}), 1);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"event\":\"config_error\"", "observe mode stays a dry run", NULL}), 1);
    assert_null(strstr(R.err, "alow"));
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"allow\"");
    expect_field(ev, "would", "\"block\"");
    expect_field(ev, "decided_by", "\"preset observe (policy has errors)\"");
    run_prog(&R, 1, 0, ENV("CTXGUARD_STRICT=1", "CTXGUARD_CONFIG=/nonexistent/policy"), steps);
    assert_non_null(strstr(R.out, "libplugB.so:reset -> 800"));
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"/nonexistent/policy: cannot read policy", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"CTXGUARD_STRICT=1: every guarded call is denied", NULL}), 2);
}

/* A rule names plugins by the directory the host loads them from, which is a symlink (a versioned
 * release directory behind a stable name): it matches by the path the module was loaded by as well
 * as by its real path (it once matched the real path only, and the rule never applied). */
static void rule_matches_the_path_loaded_by(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-link-XXXXXX", link[64], rule[512], plugB[192], plugA[192];
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/current", dir);
    assert_int_equal(symlink(BUILD_DIR "/plugins", link), 0);
    snprintf(rule, sizeof rule, "CTXGUARD_RULES=deny @reset from %s/*; deny cudaMalloc from %s/libplugC.so", link, link);
    snprintf(plugA, sizeof plugA, "%s/libplugA.so:setup", link);
    snprintf(plugB, sizeof plugB, "%s/libplugB.so:reset", link);
    char plugC[192];
    snprintf(plugC, sizeof plugC, "%s/libplugC.so:setup", link);
    run_prog(&R, 1, 1, ENV(rule), STEPS(HOST, plugA, plugB, plugC));
    unlink(link);
    rmdir(dir);
    assert_non_null(strstr(R.out, "libplugB.so:reset -> 800"));
    assert_non_null(strstr(R.out, "libplugC.so:setup -> 800"));
    const char *ev = event(R.log, "cudaDeviceReset");
    expect_field(ev, "action", "\"deny\"");
    expect_field(ev, "decided_by", "\"CTXGUARD_RULES:1\"");
    /* the log still names the real path */
    expect_field(ev, "caller", "\"" BUILD_DIR "/plugins/libplugB.so\"");
}

/* ---- output and configuration ---- */

static void json_lines_parse_with_all_keys(void **s)
{
    (void)s;
    /* CTXGUARD_SUMMARY=1 and a bad setting: summary and config_error lines too */
    run_prog(&R, 1, 1, ENV("CTXGUARD_LOG_LEVEL=debug", "CTXGUARD_SUMMARY=1", "CTXGUARD_STRICT=maybe"),
             STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":ctxreset", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    static const char *const keys[] = {"tid", "api", "call", "device", "ctx", "ctx_kind",
                                       "shared_with", "caller", "action", "result", "decided_by", "reason", NULL};
    /* issue 16: every line describes itself */
    static const char *const head[] = {"ts", "event", "level", "pid", "seq", "start", "exe", "version", NULL};
    int lines = 0, all = 0, kinds = 0;
    char seen[1024] = "", start[4096] = "";
    for (char *line = strtok(R.log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!json_valid(line, strlen(line)))
            fail_msg("not valid JSON: %s", line);
        assert_int_equal(line[0], '{');
        char v[4096];
        for (int k = 0; head[k]; k++)
            if (!json_get(line, head[k], v, sizeof v))
                fail_msg("key %s missing: %s", head[k], line);
        all++;
        json_get(line, "seq", v, sizeof v); /* 1, 2, … once each (threads may write out of order) */
        long seq = atol(v);
        if (seq < 1 || seq >= (long)sizeof seen || seen[seq])
            fail_msg("seq %ld out of range or seen twice: %s", seq, line);
        seen[seq] = 1;
        expect_field(line, "exe", "\"" HOST "\"");
        expect_field(line, "version", "\"" CTXGUARD_VERSION "\"");
        json_get(line, "start", v, sizeof v);
        if (start[0] == '\0')
            snprintf(start, sizeof start, "%s", v);
        assert_string_equal(v, start); /* one process, one start */
        assert_int_equal(strlen(v), 29);
        json_get(line, "ts", v, sizeof v); /* "2026-11-25T12:00:03.114123Z" */
        assert_int_equal(strlen(v), 29);
        assert_true(v[11] == 'T' && v[20] == '.' && v[27] == 'Z');
        assert_true(strcmp(v, start) >= 0);
        json_get(line, "event", v, sizeof v);
        if (!strcmp(v, "\"summary\""))
            kinds |= 1;
        else if (!strcmp(v, "\"config_error\"")) {
            kinds |= 2;
            expect_field(line, "level", "\"error\"");
            expect_field_contains(line, "message", "CTXGUARD_STRICT");
        }
        if (strcmp(v, "\"decision\"") && strcmp(v, "\"attribution\""))
            continue;
        for (int k = 0; keys[k]; k++)
            if (!json_get(line, keys[k], v, sizeof v))
                fail_msg("key %s missing: %s", keys[k], line);
        json_get(line, "api", v, sizeof v);
        assert_true(strcmp(v, "\"runtime\"") == 0 || strcmp(v, "\"driver\"") == 0);
        json_get(line, "shared_with", v, sizeof v);
        assert_int_equal(v[0], '[');
        json_get(line, "ctx", v, sizeof v);
        assert_true(strcmp(v, "null") == 0 || strncmp(v, "\"0x", 3) == 0);
        lines++;
    }
    assert_true(lines > 10); /* debug: every intercepted call */
    assert_int_equal(kinds, 3);
    for (int k = 1; k <= all; k++)
        if (!seen[k])
            fail_msg("seq %d missing among %d lines", k, all);
    assert_string_equal(R.err, ""); /* the file sink took everything */
}

static void bad_mode_value_warns_once_and_guards(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, ENV("CTXGUARD_MODE=gaurd"), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0); /* the default, guard, still holds */
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard:", "event=config_error level=error", "CTXGUARD_MODE", "\\\"gaurd\\\"",
                                                                   "observe, guard or enforce", "using guard", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"CTXGUARD_MODE", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 1);
}

/* A log file: created 0600, appended to by the next process (never clobbered), %p expanded. */
/* Operators silence the log with CTXGUARD_LOG=/dev/null and send it to stderr with /dev/stderr: both
 * do what they say (the first once went to stderr with a complaint, the second with "Too many levels
 * of symbolic links"). */
static void log_to_dev_null_and_dev_stderr(void **s)
{
    (void)s;
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL};
    run_prog(&R, 1, 0, ENV("CTXGUARD_LOG=/dev/null", "CTXGUARD_SUMMARY=1"), steps);
    assert_int_equal(R.status, 0);
    if (strstr(R.err, "ctxguard"))
        fail_msg("CTXGUARD_LOG=/dev/null wrote to stderr:\n%s", R.err);
    run_prog(&R, 1, 0, ENV("CTXGUARD_LOG=/dev/stderr"), steps);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 1);
    assert_null(strstr(R.err, "cannot open"));
    assert_null(strstr(R.err, "not a regular file"));
}

static void log_file_created_0600_and_appended(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-logdir-XXXXXX", env[128], path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(env, sizeof env, "CTXGUARD_LOG=%s/cg.log", dir);
    snprintf(path, sizeof path, "%s/cg.log", dir);
    for (int i = 0; i < 2; i++) {
        run_prog(&R, 1, 0, ENV(env), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
        assert_int_equal(R.status, 0);
        assert_string_equal(R.err, "");
    }
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char buf[16384] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_int_equal(count_lines_with(buf, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 2);
    assert_int_equal(count_lines_with(buf, (const char *const[]){"event=summary", " rows=", NULL}), 2);
    unlink(path);
    /* a symlink planted at the path is refused, and the line goes to stderr instead */
    assert_int_equal(symlink("/tmp/ctxguard-not-a-target", path), 0);
    run_prog(&R, 1, 0, ENV(env), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"cannot open CTXGUARD_LOG file", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 1);
    assert_int_equal(access("/tmp/ctxguard-not-a-target", F_OK), -1);
    unlink(path);
    rmdir(dir);
}

/* The exit summary: by default only when something was blocked; names decisions and users. */
static void exit_summary(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    /* structured (issue 16): totals, one row per module and call, one per device */
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"event=summary level=info", " rows=1 allow=0 block=1 deny=0 abort=0", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"event=summary", " module=libplugB.so call=cudaDeviceReset allow=0 block=1 deny=0 abort=0", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"event=summary", " device=0 users=[libplugA.so]", NULL}), 1);
    run_prog(&R, 1, 1, NULL, STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    char v[256];
    int rows = 0;
    for (char *line = strtok(R.log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, "\"event\":\"summary\""))
            continue;
        rows++;
        if (json_get(line, "module", v, sizeof v)) {
            assert_string_equal(v, "\"libplugB.so\"");
            expect_field(line, "call", "\"cudaDeviceReset\"");
            expect_field(line, "allow", "0");
            expect_field(line, "block", "1");
            expect_field(line, "deny", "0");
            expect_field(line, "abort", "0");
        } else if (json_get(line, "device", v, sizeof v)) {
            assert_string_equal(v, "0");
            expect_field(line, "users", "[\"libplugA.so\"]");
        } else
            expect_field(line, "rows", "1");
    }
    assert_int_equal(rows, 3);
    run_prog(&R, 1, 0, NULL, STEPS(CUDA_HOST, "self:setup", "self:reset", "self:check"));
    assert_null(strstr(R.err, "summary")); /* nothing blocked: no summary */
    run_prog(&R, 1, 0, ENV("CTXGUARD_SUMMARY=1"), STEPS(CUDA_HOST, "self:setup", "self:reset", "self:check"));
    assert_non_null(strstr(R.err, "summary"));
    run_prog(&R, 1, 0, ENV("CTXGUARD_SUMMARY=0"), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_null(strstr(R.err, "summary"));
}

static void quiet_level_logs_nothing(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, ENV("CTXGUARD_LOG_LEVEL=quiet", "CTXGUARD_SUMMARY=0"), STEPS(HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check"));
    assert_int_equal(R.status, 0);
    assert_string_equal(R.err, "");
}

/* ---- inert where there is no CUDA ---- */

static void non_cuda_process_unchanged(void **s)
{
    (void)s;
    /* /usr, not /: the link count of /proc in a listing of / follows the number of processes on
     * the machine, so two listings differ whenever anything else starts or ends in between */
    run_prog(&R, 0, 0, ENV("CTXGUARD_MODE=bogus"), STEPS("/bin/ls", "-la", "/usr"));
    run_prog(&R2, 1, 0, ENV("CTXGUARD_MODE=bogus"), STEPS("/bin/ls", "-la", "/usr"));
    assert_int_equal(R.status, 0);
    assert_int_equal(R2.status, 0);
    assert_string_equal(R.out, R2.out);
    assert_string_equal(R2.err, ""); /* not even the bad-value message: nothing CUDA happened */
}

static void missing_cuda_library_unchanged(void **s)
{
    (void)s;
    run_prog(&R, 0, 0, NULL, STEPS(HOST, "/nonexistent/libplugZ.so:setup"));
    run_prog(&R2, 1, 0, NULL, STEPS(HOST, "/nonexistent/libplugZ.so:setup"));
    assert_int_equal(R.status, 3);
    assert_int_equal(R2.status, R.status);
    assert_string_equal(R.out, R2.out);
    assert_string_equal(R.err, R2.err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bare_reset_breaks_other_plugin),
        cmocka_unit_test(guard_blocks_shared_reset),
        cmocka_unit_test(guard_allows_unshared_reset),
        cmocka_unit_test(runtime_teardown_release_allowed),
        cmocka_unit_test(static_runtime_reset_blocked_at_driver),
        cmocka_unit_test(mixed_static_user_shared_resetter),
        cmocka_unit_test(two_static_runtimes),
        cmocka_unit_test(rtld_local_calls_reach_plugin_runtime),
        cmocka_unit_test(created_context_reset_allowed),
        cmocka_unit_test(driver_entry_point_reset_blocked),
        cmocka_unit_test(dlsym_runtime_reset_blocked),
        cmocka_unit_test(thread_exit_is_a_reset),
        cmocka_unit_test(deepbind_reported_as_bypass),
        cmocka_unit_test(threads_one_resets),
        cmocka_unit_test(two_devices_reset_judged_per_device),
        cmocka_unit_test(two_devices_only_that_devices_users_named),
        cmocka_unit_test(observe_changes_no_return_value),
        cmocka_unit_test(observe_is_a_dry_run_of_rules),
        cmocka_unit_test(enforce_blocks_even_unshared),
        cmocka_unit_test(failure_attributed_to_the_reset),
        cmocka_unit_test(attribution_survives_handle_reuse),
        cmocka_unit_test(no_attribution_for_a_module_that_came_later),
        cmocka_unit_test(static_runtime_reattach_attributed),
        cmocka_unit_test(static_runtime_failure_explained_at_the_call),
        cmocka_unit_test(context_left_current),
        cmocka_unit_test(nvtx_marks_for_notable_events),
        cmocka_unit_test(device_switch_left_behind),
        cmocka_unit_test(deny_rule_returns_not_permitted),
        cmocka_unit_test(rules_first_match_then_preset),
        cmocka_unit_test(rules_on_ordinary_calls),
        cmocka_unit_test(abort_rule_ends_process),
        cmocka_unit_test(broken_policy_falls_back_or_denies),
        cmocka_unit_test(rule_matches_the_path_loaded_by),
        cmocka_unit_test(json_lines_parse_with_all_keys),
        cmocka_unit_test(bad_mode_value_warns_once_and_guards),
        cmocka_unit_test(quiet_level_logs_nothing),
        cmocka_unit_test(exit_summary),
        cmocka_unit_test(log_to_dev_null_and_dev_stderr),
        cmocka_unit_test(log_file_created_0600_and_appended),
        cmocka_unit_test(non_cuda_process_unchanged),
        cmocka_unit_test(missing_cuda_library_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
