/* Hardening on the fake libraries: fork in the middle of traffic, 1,000 dlopen/dlclose cycles, and
 * 64 threads hammering pass-through calls with concurrent resets, with every event counted. */
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

#include "harness.h"

#define STRESS BUILD_DIR "/progs/stress_host"
static struct run R, R2;

/* 20 forks while 4 threads are inside ctxguard; each child resets at once. No child may hang on a
 * lock inherited from a thread that did not survive the fork; each child's event has its own pid. */
static void fork_during_traffic(void **s)
{
    (void)s;
    if (getenv("CTXGUARD_TEST_PRELOAD_FIRST"))
        skip(); /* a sanitizer runtime's own locks are not fork-safe with threads running (seen with ASan) */
    run_prog(&R, 1, 1, NULL, (const char *const[]){STRESS, "fork", PLUG("A"), PLUG("B"), NULL});
    if (R.status != 0)
        fail_msg("status %d\n%s%s", R.status, R.out, R.err);
    assert_non_null(strstr(R.out, "forks ok 20"));
    int events = 0;
    char parent[32] = "";
    for (char *line = strtok(R.log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, "\"call\":\"cudaDeviceReset\""))
            continue;
        char pid[32];
        assert_true(json_get(line, "pid", pid, sizeof pid));
        if (!parent[0]) {
            /* the parent logs nothing itself here: every reset comes from a different child */
            snprintf(parent, sizeof parent, "%s", pid);
        }
        events++;
    }
    assert_int_equal(events, 20);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"pid\":", parent, "cudaDeviceReset", NULL}), 1);
}

/* 1,000 cycles of load, use, unload: module slots are reused (the table holds 64), attribution stays
 * right for the modules loaded afterwards, and ctxguard adds no memory growth of its own. */
/* Calls from code no module owns (JIT) make ctxguard look the runtime up on every call, walking the
 * loaded objects; meanwhile another thread loads and unloads a library. Asking the loader from inside
 * that walk deadlocked 2 runs in 3 (status 142 from the alarm, or a hang); it must always finish. */
static void jit_caller_while_loading(void **s)
{
    (void)s;
    for (int i = 0; i < 5; i++) {
        run_prog(&R, 1, 1, NULL, (const char *const[]){STRESS, "jit", PLUG("A"), PLUG("B"), NULL});
        if (R.status != 0)
            fail_msg("run %d: status %d\n%s%s", i, R.status, R.out, R.err);
        assert_non_null(strstr(R.out, "jit calls 20000"));
    }
}

static void dlopen_dlclose_cycles(void **s)
{
    (void)s;
    const char *const argv[] = {STRESS, "cycles", "1000", PLUG("A"), PLUG("B"), NULL};
    /* RSS growth is measured: under AddressSanitizer its quarantine keeps freed memory mapped, so any
     * allocation freed again (a 2 KiB scratch per executed reset) would count as growth there */
    const char *const env[] = {"ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:quarantine_size_mb=0", NULL};
    run_prog(&R, 0, 0, env, argv);
    run_prog(&R2, 1, 1, env, argv);
    assert_int_equal(R.status, 1); /* bare: B's reset really destroyed A's data */
    assert_int_equal(R2.status, 0);
    long b100, b1000, s100, s1000;
    assert_int_equal(sscanf(strstr(R.out, "rss after"), "rss after 100 cycles %ld kB, after 1000 cycles %ld kB", &b100, &b1000), 2);
    assert_int_equal(sscanf(strstr(R2.out, "rss after"), "rss after 100 cycles %ld kB, after 1000 cycles %ld kB", &s100, &s1000), 2);
    /* the test plugin itself leaks its 4 KiB buffer per cycle, bare too; ctxguard must add nothing.
     * Not measured under valgrind, whose queue of freed blocks (like ASan's quarantine) keeps freed
     * memory resident: memcheck is there for invalid accesses, not for growth. */
    if (!getenv("CTXGUARD_TEST_MEMCHECK") && (s1000 - s100) - (b1000 - b100) > 256)
        fail_msg("ctxguard grew by %ld kB more than bare over 900 cycles", (s1000 - s100) - (b1000 - b100));
    const char *ev = strstr(R2.log, "\"call\":\"cudaDeviceReset\"");
    assert_non_null(ev);
    assert_int_equal(count_lines_with(R2.log, (const char *const[]){"\"action\":\"block\"",
        "\"shared_with\":[\"" BUILD_DIR "/plugins/libplugA.so\"],\"caller\":\"" BUILD_DIR "/plugins/libplugB.so\"", NULL}), 1);
}

