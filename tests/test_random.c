/* Randomized scenarios (tests/progs/random_host.c): seeded sequences of plugin operations run bare,
 * under observe and under guard on the fake libraries, with these invariants:
 *   observe: every operation returns what it returns bare (stdout identical);
 *   guard:   no module's data is lost unless a rule allowed the reset: with the guard preset (no rules)
 *            only a module's reset of a context no other module holds data in is allowed, so an allowed
 *            reset while another loaded module holds data, or a failed check not preceded by the module's
 *            own allowed reset, is a failure; threads never lose data;
 *   reclaim: the guard run with CTXGUARD_RECLAIM=1, FAKE_CUDA_REUSE=1 (freed addresses handed out
 *            again) and RANDOM_HOST_MOVES=1 (frees ctxguard does not see): as guard, a reclaim
 *            counting as the resetter's own loss only;
 *   both:    every event is valid JSON and names only loaded modules (caller and shared_with); each
 *            process's exit summary counts exactly the events that process logged.
 * RANDOM_SEEDS (default 200) sequences from RANDOM_FIRST_SEED (default 1). A failing seed prints its
 * sequence; replay it with build/progs/random_host --seed N --dir build/plugins [--print]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define RANDOM_HOST BUILD_DIR "/progs/random_host"
#define NPLUG 5
static const char *const plugs[NPLUG] = {"A", "B", "C", "S1", "S2"};
static struct run bare, obs, grd, seq;

struct pstate {
    long pid;
    int loaded[NPLUG], unload_pending[NPLUG], set_up[NPLUG], lost_ok[NPLUG];
    char resetters[8192]; /* the callers of allowed resets and releases so far (raw JSON strings) */
    long counts[64][5];
    char keys[64][1400];
    int nkeys, events, summarized;
};

/* justified[i][p]: a failed check of plugin p at operation i is explained by p's own allowed reset
 * (index NPLUG*: in a forked child) */
static int justified[2][64][NPLUG];

static char failure[1 << 18];
#define FAIL(...) (snprintf(failure, sizeof failure, __VA_ARGS__), 0)

static int plug_of_path(const char *s, const char **end)
{
    /* the plugin whose path begins at s ("…/libplugX.so"), or -1 */
    for (int p = 0; p < NPLUG; p++) {
        char pat[32];
        snprintf(pat, sizeof pat, "/libplug%s.so\"", plugs[p]);
        const char *q = strstr(s, pat);
        if (q && (!*end || q < *end))
            return p;
    }
    return -1;
}

/* Every plugin named in `raw` (a JSON value: a string or an array of strings) is loaded in st. */
static int names_loaded(const struct pstate *st, const char *raw, const char *what, const char *line)
{
    for (int p = 0; p < NPLUG; p++) {
        char pat[32];
        snprintf(pat, sizeof pat, "/libplug%s.so\"", plugs[p]);
        if (strstr(raw, pat) && !st->loaded[p] && !st->unload_pending[p])
            return FAIL("event names %s as %s, which is not loaded:\n%s", plugs[p], what, line);
    }
    return 1;
}

static int count_key(struct pstate *st, const char *key)
{
    for (int k = 0; k < st->nkeys; k++)
        if (!strcmp(st->keys[k], key))
            return k;
    if (st->nkeys == 64)
        return -1;
    snprintf(st->keys[st->nkeys], sizeof st->keys[0], "%s", key);
    memset(st->counts[st->nkeys], 0, sizeof st->counts[0]);
    return st->nkeys++;
}

