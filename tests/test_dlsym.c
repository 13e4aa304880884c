/* The dlsym and cuGetProcAddress doors: guarded names get wrappers, everything else comes back as it
 * would without ctxguard, caller-relative lookups keep their meaning, and each ABI gets its wrapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static struct run bare, shim;

static void run_both(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/dlsym_probe", NULL};
    const char *const env[] = {"LD_LIBRARY_PATH=" BUILD_DIR "/fake", NULL};
    run_prog(&bare, 0, 0, env, argv);
    run_prog(&shim, 1, 0, env, argv);
    assert_int_equal(bare.status, 0);
    assert_int_equal(shim.status, 0);
}

static void has(const struct run *r, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "%s\n", line);
    if (!strstr(r->out, want))
        fail_msg("missing line \"%s\" in:\n%s", line, r->out);
}

static void guarded_names_get_wrappers(void **s)
{
    run_both(s);
    has(&bare, "reset libcuda.so.1");
    has(&shim, "reset libctxguard.so");
    has(&shim, "reset_v2 libctxguard.so");
}

static void other_names_untouched(void **s)
{
    run_both(s);
    has(&shim, "getcurrent libcuda.so.1");
    has(&shim, "cudnn libcuda.so.1"); /* cu + lowercase: not a CUDA API name */
    has(&shim, "missing (null)");
}

/* A sanitizer runtime preloaded first intercepts fopen and dlopen itself (its dlopen then searches
 * its own RUNPATH even without ctxguard): those comparisons say nothing about ctxguard there. */
static int sanitizer_first(void)
{
    return getenv("CTXGUARD_TEST_PRELOAD_FIRST") != NULL;
}

static void caller_relative_lookups_keep_meaning(void **s)
{
    if (sanitizer_first())
        skip();
    run_both(s);
    /* RTLD_NEXT answers for the probe, not for ctxguard: the object after the executable is the
     * preload itself, so "next dlsym" is ctxguard's. Forwarding from C would answer for ctxguard
     * and return glibc's, the bug that livelocked a PyTorch import under another interposer. */
    has(&bare, "next_dlsym libc.so.6");
    has(&shim, "next_dlsym libctxguard.so");
    assert_non_null(strstr(bare.out, "next_fopen libc.so.6"));
    assert_non_null(strstr(shim.out, "next_fopen libc.so.6"));
    assert_non_null(strstr(shim.out, "default_fopen libc.so.6"));
}

static void self_lookup_returns_abi_matching_wrappers(void **s)
{
    run_both(s);
    has(&bare, "self_v1 r=0 st=0 libcuda.so.1");
    has(&shim, "self_v1 r=0 st=0 libctxguard.so");
    has(&shim, "self_v2 r=0 st=0 libctxguard.so");
    has(&shim, "via_v2 r=0 st=0 libctxguard.so");
    has(&shim, "via_v1 r=0 libctxguard.so");
    has(&shim, "unguarded r=0 st=0 libcuda.so.1");
    has(&shim, "unknown r=500 st=1 (null)");
    has(&bare, "unknown r=500 st=1 (null)");
}

/* dlopen searches the caller's RUNPATH: the probe finds libcuda.so.1 only through its own RUNPATH
 * ($ORIGIN/../fake). A dlopen wrapper that called glibc from C would search ctxguard's instead. */
static void dlopen_keeps_callers_runpath(void **s)
{
    (void)s;
    if (sanitizer_first())
        skip();
    const char *const argv[] = {BUILD_DIR "/progs/dlsym_probe", NULL};
    run_prog(&bare, 0, 0, NULL, argv);
    run_prog(&shim, 1, 0, NULL, argv);
    assert_int_equal(bare.status, 0);
    assert_int_equal(shim.status, 0);
    has(&shim, "reset libctxguard.so");
}

/* argv bare and under ctxguard, both exiting 0 (the output of a failing guarded run is shown). */
static void run_both_succeed(const char *const argv[])
{
    run_prog(&bare, 0, 0, NULL, argv);
    run_prog(&shim, 1, 0, NULL, argv);
    assert_int_equal(bare.status, 0);
    if (shim.status != 0)
        fail_msg("status %d under ctxguard:\n%s\n%s", shim.status, shim.out, shim.err);
}

/* dlopen by path is called by ctxguard itself, which keeps the handle (doors/dl_hooks.c): the
 * caller's meaning stays ("$ORIGIN" is the caller's directory, a missing file is named by dlerror),
 * and a handle kept for A is forgotten when A is unloaded: A back as a dependency (no search list of
 * its own, usually at the same link map address) is looked up by name. A handle believed past the
 * unload crashes the loader (the second call: SIGSEGV in _dl_lookup_symbol_x). */
static void dlopen_handles_kept_and_forgotten(void **s)
{
    (void)s;
    run_both_succeed((const char *const[]){BUILD_DIR "/progs/reopen_host", BUILD_DIR "/plugins", NULL});
    has(&shim, "first r=0");
    has(&shim, "second r=0");
    has(&shim, "missing named");
    if (!sanitizer_first())
        has(&shim, "origin found");
}

/* A handle ctxguard kept (dlopen by path) for an object that a dlclose ctxguard never sees unloads:
 * libcloser.so, opened RTLD_DEEPBIND, finds glibc's dlclose before the preload's. A comes back as a
 * dependency of libdepA.so, usually at its old link map address, with no search list of its own:
 * its first CUDA call must not look its runtime up through the old handle (SIGSEGV in
 * do_lookup_x). Skipped with a sanitizer preloaded first: its dlopen refuses RTLD_DEEPBIND. */
static void dlopen_handle_outlives_unseen_unload(void **s)
{
    (void)s;
    if (sanitizer_first())
        skip();
    run_both_succeed((const char *const[]){BUILD_DIR "/progs/unseen_unload", BUILD_DIR "/plugins", NULL});
    has(&shim, "r=0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guarded_names_get_wrappers),
        cmocka_unit_test(other_names_untouched),
        cmocka_unit_test(caller_relative_lookups_keep_meaning),
        cmocka_unit_test(self_lookup_returns_abi_matching_wrappers),
        cmocka_unit_test(dlopen_keeps_callers_runpath),
        cmocka_unit_test(dlopen_handles_kept_and_forgotten),
        cmocka_unit_test(dlopen_handle_outlives_unseen_unload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