/* A module unloaded and another loaded at its address: the thread's cached range (and the fast path
 * armed on it) must not carry over. C is watched by a rule, so its call is denied only if ctxguard
 * sees it as C's; a stale fast path would pass it through as A's. */
static void unloaded_range_reused(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, (const char *const[]){"CTXGUARD_RULES=block cudaGetDevice from libplugC.so", NULL},
             (const char *const[]){STRESS, "reuse", PLUG("A"), PLUG("C"), NULL});
    assert_int_equal(R.status, 0);
    if (!strstr(R.out, "same range 1"))
        skip(); /* the loader put C elsewhere: nothing to show (not seen with glibc 2.36 to 2.39) */
    assert_non_null(strstr(R.out, "A's calls 0;"));
    if (!strstr(R.out, "C's getdevice -> 800"))
        fail_msg("C's call was not judged as C's:\n%s%s", R.out, R.err);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cudaGetDevice\"", "\"deny\"",
        "\"caller\":\"" BUILD_DIR "/plugins/libplugC.so\"", NULL}), 1);
}

/* 64 threads × 100,000 pass-through calls, each thread resetting every 10,000: every reset is one
 * event, none lost or duplicated, every line valid JSON. */
static void threads_hammer_with_resets(void **s)
{
    (void)s;
    /* under valgrind (CTXGUARD_TEST_MEMCHECK), which runs one thread at a time, a tenth of the calls;
     * each thread resets 10 times either way */
    int vg = getenv("CTXGUARD_TEST_MEMCHECK") != NULL, resets = 640;
    run_prog(&R, 1, 1, NULL, (const char *const[]){STRESS, "threads", "64", vg ? "10000" : "100000", PLUG("A"), PLUG("B"), NULL});
    assert_int_equal(R.status, 0);
    char want[32];
    snprintf(want, sizeof want, "resets %d", resets);
    assert_non_null(strstr(R.out, want));
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cudaDeviceReset\"", "\"action\":\"block\"", NULL}), resets);
    int lines = 0;
    for (char *line = strtok(R.log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!json_valid(line, strlen(line)))
            fail_msg("invalid line: %s", line);
        lines++;
    }
    assert_true(lines >= resets);
}

/* Signals land on the logging threads all the time (handler without SA_RESTART): no line lost. */
static void signals_during_logging(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, NULL, (const char *const[]){STRESS, "signals", PLUG("A"), PLUG("B"), NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "resets 16000"));
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cudaDeviceReset\"", "\"action\":\"block\"", NULL}), 16000);
}

/* Issue 15: B's reset reclaimed 200 times while B's threads allocate and free (their frees racing the
 * reclaims) and A's threads do the same, freed addresses handed out again at once: A's data is
 * intact, every reset is a reclaim, the process ends (no deadlock). check-tsan runs it too. */
static void reclaims_racing_frees(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, (const char *const[]){"CTXGUARD_RECLAIM=1", "FAKE_CUDA_REUSE=1", NULL},
             (const char *const[]){STRESS, "reclaim", PLUG("A"), PLUG("B"), NULL});
    assert_int_equal(R.status, 0);
    if (!strstr(R.out, "reclaim resets 200, A's check 0 "))
        fail_msg("%s\n%s", R.out, R.err);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"call\":\"cudaDeviceReset\"", "\"action\":\"reclaim\"", NULL}), 200);
}

/* The log file is O_CLOEXEC: a program the host execs does not inherit it. */
static void log_fd_not_inherited(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_LOG=/tmp/ctxguard-fd-test.log", NULL},
             (const char *const[]){STRESS, "execfd", PLUG("A"), PLUG("B"), NULL});
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "/proc/self/fd") == NULL ? R.out : R.out); /* ls ran */
    assert_null(strstr(R.out, "ctxguard-fd-test.log"));
    FILE *f = fopen("/tmp/ctxguard-fd-test.log", "r");
    assert_non_null(f); /* and the parent did log there */
    fclose(f);
    unlink("/tmp/ctxguard-fd-test.log");
}

