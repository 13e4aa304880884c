/* Issue 14's process-level edges, on the fake libraries: two runtimes reached through their own
 * handles, a FIFO as the log or dump destination, fork with %p paths, and the de-duplication of
 * failure explanations over many reset cycles. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static struct run R;

/* The argv of plugin_host for `cycles` times the same four steps. */
static const char **cycle_steps(int cycles, const char *const steps[4])
{
    const char **argv = calloc((size_t)cycles * 4 + 2, sizeof *argv);
    argv[0] = HOST;
    for (int c = 0; c < cycles; c++)
        for (int k = 0; k < 4; k++)
            argv[1 + c * 4 + k] = steps[k];
    return argv;
}

/* Item 10: a failing call is explained once per module, call and reset, however many resets the
 * process lives through. The table that remembered what was told held 256 entries; after that every
 * failure was explained again (260 cycles gave 264 lines, not 260). */
static void attribution_once_per_reset_over_many_cycles(void **s)
{
    (void)s;
    static const char *const steps[4] = {PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check",
                                         PLUG("A") ":check"};
    const int counts[] = {10, 260};
    for (int i = 0; i < 2; i++) {
        const char **argv = cycle_steps(counts[i], steps);
        run_prog(&R, 1, 1, (const char *const[]){"CTXGUARD_MODE=observe", NULL}, argv);
        free(argv);
        assert_int_equal(R.status, 1); /* every check failed: the resets really happened */
        int lines = count_lines_with(R.log, (const char *const[]){"\"decided_by\":\"attribution\"",
                                                                   "\"call\":\"cudaMemcpy\"", NULL});
        if (lines != counts[i])
            fail_msg("%d reset cycles: %d explanations of A's failing cudaMemcpy, expected one per reset (%d)",
                     counts[i], lines, counts[i]);
    }
}

/* Item 7: a FIFO (or any file that is not a regular file) as CTXGUARD_LOG or CTXGUARD_DUMP. Opening a
 * FIFO for writing waits for a reader: the host hung forever in open. Now it is refused with one
 * message and the lines go to stderr. `timeout` ends a hung run (status 137), so the test fails
 * rather than hangs. */
static void fifo_destination_refused(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-fifo-XXXXXX", fifo[64], log_env[96], dump_env[96];
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(log_env, sizeof log_env, "CTXGUARD_LOG=%s", fifo);
    snprintf(dump_env, sizeof dump_env, "CTXGUARD_DUMP=%s", fifo);
    const char *const argv[] = {"/usr/bin/timeout", "-s", "KILL", "10", HOST, PLUG("A") ":setup",
                                PLUG("B") ":reset", PLUG("A") ":check", NULL};
    /* the log: each line on stderr instead, after one message */
    run_prog(&R, 1, 0, (const char *const[]){log_env, NULL}, argv);
    if (R.status != 0)
        fail_msg("CTXGUARD_LOG=FIFO: status %d (137: hung and killed)\n%s", R.status, R.err);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard: CTXGUARD_LOG", fifo,
                                                                   "not a regular file", "stderr", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 1);
    /* the dump at exit (something was blocked): to stderr, after one message */
    run_prog(&R, 1, 0, (const char *const[]){dump_env, NULL}, argv);
    if (R.status != 0)
        fail_msg("CTXGUARD_DUMP=FIFO: status %d (137: hung and killed)\n%s", R.status, R.err);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard: CTXGUARD_DUMP", fifo,
                                                                   "not a regular file", "stderr", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard dump (pid", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard dump end", NULL}), 1);
    /* a directory is not a regular file either (open fails with EISDIR): the same message */
    snprintf(log_env, sizeof log_env, "CTXGUARD_LOG=%s", dir);
    run_prog(&R, 1, 0, (const char *const[]){log_env, NULL}, argv);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard: CTXGUARD_LOG", "not a regular file", NULL}), 1);
    unlink(fifo);
    rmdir(dir);
}

/* The contents of a file, or NULL when it does not exist (malloc'ed). */
static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Item 9: a forked child is a process of its own. It inherited its parent's decision counters,
 * flight recorder and "something was blocked" flag, so at exit it reported the parent's decisions
 * again (a second summary and dump), and with %p in CTXGUARD_LOG and CTXGUARD_DUMP it kept writing
 * into the parent's files. Now the child starts empty and writes to files named by its own pid. */
