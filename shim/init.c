/* One-time initialisation: the environment is read here and nowhere else. Nothing CUDA happens
 * here: no library is opened, no function of the driver or runtime is called. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "report/log.h"
#include "track/resources.h"
#include "decide/rules.h"
#include <string.h>

__thread struct cg_tls cg_tls __attribute__((tls_model("initial-exec"), aligned(64))) = {.dev = -1, .mod = -1};
int cg_ready;
int cg_log_all;
struct cg_config cg_cfg;
void *(*cg_real_dlsym)(void *, const char *);
int (*cg_real_dlclose)(void *);
void *(*cg_real_dlopen)(const char *, int);

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* secure_getenv: a setuid program must not be steered by its caller's environment. */
static const char *env(const char *name)
{
    return secure_getenv(name);
}

static void complain(const char *line)
{
    cg_log_raw(line);
}

/* glibc's definition of a dl* function. RTLD_NEXT first (what any later preload wraps stays
 * wrapped); when an object preloaded *before* ctxguard defines it (a second interposer, or libc
 * itself), nothing after ctxguard does: then the global scope's first. Never ctxguard's own entry. */
static void *glibc_fn(const char *name, void *self)
{
    static const char *const versions[] = {"GLIBC_2.34", "GLIBC_2.2.5"};
    for (int v = 0; v < 2; v++) {
        void *p = dlvsym(RTLD_NEXT, name, versions[v]);
        if (p && p != self)
            return p;
    }
    /* The first definition in the global scope: the object preloaded before ctxguard (libc itself,
     * or another interposer, whose wrapper ctxguard then calls through, as the program does). */
    for (int v = 0; v < 2; v++) {
        void *p = dlvsym(RTLD_DEFAULT, name, versions[v]);
        if (p && p != self)
            return p;
    }
    return NULL;
}

/* ctxguard's own entries (local addresses, not what the global scope binds the names to) */
extern char cg_dlsym_entry[], cg_dlopen_entry[], cg_dlclose_entry[];

void *cg_resolve_real_dlsym(void)
{
    void *p = __atomic_load_n(&cg_real_dlsym, __ATOMIC_ACQUIRE);
    if (p)
        return p;
    void *c = glibc_fn("dlclose", (void *)cg_dlclose_entry);
    void *o = glibc_fn("dlopen", (void *)cg_dlopen_entry);
    p = glibc_fn("dlsym", (void *)cg_dlsym_entry);
    __atomic_store_n(&cg_real_dlopen, (void *(*)(const char *, int))o, __ATOMIC_RELEASE);
    __atomic_store_n(&cg_real_dlclose, (int (*)(void *))c, __ATOMIC_RELEASE);
    __atomic_store_n(&cg_real_dlsym, (void *(*)(void *, const char *))p, __ATOMIC_RELEASE);
    return p;
}

/* Policy problems arrive as "SOURCE:LINE:COL: …" (the command prints them so); here they get the
 * library's prefix. */
static void rule_complain(const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "ctxguard: %s", line);
    cg_log_raw(buf);
}

struct cg_ruleset cg_rules;
int cg_strict_deny;

/* Rules: CTXGUARD_RULES first, then the CTXGUARD_CONFIG file. A broken policy never weakens the host
 * silently: every problem is reported, then either all rules are dropped and the guard preset holds,
 * or (CTXGUARD_STRICT=1) every guarded call is denied. */
static void load_rules(void)
{
    int bad = 0;
    if (cg_cfg.rules)
        bad += cg_rules_parse(&cg_rules, cg_cfg.rules, strlen(cg_cfg.rules), "CTXGUARD_RULES", 1, rule_complain);
    if (cg_cfg.config)
        bad += cg_rules_load_file(&cg_rules, cg_cfg.config, rule_complain);
    if (bad == 0)
        return;
    cg_rules.n = 0;
    if (cg_cfg.strict) {
        cg_strict_deny = 1;
        complain("ctxguard: the policy has errors and CTXGUARD_STRICT=1: every guarded call is denied "
                 "(error 800, cudaErrorNotPermitted)");
    } else {
        cg_cfg.mode = CG_MODE_GUARD;
        complain("ctxguard: the policy has errors: no rule is used; the guard preset decides");
    }
}

/* fork: take every ctxguard lock before, release after in both processes, so the child never starts
 * with a lock held by a thread that did not survive the fork, nor with half-updated tables. No path
 * holds two of these locks at once, and none asks the loader while holding one. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&cg_resolve_lock);
    pthread_mutex_lock(&cg_mod_lock);
    pthread_mutex_lock(&cg_created_lock);
    pthread_mutex_lock(&cg_summary_lock);
    cg_res_fork_prepare();
}

static void fork_release(void)
{
    cg_res_fork_release();
    pthread_mutex_unlock(&cg_summary_lock);
    pthread_mutex_unlock(&cg_created_lock);
    pthread_mutex_unlock(&cg_mod_lock);
    pthread_mutex_unlock(&cg_resolve_lock);
}

static void init_once(void)
{
    cg_resolve_real_dlsym();
    cg_config_parse(&cg_cfg, env, (long)getpid(), complain);
    load_rules();
    cg_recorder_install();
    cg_log_all = cg_cfg.level == CG_LEVEL_DEBUG;
    __atomic_store_n(&cg_ready, 1, __ATOMIC_RELEASE);
}

void cg_init_slow(void)
{
    int saved = cg_tls.depth++;
    pthread_once(&once, init_once);
    cg_tls.depth = saved;
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
    pthread_atfork(fork_prepare, fork_release, fork_release);
}
