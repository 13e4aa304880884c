/* The ctxguard command on the fake libraries: run (appending to LD_PRELOAD, passing the exit status
 * through), check (exit codes, file:line:col), --explain; and ctxguard behind another preload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define CLI BUILD_DIR "/ctxguard"
static struct run R;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void run_appends_preload_and_passes_status(void **s)
{
    (void)s;
    /* an existing preload stays first; ctxguard's library is appended */
    const char *const env[] = {"LD_PRELOAD=" BUILD_DIR "/libctxguard-noop.so", NULL};
    run_prog(&R, 0, 0, env, (const char *const[]){CLI, "run", "--", "/bin/sh", "-c", "echo \"$LD_PRELOAD\"; exit 7", NULL});
    assert_int_equal(R.status, 7);
    assert_string_equal(R.out, BUILD_DIR "/libctxguard-noop.so:" BUILD_DIR "/libctxguard.so\n");
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--mode", "enforce", "--json", CUDA_HOST,
                                                    "self:setup", "self:reset", "self:check", NULL});
    assert_int_equal(R.status, 0); /* enforce blocked the host's own reset */
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"\"action\":\"block\"", "preset enforce", NULL}), 1);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "/nonexistent/prog", NULL});
    assert_int_equal(R.status, 127);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--mode", "gaurd", "/bin/true", NULL});
    assert_int_equal(R.status, 2);
    assert_non_null(strstr(R.err, "expected observe, guard or enforce"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", NULL});
    assert_int_equal(R.status, 2);
}

static void check_reports_and_explains(void **s)
{
    (void)s;
    char good[] = "/tmp/ctxguard-good-XXXXXX", bad[] = "/tmp/ctxguard-bad-XXXXXX";
    close(mkstemp(good));
    close(mkstemp(bad));
    write_file(good, "allow @reset from cuda_host on primary\nblock @destructive from *plug* on shared\n");
    write_file(bad, "allow @reset\ndeny @reset on everywhere\nabort\n");
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", good, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "2 rules, no problems"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", bad, NULL});
    assert_int_equal(R.status, 1);
    char want[128];
    snprintf(want, sizeof want, "%s:2:16: unknown situation 'everywhere'", bad);
    assert_non_null(strstr(R.out, want));
    snprintf(want, sizeof want, "%s:3:6: missing calls", bad);
    assert_non_null(strstr(R.out, want));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", good, "--explain", "cuDevicePrimaryCtxReset_v2",
                                                    "--caller", "/opt/x/libplugB.so", "--ctx", "shared", NULL});
    assert_int_equal(R.status, 0);
    snprintf(want, sizeof want, "block, decided by %s:2", good);
    assert_non_null(strstr(R.out, want));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", good, "--explain", "cudaDeviceReset",
                                                    "--caller", "/opt/x/libother.so", "--ctx", "created", NULL});
    assert_non_null(strstr(R.out, "no rule matches"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", NULL});
    assert_int_equal(R.status, 2);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "--version", NULL});
    assert_non_null(strstr(R.out, "ctxguard 0.1.0"));
    unlink(good);
    unlink(bad);
}

/* Another object preloaded before ctxguard that defines dlsym (libc itself, or another interposer
 * such as the no-op twin): ctxguard must neither crash nor stop guarding. */
static void behind_another_preload(void **s)
{
    (void)s;
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL};
    const char *const firsts[] = {"LD_PRELOAD=/lib/x86_64-linux-gnu/libc.so.6:" SHIM,
                                  "LD_PRELOAD=" BUILD_DIR "/libctxguard-noop.so:" SHIM, NULL};
    for (int i = 0; firsts[i]; i++) {
        run_prog(&R, 0, 0, (const char *const[]){firsts[i], NULL}, steps);
        if (R.status != 0)
            fail_msg("%s: status %d\n%s%s", firsts[i], R.status, R.out, R.err);
        assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 1);
    }
    /* and after ctxguard */
    run_prog(&R, 0, 0, (const char *const[]){"LD_PRELOAD=" SHIM ":" BUILD_DIR "/libctxguard-noop.so", NULL}, steps);
    assert_int_equal(R.status, 0);
}

