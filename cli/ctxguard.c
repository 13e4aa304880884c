/* The ctxguard command.
 *   ctxguard run [--mode M] [--config F] [--rules R] [--log DEST] [--json] [--strict] [--] PROGRAM ARGS…
 *   ctxguard check FILE… [--explain CALL --caller MODULE [--ctx primary|shared|created|none]]
 *   ctxguard --help | --version
 * check uses the library's own parser (shim/rules.c), so the two agree on every file.
 *   ctxguard report LOG… [--json]      ctxguard inspect FILE…
 * Exit codes: run — PROGRAM's own status (exec), 127 PROGRAM not found, 126 not executable,
 * 2 usage error or libctxguard.so not found; check — 0 valid, 1 problems found, 2 usage error. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/ctxguard.h"
#include "../shim/rules.h"

static const char usage[] =
    "usage: ctxguard run [--mode observe|guard|enforce] [--config FILE] [--rules RULES] [--log DEST]\n"
    "                    [--json] [--strict] [--] PROGRAM [ARGS...]\n"
    "       ctxguard check FILE... [--explain CALL --caller MODULE [--ctx primary|shared|created|none]]\n"
    "       ctxguard report LOG... [--json]\n"
    "       ctxguard inspect BINARY|LIBRARY...\n"
    "       ctxguard --help | --version\n"
    "\n"
    "run     runs PROGRAM with libctxguard.so preloaded (appended to any existing LD_PRELOAD) and the\n"
    "        given settings; its exit status is PROGRAM's.\n"
    "check   validates policy files, printing each problem as FILE:LINE:COL; with --explain, says which\n"
    "        rule (or the preset) would decide CALL made by MODULE.\n"
    "report  summarises logs (JSON lines, text, dumps; several files and processes): per module and call, counts of\n"
    "        allow/block/deny/abort, first and last time, reasons; --json for machines.\n"
    "inspect says how a binary or library reaches CUDA (runtime linked or carried, driver, dlopen)\n"
    "        and therefore what ctxguard can and cannot see of it.\n"
    "See ctxguard(1) and libctxguard(7).\n";

static void complain(const char *line)
{
    printf("%s\n", line);
}

#ifndef CTXGUARD_LIBDIR
#define CTXGUARD_LIBDIR "/usr/local/lib"
#endif

/* $CTXGUARD_LIBRARY; else libctxguard.so beside the command (the build tree), in the LIBDIR it was
 * installed with (built in: a multiarch /usr/lib/x86_64-linux-gnu too), or in ../lib, ../lib64 (a
 * prefix moved after installing). Beside the command first, so a build tree's command never picks up
 * an older installed library. */
