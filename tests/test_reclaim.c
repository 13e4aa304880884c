/* Issue 15 on the fake CUDA libraries: a plugin that allocates and resets at every load of a
 * reloading host. A block keeps the other plugin's data and says what the resetter left behind; a
 * reclaim also frees the resetter's own memory, streams and events, and nothing of anyone else's. */
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

static struct run R;
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
/* 20 reload cycles; 3 under valgrind (CTXGUARD_TEST_MEMCHECK: each cycle is a plugin load there) */
#define MAX_CYCLES 20
static int CYCLES = MAX_CYCLES;
#define MIB (1024ull * 1024ull)
/* what libplug*:alloc makes: 64 MiB + 1 MiB managed (device), 1 MiB pinned host, a stream, an event */
#define ALLOC_DEV (65 * MIB)
#define ALLOC_HOST MIB

struct usage {
    unsigned long long dev, host;
    int streams, events;
};

/* The n-th (0-based) "meminfo" line of the host's output. */
static struct usage meminfo(const char *out, int n)
{
    struct usage u = {0, 0, -1, -1};
    const char *p = out;
    for (int i = 0; i <= n; i++) {
        p = strstr(p, "meminfo used=");
        if (p == NULL)
            fail_msg("no meminfo line %d in:\n%s", n, out);
        if (i < n)
            p++;
    }
    if (sscanf(p, "meminfo used=%llu host=%llu streams=%d events=%d", &u.dev, &u.host, &u.streams, &u.events) != 4)
        fail_msg("unreadable meminfo line: %.120s", p);
    return u;
}

/* HOST A:setup A:meminfo, CYCLES x (B:alloc B:reset B:unload), A:check A:meminfo */
static void run_cycles(const char *a, const char *b, const char *const env[])
{
    static char bufs[4 + 3 * MAX_CYCLES][600];
    const char *argv[8 + 3 * MAX_CYCLES];
    int k = 0, n = 0;
    argv[k++] = HOST;
#define STEP(lib, act) (snprintf(bufs[n], sizeof bufs[n], "%s:%s", lib, act), argv[k++] = bufs[n++])
    STEP(a, "setup");
    STEP(a, "meminfo");
    for (int i = 0; i < CYCLES; i++) {
        STEP(b, "alloc");
        STEP(b, "reset");
        STEP(b, "unload");
    }
    STEP(a, "check");
    STEP(a, "meminfo");
    argv[k] = NULL;
    run_prog(&R, 1, 1, env, argv);
}

static int count_events(const char *action, const char *counts)
{
    char a[64];
    snprintf(a, sizeof a, "\"action\":\"%s\"", action);
    return count_lines_with(R.log, (const char *const[]){a, counts, NULL});
}

/* With reclaim: A intact, and what is in use after the loop equals what was before it. */
static void reclaim_cycles(const char *a, const char *b, const char *call)
{
    run_cycles(a, b, ENV("CTXGUARD_RECLAIM=1"));
    if (R.status != 0)
        fail_msg("status %d:\n%s\n%s", R.status, R.out, R.err);
    assert_non_null(strstr(R.out, "libplugA.so:check -> 0") ? R.out : strstr(R.out, "libplugS1.so:check -> 0"));
    struct usage before = meminfo(R.out, 0), after = meminfo(R.out, 1);
    if (before.dev != after.dev || before.host != after.host || before.streams != after.streams ||
        before.events != after.events)
        fail_msg("in use before %llu/%llu/%d/%d, after %llu/%llu/%d/%d\n%s", before.dev, before.host, before.streams,
                 before.events, after.dev, after.host, after.streams, after.events, R.log);
    char counts[160];
    snprintf(counts, sizeof counts, "\"reclaimed\":{\"allocations\":3,\"bytes\":%llu,\"streams\":1,\"events\":1}",
             ALLOC_DEV + ALLOC_HOST);
    char c[80];
    snprintf(c, sizeof c, "\"call\":\"%s\"", call);
    int n = count_lines_with(R.log, (const char *const[]){"\"action\":\"reclaim\"", counts, c, NULL});
    if (n != CYCLES)
        fail_msg("%d reclaim events with %s, want %d:\n%s", n, counts, CYCLES, R.log);
}