/* A module whose constructor uses the runtime before main, before ctxguard was asked anything. */
static void constructor_calls_before_init(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/early_host", PLUG("B"), NULL};
    run_prog(&R, 0, 0, NULL, argv);
    assert_int_equal(R.status, 1); /* bare: E's data lost */
    run_prog(&R2, 1, 1, NULL, argv);
    assert_int_equal(R2.status, 0);
    assert_non_null(strstr(R2.out, "constructor setup -> 0"));
    assert_int_equal(count_lines_with(R2.log, (const char *const[]){"\"action\":\"block\"",
        "\"shared_with\":[\"" BUILD_DIR "/plugins/libplugE.so\"]", NULL}), 1);
}

/* A plugin unloaded by one thread and loaded again by another (by path, and as a dependency, often at
 * the same address, name and link map) while the dlclose is still under way (tests/progs/stress_host.c,
 * "reopen": six threads). One malloc arena without per-thread caches (as MALLOC_ARENA_MAX=1 gives a
 * production host) makes the reuse likely, and a slow loader listing (tests/preload/slow_list.c) widens
 * the window. Anything ctxguard cached for the first A and used for the second crashed: the dlopen
 * handle kept for it (2 runs in 3 without the "dlclose under way" check), and the real functions
 * cached in its module slot, pointing into the runtime unloaded with it (0.2 crashed 4 runs in 6 with
 * six threads, also before ctxguard kept any handle). */
static void handles_during_dlclose(void **s)
{
    (void)s;
    /* under valgrind (check-memcheck: invalid accesses, not races) one short run */
    int memcheck = getenv("CTXGUARD_TEST_MEMCHECK") != NULL;
    const char *n = memcheck ? "30" : "300";
    run_preload_before_shim = BUILD_DIR "/preload/slow_list.so";
    for (int i = 0; i < (memcheck ? 1 : 3); i++) {
        run_prog(&R, 1, 0, (const char *const[]){"GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1", NULL},
                 (const char *const[]){STRESS, "reopen", n, BUILD_DIR "/plugins", NULL});
        if (R.status != 0)
            break;
    }
    run_preload_before_shim = NULL;
    if (R.status != 0)
        fail_msg("status %d\n%s%s", R.status, R.out, R.err);
    assert_non_null(strstr(R.out, " failed 0"));
}

