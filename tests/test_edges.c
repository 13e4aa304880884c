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
#include <sys/un.h>
#include <sys/socket.h>
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
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"event=dump", "part=\"the last events", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"event=dump", "part=\"end of dump\"", NULL}), 1);
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
        if (count_in(plog, cpid) != 0 || count_in(plog, " rows=") != 1 || count_in(pdump, "part=\"the last events") != 1)
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
            assert_int_equal(count_in(clog, "call=cudaDeviceReset allow=0 block=1 "), 1);
            assert_int_equal(count_in(clog, "block=2 "), 0);
            assert_int_equal(count_in(clog, " seq=1 "), 1); /* a process of its own: its lines count from 1 */
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


/* CTXGUARD_LOG=syslog (issue 16): ctxguard writes to the syslog socket itself, RFC 3164 style, with
 * its own identity and CTXGUARD_SYSLOG_FACILITY, a severity per line; the host's own openlog() stays
 * the host's (the old openlog("ctxguard", LOG_PID, LOG_USER) replaced it, LOG_PERROR included: the
 * host's later message vanished from stderr). glibc's syslog connects through an internal symbol, so
 * the host's facility cannot be caught here; its identity and options can. */
static void syslog_socket_leaves_the_host_alone(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-syslog-XXXXXX", sock_env[160], path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log", dir);
    snprintf(sock_env, sizeof sock_env, "CTXGUARD_SYSLOG_SOCKET=%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_LOG=syslog", sock_env, "CTXGUARD_SYSLOG_FACILITY=local3", NULL},
             (const char *const[]){HOST, "host-openlog", PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check",
                                   "host-syslog", NULL});
    assert_int_equal(R.status, 0);
    /* the host's message, with the host's identity and its LOG_PERROR option */
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"myhost", "the host's own message", NULL}), 1);
    assert_null(strstr(R.err, "block runtime")); /* ctxguard's lines went to the socket */
    char msg[8192];
    int blocks = 0, summaries = 0, others = 0;
    ssize_t n;
    while ((n = recv(fd, msg, sizeof msg - 1, 0)) > 0) {
        msg[n] = '\0';
        /* local3 is 19 << 3 = 152: a block is a warning (4), the summary info (6) */
        if (strncmp(msg, "<156>", 5) == 0 && strstr(msg, " block runtime cudaDeviceReset"))
            blocks++;
        else if (strncmp(msg, "<158>", 5) == 0 && strstr(msg, "event=summary"))
            summaries++;
        else
            others++;
        /* "<PRI>Mmm dd hh:mm:ss ctxguard[PID]: " and no repeated "ctxguard: " */
        const char *id = strstr(msg, " ctxguard[");
        assert_non_null(id);
        assert_int_equal(id - msg, (ptrdiff_t)strlen("<156>Jan  1 00:00:00"));
        assert_non_null(strstr(id, "]: 20"));
        assert_null(strstr(msg, "ctxguard: "));
    }
    assert_int_equal(blocks, 1);
    assert_true(summaries >= 2);
    assert_int_equal(others, 0);
    close(fd);
    unlink(path);
    /* no socket (as in most containers): stderr, after one message */
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_LOG=syslog", sock_env, NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"CTXGUARD_LOG=syslog but", path, "cannot be reached", "stderr", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 1);
    rmdir(dir);
}

/* Rotation and mode (issue 16): a log file moved away by logrotate is replaced by a new one at the
 * path (looked for at most once a second: the host sleeps 1.2 s), created with CTXGUARD_LOG_MODE
 * exactly, whatever the umask. */
static void rotated_log_is_reopened_with_its_mode(void **s)
{
    (void)s;
    char dir[] = "/tmp/ctxguard-rotate-XXXXXX", env[160], path[128], old[128], ren[300];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cg.log", dir);
    snprintf(old, sizeof old, "%s/cg.log.1", dir);
    snprintf(env, sizeof env, "CTXGUARD_LOG=%s", path);
    snprintf(ren, sizeof ren, "host-rename=%s=%s", path, old);
    mode_t um = umask(077);
    run_prog(&R, 1, 0, (const char *const[]){env, "CTXGUARD_LOG_MODE=0640", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", ren, "host-sleep=1200",
                                   PLUG("B") ":reset", PLUG("A") ":check", NULL});
    umask(um);
    assert_int_equal(R.status, 0);
    char *before = slurp_file(old), *after = slurp_file(path);
    assert_non_null(before);
    if (after == NULL)
        fail_msg("the rotated log was not reopened; %s holds:\n%s", old, before);
    assert_int_equal(count_in(before, "block runtime cudaDeviceReset"), 1);
    assert_int_equal(count_in(after, "block runtime cudaDeviceReset"), 1);
    assert_int_equal(count_in(after, " rows=1 "), 1); /* the summary in the new file */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(stat(old, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    free(before);
    free(after);
    unlink(path);
    unlink(old);
    rmdir(dir);
}

/* CTXGUARD_EXIT_CODE (issue 16): a process whose calls were blocked, that would exit 0, exits N; its
 * buffered stdout is still written; a nonzero status and a process with nothing blocked keep theirs. */
static void exit_code_when_blocked(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_EXIT_CODE=7", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", "host-print", NULL});
    assert_int_equal(R.status, 7);
    assert_non_null(strstr(R.out, "host: buffered output\n"));
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"event=warning", "exit status 0 becomes 7", NULL}), 1);
    assert_non_null(strstr(R.err, " rows=1 ")); /* the summary came first */
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_EXIT_CODE=7", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", "host-exit=5", NULL});
    assert_int_equal(R.status, 5);
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_EXIT_CODE=7", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_EXIT_CODE=256", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"event=config_error", "CTXGUARD_EXIT_CODE", "1 to 255", NULL}), 1);
}

/* Dumps in a JSON log are JSON (issue 16), and a dump's event lines are the log's lines, seq and all. */
static void json_dump_lines_are_the_log_lines(void **s)
{
    (void)s;
    const char *path = "/tmp/ctxguard-json-dump.txt";
    unlink(path);
    run_prog(&R, 1, 1, (const char *const[]){"CTXGUARD_DUMP=/tmp/ctxguard-json-dump.txt", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    char *dump = slurp_file(path);
    assert_non_null(dump);
    int events = 0, frames = 0;
    for (char *l = strtok(dump, "\n"); l; l = strtok(NULL, "\n")) {
        if (!json_valid(l, strlen(l)))
            fail_msg("a dump line is not JSON: %s", l);
        char v[64];
        assert_true(json_get(l, "seq", v, sizeof v));
        assert_true(json_get(l, "event", v, sizeof v));
        if (!strcmp(v, "\"dump\"")) {
            frames++;
            continue;
        }
        if (strstr(l, "\"action\":\"block\"") && !strstr(R.log, l))
            fail_msg("a dump line is not in the log:\n%s\nlog:\n%s", l, R.log);
        events += strstr(l, "\"action\":\"block\"") != NULL;
    }
    assert_int_equal(events, 2);
    assert_int_equal(frames, 2);
    free(dump);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_runtimes_through_their_handles),
        cmocka_unit_test(attribution_once_per_reset_over_many_cycles),
        cmocka_unit_test(fifo_destination_refused),
        cmocka_unit_test(fork_child_reports_only_its_own),
        cmocka_unit_test(syslog_socket_leaves_the_host_alone),
        cmocka_unit_test(rotated_log_is_reopened_with_its_mode),
        cmocka_unit_test(exit_code_when_blocked),
        cmocka_unit_test(json_dump_lines_are_the_log_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