/* Without: A intact too, the growth is in use, each block says what it left, the summary totals it. */
static void block_cycles(const char *a, const char *b, const char *bname)
{
    run_cycles(a, b, ENV("CTXGUARD_SUMMARY=1"));
    if (R.status != 0)
        fail_msg("status %d:\n%s\n%s", R.status, R.out, R.err);
    struct usage before = meminfo(R.out, 0), after = meminfo(R.out, 1);
    assert_int_equal(after.dev - before.dev, CYCLES * ALLOC_DEV);
    assert_int_equal(after.host - before.host, CYCLES * ALLOC_HOST);
    assert_int_equal(after.streams - before.streams, CYCLES);
    char counts[160];
    snprintf(counts, sizeof counts, "\"left\":{\"allocations\":3,\"bytes\":%llu,\"streams\":1,\"events\":1}",
             ALLOC_DEV + ALLOC_HOST);
    int n = count_events("block", counts);
    if (n != CYCLES)
        fail_msg("%d block events with %s, want %d:\n%s", n, counts, CYCLES, R.log);
    /* the exit summary's structured line for the module: what its blocked resets left behind */
    char mod[96], resets[64], allocs[64], bytes[64], streams[64], events[64];
    snprintf(mod, sizeof mod, "\"module\":\"%s\"", bname);
    snprintf(resets, sizeof resets, "\"left_by_blocked_resets\":%d", CYCLES);
    snprintf(allocs, sizeof allocs, "\"allocations\":%d", 3 * CYCLES);
    snprintf(bytes, sizeof bytes, "\"bytes\":%llu", CYCLES * (ALLOC_DEV + ALLOC_HOST));
    snprintf(streams, sizeof streams, "\"streams\":%d", CYCLES);
    snprintf(events, sizeof events, "\"events\":%d", CYCLES);
    if (count_lines_with(R.log, (const char *const[]){"\"event\":\"summary\"", mod, resets, allocs, bytes, streams, events,
                                                      "CTXGUARD_RECLAIM=1 frees them", NULL}) != 1)
        fail_msg("summary line for %s's left-behind resources missing:\n%s", bname, R.log);
}

static void reclaim_shared_shared(void **s) { (void)s; reclaim_cycles(PLUG("A"), PLUG("B"), "cudaDeviceReset"); }
static void reclaim_shared_static(void **s) { (void)s; reclaim_cycles(PLUG("A"), PLUG("S2"), "cuDevicePrimaryCtxReset"); }
static void reclaim_static_shared(void **s) { (void)s; reclaim_cycles(PLUG("S1"), PLUG("B"), "cudaDeviceReset"); }
static void reclaim_static_static(void **s) { (void)s; reclaim_cycles(PLUG("S1"), PLUG("S2"), "cuDevicePrimaryCtxReset"); }
static void block_shared_shared(void **s) { (void)s; block_cycles(PLUG("A"), PLUG("B"), "libplugB.so"); }
static void block_static_static(void **s) { (void)s; block_cycles(PLUG("S1"), PLUG("S2"), "libplugS2.so"); }
static void block_shared_static(void **s) { (void)s; block_cycles(PLUG("A"), PLUG("S2"), "libplugS2.so"); }

/* The same object counted once: the runtime's cudaMalloc calls the driver's cuMemAlloc underneath,
 * through a pointer ctxguard handed out; and what another module allocated is never freed. */
