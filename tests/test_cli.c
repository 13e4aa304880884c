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

#include "../include/ctxguard.h"
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
    assert_non_null(strstr(R.err, want)); /* problems are errors: stderr, nothing on stdout */
    snprintf(want, sizeof want, "%s:3:6: missing calls", bad);
    assert_non_null(strstr(R.err, want));
    assert_string_equal(R.out, "");
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
    assert_non_null(strstr(R.out, "ctxguard " CTXGUARD_VERSION "\n"));
    unlink(good);
    unlink(bad);
}

/* Issue 14 item 8: run must never start PROGRAM unguarded. An LD_PRELOAD entry that merely contains
 * the library's path is another library; an entry after a space is one the loader reads; a library
 * path with a space or a colon would be split by the loader, so run refuses it. */
static void run_preload_whole_entries(void **s)
{
    (void)s;
    const char *show[] = {CLI, "run", "--", "/bin/sh", "-c", "echo \"$LD_PRELOAD\"", NULL};
    run_prog(&R, 0, 0, (const char *const[]){"LD_PRELOAD=" SHIM ".old", NULL}, show);
    assert_int_equal(R.status, 0);
    assert_string_equal(R.out, SHIM ".old:" SHIM "\n");
    run_prog(&R, 0, 0, (const char *const[]){"LD_PRELOAD=/nonexistent/" "libctxguard.so", NULL}, show);
    assert_string_equal(R.out, "/nonexistent/libctxguard.so:" SHIM "\n");
    /* already there as a whole entry, after a space or a colon: left as it is */
    run_prog(&R, 0, 0, (const char *const[]){"LD_PRELOAD=" BUILD_DIR "/libctxguard-noop.so " SHIM, NULL}, show);
    assert_string_equal(R.out, BUILD_DIR "/libctxguard-noop.so " SHIM "\n");
    char dir[] = "/tmp/ctxguard lib XXXXXX", link[128], env[160], cmd[256];
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/libctxguard.so", dir);
    assert_int_equal(symlink(SHIM, link), 0);
    snprintf(env, sizeof env, "CTXGUARD_LIBRARY=%s", link);
    run_prog(&R, 0, 0, (const char *const[]){env, NULL}, show);
    assert_int_equal(R.status, 2);
    assert_string_equal(R.out, ""); /* PROGRAM never ran */
    assert_non_null(strstr(R.err, "contains a space, where the loader splits LD_PRELOAD"));
    unlink(link);
    rmdir(dir);
    /* the same file by another path is the same entry */
    char same[] = "/tmp/ctxguard-same-XXXXXX";
    assert_non_null(mkdtemp(same));
    snprintf(link, sizeof link, "%s/libctxguard.so", same);
    assert_int_equal(symlink(SHIM, link), 0);
    snprintf(env, sizeof env, "LD_PRELOAD=%s", link);
    run_prog(&R, 0, 0, (const char *const[]){env, NULL}, show);
    assert_int_equal(R.status, 0);
    snprintf(cmd, sizeof cmd, "%s\n", link);
    assert_string_equal(R.out, cmd);
    unlink(link);
    rmdir(same);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--library=/tmp/a:b/libctxguard.so", "/bin/true", NULL});
    assert_int_equal(R.status, 2);
    char colon[] = "/tmp/ctxguard:XXXXXX";
    assert_non_null(mkdtemp(colon));
    snprintf(link, sizeof link, "%s/libctxguard.so", colon);
    assert_int_equal(symlink(SHIM, link), 0);
    snprintf(env, sizeof env, "--library=%s", link);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", env, "/bin/true", NULL});
    assert_int_equal(R.status, 2);
    assert_non_null(strstr(R.err, "contains a colon"));
    unlink(link);
    rmdir(colon);
}

