/* ctxguard run [OPTIONS] [--] PROGRAM [ARGS…]: PROGRAM with libctxguard.so preloaded and the given
 * settings, after checking them the way the library will read them. Its exit status is PROGRAM's
 * (exec); before that: 2 for a usage error, a bad setting or policy, a library not found or one the
 * loader would not load as given; 127 PROGRAM not found, 126 not executable. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shim/core/config.h"
#include "../shim/decide/rules.h"
#include "cli.h"

static const char usage[] =
    "usage: ctxguard run [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "Runs PROGRAM with libctxguard.so appended to LD_PRELOAD. Each option sets the library's variable\n"
    "for PROGRAM (--opt VALUE or --opt=VALUE); variables already set in the environment count too.\n"
    "  --mode observe|guard|enforce      CTXGUARD_MODE\n"
    "  --config FILE                     CTXGUARD_CONFIG (policy file)\n"
    "  --rules 'RULE; RULE'              CTXGUARD_RULES\n"
    "  --log stderr|syslog|FILE          CTXGUARD_LOG (%p = pid)\n"
    "  --log-format text|json, --json    CTXGUARD_LOG_FORMAT\n"
    "  --log-level quiet|info|debug      CTXGUARD_LOG_LEVEL\n"
    "  --strict                          CTXGUARD_STRICT=1 (a broken policy denies every guarded call)\n"
    "  --summary, --no-summary           CTXGUARD_SUMMARY=1 / 0 (exit summary always / never)\n"
    "  --dump FILE                       CTXGUARD_DUMP (flight-recorder dumps; %p = pid)\n"
    "  --dump-events N                   CTXGUARD_DUMP_EVENTS (16..65536)\n"
    "  --nvtx                            CTXGUARD_NVTX=1 (NVTX marks)\n"
    "  --nvtx-lib LIB                    CTXGUARD_NVTX_LIB\n"
    "  --reclaim                         CTXGUARD_RECLAIM=1 (guard's blocked resets free the caller's own\n"
    "                                    allocations, streams and events)\n"
    "  --log-mode MODE                   CTXGUARD_LOG_MODE (octal mode of a log or dump file created; 0600)\n"
    "  --syslog-facility user|daemon|local0..local7   CTXGUARD_SYSLOG_FACILITY (with --log syslog)\n"
    "  --syslog-socket PATH              CTXGUARD_SYSLOG_SOCKET (for tests: a socket instead of /dev/log)\n"
    "  --error-exitcode N                CTXGUARD_EXIT_CODE=N (1..255): PROGRAM exits with N if any of\n"
    "                                    its calls was blocked or denied\n"
    "  --library PATH                    the libctxguard.so to preload (CTXGUARD_LIBRARY; default: beside\n"
    "                                    this command, or ../lib)\n"
    "  --no-check                        start PROGRAM even if the settings or the policy have errors\n"
    "The settings and the policy are checked first, as the library will read them: on an error, run\n"
    "says what and where (FILE:LINE:COL) and does not start PROGRAM.\n"
    "Exit status: PROGRAM's; 2 usage error, bad setting or policy, libctxguard.so not found or on a\n"
    "path the loader would split (a space or a colon); 126 PROGRAM not executable; 127 not found.\n";

enum { O_NO_CHECK = 100, O_EXIT_CODE, O_LIBRARY };

/* Options that set a variable: to the option's value, or (flags) to a fixed one. */
static const struct setting {
    const char *opt, *var, *fixed;
} settings[] = {
    {"--mode", "CTXGUARD_MODE", NULL},          {"--config", "CTXGUARD_CONFIG", NULL},
    {"--rules", "CTXGUARD_RULES", NULL},        {"--log", "CTXGUARD_LOG", NULL},
    {"--log-format", "CTXGUARD_LOG_FORMAT", NULL}, {"--json", "CTXGUARD_LOG_FORMAT", "json"},
    {"--log-level", "CTXGUARD_LOG_LEVEL", NULL}, {"--strict", "CTXGUARD_STRICT", "1"},
    {"--summary", "CTXGUARD_SUMMARY", "1"},     {"--no-summary", "CTXGUARD_SUMMARY", "0"},
    {"--dump", "CTXGUARD_DUMP", NULL},          {"--dump-events", "CTXGUARD_DUMP_EVENTS", NULL},
    {"--nvtx", "CTXGUARD_NVTX", "1"},           {"--nvtx-lib", "CTXGUARD_NVTX_LIB", NULL},
    {"--reclaim", "CTXGUARD_RECLAIM", "1"},
    {"--log-mode", "CTXGUARD_LOG_MODE", NULL},  {"--syslog-facility", "CTXGUARD_SYSLOG_FACILITY", NULL},
    {"--syslog-socket", "CTXGUARD_SYSLOG_SOCKET", NULL},
};
#define NSETTINGS (int)(sizeof settings / sizeof settings[0])