static void reclaim_frees_only_the_callers(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_RECLAIM=1"),
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("A") ":alloc", PLUG("A") ":meminfo",
                                   PLUG("B") ":alloc", PLUG("B") ":reset", PLUG("A") ":check", PLUG("A") ":meminfo", NULL});
    assert_int_equal(R.status, 0);
    struct usage before = meminfo(R.out, 0), after = meminfo(R.out, 1);
    assert_int_equal(after.dev, before.dev);   /* A's 65 MiB still there, B's gone */
    assert_int_equal(after.streams, 1);        /* A's stream */
    assert_int_equal(after.events, 1);
    char counts[160];
    snprintf(counts, sizeof counts, "\"reclaimed\":{\"allocations\":3,\"bytes\":%llu,\"streams\":1,\"events\":1}",
             ALLOC_DEV + ALLOC_HOST);
    assert_int_equal(count_events("reclaim", counts), 1);
}

/* Freed objects leave the records: a module that cleaned up has nothing left or reclaimed. */
static void freed_objects_are_forgotten(void **s)
{
    (void)s;
    const char *const steps[] = {HOST, PLUG("A") ":setup", PLUG("B") ":allocfree", PLUG("B") ":reset",
                                 PLUG("A") ":check", NULL};
    run_prog(&R, 1, 1, NULL, steps);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_events("block", "\"left\":{\"allocations\":0,\"bytes\":0,\"streams\":0,\"events\":0}"), 1);
    run_prog(&R, 1, 1, ENV("CTXGUARD_RECLAIM=1"), steps);
    assert_int_equal(R.status, 0);
    assert_int_equal(count_events("reclaim", "\"reclaimed\":{\"allocations\":0,\"bytes\":0,\"streams\":0,\"events\":0}"), 1);
}

/* The driver door from a user module (cuMemAlloc, cuStreamCreate called by the plugin itself). */
static void driver_api_allocations_reclaimed(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_RECLAIM=1"),
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("A") ":meminfo", PLUG("B") ":drvalloc",
                                   PLUG("B") ":reset", PLUG("A") ":check", PLUG("A") ":meminfo", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_events("reclaim", "\"reclaimed\":{\"allocations\":1,\"bytes\":1048576,\"streams\":1,\"events\":0}"), 1);
    struct usage before = meminfo(R.out, 0), after = meminfo(R.out, 1);
    assert_int_equal(after.dev, before.dev);
    assert_int_equal(after.streams, before.streams);
}

/* A rule may say reclaim for one module; the others' blocks stay plain blocks. */
static void reclaim_rule(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_RULES=reclaim @reset from *plugB*"),
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":alloc", PLUG("B") ":reset",
                                   PLUG("C") ":alloc", PLUG("C") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"action\":\"reclaim\"", "libplugB.so\",\"action",
                                                                   "\"decided_by\":\"CTXGUARD_RULES:1\"", NULL}), 1);
    assert_int_equal(count_lines_with(R.log, (const char *const[]){"\"action\":\"block\"", "libplugC.so\",\"action",
                                                                   "\"left\":{\"allocations\":3", NULL}), 1);
}

/* A reset that really happens retires the records of that incarnation: a later block counts only
 * what was allocated since, and so does the summary. */
static void real_reset_retires_records(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_SUMMARY=1"),
             (const char *const[]){HOST, PLUG("B") ":alloc", PLUG("B") ":reset", PLUG("A") ":setup", PLUG("B") ":alloc",
                                   PLUG("B") ":reset", PLUG("A") ":check", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_events("allow", "\"call\":\"cudaDeviceReset\""), 1);
    char counts[160];
    snprintf(counts, sizeof counts, "\"left\":{\"allocations\":3,\"bytes\":%llu,\"streams\":1,\"events\":1}",
             ALLOC_DEV + ALLOC_HOST);
    assert_int_equal(count_events("block", counts), 1);
    if (count_lines_with(R.log, (const char *const[]){"\"event\":\"summary\"", "\"module\":\"libplugB.so\"",
                                                      "\"left_by_blocked_resets\":1", "\"allocations\":3",
                                                      "\"bytes\":69206016", "\"streams\":1", "\"events\":1", NULL}) != 1)
        fail_msg("summary:\n%s", R.log);
}

