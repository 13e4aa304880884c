/* The library run as a program (`/usr/lib/x86_64-linux-gnu/libctxguard.so`, as one runs libc.so.6):
 * it prints its version, how it was built and what the current environment's CTXGUARD_* settings
 * would make of it, to stdout, and exits 0 (1 when a setting or the policy has a problem).
 *
 * The Makefile makes cg_version_main the library's entry point (-e) and the .interp section below
 * names the loader; both are ignored when the library is preloaded or dlopen'ed. Run this way, the
 * loader runs no constructor of the library (it is the main program) and nothing of the guard is
 * set up: this file reads the settings with the same parsers the guard uses, and touches nothing
 * else. It leaves by _exit, so no destructor of the guard runs either. */
#define _GNU_SOURCE
#include <gnu/libc-version.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/ctxguard.h"
#include "core/config.h"
#include "decide/rules.h"

#if defined(__x86_64__)
#define CG_INTERP "/lib64/ld-linux-x86-64.so.2"
#elif defined(__aarch64__)
#define CG_INTERP "/lib/ld-linux-aarch64.so.1"
#endif
#ifdef CG_INTERP
__attribute__((section(".interp"), used)) static const char interp[] = CG_INTERP;
#endif

/* The version, where `strings` finds it in the file too. */
__attribute__((used)) static const char ident[] = "@(#) libctxguard " CTXGUARD_VERSION;

static int problems;

static void complain(const char *line)
{
    printf("  problem: %s\n", line);
    problems++;
}

static const char *env(const char *name)
{
    return secure_getenv(name);
}

static void setting(const char *var, const char *now)
{
    const char *v = getenv(var);
    printf("  %-22s %s%s\n", var, now, v ? "" : " (default)");
}

static void settings(void)
{
    static struct cg_config c;
    static struct cg_ruleset rs;
    static const char *const sinks[] = {"stderr", "syslog", "file"};
    static const char *const levels[] = {"quiet", "info", "debug"};
    char buf[CG_PATH_MAX + 64];
    printf("settings (this environment; the guard reads them once, at its first CUDA call):\n");
    cg_config_parse(&c, env, (long)getpid(), complain);
    setting(CTXGUARD_ENV_MODE, cg_mode_name(c.mode));
    snprintf(buf, sizeof buf, "%s%s%s", sinks[c.sink], c.sink == CG_SINK_FILE ? " " : "",
             c.sink == CG_SINK_FILE ? c.log_path : "");
    setting(CTXGUARD_ENV_LOG, buf);
    setting(CTXGUARD_ENV_LOG_FORMAT, c.format == CG_FORMAT_JSON ? "json" : "text");
    setting(CTXGUARD_ENV_LOG_LEVEL, levels[c.level]);
    setting(CTXGUARD_ENV_STRICT, c.strict ? "1" : "0");
    setting(CTXGUARD_ENV_SUMMARY, c.summary < 0 ? "when something was blocked or denied" : c.summary ? "1" : "0");
    setting(CTXGUARD_ENV_DUMP, c.dump_path[0] ? c.dump_path : "off");
    snprintf(buf, sizeof buf, "%d", c.dump_events);
    setting(CTXGUARD_ENV_DUMP_EVENTS, buf);
    setting(CTXGUARD_ENV_NVTX, c.nvtx ? "1" : "0");
    int bad = 0;
    if (c.rules)
        bad += cg_rules_parse(&rs, c.rules, strlen(c.rules), "CTXGUARD_RULES", 1, complain);
    if (c.config)
        bad += cg_rules_load_file(&rs, c.config, complain);
    if (c.rules || c.config)
        printf("  policy                 %d rule%s%s\n", rs.n, rs.n == 1 ? "" : "s",
               bad ? ", with problems: the guard would use none" : "");
    else
        printf("  policy                 none (CTXGUARD_RULES, CTXGUARD_CONFIG unset): the mode decides\n");
}

#if defined(__i386__) || defined(__x86_64__)
/* entered by a jump with the stack as the kernel left it, not by a call */
__attribute__((force_align_arg_pointer))
#endif
__attribute__((noreturn, used, visibility("hidden"))) void cg_version_main(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    printf("libctxguard %s — guards the CUDA primary contexts of unmodified programs (LD_PRELOAD)\n",
           CTXGUARD_VERSION);
    printf("file:     %s\n", n > 0 ? self : "?");
    printf("use:      LD_PRELOAD=%s PROGRAM, or: ctxguard run -- PROGRAM; see libctxguard(7)\n",
           n > 0 ? self : "libctxguard.so");
    printf("build:    compiler %s, glibc %d.%d headers", __VERSION__, __GLIBC__, __GLIBC_MINOR__);
#ifdef CTXGUARD_GLIBC_SYMVER_H
    printf("; symbol versions need glibc 2.17 or later\n");
#else
    printf("; needs the glibc it was built with, or later\n");
#endif
    printf("running:  glibc %s\n", gnu_get_libc_version());
    settings();
    fflush(stdout);
    _exit(problems ? 1 : 0);
}