static const struct cli_opt extra_opts[] = {
    {"--no-check", 0, O_NO_CHECK}, {"--error-exitcode", 1, O_EXIT_CODE}, {"--library", 1, O_LIBRARY}};

/* libctxguard.so: $CTXGUARD_LIBRARY, else beside the command (build/) or in ../lib (installed). */
#ifndef CTXGUARD_LIBDIR
#define CTXGUARD_LIBDIR "/usr/local/lib"
#endif

static int find_library(char *out, size_t cap, const char *self_name)
{
    const char *env = getenv("CTXGUARD_LIBRARY");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        if (access(out, R_OK) == 0)
            return 1;
        fprintf(stderr, "ctxguard run: CTXGUARD_LIBRARY=%s: %s\n", env, strerror(errno));
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *dir = dirname(self);
        /* beside the command first (a build tree's command never picks up an older installed library),
         * then the LIBDIR it was installed with (built in: a multiarch /usr/lib/x86_64-linux-gnu too),
         * then ../lib and ../lib64 (a prefix moved after installing) */
        const char *cands[] = {"%s/libctxguard.so", CTXGUARD_LIBDIR "/libctxguard.so%.0s", "%s/../lib/libctxguard.so",
                               "%s/../lib64/libctxguard.so"};
        for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
            snprintf(out, cap, cands[i], dir);
            if (access(out, R_OK) == 0) {
                char real[PATH_MAX];
                if (realpath(out, real))
                    snprintf(out, cap, "%s", real);
                return 1;
            }
        }
    }
    fprintf(stderr, "ctxguard run: cannot find libctxguard.so beside %s, in " CTXGUARD_LIBDIR " or in ../lib "
                    "(use --library or CTXGUARD_LIBRARY)\n", self_name);
    return 0;
}

/* Whether LD_PRELOAD already holds `lib` as one of its entries. The loader splits the list on spaces
 * and colons; an entry counts when it is the same path, or the same file by another path. A path that
 * merely contains lib's (libctxguard.so.old, /x/build/libctxguard.so.bak) is another library. */
static int preload_has(const char *list, const char *lib)
{
    struct stat want, st;
    int have_want = stat(lib, &want) == 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " :");
        if (n) {
            char entry[PATH_MAX];
            if (n < sizeof entry) {
                memcpy(entry, p, n);
                entry[n] = '\0';
                if (strcmp(entry, lib) == 0)
                    return 1;
                if (have_want && strchr(entry, '/') && stat(entry, &st) == 0 && st.st_dev == want.st_dev &&
                    st.st_ino == want.st_ino)
                    return 1;
            }
        }
        p += n;
        if (*p)
            p++;
    }
    return 0;
}

static int problems;