static const char *base_of(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Walks the log (markers and events in the order they were written). Returns 1, or 0 with `failure`. */
static int check_log(char *log, int guard)
{
    static struct pstate st[8];
    int nst = 0;
    memset(justified, 0, sizeof justified);
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        char v[4096], call[128], action[32], caller[1100], kind[32], who[16];
        if (!json_valid(line, strlen(line)))
            return FAIL("not a JSON line: %s", line);
        if (!json_get(line, "pid", v, sizeof v))
            return FAIL("no pid: %s", line);
        long pid = atol(v);
        struct pstate *s = NULL;
        for (int k = 0; k < nst; k++)
            if (st[k].pid == pid)
                s = &st[k];
        if (!s) {
            if (nst == 8)
                return FAIL("too many processes");
            s = &st[nst];
            if (nst > 0)
                st[nst] = st[0]; /* a forked child starts from its parent's state (the parent waits) */
            else
                memset(s, 0, sizeof *s);
            s->pid = pid;
            s->nkeys = s->events = s->summarized = 0;
            nst++;
        }
        if (json_get(line, "mark", who, sizeof who)) {
            int child = strcmp(who, "\"child\"") == 0;
            char op[32], pl[16];
            json_get(line, "i", v, sizeof v);
            int i = atoi(v);
            json_get(line, "op", op, sizeof op);
            json_get(line, "plug", pl, sizeof pl);
            int p = -1;
            for (int k = 0; k < NPLUG; k++)
                if (pl[0] == '"' && !strncmp(pl + 1, plugs[k], strlen(plugs[k])) && pl[1 + strlen(plugs[k])] == '"')
                    p = k;
            for (int k = 0; k < NPLUG; k++)
                if (s->unload_pending[k])
                    s->unload_pending[k] = s->loaded[k] = s->set_up[k] = 0;
            if (!strcmp(op, "\"load\""))
                s->loaded[p] = 1;
            else if (!strcmp(op, "\"unload\""))
                s->unload_pending[p] = 1; /* its teardown may still log while dlclose runs */
            else if (!strcmp(op, "\"setup\"")) {
                s->set_up[p] = 1;
                s->lost_ok[p] = 0;
            } else if (!strcmp(op, "\"check\"") && i < 64)
                justified[child][i][p] = s->lost_ok[p];
            continue;
        }
        if (json_get(line, "event", v, sizeof v) && strcmp(v, "\"summary\"") == 0) {
            /* structured rows: {"event":"summary",…,"rows":N,…} first, then per module and call
             * {…,"module":"BASE","call":"CALL","allow":a,"block":b,"deny":c,"abort":d}, then devices */
            char base[256], c[128], num[32];
            long n[5];
            if (json_get(line, "rows", num, sizeof num))
                s->summarized = 1; /* CTXGUARD_SUMMARY=1: every process that logged says its summary */
            if (!json_get(line, "module", base, sizeof base) || !json_get(line, "call", c, sizeof c))
                continue;
            for (int a = 0; a < 5; a++) {
                if (!json_get(line, (const char *[]){"allow", "block", "deny", "abort", "reclaim"}[a], num, sizeof num))
                    return FAIL("a summary row without its %d-th count:\n%s", a, line);
                n[a] = atol(num);
            }
            char key[1400];
            snprintf(key, sizeof key, "%.*s %.*s", (int)strlen(base) - 2, base + 1, (int)strlen(c) - 2, c + 1);
            int k = count_key(s, key);
            for (int a = 0; a < 5; a++)
                if (k >= 0 && s->counts[k][a] != n[a])
                    return FAIL("pid %ld: the summary counts %s %s %ld times, the log has %ld events:\n%s", pid,
                                key, (const char *[]){"allow", "block", "deny", "abort", "reclaim"}[a], n[a], s->counts[k][a], line);
            if (k >= 0)
                s->counts[k][0] = -1000000; /* reported: must not appear twice */
            continue;
        }
        if (json_get(line, "event", v, sizeof v) && strcmp(v, "\"decision\"") && strcmp(v, "\"attribution\""))
            continue; /* messages */
        if (!json_get(line, "call", call, sizeof call))
            continue;
        s->events++;
        json_get(line, "action", action, sizeof action);
        json_get(line, "caller", caller, sizeof caller);
        json_get(line, "ctx_kind", kind, sizeof kind);
        if (!names_loaded(s, caller, "caller", line))
            return 0;
        char by_rule[64] = "";
        json_get(line, "decided_by", by_rule, sizeof by_rule);
        if (!strcmp(by_rule, "\"attribution\"")) {
            /* an explanation names the module that reset the context, which may be gone by now: it
             * must be one that did reset (a freed module slot reused by another module once renamed
             * it), or none when its slot now holds another module */
            if (json_get(line, "shared_with", v, sizeof v) && strcmp(v, "[]") != 0) {
                v[strlen(v) - 1] = '\0';
                if (!strstr(s->resetters, v + 1))
                    return FAIL("an explanation names %s] as the resetter; the allowed resets and releases were by %s:\n%s", v,
                                s->resetters, line);
            }
        } else if (json_get(line, "shared_with", v, sizeof v) && !names_loaded(s, v, "shared_with", line))
            return 0;
        /* the summary key: the caller's base name and the call */
        char cpath[1100];
        snprintf(cpath, sizeof cpath, "%.*s", (int)strlen(caller) - 2, caller + 1);
        char key[1400];
        snprintf(key, sizeof key, "%s %.*s", base_of(cpath), (int)strlen(call) - 2, call + 1);
        int a = !strcmp(action, "\"allow\"") ? 0 : !strcmp(action, "\"block\"") ? 1 : !strcmp(action, "\"deny\"") ? 2
              : !strcmp(action, "\"reclaim\"") ? 4 : 3;
        int k = count_key(s, key);
        if (k >= 0)
            s->counts[k][a]++;
        int reset = strstr(call, "Reset") != NULL || !strcmp(call, "\"cudaThreadExit\"");
        if ((reset || strstr(call, "Release")) && a == 0 && strlen(s->resetters) + strlen(caller) < sizeof s->resetters)
            strcat(s->resetters, caller);
        if (reset && a == 4) { /* a reclaim frees the resetter's own memory, as its reset would have */
            const char *end = NULL;
            int by = plug_of_path(caller, &end);
            if (by >= 0)
                s->lost_ok[by] = 1;
            continue;
        }
        if (!reset || a != 0 || !strcmp(kind, "\"created\""))
            continue;
        /* an allowed reset of a primary context: whoever held data in it lost it */
        const char *end = NULL;
        int by = plug_of_path(caller, &end);
        for (int p = 0; p < NPLUG; p++) {
            if (p == by)
                s->lost_ok[p] = 1;
            else if (guard && s->loaded[p] && s->set_up[p] && !s->unload_pending[p])
                return FAIL("guard allowed %s's reset while %s holds data in the context:\n%s", by >= 0 ? plugs[by] : caller,
                            plugs[p], line);
        }
    }
    for (int k = 0; k < nst; k++)
        if (st[k].events && !st[k].summarized)
            return FAIL("pid %ld logged %d events and no summary", st[k].pid, st[k].events);
    return 1;
}

