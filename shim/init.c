/* Wiring: the one-time initialisation that connects the layers, and the fork handlers. The
 * environment is read here and nowhere else. Nothing CUDA happens here: no library is opened, no
 * function of the driver or runtime is called. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/diag.h"
#include "core/guard.h"
#include "core/locks.h"
#include "core/sink.h"
#include "core/stamp.h"
#include "decide/policy.h"
#include "report/log.h"
#include "decide/attribution.h"
#include "track/lm_index.h"
#include "track/modules.h"
#include "track/resources.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* secure_getenv: a setuid program must not be steered by its caller's environment. */
static const char *env(const char *name)
{
    return secure_getenv(name);
}

/* Problems with the settings are found before the sink knows where lines go: they are kept here and
 * said once the sink is configured, so they reach CTXGUARD_LOG like everything else. */
#define CG_EARLY_LINES 16
static char early[CG_EARLY_LINES][512];
static int nearly, early_dropped;

static void keep_complaint(const char *line)
{
    if (nearly < CG_EARLY_LINES)
        snprintf(early[nearly++], sizeof early[0], "%s", line);
    else
        early_dropped++;
}

static void say_kept_complaints(void)
{
    for (int i = 0; i < nearly; i++)
        /* lines arrive as "ctxguard: …"; the diagnostic adds its own prefix */
        cg_log_note("config_error", CG_SEV_ERR, "%s", strncmp(early[i], "ctxguard: ", 10) == 0 ? early[i] + 10 : early[i]);
    if (early_dropped)
        cg_log_note("config_error", CG_SEV_ERR, "%d more problems with the CTXGUARD_ settings were not listed", early_dropped);
}

/* The child of a fork is a process of its own: it reports its own decisions only (the parent's
 * counters, recorder and flags would be reported twice), and %p paths name its own pid. */
static void fork_child(void)
{
    cg_locks_release_all();
    cg_lmx_after_fork_child();
    if (!__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE))
        return; /* not configured yet: the child reads the environment with its own pid */
    cg_stamp_init(); /* the child's own lines: seq from 1, its own start */
    int moved = cg_config_repid(&cg_cfg, (long)getpid());
    cg_sink_after_fork_child(moved & 1);
    cg_summary_after_fork_child();
    cg_recorder_after_fork_child();
    cg_attribution_after_fork_child();
}

static void init_once(void)
{
    cg_resolve_real_dlsym();
    cg_modules_on_freed(cg_state_forget_module);
    cg_modules_on_freed(cg_resolve_forget_module);
    cg_modules_on_freed(cg_res_forget_module);
    cg_stamp_init();
    cg_report_install();
    cg_config_parse(&cg_cfg, env, (long)getpid(), keep_complaint);
    cg_sink_configure();
    say_kept_complaints();
    cg_policy_load(&cg_cfg);
    cg_recorder_install();
    cg_log_all = cg_cfg.level == CG_LEVEL_DEBUG;
    __atomic_store_n(&cg_ready, 1, __ATOMIC_RELEASE);
}

void cg_init_slow(void)
{
    int saved = cg_own_begin();
    pthread_once(&once, init_once);
    cg_own_end(saved);
}

/* Resolve early so the first dlsym of the process already has its target; configuration stays lazy
 * until first use, so a process without CUDA reads nothing and writes nothing. */
__attribute__((constructor)) static void cg_early(void)
{
    cg_resolve_real_dlsym();
    /* The fork handlers are registered here, while the process is still single-threaded: glibc runs
     * only the handlers registered before a fork began, and releases its own list lock while it runs
     * them, so one registered by a thread initialising ctxguard during another thread's fork would
     * be skipped, and its locks could reach the child held (seen with the fake runtime's lock). */
    /* The resource records' spin locks (track/resources.c) are taken after the registry's (prepare
     * handlers run in reverse order of registration): an unload holds the module lock while it
     * visits the records. */
    pthread_atfork(cg_res_fork_prepare, cg_res_fork_release, cg_res_fork_release);
    pthread_atfork(cg_locks_take_all, cg_locks_release_all, fork_child);
}
