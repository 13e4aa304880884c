/* ctxguard check: policy files (and inline rules) through the library's own parser (shim/rules.c),
 * so the two agree on every file; --explain says which rule would decide a call. */
#include <stdio.h>
#include <string.h>

#include "../shim/decide/rules.h"
#include "cli.h"

static const char usage[] =
    "usage: ctxguard check [FILE...] [--rules 'RULE; RULE'] [--explain CALL --caller MODULE\n"
    "                      [--ctx primary|shared|created|none]] [--list-calls]\n"
    "Validates policy files (as CTXGUARD_CONFIG) and inline rules (as CTXGUARD_RULES) with the library's\n"
    "own parser; each problem goes to stderr as FILE:LINE:COL: what; expected what. A rule naming a call\n"
    "the library never judges (cuCtxCreate) or does not know (a misspelling) is a problem: the library\n"
    "rejects it too.\n"
    "  --explain CALL --caller MODULE   which rule (or the CTXGUARD_MODE preset) decides CALL made by\n"
    "                                   MODULE (a path or a file name) when the context is --ctx\n"
    "                                   (default shared)\n"
    "  --list-calls                     the calls rules can name (every call the library judges)\n"
    "Exit status: 0 no problems, 1 problems found, 2 usage error.\n";

enum { O_EXPLAIN, O_CALLER, O_CTX, O_RULES, O_LIST };
static const struct cli_opt opts[] = {{"--explain", 1, O_EXPLAIN}, {"--caller", 1, O_CALLER}, {"--ctx", 1, O_CTX},
                                      {"--rules", 1, O_RULES},     {"--list-calls", 0, O_LIST}, {NULL, 0, 0}};

static void complain(const char *line)
{
    fprintf(stderr, "%s\n", line);
}

static int situation(const char *s)
{
    static const char *const names[] = {"any", "primary", "shared", "created", "none"};
    for (int i = 1; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int cmd_check(int argc, char **argv)
{
    const char *call = NULL, *caller = NULL;
    int ctx = CG_SIT_SHARED, nsources = 0, bad = 0, list = 0;
    static struct cg_ruleset rs;
    for (int i = 0; i < argc;) {
        const char *v;
        int id = cli_next("check", opts, argc, argv, &i, &v);
        if (id == CLI_HELP) {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if (id == CLI_BAD)
            return CLI_USAGE;
        if (id == CLI_END)
            continue;
        if (id == CLI_ARG) {
            bad += cg_rules_load_file(&rs, argv[i++], complain);
            nsources++;
        } else if (id == O_RULES) {
            bad += cg_rules_parse(&rs, v, strlen(v), "--rules", 1, complain);
            nsources++;
        } else if (id == O_EXPLAIN)
            call = v;
        else if (id == O_CALLER)
            caller = v;
        else if (id == O_LIST)
            list = 1;
        else if ((ctx = situation(v)) < 0)
            return cli_usage_error("check", usage, "--ctx %s: expected primary, shared, created or none", v);
    }
    if (list) {
        const char *c;
        for (int k = 0; (c = cg_rules_judged_name(k)) != NULL; k++)
            printf("%s\n", c);
        if (nsources == 0)
            return CLI_OK;
    }
    if (nsources == 0)
        return cli_usage_error("check", usage, "no FILE (or --rules) given");
    if ((call == NULL) != (caller == NULL))
        return cli_usage_error("check", usage, "--explain needs --caller, and --caller needs --explain");
    if (bad) {
        fprintf(stderr, "%d problem%s; the library would use no rule and fall back to the guard preset "
                        "(or deny every guarded call with CTXGUARD_STRICT=1)\n", bad, bad == 1 ? "" : "s");
        return CLI_PROBLEMS;
    }
    printf("%d rule%s, no problems\n", rs.n, rs.n == 1 ? "" : "s");
    if (call == NULL)
        return CLI_OK;
    if (!cg_rules_judged(call)) {
        printf("%s is never judged: ctxguard passes it through and no rule applies to it "
               "(ctxguard check --list-calls)\n", call);
        return CLI_OK;
    }
    const struct cg_rule *r = cg_rules_match(&rs, call, caller, ctx);
    if (r)
        printf("%s by %s on %s: %s, decided by %s\n", call, caller, cg_situation_name(ctx),
               cg_rule_action_name(r->action), r->where);
    else
        printf("%s by %s on %s: no rule matches; the CTXGUARD_MODE preset decides (guard: %s)\n", call, caller,
               cg_situation_name(ctx), ctx == CG_SIT_SHARED ? "block" : "allow");
    return CLI_OK;
}
