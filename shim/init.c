/* One-time initialisation: the environment is read here and nowhere else. Nothing CUDA happens
 * here: no library is opened, no function of the driver or runtime is called. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core.h"
#include "log.h"
#include "rules.h"
#include <string.h>

__thread struct cg_tls cg_tls __attribute__((tls_model("initial-exec"))) = {.dev = -1, .mod = -1};
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

void *cg_resolve_real_dlsym(void)
{
    void *p = __atomic_load_n(&cg_real_dlsym, __ATOMIC_ACQUIRE);
    if (p)
        return p;
    /* glibc >= 2.34 versions dlsym GLIBC_2.34; older x86-64 ones GLIBC_2.2.5. */
    p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!p)
        p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    void *c = dlvsym(RTLD_NEXT, "dlclose", "GLIBC_2.34");
    if (!c)
        c = dlvsym(RTLD_NEXT, "dlclose", "GLIBC_2.2.5");
    void *o = dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.34");
    if (!o)
        o = dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.2.5");
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

static void init_once(void)
{
    cg_resolve_real_dlsym();
    cg_config_parse(&cg_cfg, env, (long)getpid(), complain);
    load_rules();
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
}
