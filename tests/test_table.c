/* The scenario table (tests/scenarios.tab) on the fake CUDA libraries: every row that does not need a
 * real GPU runs bare and under ctxguard; exit statuses and the guarded run's events are checked by
 * the same checker scripts/gpu-test.sh uses on real GPUs (build/progs/expect_events). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#ifndef SRC_DIR
#error "SRC_DIR must be defined (the checkout)"
#endif

static struct run R;

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* "@P/libplugA.so:setup" -> BUILD_DIR "/plugins/libplugA.so:setup", "@HOST" -> the plugin host. */
static char *expand(const char *w)
{
    static const struct {
        const char *tok, *val;
    } map[] = {{"@HOST", BUILD_DIR "/progs/plugin_host"}, {"@CUDA_HOST", BUILD_DIR "/progs/cuda_host"},
               {"@MT_HOST", BUILD_DIR "/progs/mt_host"}, {"@P", BUILD_DIR "/plugins"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i].tok);
        if (strncmp(w, map[i].tok, n) == 0 && (w[n] == '\0' || w[n] == '/')) {
            char *out = malloc(strlen(map[i].val) + strlen(w + n) + 1);
            strcpy(out, map[i].val);
            strcat(out, w + n);
            return out;
        }
    }
    return strdup(w);
}

static int run_row(char *line)
{
    char *field[7], *save = NULL;
    int nf = 0;
    for (char *p = line; nf < 7; nf++) {
        field[nf] = p;
        char *bar = strstr(p, " | ");
        if (!bar) {
            nf++;
            break;
        }
        *bar = '\0';
        p = bar + 3;
    }
    if (nf != 7)
        fail_msg("scenarios.tab: a row needs 7 fields: %s", line);
    for (int i = 0; i < 7; i++)
        field[i] = trim(field[i]);
    const char *name = field[0], *where = field[1];
    if (!strcmp(where, "gpu") || (!strcmp(where, "nosan") && getenv("CTXGUARD_TEST_PRELOAD_FIRST")))
        return 0;
    const char *env[16];
    int ne = 0;
    if (!strcmp(where, "2dev"))
        env[ne++] = "FAKE_CUDA_DEVICES=2";
    if (strcmp(field[2], "-")) {
        char *e = field[2];
        for (char *amp; (amp = strstr(e, " && ")); e = amp + 4) {
            *amp = '\0';
            env[ne++] = e;
        }
        env[ne++] = e;
    }
    env[ne] = NULL;
    const char *argv[32];
    int na = 0;
    for (char *w = strtok_r(field[3], " ", &save); w && na < 31; w = strtok_r(NULL, " ", &save))
        argv[na++] = expand(w);
    argv[na] = NULL;
    int want_bare = atoi(field[4]), want_guard = atoi(field[5]);
    run_prog(&R, 0, 0, env, argv);
    int bare = R.status;
    run_prog(&R, 1, 1, env, argv);
    int guarded = R.status;
    char logpath[] = "/tmp/ctxguard-table-XXXXXX";
    int fd = mkstemp(logpath);
    if (R.log && write(fd, R.log, strlen(R.log)) < 0)
        fail_msg("cannot write %s", logpath);
    close(fd);
    static struct run C;
    run_prog(&C, 0, 0, NULL, (const char *const[]){BUILD_DIR "/progs/expect_events", logpath, field[6], NULL});
    unlink(logpath);
    for (int i = 0; i < na; i++)
        free((void *)argv[i]);
    int ok = bare == want_bare && guarded == want_guard && C.status == 0;
    printf("%-22s | bare %3d (want %3d) | guarded %3d (want %3d) | %s | %s", name, bare, want_bare, guarded, want_guard,
           ok ? "pass" : "FAIL", C.out);
    return ok ? 0 : 1;
}

static void every_row(void **s)
{
    (void)s;
    FILE *f = fopen(SRC_DIR "/tests/scenarios.tab", "r");
    assert_non_null(f);
    static char line[4096];
    int rows = 0, fails = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        rows++;
        fails += run_row(line);
    }
    fclose(f);
    assert_true(rows >= 20);
    assert_int_equal(fails, 0);
}

/* The checker can fail: a wrong action, module, list, dry-run verdict or order is refused. */
static void checker_refuses_what_did_not_happen(void **s)
{
    (void)s;
    char logpath[] = "/tmp/ctxguard-table-XXXXXX";
    int fd = mkstemp(logpath);
    const char *log = "{\"action\":\"block\",\"call\":\"cudaDeviceReset\",\"caller\":\"/p/libplugB.so\","
                      "\"shared_with\":[\"/p/libplugA.so\"],\"result\":0,\"decided_by\":\"preset guard\",\"reason\":\"r\"}\n"
                      "{\"action\":\"allow\",\"call\":\"cuCtxDestroy_v2\",\"caller\":\"/p/libplugB.so\","
                      "\"shared_with\":[],\"would\":\"deny\",\"result\":0,\"decided_by\":\"r:1\",\"reason\":\"r\"}\n";
    assert_int_equal(write(fd, log, strlen(log)), (ssize_t)strlen(log));
    close(fd);
    static const struct {
        const char *expect;
        int status;
    } cases[] = {
        {"block cudaDeviceReset by libplugB.so with libplugA.so", 0},
        {"block cudaDeviceReset by libplugB.so with libplugA.so ; allow cuCtxDestroy* by libplug?.so with - would deny", 0},
        {"allow cudaDeviceReset by libplugB.so", 1},
        {"block cudaDeviceReset by libplugC.so", 1},
        {"block cudaDeviceReset by libplugB.so with -", 1},
        {"allow cuCtxDestroy_v2 by libplugB.so would block", 1},
        {"allow cuCtxDestroy_v2 by libplugB.so ; block cudaDeviceReset by libplugB.so", 1},
        {"block cudaDeviceReset by libplugB.so result 800", 1},
        {"-", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_prog(&R, 0, 0, NULL, (const char *const[]){BUILD_DIR "/progs/expect_events", logpath, cases[i].expect, NULL});
        if (R.status != cases[i].status)
            fail_msg("'%s': status %d, expected %d", cases[i].expect, R.status, cases[i].status);
    }
    unlink(logpath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checker_refuses_what_did_not_happen),
        cmocka_unit_test(every_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