/* The text line says the same in words. */
static void text_line_says_reclaimed(void **s)
{
    (void)s;
    run_prog(&R, 1, 0, ENV("CTXGUARD_RECLAIM=1"),
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":alloc", PLUG("B") ":reset", NULL});
    assert_int_equal(R.status, 0);
    assert_int_equal(count_lines_with(R.err, (const char *const[]){" reclaim runtime cudaDeviceReset",
                                                                   "reclaimed=\"3 allocations (69206016 bytes), 1 stream, 1 event\"",
                                                                   NULL}), 1);
}

/* ctxguard report shows what blocks left and reclaims freed, per module and call. */
static void report_shows_left_and_reclaimed(void **s)
{
    (void)s;
    char path[] = "/tmp/ctxguard-reclaim-report-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    run_prog(&R, 1, 1, NULL, (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":alloc", PLUG("B") ":reset", NULL});
    assert_int_equal(write(fd, R.log, strlen(R.log)), (ssize_t)strlen(R.log));
    run_prog(&R, 1, 1, ENV("CTXGUARD_RECLAIM=1"),
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("C") ":alloc", PLUG("C") ":reset", NULL});
    assert_int_equal(write(fd, R.log, strlen(R.log)), (ssize_t)strlen(R.log));
    close(fd);
    run_prog(&R, 0, 0, NULL, (const char *const[]){BUILD_DIR "/ctxguard", "report", path, NULL});
    unlink(path);
    assert_int_equal(R.status, 0);
    assert_non_null(strstr(R.out, "left/recl MiB"));
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugB.so", "cudaDeviceReset", " 66/0 ", NULL}), 1);
    assert_int_equal(count_lines_with(R.out, (const char *const[]){"libplugC.so", "cudaDeviceReset", " 0/66 ", NULL}), 1);
}

/* Issue 15's review: "never free what another module allocated". With FAKE_CUDA_REUSE=1 the fake
 * driver hands a freed address to the next allocation of the same size, as a real driver may. */
#define REUSE ENV("CTXGUARD_RECLAIM=1", "FAKE_CUDA_REUSE=1")

/* Risk 1: B's other thread frees X while B's reset is reclaimed (run by the fake at the start of
 * the reclaim's free of X, on a thread of its own), then A allocates the same size. The reclaim had
 * detached B's records: the racing free found none and freed X, A got X, and the reclaim freed it
 * (A's). Now a free of a record under reclaim is the reclaim's to do: X is freed once (by the
 * reclaim), the racing free succeeds, and A's data stays. */
static void free_racing_a_reclaim(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, REUSE,
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("A") ":meminfo", PLUG("B") ":racefree",
                                   PLUG("A") ":racealloc", PLUG("B") ":reset", PLUG("A") ":checksame",
                                   PLUG("A") ":check", PLUG("B") ":raceresult", PLUG("A") ":meminfo", NULL});
    if (!strstr(R.out, "libplugA.so:checksame -> 0") || !strstr(R.out, "libplugB.so:raceresult -> 0"))
        fail_msg("A's allocation made during B's reclaim was freed, or the racing free failed:\n%s\n%s", R.out, R.log);
    assert_int_equal(R.status, 0);
    struct usage before = meminfo(R.out, 0), after = meminfo(R.out, 1);
    assert_int_equal(after.dev - before.dev, 1 << 20); /* A's MiB; B's freed exactly once */
    assert_int_equal(count_events("reclaim", "\"reclaimed\":{\"allocations\":1,\"bytes\":1048576,"), 1);
}

/* Risk 2: frees ctxguard does not see as frees leave records whose address may be another module's
 * by the time of the reclaim. B frees X (a free that frees and then reports an earlier error; the
 * per-thread-stream cudaFreeAsync_ptsz; an array made by cudaMallocArray destroyed through the
 * driver), A allocates the same, B's reset is reclaimed: A's allocation must stay. */