/* run checks the settings and the policy as the library will read them, before PROGRAM starts. */
static void run_checks_settings_and_policy(void **s)
{
    (void)s;
    const char *prog[] = {"/bin/sh", "-c", "echo started; exit 5", NULL};
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--rules", "block @reset; deny cudaDeviceRest", "--", prog[0], prog[1], prog[2], NULL});
    assert_int_equal(R.status, 2);
    assert_string_equal(R.out, "");
    assert_non_null(strstr(R.err, "CTXGUARD_RULES:1:20: unknown call 'cudaDeviceRest'; expected 'cudaDeviceReset'"));
    assert_non_null(strstr(R.err, "not starting /bin/sh"));
    char bad[] = "/tmp/ctxguard-runbad-XXXXXX", env[96], want[128];
    close(mkstemp(bad));
    write_file(bad, "allow @reset\ndeny cuCtxCreate\n");
    snprintf(env, sizeof env, "CTXGUARD_CONFIG=%s", bad);
    run_prog(&R, 0, 0, (const char *const[]){env, NULL}, (const char *const[]){CLI, "run", prog[0], prog[1], prog[2], NULL});
    assert_int_equal(R.status, 2);
    snprintf(want, sizeof want, "%s:2:6: call ctxguard never judges 'cuCtxCreate'", bad);
    assert_non_null(strstr(R.err, want));
    run_prog(&R, 0, 0, (const char *const[]){env, NULL}, (const char *const[]){CLI, "run", "--no-check", prog[0], prog[1], prog[2], NULL});
    assert_int_equal(R.status, 5);
    assert_string_equal(R.out, "started\n");
    unlink(bad);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--dump-events=7", "/bin/true", NULL});
    assert_int_equal(R.status, 2);
    assert_non_null(strstr(R.err, "CTXGUARD_DUMP_EVENTS=\"7\" is not valid: expected a whole number from 16 to 65536"));
    run_prog(&R, 0, 0, (const char *const[]){"CTXGUARD_LOG_LEVEL=loud", NULL}, (const char *const[]){CLI, "run", "/bin/true", NULL});
    assert_int_equal(R.status, 2);
    /* --opt=value and --opt value alike; each setting reaches PROGRAM */
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--mode=enforce", "--log-format", "json", "--log-level=debug",
                                                    "--strict", "--no-summary", "--dump-events", "64", "--nvtx-lib=libx.so",
                                                    "--error-exitcode=3", "--", "/bin/sh", "-c",
                                                    "echo $CTXGUARD_MODE $CTXGUARD_LOG_FORMAT $CTXGUARD_LOG_LEVEL $CTXGUARD_STRICT "
                                                    "$CTXGUARD_SUMMARY $CTXGUARD_DUMP_EVENTS $CTXGUARD_NVTX_LIB $CTXGUARD_EXIT_CODE", NULL});
    assert_int_equal(R.status, 0);
    assert_string_equal(R.out, "enforce json debug 1 0 64 libx.so 3\n");
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--error-exitcode", "0", "/bin/true", NULL});
    assert_int_equal(R.status, 2);
    assert_non_null(strstr(R.err, "--error-exitcode 0: expected a whole number from 1 to 255"));
    /* a flag for every variable the library names (every "CTXGUARD_…" string in shim/) */
    run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/sh", "-c", "grep -rhoE '\"CTXGUARD_[A-Z_]+\"' "
                                                    BUILD_DIR "/../shim | tr -d '\"' | sort -u", NULL});
    assert_int_equal(R.status, 0);
    static char vars[sizeof R.out];
    memcpy(vars, R.out, sizeof vars);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "run", "--help", NULL});
    assert_int_equal(R.status, 0);
    int n = 0;
    for (char *v = strtok(vars, "\n"); v; v = strtok(NULL, "\n"), n++) {
        char flag[64];
        snprintf(flag, sizeof flag, " %s", v);
        if (!strstr(R.out, flag))
            fail_msg("ctxguard run has no option for %s", v);
    }
    assert_true(n >= 12);
}