/* A full disk (every write to the log file fails with ENOSPC): one message, every line then on stderr, the host unaffected. */
static void full_disk_log(void **s)
{
    (void)s;
    /* a regular file whose every write fails with ENOSPC (tests/preload/full_disk.c) */
    char path[] = "/tmp/ctxguard-full-XXXXXX", log_env[64], full_env[64];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(log_env, sizeof log_env, "CTXGUARD_LOG=%s", path);
    snprintf(full_env, sizeof full_env, "FULL_DISK_PATH=%s", path);
    run_preload_before_shim = BUILD_DIR "/preload/full_disk.so";
    run_prog(&R, 1, 0, (const char *const[]){log_env, full_env, NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    run_preload_before_shim = NULL;
    unlink(path);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"writing to CTXGUARD_LOG file", path, "failed", "No space left", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 2);
}

/* Every CTXGUARD_* variable at once with hostile values: one message each, the host runs, guard holds. */
static void hostile_environment(void **s)
{
    (void)s;
    /* some of these values are valid relative paths for CTXGUARD_LOG ("-1", "guärd"): run in a
     * scratch directory, so the log files they make land there and not in the checkout */
    char here[4096], scratch[] = "/tmp/ctxguard-hostile-XXXXXX";
    assert_non_null(getcwd(here, sizeof here));
    assert_non_null(mkdtemp(scratch));
    assert_int_equal(chdir(scratch), 0);
    static char huge[70000];
    memset(huge, 'A', sizeof huge - 1);
    const char *values[] = {"", "-1", "99999999999999999999", "gu\xc3\xa4rd", "guard\x01\x1b[31m", huge, NULL};
    for (int i = 0; values[i]; i++) {
        static char env[8][70100];
        /* the first six accept none of these values; the last two take paths, and some are paths */
        const char *names[] = {"CTXGUARD_MODE", "CTXGUARD_LOG_LEVEL", "CTXGUARD_LOG_FORMAT", "CTXGUARD_STRICT",
                               "CTXGUARD_SUMMARY", "CTXGUARD_NVTX", "CTXGUARD_LOG", "CTXGUARD_CONFIG"};
        const char *list[9];
        for (int k = 0; k < 8; k++) {
            snprintf(env[k], sizeof env[k], "%s=%s", names[k], values[i]);
            list[k] = env[k];
        }
        list[8] = NULL;
        run_prog(&R, 1, 0, list, (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL});
        if (R.status != 0)
            fail_msg("value %d: status %d\n%s", i, R.status, R.err);
        /* the reset was blocked (guard held) and each bad value said so once: in the log the
         * configuration names (a file, when the value is a usable relative path), else on stderr */
        static char logged[1 << 16];
        logged[0] = '\0';
        FILE *lf = values[i][0] ? fopen(values[i], "r") : NULL;
        if (lf) {
            logged[fread(logged, 1, sizeof logged - 1, lf)] = '\0';
            fclose(lf);
            unlink(values[i]);
        }
        for (int k = 0; k < 6; k++) {
            int n = count_lines_with(R.err, (const char *const[]){names[k], "is not valid", NULL}) +
                    count_lines_with(logged, (const char *const[]){names[k], "is not valid", NULL});
            if (n != 1)
                fail_msg("value %d, %s: %d messages\n%s", i, names[k], n, R.err);
        }
        for (char *p = R.err; *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\n')
                fail_msg("value %d: a raw control byte reached stderr", i);
    }
    assert_int_equal(chdir(here), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", scratch);
    assert_int_equal(system(cmd), 0);
}

/* Policy files that are not what they should be: a FIFO (never blocks), over 1 MiB, binary. */
static void hostile_policy_files(void **s)
{
    (void)s;
    char fifo[] = "/tmp/ctxguard-fifo-XXXXXX";
    close(mkstemp(fifo));
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char big[] = "/tmp/ctxguard-big-XXXXXX", bin[] = "/tmp/ctxguard-bin-XXXXXX";
    int fd = mkstemp(big);
    for (int i = 0; i < 90000; i++) /* 1.17 MB */
        assert_int_equal(write(fd, "allow @reset\n", 13), 13);
    close(fd);
    fd = mkstemp(bin);
    for (int i = 0; i < 4096; i++) {
        unsigned char c = (unsigned char)(i * 131 + 7);
        assert_int_equal(write(fd, &c, 1), 1);
    }
    close(fd);
    const char *files[] = {fifo, big, bin, "/tmp", NULL};
    const char *want[] = {"not a regular file", "larger than 1 MiB", "more problems not shown", "not a regular file"};
    for (int i = 0; files[i]; i++) {
        char env[128];
        snprintf(env, sizeof env, "CTXGUARD_CONFIG=%s", files[i]);
        run_prog(&R, 1, 0, (const char *const[]){env, NULL},
                 (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL});
        if (R.status != 0)
            fail_msg("%s: status %d\n%s", files[i], R.status, R.err);
        assert_non_null(strstr(R.err, want[i]));
        assert_int_equal(count_lines_with(R.err, (const char *const[]){"no rule is used; the guard preset decides", NULL}), 1);
    }
    unlink(fifo);
    unlink(big);
    unlink(bin);
}

/* A policy file that changes while it is read: read again until it holds still; one that never does is
 * refused like a broken policy (guard preset, or deny-all under CTXGUARD_STRICT=1), never half-read. */
static void policy_changing_while_read(void **s)
{
    (void)s;
    char path[] = "/tmp/ctxguard-moving-XXXXXX", env[96], mut[96];
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "block @reset from libplugB.so\n", 30), 30);
    close(fd);
    snprintf(env, sizeof env, "CTXGUARD_CONFIG=%s", path);
    snprintf(mut, sizeof mut, "MUTATE_PATH=%s", path);
    run_preload_before_shim = BUILD_DIR "/preload/mutate_read.so";
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL};
    /* changed once (a rule appended during the first read): the second read is stable and used */
    run_prog(&R, 1, 1, (const char *const[]){env, mut, "MUTATE_TIMES=1", NULL}, steps);
    assert_int_equal(R.status, 0);
    assert_null(strstr(R.err, "cannot read policy"));
    char want[128];
    snprintf(want, sizeof want, "\"decided_by\":\"%s:1\"", path);
    assert_non_null(strstr(R.log, want));
    /* changing on every read: refused, said once, the guard preset decides */
    run_prog(&R, 1, 1, (const char *const[]){env, mut, "MUTATE_TIMES=1000", NULL}, steps);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.log ? R.log : "", (const char *const[]){"kept changing while being read (3 tries)", NULL}) +
                     count_lines_with(R.err, (const char *const[]){"kept changing while being read (3 tries)", NULL}), 1);
    assert_non_null(strstr(R.log, "\"decided_by\":\"preset guard (policy has errors)\""));
    /* … and under CTXGUARD_STRICT=1 every guarded call is denied */
    run_prog(&R, 1, 1, (const char *const[]){env, mut, "MUTATE_TIMES=1000", "CTXGUARD_STRICT=1", NULL}, steps);
    run_preload_before_shim = NULL;
    assert_non_null(strstr(R.out, "libplugB.so:reset -> 800"));
    unlink(path);
}