static void stale_record(const char *b_step, const char *a_alloc, const char *a_check)
{
    char b[256], a1[256], a2[256], want[300];
    snprintf(b, sizeof b, "%s:%s", PLUG("B"), b_step);
    snprintf(a1, sizeof a1, "%s:%s", PLUG("A"), a_alloc);
    snprintf(a2, sizeof a2, "%s:%s", PLUG("A"), a_check);
    run_prog(&R, 1, 1, REUSE, (const char *const[]){HOST, PLUG("A") ":setup", b, a1, PLUG("B") ":reset", a2, NULL});
    snprintf(want, sizeof want, "libplugB.so:%s -> 0", b_step);
    if (!strstr(R.out, want))
        fail_msg("the setup step failed:\n%s\n%s", R.out, R.err);
    snprintf(want, sizeof want, "libplugA.so:%s -> 0", a_check);
    if (!strstr(R.out, want))
        fail_msg("B's reclaim freed A's allocation at an address B had freed before (%s):\n%s\n%s", b_step, R.out, R.log);
    assert_int_equal(count_events("reclaim", "\"reclaimed\":{\"allocations\":0,"), 1);
}
static void failed_free_that_freed(void **s) { (void)s; stale_record("failfree", "allocsame", "checksame"); }
static void ptsz_free(void **s) { (void)s; stale_record("ptszfree", "allocsame", "checksame"); }
/* the driver's _ptsz variants from cuGetProcAddress(..., CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM),
 * A's allocation through one too: unrecorded, it would not have dropped B's stale record */
static void driver_ptsz_free(void **s) { (void)s; stale_record("drvptszfree", "drvptszalloc", "checksame"); }
static void array_destroyed_by_driver(void **s) { (void)s; stale_record("arraydrvfree", "arrayalloc", "arraycheck"); }
/* an NVIDIA library's driver free: NVIDIA's libraries other than the runtime get the wrapped frees
 * (doors/handout.h cg_drv_unwrapped_for), so the record is dropped at the free; before, it was
 * dropped only when A's recorded allocation returned the address */
static void nvidia_library_driver_free(void **s) { (void)s; stale_record("nvlibfree", "allocsame", "checksame"); }

/* Review of issue 15 (rev15): the same free, then the address goes to an NVIDIA library's own
 * workspace allocated through the real driver function (cuBLAS's static runtime does so), for A:
 * nothing was recorded, so B's stale record stayed, and B's reclaim freed A's workspace. */
static void nvidia_library_driver_free_then_driver_alloc(void **s) { (void)s; stale_record("nvlibfree", "nvlibwork", "checksame"); }

/* Review of issue 15 (rev15): B allocates with cudaMallocAsync on a stream of device 1 while device 0
 * is current (the memory is device 1's: the stream's pool), then resets device 0 beside A. A real
 * reset of device 0 would leave that memory alone; the record said device 0, and the reclaim freed
 * it: B's later use of it is a use after free, of an address the driver may give another module. */
static void reclaim_leaves_another_devices_stream_ordered_memory(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, ENV("CTXGUARD_RECLAIM=1", "FAKE_CUDA_REUSE=1", "FAKE_CUDA_DEVICES=2"),
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":xdevasync", PLUG("B") ":reset0",
                                   PLUG("B") ":checksame", PLUG("A") ":check", NULL});
    if (!strstr(R.out, "libplugB.so:xdevasync -> 0"))
        fail_msg("setup:\n%s\n%s", R.out, R.err);
    if (!strstr(R.out, "libplugB.so:checksame -> 0"))
        fail_msg("B's reset of device 0 freed B's memory on device 1:\n%s\n%s", R.out, R.log);
    assert_int_equal(count_events("reclaim", "\"reclaimed\":{\"allocations\":0,"), 1);
}