/* Every subcommand: --help on stdout with exit 0; a bad option on stderr with exit 2. */
static void help_and_usage_errors(void **s)
{
    (void)s;
    const char *const cmds[] = {"run", "check", "report", "inspect"};
    for (int i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: ctxguard %s", cmds[i]);
        run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, cmds[i], "--help", NULL});
        assert_int_equal(R.status, 0);
        assert_int_equal(strncmp(R.out, want, strlen(want)), 0);
        assert_string_equal(R.err, "");
        assert_non_null(strstr(R.out, "Exit status"));
        run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "help", cmds[i], NULL});
        assert_int_equal(R.status, 0);
        assert_int_equal(strncmp(R.out, want, strlen(want)), 0);
        run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, cmds[i], "--no-such-option", "x", NULL});
        assert_int_equal(R.status, 2);
        assert_string_equal(R.out, "");
        assert_non_null(strstr(R.err, "unknown option --no-such-option"));
    }
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "frobnicate", NULL});
    assert_int_equal(R.status, 2);
    assert_string_equal(R.out, "");
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "inspect", "/etc/hostname", NULL});
    assert_int_equal(R.status, 1);
    assert_non_null(strstr(R.err, "ctxguard inspect: /etc/hostname: "));
}

/* Issue 16: a rule the library never applies is an error in check and in the library alike. */
static void check_and_library_agree_on_never_judged_calls(void **s)
{
    (void)s;
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", "--rules=deny cuCtxCreate; deny cudaDeviceRest", NULL});
    assert_int_equal(R.status, 1);
    assert_non_null(strstr(R.err, "--rules:1:6: call ctxguard never judges 'cuCtxCreate'"));
    assert_non_null(strstr(R.err, "--rules:1:24: unknown call 'cudaDeviceRest'; expected 'cudaDeviceReset'"));
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_RULES=deny cuCtxCreate from libplugB.so", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0); /* the guard preset held */
    assert_non_null(strstr(R.err, "CTXGUARD_RULES:1:6: call ctxguard never judges 'cuCtxCreate'"));
    assert_non_null(strstr(R.err, "the policy has errors"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", "--list-calls", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"cudaDeviceReset", NULL}), 1);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"cuCtxDestroy_v2", NULL}), 1);
    assert_null(strstr(R.out, "cuCtxCreate"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", "--rules", "deny @all", "--explain", "cuCtxCreate_v2",
                                                    "--caller", "libx.so", NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "cuCtxCreate_v2 is never judged"));
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "check", "--rules", "deny @all", "--explain=cudaMalloc",
                                                    "--caller=libx.so", "--ctx=created", NULL});
    assert_non_null(strstr(R.out, "cudaMalloc by libx.so on created: deny, decided by --rules:1"));
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

/* The benchmark's jmp-only forwarder (tests/bench/jmp_forwarder.c) on the H200 ended every process it
 * was preloaded into that had no runtime yet: taskset, which bench.py puts in front of the benchmark,
 * and a host whose plugins bring their runtime in RTLD_LOCAL. Both must run, and the plugin's calls
 * must reach its runtime through the forwarder. */
static void jmp_forwarder_without_a_runtime_at_start(void **s)
{
    (void)s;
    const char *const env[] = {"LD_PRELOAD=" BUILD_DIR "/bench/libjmpfwd.so", NULL};
    run_prog(&R, 0, 0, env, (const char *const[]){"/bin/true", NULL});
    if (R.status != 0)
        fail_msg("a program without CUDA under the forwarder: status %d\n%s", R.status, R.err);
    run_prog(&R, 0, 0, env, (const char *const[]){HOST, PLUG("A") ":setup", PLUG("A") ":getdevice",
                                                   PLUG("A") ":sync", PLUG("A") ":check", NULL});
    if (R.status != 0)
        fail_msg("plugin host under the forwarder: status %d\n%s%s", R.status, R.out, R.err);
    assert_non_null(strstr(R.out, "libplugA.so:getdevice -> 0 cudaSuccess"));
    assert_non_null(strstr(R.out, "libplugA.so:sync -> 0 cudaSuccess"));
    if (access("/usr/bin/taskset", X_OK) == 0) {
        run_prog(&R, 0, 0, env, (const char *const[]){"/usr/bin/taskset", "-c", "0", BUILD_DIR "/progs/bench_calls", "paired",
                                                       "getdevice", "3", "100", NULL});
        if (R.status != 0)
            fail_msg("taskset bench_calls under the forwarder: status %d\n%s", R.status, R.err);
        assert_non_null(strstr(R.out, "diff="));
    }
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

/* inspect reads PT_DYNAMIC from the program headers, as the loader does: an object whose section
 * headers are stripped (e_shoff, e_shnum, e_shstrndx zeroed; it still loads) reads the same. */
static void inspect_without_section_headers(void **s)
{
    (void)s;
    char path[] = "/tmp/ctxguard-nosh-XXXXXX", cmd[256];
    close(mkstemp(path));
    snprintf(cmd, sizeof cmd, "cp %s %s", PLUG("A"), path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    unsigned char zero[8] = {0};
    assert_int_equal(fseek(f, 0x28, SEEK_SET), 0); /* e_shoff */
    assert_int_equal(fwrite(zero, 1, 8, f), 8);
    assert_int_equal(fseek(f, 0x3c, SEEK_SET), 0); /* e_shnum, e_shstrndx */
    assert_int_equal(fwrite(zero, 1, 4, f), 4);
    fclose(f);
    run_prog(&R, 0, 0, NULL, (const char *const[]){CLI, "inspect", path, NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "links the CUDA runtime dynamically: libcudart.so.13\n  links the CUDA driver directly: libcuda.so.1"));
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"imports guarded entry points: ", "cudaDeviceReset, ", NULL}), 1);
    assert_non_null(strstr(R.out, "ctxguard sees: its runtime calls"));
    /* and the stripped file still loads: the plugin host runs it */
    snprintf(cmd, sizeof cmd, "%s:setup", path);
    run_prog(&R, 0, 0, (const char *const[]){"LD_LIBRARY_PATH=" BUILD_DIR "/fake", NULL}, (const char *const[]){HOST, cmd, NULL});
    assert_int_equal(R.status, 0);
    unlink(path);
}