static int find_library(char *out, size_t cap)
{
    const char *env = getenv("CTXGUARD_LIBRARY");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return access(out, R_OK) == 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 0;
    self[n] = '\0';
    char *dir = dirname(self);
    /* directory, then file name below it */
    const char *cands[][2] = {{dir, "/libctxguard.so"}, {CTXGUARD_LIBDIR, "/libctxguard.so"},
                              {dir, "/../lib/libctxguard.so"}, {dir, "/../lib64/libctxguard.so"}};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        snprintf(out, cap, "%s%s", cands[i][0], cands[i][1]);
        if (access(out, R_OK) == 0) {
            char real[PATH_MAX];
            if (realpath(out, real))
                snprintf(out, cap, "%s", real);
            return 1;
        }
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (strcmp(a, "--json") == 0)
            setenv("CTXGUARD_LOG_FORMAT", "json", 1);
        else if (strcmp(a, "--strict") == 0)
            setenv("CTXGUARD_STRICT", "1", 1);
        else if (v && strcmp(a, "--mode") == 0 && ++i)
            setenv("CTXGUARD_MODE", v, 1);
        else if (v && strcmp(a, "--config") == 0 && ++i)
            setenv("CTXGUARD_CONFIG", v, 1);
        else if (v && strcmp(a, "--rules") == 0 && ++i)
            setenv("CTXGUARD_RULES", v, 1);
        else if (v && strcmp(a, "--log") == 0 && ++i)
            setenv("CTXGUARD_LOG", v, 1);
        else {
            fprintf(stderr, "ctxguard run: unknown or incomplete option %s\n%s", a, usage);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "ctxguard run: no PROGRAM given\n%s", usage);
        return 2;
    }
    const char *mode = getenv("CTXGUARD_MODE");
    if (mode && strcmp(mode, "observe") && strcmp(mode, "guard") && strcmp(mode, "enforce")) {
        fprintf(stderr, "ctxguard run: --mode %s: expected observe, guard or enforce\n", mode);
        return 2;
    }
    char lib[PATH_MAX];
    if (!find_library(lib, sizeof lib)) {
        fputs("ctxguard run: cannot find libctxguard.so beside the command, in " CTXGUARD_LIBDIR
              " or in ../lib (set CTXGUARD_LIBRARY)\n", stderr);
        return 2;
    }
    /* The loader splits LD_PRELOAD at spaces and colons and only warns about the pieces: the program
     * would run unguarded. */
    if (strpbrk(lib, " :")) {
        fprintf(stderr, "ctxguard run: %s: a path with a space or a colon, which LD_PRELOAD cannot carry; "
                        "install the library elsewhere or point CTXGUARD_LIBRARY at a copy\n", lib);
        return 2;
    }
    /* Append, never clobber: other preloads keep their place in front. */
    const char *old = getenv("LD_PRELOAD");
    if (old && *old && !strstr(old, lib)) {
        size_t n = strlen(old) + strlen(lib) + 2;
        char *v = malloc(n);
        if (!v)
            return 2;
        snprintf(v, n, "%s:%s", old, lib);
        setenv("LD_PRELOAD", v, 1);
        free(v);
    } else if (!old || !*old)
        setenv("LD_PRELOAD", lib, 1);
    execvp(argv[i], argv + i);
    int e = errno;
    fprintf(stderr, "ctxguard run: %s: %s\n", argv[i], strerror(e));
    return e == ENOENT ? 127 : 126;
}

static int situation(const char *s)
{
    static const char *const names[] = {"any", "primary", "shared", "created", "none"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int cmd_check(int argc, char **argv)
{
    const char *call = NULL, *caller = NULL;
    int ctx = CG_SIT_SHARED, nfiles = 0, bad = 0;
    static struct cg_ruleset rs;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--explain") == 0 && v)
            call = argv[++i];
        else if (strcmp(argv[i], "--caller") == 0 && v)
            caller = argv[++i];
        else if (strcmp(argv[i], "--ctx") == 0 && v) {
            if ((ctx = situation(argv[++i])) <= 0) {
                fprintf(stderr, "ctxguard check: --ctx %s: expected primary, shared, created or none\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "ctxguard check: unknown or incomplete option %s\n%s", argv[i], usage);
            return 2;
        } else {
            bad += cg_rules_load_file(&rs, argv[i], complain);
            nfiles++;
        }
    }
    if (nfiles == 0) {
        fprintf(stderr, "ctxguard check: no FILE given\n%s", usage);
        return 2;
    }
    if ((call == NULL) != (caller == NULL)) {
        fprintf(stderr, "ctxguard check: --explain needs --caller, and --caller needs --explain\n");
        return 2;
    }
    if (bad) {
        printf("%d problem%s; the library would use no rule and fall back to the guard preset "
               "(or deny every guarded call with CTXGUARD_STRICT=1)\n", bad, bad == 1 ? "" : "s");
        return 1;
    }
    printf("%d rule%s, no problems\n", rs.n, rs.n == 1 ? "" : "s");
    if (call) {
        const struct cg_rule *r = cg_rules_match(&rs, call, caller, ctx);
        if (r)
            printf("%s by %s on %s: %s, decided by %s\n", call, caller, cg_situation_name(ctx),
                   cg_rule_action_name(r->action), r->where);
        else
            printf("%s by %s on %s: no rule matches; the CTXGUARD_MODE preset decides "
                   "(guard: %s)\n", call, caller, cg_situation_name(ctx),
                   ctx == CG_SIT_SHARED ? "block" : "allow");
    }
    return 0;
}

int cmd_report(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ctxguard %s\n", CTXGUARD_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(argv[1], "report") == 0)
        return cmd_report(argc - 2, argv + 2);
    if (strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc - 2, argv + 2);
    fprintf(stderr, "ctxguard: unknown command %s\n%s", argv[1], usage);
    return 2;
}