/* The flight recorder cannot map its ring (a tight address-space limit): it says so once and the host
 * runs to its end, guarded. Its message was once logged from inside initialisation, the log re-entered
 * pthread_once and the host hung at its first CUDA call (the interposer's alarm turns a hang into
 * SIGALRM, status 142). */
static void recorder_mapping_fails(void **s)
{
    (void)s;
    char dump[] = "/tmp/ctxguard-nodump-XXXXXX", env[96];
    int fd = mkstemp(dump);
    close(fd);
    snprintf(env, sizeof env, "CTXGUARD_DUMP=%s", dump);
    run_preload_before_shim = BUILD_DIR "/preload/fail_big_mmap.so";
    run_prog(&R, 1, 1, (const char *const[]){env, "CTXGUARD_DUMP_EVENTS=65536", "FAIL_MMAP_ALARM=20", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    run_preload_before_shim = NULL;
    unlink(dump);
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "libplugA.so:check -> 0 cudaSuccess"));
    assert_non_null(R.log);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"action\":\"block\"", "cudaDeviceReset", NULL}), 1);
    int said = count_lines_with(R.log, (const char *const[]){"cannot map the flight recorder", NULL}) +
               count_lines_with(R.err, (const char *const[]){"cannot map the flight recorder", NULL});
    assert_int_equal(said, 1);
}

/* ctxguard's log sink calls write(2); a write wrapper that looks CUDA names up with dlsym re-enters
 * ctxguard's dlsym while it logs. Nothing hangs or recurses, the lines are whole, and RTLD_NEXT from
 * inside the sink still means the wrapper's next definition. */
static void dlsym_from_inside_the_sink(void **s)
{
    (void)s;
    run_preload_before_shim = BUILD_DIR "/preload/sink_dlsym.so";
    run_prog(&R, 1, 0, NULL,
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    run_preload_before_shim = NULL;
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard: ", "block runtime cudaDeviceReset", "reason=\"", NULL}), 2);
    int lookups = 0, found = 0, ok = 0, calls = 0;
    const char *p = strstr(R.err, "sink_dlsym: ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "sink_dlsym: %d lookups, %d found; RTLD_NEXT write %d of %d right", &lookups, &found, &ok, &calls), 4);
    assert_true(lookups >= 8); /* both block lines went through the wrapper */
    assert_int_equal(ok, calls);
    assert_true(found >= lookups / 2); /* ctxguard's own exports at least: cudaGetDevice, cudaDeviceReset */
}

/* As an unprivileged user (root runs the host through setpriv as nobody): a policy file it may not read
 * and a log in a directory it may not write are each said once; the guard preset decides, events go to
 * stderr, the host runs. */