/* completion/ctxguard: valid bash, registered for ctxguard, and completing options, their values
 * (also after --opt=) and, for --explain, the calls the command lists. */
static void bash_completion(void **s)
{
    (void)s;
    const char *file = BUILD_DIR "/../completion/ctxguard";
    run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/bash", "-n", file, NULL});
    assert_int_equal(R.status, 0);
    const char *script =
        "source \"$1\"; complete -p ctxguard; "
        "t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _ctxguard; echo \"[${COMPREPLY[*]}]\"; }; "
        "t ctxguard rep; t ctxguard run --mo; t ctxguard run --mode = enf; t ctxguard report --format pro; "
        "t ctxguard report --act; t \"$2\" check --explain cudaDeviceRes; t ctxguard run --json /bin/sh --mo";
    run_prog(&R, 0, 0, NULL, (const char *const[]){"/bin/bash", "-c", script, "x", file, CLI, NULL});
    assert_int_equal(R.status, 0);
    assert_string_equal(R.out, "complete -F _ctxguard ctxguard\n[report]\n[--mode]\n[enforce]\n[prometheus]\n[--action]\n"
                               "[cudaDeviceReset]\n[]\n");
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
                           "share/man/man1/ctxguard.1", "share/man/man7/libctxguard.7",
                           "share/bash-completion/completions/ctxguard"};
    for (int i = 0; i < 6; i++) {
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
    for (int i = 0; i < 6; i++) {
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
        cmocka_unit_test(run_preload_whole_entries),
        cmocka_unit_test(run_checks_settings_and_policy),
        cmocka_unit_test(help_and_usage_errors),
        cmocka_unit_test(check_and_library_agree_on_never_judged_calls),
        cmocka_unit_test(behind_another_preload),
        cmocka_unit_test(report_summarises_logs),
        cmocka_unit_test(report_reads_dumps_and_text_logs),
        cmocka_unit_test(inspect_static_and_dynamic),
        cmocka_unit_test(inspect_without_section_headers),
        cmocka_unit_test(launch_script_recipe),
        cmocka_unit_test(man_pages_render),
        cmocka_unit_test(install_and_uninstall),
        cmocka_unit_test(bash_completion),
        cmocka_unit_test(jmp_forwarder_without_a_runtime_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
