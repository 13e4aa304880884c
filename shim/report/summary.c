/* The exit summary: which module's guarded calls were decided how, and who shares each primary
 * context. CTXGUARD_SUMMARY=1 always, 0 never; by default only when something was blocked, denied or
 * aborted. Decisions are counted on the judged path only; pass-through calls are not counted (that
 * would write shared memory on the hot path). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "report/log.h"
#include "track/modules.h"
#include "track/state.h"

#define CG_SUMMARY_ROWS 128

static struct {
    int caller;              /* a module slot … */
    unsigned int caller_gen; /* … and its generation: a slot freed and reused is another module */
    const char *path;        /* the module's name, interned: still right after it is unloaded */
    const char *call;        /* a constant: a hook name or a fixed string */
    long n[4];               /* allow block deny abort */
} rows[CG_SUMMARY_ROWS];
static int nrows, severe;
pthread_mutex_t cg_summary_lock = PTHREAD_MUTEX_INITIALIZER;

/* Rows are appended under the lock and published by nrows (release); a row once published keeps its
 * caller and call, so finding one needs no lock, and its counters are atomics. */
static int find_row(int caller, unsigned int gen, const char *call, int n, int by_name)
{
    for (int i = 0; i < n; i++)
        if (rows[i].caller == caller && rows[i].caller_gen == gen &&
            (rows[i].call == call || (by_name && strcmp(rows[i].call, call) == 0)))
            return i;
    return -1;
}

void cg_summary_note(const struct cg_event *ev)
{
    if (!(ev->destructive || ev->action != CG_ALLOW || ev->log == 1) || ev->call == NULL)
        return;
    /* call names are constants (the hook tables): the same pointer finds the row without strcmp */
    unsigned int gen = ev->caller > 0 ? __atomic_load_n(&cg_mod(ev->caller)->gen, __ATOMIC_ACQUIRE) : 0;
    int i = find_row(ev->caller, gen, ev->call, __atomic_load_n(&nrows, __ATOMIC_ACQUIRE), 0);
    if (i < 0) {
        pthread_mutex_lock(&cg_summary_lock);
        i = find_row(ev->caller, gen, ev->call, nrows, 1);
        if (i < 0 && nrows < CG_SUMMARY_ROWS) {
            i = nrows;
            rows[i].caller = ev->caller;
            rows[i].caller_gen = gen;
            rows[i].path = cg_module_path(ev->caller);
            rows[i].call = ev->call;
            __atomic_store_n(&nrows, i + 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&cg_summary_lock);
    }
    if (i >= 0 && ev->action >= 0 && ev->action <= CG_ABORT)
        __atomic_fetch_add(&rows[i].n[ev->action], 1, __ATOMIC_RELAXED);
    if (ev->action != CG_ALLOW && !__atomic_load_n(&severe, __ATOMIC_RELAXED))
        __atomic_store_n(&severe, 1, __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void cg_summary_at_exit(void)
{
    if (!__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE) || cg_cfg.summary == 0 || (cg_cfg.summary < 0 && !__atomic_load_n(&severe, __ATOMIC_RELAXED)))
        return;
    char line[1024];
    pthread_mutex_lock(&cg_summary_lock);
    snprintf(line, sizeof line, "summary (pid %ld): %d module/call pair%s decided", (long)getpid(), nrows,
             nrows == 1 ? "" : "s");
    cg_log_summary_line(line);
    for (int i = 0; i < nrows; i++) {
        long n[4]; /* other threads may still be counting */
        for (int k = 0; k < 4; k++)
            n[k] = __atomic_load_n(&rows[i].n[k], __ATOMIC_RELAXED);
        const char *base = strrchr(rows[i].path, '/') ? strrchr(rows[i].path, '/') + 1 : rows[i].path;
        snprintf(line, sizeof line, "  %-28s %-28s allow %ld  block %ld  deny %ld  abort %ld", base,
                 rows[i].call, n[0], n[1], n[2], n[3]);
        cg_log_summary_line(line);
    }
    pthread_mutex_unlock(&cg_summary_lock);
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
        cg_log_summary_line(line);
    }
}
