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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attribution_once_per_reset_over_many_cycles),
        cmocka_unit_test(fifo_destination_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