/* report: logs of two processes, a truncated line and a foreign one; counted and skipped, not fatal. */
static void report_summarises_logs(void **s)
{
    (void)s;
    char a[] = "/tmp/ctxguard-ra-XXXXXX", b[] = "/tmp/ctxguard-rb-XXXXXX", env[96];
    close(mkstemp(a));
    close(mkstemp(b));
    unlink(a);
    unlink(b);
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("S1") ":reset", PLUG("A") ":check", NULL};
    snprintf(env, sizeof env, "CTXGUARD_LOG=%s", a);
    run_prog(&R, 1, 0, (const char *const[]){env, "CTXGUARD_LOG_FORMAT=json", NULL}, steps);
    snprintf(env, sizeof env, "CTXGUARD_LOG=%s", b);
    run_prog(&R, 1, 0, (const char *const[]){env, "CTXGUARD_LOG_FORMAT=json", "CTXGUARD_MODE=observe", NULL}, steps);
    FILE *f = fopen(b, "a");
    fputs("{\"ts\":\"2026-01-01T00:00:00.000000Z\",\"pid\":1,\"call\":\"cudaDev", f); /* truncated */
    fputs("\n{\"unrelated\":true}\n", f);
    fclose(f);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "report", a, b, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "2 files, 2 processes, 6 events (skipped: 1 truncated or invalid line, 1 not ctxguard's)"));
    /* B's reset: blocked once (guard), allowed once (observe) */
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugB.so", "cudaDeviceReset", "     1      1      0      0", NULL}), 1);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugS1.so ", "cuDevicePrimaryCtxReset ", NULL}), 1);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "report", "--json", a, b, NULL});
    assert_true(json_valid(R.out, strlen(R.out)));
    char v[64];
    assert_true(json_get(R.out, "events", v, sizeof v));
    assert_string_equal(v, "6"); /* with the observe run's attributed re-attach and failure */
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "report", "/nonexistent.log", NULL});
    assert_int_equal(R.status, 2);
    unlink(a);
    unlink(b);
}

/* report also reads a dump (here the one at exit) and a text log: the same rows as from JSON. */
static void report_reads_dumps_and_text_logs(void **s)
{
    (void)s;
    const char *dump = "/tmp/ctxguard-report-dump.txt", *text = "/tmp/ctxguard-report-text.log";
    unlink(dump);
    unlink(text);
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_DUMP=/tmp/ctxguard-report-dump.txt", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("C") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_LOG=/tmp/ctxguard-report-text.log", "CTXGUARD_MODE=observe", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 1);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "report", dump, text, NULL});
    assert_int_equal(R.status, 0);
    /* dump: B's and C's blocks and the runtime's release at exit (a dump keeps every event, the
     * info-level log only the notable ones); text log: B's reset allowed, A's re-attach and failure
     * explained */
    assert_non_null(strstr(R.out, "2 files, 2 processes, 6 events\n"));
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugB.so ", "cudaDeviceReset ", "     1      1      0      0", NULL}), 1);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugC.so ", "cudaDeviceReset ", "     0      1      0      0", NULL}), 1);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugA.so ", "cudaMemcpy ", NULL}), 1);
    /* explanations are counted apart from decisions, and name their cause */
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugA.so ", "cudaMemcpy ", "     0      0      0      0         1", NULL}), 1);
    assert_non_null(strstr(R.out, "caused by: libplugB.so"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "report", "--json", dump, text, NULL});
    assert_true(json_valid(R.out, strlen(R.out)));
    assert_non_null(strstr(R.out, "\"call\":\"cudaMemcpy\",\"allow\":0,\"block\":0,\"deny\":0,\"abort\":0,\"explained\":1"));
    unlink(dump);
    unlink(text);
}