/* Under guard: a failed check needs the module's own allowed reset before it; threads never fail. */
static int check_results(const char *out)
{
    char buf[1 << 16];
    snprintf(buf, sizeof buf, "%s", out);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        int i, r;
        char pl[8];
        if (sscanf(line, "%d check %7s -> %d", &i, pl, &r) == 3 && r != 0) {
            for (int p = 0; p < NPLUG; p++)
                if (!strcmp(pl, plugs[p]) && !(i < 64 && justified[0][i][p]))
                    return FAIL("guard: %s lost its data at operation %d without its own reset being allowed: %s", pl, i, line);
        }
        if (strstr(line, " threads ") && !strstr(line, "  0 0") && !strstr(line, " 0 0"))
            return FAIL("guard: a thread's own setup and check failed: %s", line);
        for (const char *c = strstr(line, "| child check "); c; c = strstr(c + 1, "| child check ")) {
            if (sscanf(c, "| child check %7s -> %d", pl, &r) == 2 && r != 0 && sscanf(line, "%d", &i) == 1)
                for (int p = 0; p < NPLUG; p++)
                    if (!strcmp(pl, plugs[p]) && !(i < 64 && justified[1][i][p]))
                        return FAIL("guard: in a forked child, %s lost its data at operation %d without its own reset being allowed: %s",
                                    pl, i, line);
        }
    }
    return 1;
}

static int run_seed(unsigned long seed)
{
    char s[32];
    snprintf(s, sizeof s, "%lu", seed);
    const char *const argv[] = {RANDOM_HOST, "--seed", s, "--dir", BUILD_DIR "/plugins", NULL};
    run_prog(&bare, 0, 0, NULL, argv);
    if (bare.status != 0)
        return FAIL("bare: status %d\n%s", bare.status, bare.err);
    run_prog(&obs, 1, 1, (const char *const[]){"CTXGUARD_MODE=observe", "CTXGUARD_SUMMARY=1", "RANDOM_HOST_MARKS=1", NULL}, argv);
    if (obs.status != 0)
        return FAIL("observe: status %d\n%s", obs.status, obs.err);
    if (strcmp(obs.out, bare.out) != 0)
        return FAIL("observe changed a return value:\n--- bare\n%s--- observe\n%s", bare.out, obs.out);
    if (!check_log(obs.log, 0))
        return 0;
    run_prog(&grd, 1, 1, (const char *const[]){"CTXGUARD_SUMMARY=1", "RANDOM_HOST_MARKS=1", NULL}, argv);
    if (grd.status != 0)
        return FAIL("guard: status %d\n%s", grd.status, grd.err);
    char *log = strdup(grd.log);
    int ok = check_log(log, 1) && check_results(grd.out);
    free(log);
    return ok;
}

