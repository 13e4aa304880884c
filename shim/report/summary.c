/* The exit summary: which module's guarded calls were decided how, and who shares each primary
 * context. CTXGUARD_SUMMARY=1 always, 0 never; by default only when something was blocked, denied or
 * aborted. Decisions are counted on the judged path only; pass-through calls are not counted (that
 * would write shared memory on the hot path). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/sink.h"
#include "core/stamp.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/resources.h"
#include "track/state.h"

#define CG_SUMMARY_ROWS 128

static struct {
    char name[128];   /* the caller's base name when the row was made: rows are per name and call, so a
                         module slot freed and reused by another module neither adds to nor renames the
                         first one's row, and a module loaded again adds to its earlier row */
    const char *call; /* a constant: a hook name or a fixed string */
    long n[5];        /* allow block deny abort reclaim */
} rows[CG_SUMMARY_ROWS];
static int nrows, severe;

/* One line of the summary: the head (event "summary") and named values. */
static void summary_line(const struct cg_field *f, int nf)
{
    char line[8192];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct cg_head h = cg_head_next(&ts, "summary", CG_SEV_INFO);
    cg_sink_line_at(CG_SEV_INFO, line, cg_format_fields(line, sizeof line - 1, &h, f, nf, cg_cfg.format));
}

int cg_summary_severe(void)
{
    return __atomic_load_n(&severe, __ATOMIC_RELAXED);
}

/* Rows are appended under the lock and published by nrows (release); a row once published keeps its
 * caller and call, so finding one needs no lock, and its counters are atomics. */
static int find_row(const char *name, const char *call, int n, int by_name)
{
    for (int i = 0; i < n; i++)
        if ((rows[i].call == call || (by_name && strcmp(rows[i].call, call) == 0)) &&
            strncmp(rows[i].name, name, sizeof rows[i].name - 1) == 0)
            return i;
    return -1;
}

void cg_summary_note(const struct cg_event *ev)
{
    if (!(ev->destructive || ev->action != CG_ALLOW || ev->log == 1) || ev->call == NULL)
        return;
    /* call names are constants (the hook tables): the same pointer finds the row without strcmp */
    const char *name = cg_module_base(ev->caller);
    int i = find_row(name, ev->call, __atomic_load_n(&nrows, __ATOMIC_ACQUIRE), 0);
    if (i < 0) {
        pthread_mutex_lock(&cg_summary_lock);
        i = find_row(name, ev->call, nrows, 1);
        if (i < 0 && nrows < CG_SUMMARY_ROWS) {
            i = nrows;
            snprintf(rows[i].name, sizeof rows[i].name, "%s", name);
            rows[i].call = ev->call;
            __atomic_store_n(&nrows, i + 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&cg_summary_lock);
    }
    if (i >= 0 && ev->action >= 0 && ev->action <= CG_RECLAIM)
        __atomic_fetch_add(&rows[i].n[ev->action], 1, __ATOMIC_RELAXED);
    if (ev->action != CG_ALLOW && !__atomic_load_n(&severe, __ATOMIC_RELAXED))
        __atomic_store_n(&severe, 1, __ATOMIC_RELAXED);
}

/* What blocked resets left behind and the module still held at exit (or at its unload): one summary
 * line per module, with the hint that reclaim frees it. */
static void left_line(const char *module, const struct cg_res_counts *c, long resets, void *arg)
{
    (void)arg;
    if (c->allocations == 0 && c->streams == 0 && c->events == 0)
        return;
    struct cg_field f[8] = {
        {.key = "module", .kind = CG_FIELD_STR, .s = module},
        {.key = "left_by_blocked_resets", .kind = CG_FIELD_NUM, .n = resets},
        {.key = "allocations", .kind = CG_FIELD_NUM, .n = c->allocations},
        {.key = "bytes", .kind = CG_FIELD_NUM, .n = (long)c->bytes},
        {.key = "streams", .kind = CG_FIELD_NUM, .n = c->streams},
        {.key = "events", .kind = CG_FIELD_NUM, .n = c->events},
        {.key = "hint", .kind = CG_FIELD_STR, .s = "still allocated; CTXGUARD_RECLAIM=1 frees them at the reset"},
    };
    summary_line(f, 7);
}

void cg_summary_after_fork_child(void)
{
    /* the parent's decisions are the parent's to report */
    memset(rows, 0, sizeof rows);
    nrows = 0;
    severe = 0;
}

/* The summary, structured (issue 16): one line with the totals, one per module and call with the count
 * of each action, one per device with the users of its primary context. */
__attribute__((destructor)) static void cg_summary_at_exit(void)
{
    if (!__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE) || cg_cfg.summary == 0 || (cg_cfg.summary < 0 && !__atomic_load_n(&severe, __ATOMIC_RELAXED)))
        return;
    static const char *const names[5] = {"allow", "block", "deny", "abort", "reclaim"};
    pthread_mutex_lock(&cg_summary_lock);
    long total[5] = {0, 0, 0, 0, 0}, n[CG_SUMMARY_ROWS][5]; /* other threads may still be counting */
    for (int i = 0; i < nrows; i++)
        for (int k = 0; k < 5; k++)
            total[k] += n[i][k] = __atomic_load_n(&rows[i].n[k], __ATOMIC_RELAXED);
    struct cg_field f[8] = {{.key = "rows", .kind = CG_FIELD_NUM, .n = nrows}};
    for (int k = 0; k < 5; k++)
        f[1 + k] = (struct cg_field){.key = names[k], .kind = CG_FIELD_NUM, .n = total[k]};
    summary_line(f, 6);
    for (int i = 0; i < nrows; i++) {
        f[0] = (struct cg_field){.key = "module", .kind = CG_FIELD_STR, .s = rows[i].name};
        f[1] = (struct cg_field){.key = "call", .kind = CG_FIELD_STR, .s = rows[i].call};
        for (int k = 0; k < 5; k++)
            f[2 + k] = (struct cg_field){.key = names[k], .kind = CG_FIELD_NUM, .n = n[i][k]};
        summary_line(f, 7);
    }
    pthread_mutex_unlock(&cg_summary_lock);
    cg_res_left_totals(left_line, NULL);
    for (int d = 0; d < CG_MAX_DEVICES; d++) {
        int users[CG_SHARED_LIST];
        int count = cg_other_users(d, -1, users, CG_SHARED_LIST), listed = count < CG_SHARED_LIST ? count : CG_SHARED_LIST, k = 0;
        if (!count)
            continue;
        const char *names[CG_SHARED_LIST];
        for (; k < listed; k++)
            names[k] = cg_module_base(users[k]);
        f[0] = (struct cg_field){.key = "device", .kind = CG_FIELD_NUM, .n = d};
        f[1] = (struct cg_field){.key = "users", .kind = CG_FIELD_LIST, .n = listed, .list = names};
        /* more users than listed: how many (as an event's shared_with_count) */
        f[2] = (struct cg_field){.key = "users_count", .kind = CG_FIELD_NUM, .n = count};
        summary_line(f, count > listed ? 3 : 2);
    }
}