static void fork_child_reports_only_its_own(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-fork-XXXXXX", log_env[128], dump_env[128], path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(log_env, sizeof log_env, "CTXGUARD_LOG=%s/log.%%p", dir);
    snprintf(dump_env, sizeof dump_env, "CTXGUARD_DUMP=%s/dump.%%p", dir);
    for (int child_resets = 0; child_resets < 2; child_resets++) {
        /* the parent sets up A and has B's reset blocked, then forks; the child checks A's data
         * (nothing notable) or has B's reset blocked once more (one decision of its own) */
        run_prog(&R, 1, 0, (const char *const[]){log_env, dump_env, NULL},
                 (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", "fork",
                                       child_resets ? PLUG("B") ":reset" : PLUG("A") ":check", NULL});
        long parent = 0, child = 0;
        int st = -1;
        const char *f = strstr(R.out, "fork: parent ");
        if (R.status != 0 || !f || sscanf(f, "fork: parent %ld, child %ld exited %d", &parent, &child, &st) != 3 || st != 0)
            fail_msg("status %d\n%s%s", R.status, R.out, R.err);
        char ppid[32], cpid[32];
        snprintf(ppid, sizeof ppid, "pid=%ld ", parent);
        snprintf(cpid, sizeof cpid, "pid=%ld ", child);
        snprintf(path, sizeof path, "%s/log.%ld", dir, parent);
        char *plog = slurp_file(path);
        assert_non_null(plog);
        snprintf(path, sizeof path, "%s/log.%ld", dir, child);
        char *clog = slurp_file(path);
        snprintf(path, sizeof path, "%s/dump.%ld", dir, parent);
        char *pdump = slurp_file(path);
        assert_non_null(pdump);
        snprintf(path, sizeof path, "%s/dump.%ld", dir, child);
        char *cdump = slurp_file(path);
        /* the parent's files hold the parent's lines only: one block, one summary, one dump */
        if (count_in(plog, cpid) != 0 || count_in(plog, "summary (pid") != 1 || count_in(pdump, "ctxguard dump (pid") != 1)
            fail_msg("child %ld wrote into its parent's files:\n--- log.%ld\n%s--- dump.%ld\n%s", child, parent,
                     plog, parent, pdump);
        assert_int_equal(count_in(plog, "block runtime cudaDeviceReset"), 1);
        if (!child_resets) {
            /* the child decided nothing: it reports nothing and creates no file */
            if (clog || cdump)
                fail_msg("child %ld decided nothing, yet wrote:\n--- log\n%s--- dump\n%s", child, clog ? clog : "",
                         cdump ? cdump : "");
        } else {
            /* the child's own block, counted once, in its own files, with no line of its parent's */
            if (!clog || !cdump)
                fail_msg("child %ld: no log (%p) or no dump (%p) of its own", child, (void *)clog, (void *)cdump);
            assert_int_equal(count_in(clog, ppid), 0);
            assert_int_equal(count_in(clog, "block runtime cudaDeviceReset"), 1);
            assert_int_equal(count_in(clog, "block 1 "), 1);
            assert_int_equal(count_in(clog, "block 2 "), 0);
            assert_int_equal(count_in(cdump, ppid), 0);
            assert_int_equal(count_in(cdump, "block runtime cudaDeviceReset"), 1);
        }
        free(plog);
        free(clog);
        free(pdump);
        free(cdump);
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -f %s/log.* %s/dump.*", dir, dir);
        assert_int_equal(system(cmd), 0);
    }
    rmdir(dir);
}

/* Item 4: two copies of the runtime, opened RTLD_LOCAL and reached only through pointers dlsym'd from
 * their own handles (ctypes with two libcudart files). ctxguard handed out one wrapper per name for the
 * whole process and sent every call to the first runtime it had seen: runtime 2's cudaSetDevice(0)
 * moved runtime 1 back to device 0. Calls now reach the runtime whose handle they came from, and a
 * reset through either is still judged. */
static void two_runtimes_through_their_handles(void **s)
{
    (void)s;
    static struct run bare;
    const char *const env[] = {"FAKE_CUDA_DEVICES=2", NULL};
    const char *const argv[] = {BUILD_DIR "/progs/two_runtimes", BUILD_DIR "/fake/libcuda.so.1",
                                BUILD_DIR "/fake/libcudart.so.13", BUILD_DIR "/fake/alt/libcudart.so.13", NULL};
    run_prog(&bare, 0, 0, env, argv);
    assert_int_equal(bare.status, 0);
    assert_non_null(strstr(bare.out, "r1 device 1, r2 device 0")); /* the two copies really are two */
    for (int mode = 0; mode < 2; mode++) {
        const char *const menv[] = {"FAKE_CUDA_DEVICES=2", mode ? "CTXGUARD_MODE=observe" : "CTXGUARD_MODE=guard", NULL};
        run_prog(&R, 1, 1, menv, argv);
        assert_int_equal(R.status, 0);
        if (strcmp(R.out, bare.out) != 0)
            fail_msg("%s: with ctxguard\n%sbare\n%s", menv[1], R.out, bare.out);
        assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cudaDeviceReset\"",
                                                                     "progs/two_runtimes\"", NULL}), 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_runtimes_through_their_handles),
        cmocka_unit_test(attribution_once_per_reset_over_many_cycles),
        cmocka_unit_test(fifo_destination_refused),
        cmocka_unit_test(fork_child_reports_only_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