static void complain(const char *line)
{
    /* the library's wording ("…; using guard") is about what it falls back to; run refuses instead */
    const char *body = strncmp(line, "ctxguard: ", 10) == 0 ? line + 10 : line;
    const char *fallback = strstr(body, "; using ");
    fprintf(stderr, "ctxguard run: %.*s\n", fallback ? (int)(fallback - body) : (int)strlen(body), body);
    problems++;
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

/* The settings and the policy as the library will read them (shim/config.c, shim/rules.c). */
static int check_settings(void)
{
    static struct cg_config cfg;
    static struct cg_ruleset rs;
    problems = 0;
    cg_config_parse(&cfg, env_get, (long)getpid(), complain);
    if (cfg.rules)
        cg_rules_parse(&rs, cfg.rules, strlen(cfg.rules), "CTXGUARD_RULES", 1, complain);
    if (cfg.config)
        cg_rules_load_file(&rs, cfg.config, complain);
    return problems;
}

static int exit_code_value(const char *v)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    return errno == 0 && end != v && *end == '\0' && v[0] >= '0' && v[0] <= '9' && n >= 1 && n <= 255 ? (int)n : -1;
}

int cmd_run(int argc, char **argv)
{
    struct cli_opt opts[NSETTINGS + 4];
    for (int k = 0; k < NSETTINGS; k++)
        opts[k] = (struct cli_opt){settings[k].opt, settings[k].fixed == NULL, k};
    memcpy(&opts[NSETTINGS], extra_opts, sizeof extra_opts);
    opts[NSETTINGS + 3] = (struct cli_opt){NULL, 0, 0};
    int no_check = 0, i = 0;
    while (i < argc) {
        const char *v;
        int id = cli_next("run", opts, argc, argv, &i, &v);
        if (id == CLI_ARG || id == CLI_END)
            break;
        if (id == CLI_HELP) {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if (id == CLI_BAD)
            return CLI_USAGE;
        if (id < NSETTINGS)
            setenv(settings[id].var, settings[id].fixed ? settings[id].fixed : v, 1);
        else if (id == O_NO_CHECK)
            no_check = 1;
        else if (id == O_LIBRARY)
            setenv("CTXGUARD_LIBRARY", v, 1);
        else if (id == O_EXIT_CODE) {
            if (exit_code_value(v) < 0)
                return cli_usage_error("run", usage, "--error-exitcode %s: expected a whole number from 1 to 255", v);
            setenv("CTXGUARD_EXIT_CODE", v, 1);
        }
    }
    if (i >= argc)
        return cli_usage_error("run", usage, "no PROGRAM given");
    if (!no_check && check_settings()) {
        fprintf(stderr, "ctxguard run: not starting %s: %d problem%s in the settings or the policy "
                        "(--no-check starts it anyway)\n", argv[i], problems, problems == 1 ? "" : "s");
        return CLI_USAGE;
    }
    char lib[PATH_MAX];
    if (!find_library(lib, sizeof lib, argv[-2]))
        return CLI_USAGE;
    /* The loader splits LD_PRELOAD on spaces and colons, with no way to quote: such a path would
     * become two missing libraries and PROGRAM would run unguarded. */
    if (strpbrk(lib, " :")) {
        fprintf(stderr, "ctxguard run: the library path '");
        cli_put_escaped(stderr, lib);
        fprintf(stderr, "' contains a %s, where the loader splits LD_PRELOAD: PROGRAM would run unguarded; "
                        "install libctxguard.so on a path without spaces or colons (or point --library at a "
                        "symlink on such a path)\n", strchr(lib, ':') ? "colon" : "space");
        return CLI_USAGE;
    }
    /* Append, never clobber: other preloads keep their place in front. */
    const char *old = getenv("LD_PRELOAD");
    if (old && old[strspn(old, " :")]) {
        if (!preload_has(old, lib)) {
            size_t n = strlen(old) + strlen(lib) + 2;
            char *nv = malloc(n);
            if (!nv)
                return CLI_USAGE;
            snprintf(nv, n, "%s:%s", old, lib);
            setenv("LD_PRELOAD", nv, 1);
            free(nv);
        }
    } else
        setenv("LD_PRELOAD", lib, 1);
    execvp(argv[i], argv + i);
    int e = errno;
    fprintf(stderr, "ctxguard run: %s: %s\n", argv[i], strerror(e));
    return e == ENOENT ? 127 : 126;
}