/* Review of issue 15 (rev15): B's reset is reclaimed (X freed), A allocates and gets X, then B's
 * destructor frees X as it always did after its reset (a real reset would have made that free fail):
 * the free found A's record at X and freed A's allocation. */
static void free_after_reclaim_of_a_reissued_address(void **s)
{
    (void)s;
    run_prog(&R, 1, 1, REUSE,
             (const char *const[]){HOST, PLUG("A") ":setup", PLUG("B") ":allocx", PLUG("B") ":reset",
                                   PLUG("A") ":allocsame", PLUG("B") ":freex", PLUG("A") ":checksame", NULL});
    if (!strstr(R.out, "libplugB.so:allocx -> 0") || !strstr(R.out, "libplugA.so:allocsame -> 0"))
        fail_msg("setup:\n%s\n%s", R.out, R.err);
    if (!strstr(R.out, "libplugA.so:checksame -> 0"))
        fail_msg("B's free of its reclaimed X freed A's allocation at X:\n%s\n%s", R.out, R.log);
}

/* Risk 3: a module reaching a runtime only through dlsym on that runtime's handle (ctypes), with a
 * second runtime loaded: its allocation through runtime 2 is reclaimed through runtime 2, not
 * through the runtime its own dependency scope (or the first handed-out cudaFree) would name.
 * Each fake runtime counts what it gave out and took back (fakeRuntimeLive). */
static void reclaim_through_the_allocating_runtime(void **s)
{
    (void)s;
    const char *const argv[] = {BUILD_DIR "/progs/two_runtimes", BUILD_DIR "/fake/libcuda.so.1",
                                BUILD_DIR "/fake/libcudart.so.13", BUILD_DIR "/fake/alt/libcudart.so.13", "alloc", NULL};
    run_prog(&R, 1, 1, ENV("CTXGUARD_RULES=reclaim @reset"), argv);
    assert_int_equal(R.status, 0);
    if (!strstr(R.out, "r2 malloc -> 0, live r1 0, r2 1") || !strstr(R.out, "r2 reset -> 0"))
        fail_msg("setup:\n%s\n%s", R.out, R.err);
    if (!strstr(R.out, "live r1 0, r2 0\n"))
        fail_msg("not freed through the runtime that allocated it:\n%s\n%s", R.out, R.log);
    assert_int_equal(count_events("reclaim", "\"reclaimed\":{\"allocations\":1,\"bytes\":1048576,"), 1);
}

int main(void)
{
    if (getenv("CTXGUARD_TEST_MEMCHECK"))
        CYCLES = 3;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reclaim_shared_shared),
        cmocka_unit_test(reclaim_shared_static),
        cmocka_unit_test(reclaim_static_shared),
        cmocka_unit_test(reclaim_static_static),
        cmocka_unit_test(block_shared_shared),
        cmocka_unit_test(block_shared_static),
        cmocka_unit_test(block_static_static),
        cmocka_unit_test(reclaim_frees_only_the_callers),
        cmocka_unit_test(freed_objects_are_forgotten),
        cmocka_unit_test(driver_api_allocations_reclaimed),
        cmocka_unit_test(reclaim_rule),
        cmocka_unit_test(real_reset_retires_records),
        cmocka_unit_test(text_line_says_reclaimed),
        cmocka_unit_test(report_shows_left_and_reclaimed),
        cmocka_unit_test(free_racing_a_reclaim),
        cmocka_unit_test(failed_free_that_freed),
        cmocka_unit_test(ptsz_free),
        cmocka_unit_test(driver_ptsz_free),
        cmocka_unit_test(array_destroyed_by_driver),
        cmocka_unit_test(nvidia_library_driver_free),
        cmocka_unit_test(nvidia_library_driver_free_then_driver_alloc),
        cmocka_unit_test(reclaim_leaves_another_devices_stream_ordered_memory),
        cmocka_unit_test(free_after_reclaim_of_a_reissued_address),
        cmocka_unit_test(reclaim_through_the_allocating_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