/* Issue 15: the guard run again with CTXGUARD_RECLAIM=1, the fake driver handing freed addresses out
 * again (FAKE_CUDA_REUSE=1), and every sync a move of the plugin's data whose old buffer is freed in
 * a way ctxguard does not see as a free (RANDOM_HOST_MOVES=1): every block is a reclaim, and no
 * module's data may be lost but the resetter's own (check_results), so a reclaim never freed another
 * module's allocation. */
static int run_seed_reclaim(unsigned long seed)
{
    char s[32];
    snprintf(s, sizeof s, "%lu", seed);
    const char *const argv[] = {RANDOM_HOST, "--seed", s, "--dir", BUILD_DIR "/plugins", NULL};
    run_prog(&grd, 1, 1,
             (const char *const[]){"CTXGUARD_SUMMARY=1", "RANDOM_HOST_MARKS=1", "CTXGUARD_RECLAIM=1", "FAKE_CUDA_REUSE=1",
                                   "RANDOM_HOST_MOVES=1", NULL},
             argv);
    if (grd.status != 0)
        return FAIL("reclaim: status %d\n%s", grd.status, grd.err);
    char *log = strdup(grd.log);
    int ok = check_log(log, 1) && check_results(grd.out);
    free(log);
    return ok;
}

static void random_sequences_with(int (*run)(unsigned long), const char *what)
{
    const char *n = getenv("RANDOM_SEEDS"), *f = getenv("RANDOM_FIRST_SEED"), *t = getenv("RANDOM_SECONDS");
    /* every program under valgrind (check-memcheck) costs a second or more a run: fewer sequences
     * there, and under the sanitizers */
    unsigned long dflt = getenv("CTXGUARD_TEST_MEMCHECK") ? 10 : getenv("CTXGUARD_TEST_PRELOAD_FIRST") ? 50 : 200;
    unsigned long count = n ? strtoul(n, NULL, 10) : dflt, first = f ? strtoul(f, NULL, 10) : 1;
    /* RANDOM_SECONDS: stop after that long (check-fuzz's time budget), saying how many ran */
    time_t until = t ? time(NULL) + atol(t) : 0, ran = 0;
    for (unsigned long seed = first; seed < first + count; seed++, ran++) {
        if (until && time(NULL) >= until)
            break;
        if (run(seed))
            continue;
        const char *const argv[] = {RANDOM_HOST, "--seed", "", "--print", NULL};
        char s[32];
        snprintf(s, sizeof s, "%lu", seed);
        ((const char **)argv)[2] = s;
        run_prog(&seq, 0, 0, NULL, argv);
        fail_msg("seed %lu: %s\n%s\nreplay: %s --seed %lu --dir %s/plugins (bare; add LD_PRELOAD=%s and "
                 "CTXGUARD_MODE=observe, CTXGUARD_SUMMARY=1, RANDOM_HOST_MARKS=1, CTXGUARD_LOG_FORMAT=json, "
                 "CTXGUARD_LOG=FILE as the test does)",
                 seed, failure, seq.out, RANDOM_HOST, seed, BUILD_DIR, SHIM);
    }
    printf("random sequences: %lu seeds from %lu (of %lu asked), %s: all invariants held\n", (unsigned long)ran,
           first, count, what);
}
static void random_sequences(void **state)
{
    (void)state;
    random_sequences_with(run_seed, "bare, observe and guard");
}
static void random_sequences_reclaim(void **state)
{
    (void)state;
    random_sequences_with(run_seed_reclaim, "guard with CTXGUARD_RECLAIM=1 and address reuse");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_sequences),
        cmocka_unit_test(random_sequences_reclaim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