static void unprivileged_user(void **s)
{
    (void)s;
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0 || getenv("CTXGUARD_TEST_PRELOAD_FIRST"))
        skip(); /* needs root to become nobody; sanitizer runtimes are not nobody-readable everywhere */
    char pol[] = "/tmp/ctxguard-private-XXXXXX", env[96];
    int fd = mkstemp(pol); /* 0600, owned by root */
    assert_int_equal(write(fd, "allow @reset\n", 13), 13);
    close(fd);
    snprintf(env, sizeof env, "CTXGUARD_CONFIG=%s", pol);
    const char *const steps[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", HOST,
                                 PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL};
    run_prog(&R, 1, 0, (const char *const[]){env, "CTXGUARD_LOG=/root/ctxguard-test.log", NULL}, steps);
    assert_int_equal(R.status, 0); /* the unreadable `allow @reset` did not weaken the guard */
    assert_int_equal(count_lines_with(R.err, (const char *const[]){pol, "cannot read policy: Permission denied", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"cannot open CTXGUARD_LOG file /root/ctxguard-test.log", "Permission denied", NULL}), 1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 1);
    assert_int_equal(access("/root/ctxguard-test.log", F_OK), -1);
    unlink(pol);
}

/* A setuid program (here: owned by nobody, run by root, so the loader runs it in secure mode) ignores
 * every CTXGUARD_* variable (secure_getenv): no log file where the caller asked, no mode the caller
 * chose. The same binary without the bit honours them. ctxguard is linked into it: secure mode also
 * ignores LD_PRELOAD paths. */
static void setuid_program_ignores_environment(void **s)
{
    (void)s;
    if (geteuid() != 0 || getenv("CTXGUARD_TEST_PRELOAD_FIRST") || getenv("CTXGUARD_TEST_MEMCHECK"))
        skip(); /* valgrind cannot run a setuid program as such */
    const char *dir = BUILD_DIR "/secure", *copy = BUILD_DIR "/secure/secure_host";
    mkdir(dir, 0755);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s/progs/secure_host %s && chown 65534:65534 %s && chmod 4755 %s", BUILD_DIR,
             copy, copy, copy);
    assert_int_equal(system(cmd), 0);
    const char *log = "/tmp/ctxguard-setuid-test.log";
    const char *const env[] = {"CTXGUARD_MODE=enforce", "CTXGUARD_LOG=/tmp/ctxguard-setuid-test.log", NULL};
    /* control: not setuid, the environment is honoured (enforce blocks the host's own reset) */
    unlink(log);
    run_prog(&R, 0, 0, env, (const char *const[]){BUILD_DIR "/progs/secure_host", "self:setup", "self:reset", "self:check", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(access(log, F_OK), 0);
    unlink(log);
    /* setuid: the defaults (guard: the host alone may reset; log on stderr) */
    run_prog(&R, 0, 0, env, (const char *const[]){copy, "self:setup", "self:reset", "self:check", NULL});
    assert_int_equal(R.status, 1);
    assert_int_equal(access(log, F_OK), -1);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){"ctxguard: ", "allow runtime cudaDeviceReset", NULL}), 1);
    unlink(copy);
}

/* Nothing of ctxguard's ever reaches stdout, even at debug level with every call logged. */
static void never_writes_stdout(void **s)
{
    (void)s;
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":ctxreset", PLUG("B") ":reset", PLUG("A") ":check", NULL};
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_LOG_LEVEL=debug", "CTXGUARD_SUMMARY=1", NULL}, steps);
    assert_null(strstr(R.out, "ctxguard"));
    assert_non_null(strstr(R.err, "ctxguard"));
}

static int read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return 1;
}

/* Dumps (CTXGUARD_DUMP): at exit after a block; on a crash, then the host's own disposition (the
 * default: death by SIGSEGV; or its handler); on SIGUSR2 on demand. */
