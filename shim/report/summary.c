/* The exit summary: which module's guarded calls were decided how, and who shares each primary
 * context. CTXGUARD_SUMMARY=1 always, 0 never; by default only when something was blocked, denied or
 * aborted. Decisions are counted on the judged path only; pass-through calls are not counted (that
 * would write shared memory on the hot path). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/sink.h"
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

/* One line of the summary, formatted like a diagnostic (a JSON object in a JSON log). */
static void summary_line(const char *text)
{
    char line[2048];
    cg_sink_line(line, cg_format_note(line, sizeof line - 1, "summary", text, cg_cfg.format, (long)getpid()));
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

/* What blocked resets left behind and the module still held at exit (or at its unload). */
static void left_line(const char *module, const struct cg_res_counts *c, long resets, void *arg)
{
    char *line = arg;
    if (c->allocations == 0 && c->streams == 0 && c->events == 0)
        return;
    snprintf(line, 1024,
             "  left behind by %s's %ld blocked reset%s: %ld allocation%s (%.1f MiB), %ld stream%s, %ld event%s "
             "still allocated; CTXGUARD_RECLAIM=1 frees them at the reset",
             module, resets, resets == 1 ? "" : "s", c->allocations, c->allocations == 1 ? "" : "s",
             (double)c->bytes / (1024.0 * 1024.0), c->streams, c->streams == 1 ? "" : "s", c->events,
             c->events == 1 ? "" : "s");
    summary_line(line);
}

void cg_summary_after_fork_child(void)
{
    /* the parent's decisions are the parent's to report */
    memset(rows, 0, sizeof rows);
    nrows = 0;
    severe = 0;
}

__attribute__((destructor)) static void cg_summary_at_exit(void)
{
    if (!__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE) || cg_cfg.summary == 0 || (cg_cfg.summary < 0 && !__atomic_load_n(&severe, __ATOMIC_RELAXED)))
        return;
    char line[1024];
    pthread_mutex_lock(&cg_summary_lock);
    snprintf(line, sizeof line, "summary (pid %ld): %d module/call pair%s decided", (long)getpid(), nrows,
             nrows == 1 ? "" : "s");
    summary_line(line);
    for (int i = 0; i < nrows; i++) {
        long n[5]; /* other threads may still be counting */
        for (int k = 0; k < 5; k++)
            n[k] = __atomic_load_n(&rows[i].n[k], __ATOMIC_RELAXED);
        snprintf(line, sizeof line, "  %-28.127s %-28s allow %ld  block %ld  deny %ld  abort %ld", rows[i].name,
                 rows[i].call, n[0], n[1], n[2], n[3]);
        if (n[4])
            snprintf(line + strlen(line), sizeof line - strlen(line), "  reclaim %ld", n[4]);
        summary_line(line);
    }
    pthread_mutex_unlock(&cg_summary_lock);
    cg_res_left_totals(left_line, line);
    for (int d = 0; d < CG_MAX_DEVICES; d++) {
        int users[CG_SHARED_LIST];
        int count = cg_other_users(d, -1, users, CG_SHARED_LIST), listed = count < CG_SHARED_LIST ? count : CG_SHARED_LIST, k = 0;
        if (!count)
            continue;
        size_t n = (size_t)snprintf(line, sizeof line, "  device %d primary context used by:", d);
        for (; k < listed && n < sizeof line - 64; k++)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s", cg_module_base(users[k]));
        if (k < count && n < sizeof line - 32)
            snprintf(line + n, sizeof line - n, " … (%d in all)", count);
        summary_line(line);
    }
}