static void inspect_static_and_dynamic(void **s)
{
    (void)s;
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "inspect", PLUG("A"), PLUG("S1"), BUILD_DIR "/fake/libcudart.so.13", "/bin/true", NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "libplugA.so:\n  links the CUDA runtime dynamically: libcudart.so.13"));
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"imports guarded entry points: ", "cudaDeviceReset, ", NULL}), 1);
    assert_non_null(strstr(R.out, "libplugS1.so:\n  links the CUDA driver directly: libcuda.so.1\n  carries a CUDA runtime statically; its entry points are not exported"));
    assert_non_null(strstr(R.out, "is a CUDA runtime itself (soname libcudart.so.13)"));
    assert_non_null(strstr(R.out, "/bin/true:\n  ctxguard sees: nothing"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "inspect", "/etc/hostname", NULL});
    assert_int_equal(R.status, 1);
}

/* docs/deployment.md's launch script, and its example policy, as shipped. */
static void launch_script_recipe(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-launch-XXXXXX", logdir[128], env_log[160], cmd[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(logdir, sizeof logdir, "%s/logs", dir);
    snprintf(env_log, sizeof env_log, "LOG_DIR=%s", logdir);
    run_prog(&R, 0, 0,
             (const char *const[]){"CTXGUARD_BIN=" CLI, env_log, "POLICY=" BUILD_DIR "/../docs/examples/ctxguard.rules", NULL},
             (const char *const[]){BUILD_DIR "/../docs/examples/guarded-launch.sh", HOST, PLUG("A") ":setup",
                                   PLUG("B") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    snprintf(cmd, sizeof cmd, "%s report %s/*.jsonl", CLI, logdir);
    run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/sh", "-c", cmd, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "1 process, 1 event"));
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugB.so", "cudaDeviceReset", "      0      1", NULL}), 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void man_pages_render(void **s)
{
    (void)s;
    if (system("command -v man >/dev/null 2>&1") != 0)
        skip();
    const char *pages[] = {"ctxguard.1", "libctxguard.7"};
    for (int i = 0; i < 2; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "MANWIDTH=80 man -l %s/../docs/%s", BUILD_DIR, pages[i]);
        run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/sh", "-c", cmd, NULL});
        assert_int_equal(R.status, 0);
        assert_non_null(strstr(R.out, "NAME"));
        assert_non_null(strstr(R.out, "SYNOPSIS"));
    }
}

static void install_and_uninstall(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-install-XXXXXX", cmd[512];
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, MAKE_CLEAN " -s -C %s/.. install DESTDIR=%s PREFIX=/opt/cg >/dev/null", BUILD_DIR, dir);
    assert_int_equal(system(cmd), 0);
    const char *files[] = {"lib/libctxguard.so", "bin/ctxguard", "include/ctxguard.h",
                           "share/man/man1/ctxguard.1", "share/man/man7/libctxguard.7"};
    for (int i = 0; i < 5; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/opt/cg/%s", dir, files[i]);
        if (access(p, R_OK) != 0)
            fail_msg("not installed: %s", p);
    }
    /* the installed command finds the installed library (../lib) */
    char bin[512];
    snprintf(bin, sizeof bin, "%s/opt/cg/bin/ctxguard", dir);
    run_prog(&R, 0, 0, NULL, (const char *const[]){bin, "run", "/bin/sh", "-c", "echo $LD_PRELOAD", NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "/opt/cg/lib/libctxguard.so"));
    snprintf(cmd, sizeof cmd, MAKE_CLEAN " -s -C %s/.. uninstall DESTDIR=%s PREFIX=/opt/cg >/dev/null", BUILD_DIR, dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 5; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/opt/cg/%s", dir, files[i]);
        assert_int_not_equal(access(p, F_OK), 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_appends_preload_and_passes_status),
        cmocka_unit_test(check_reports_and_explains),
        cmocka_unit_test(behind_another_preload),
        cmocka_unit_test(report_summarises_logs),
        cmocka_unit_test(report_reads_dumps_and_text_logs),
        cmocka_unit_test(inspect_static_and_dynamic),
        cmocka_unit_test(launch_script_recipe),
        cmocka_unit_test(man_pages_render),
        cmocka_unit_test(install_and_uninstall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