static void dumps(void **s)
{
    (void)s;
    static char buf[1 << 16];
    const char *path = "/tmp/ctxguard-dump-test.txt";
    unlink(path);
    const char *const env[] = {"CTXGUARD_DUMP=/tmp/ctxguard-dump-test.txt", NULL};
    run_prog(&R, 1, 0, env, (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    assert_true(read_file(path, buf, sizeof buf));
    assert_non_null(strstr(buf, " event=dump level=notice pid="));
    assert_non_null(strstr(buf, " why=\"at exit, because something was blocked"));
    assert_int_equal(count_lines_with(buf, (const char *const[]){"block runtime cudaDeviceReset", "libplugB.so", NULL}), 1);
    assert_non_null(strstr(buf, " part=\"end of dump\""));
    unlink(path);
    /* CTXGUARD_DUMP_EVENTS=16 keeps the last 16 events: of 20 blocked resets and the runtime's release
     * at exit, the dump holds 16 lines, the last 15 resets among them */
    const char *many[24] = {HOST, PLUG("A") ":setup"};
    for (int i = 0; i < 20; i++)
        many[2 + i] = PLUG("B") ":reset";
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_DUMP=/tmp/ctxguard-dump-test.txt", "CTXGUARD_DUMP_EVENTS=16", NULL}, many);
    assert_int_equal(R.status, 0);
    assert_true(read_file(path, buf, sizeof buf));
    assert_int_equal(count_lines_with(buf, (const char *const[]){"ctxguard: 20", " event=decision ", " pid=", NULL}), 16);
    assert_int_equal(count_lines_with(buf, (const char *const[]){"block runtime cudaDeviceReset", NULL}), 15);
    unlink(path);
    if (getenv("CTXGUARD_TEST_PRELOAD_FIRST") || getenv("CTXGUARD_TEST_MEMCHECK"))
        return; /* a sanitizer runtime handles SIGSEGV itself, and to memcheck the crash is an error */
    /* a crash with the default disposition: dumped, then the process still dies of SIGSEGV */
    run_prog(&R, 1, 0, env, (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":crash", NULL});
    assert_int_equal(R.status, 128 + 11);
    assert_true(read_file(path, buf, sizeof buf));
    assert_non_null(strstr(buf, "fatal signal SIGSEGV"));
    assert_non_null(strstr(buf, "block runtime cudaDeviceReset"));
    unlink(path);
    /* the host's own handler still runs */
    run_prog(&R, 1, 0, (const char *const[]){"CTXGUARD_DUMP=/tmp/ctxguard-dump-test.txt", "PLUGIN_HOST_SEGV_HANDLER=1", NULL},
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":crash", NULL});
    assert_int_equal(R.status, 42);
    assert_non_null(strstr(R.err, "own SIGSEGV handler"));
    assert_true(read_file(path, buf, sizeof buf));
    assert_non_null(strstr(buf, "fatal signal SIGSEGV"));
    unlink(path);
    /* on demand */
    run_prog(&R, 1, 0, env, (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":reset", PLUG("A") ":usr2", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    assert_true(read_file(path, buf, sizeof buf));
    assert_non_null(strstr(buf, "on demand (SIGUSR2)"));
    unlink(path);
    /* without CTXGUARD_DUMP: no handler installed, the crash is the host's alone */
    run_prog(&R, 1, 0, NULL, (const char *const[]){HOST, PLUG("A") ":setup", PLUG("A") ":crash", NULL});
    assert_int_equal(R.status, 128 + 11);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fork_during_traffic),
        cmocka_unit_test(dlopen_dlclose_cycles),
        cmocka_unit_test(unloaded_range_reused),
        cmocka_unit_test(jit_caller_while_loading),
        cmocka_unit_test(handles_during_dlclose),
        cmocka_unit_test(threads_hammer_with_resets),
        cmocka_unit_test(signals_during_logging),
        cmocka_unit_test(reclaims_racing_frees),
        cmocka_unit_test(log_fd_not_inherited),
        cmocka_unit_test(constructor_calls_before_init),
        cmocka_unit_test(full_disk_log),
        cmocka_unit_test(hostile_environment),
        cmocka_unit_test(hostile_policy_files),
        cmocka_unit_test(never_writes_stdout),
        cmocka_unit_test(policy_changing_while_read),
        cmocka_unit_test(dlsym_from_inside_the_sink),
        cmocka_unit_test(recorder_mapping_fails),
        cmocka_unit_test(unprivileged_user),
        cmocka_unit_test(setuid_program_ignores_environment),
        cmocka_unit_test(dumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
