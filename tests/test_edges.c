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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attribution_once_per_reset_over_many_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
