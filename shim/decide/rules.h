/* Policy rules: one small grammar, parsed by the library (CTXGUARD_CONFIG, CTXGUARD_RULES) and by the
 * ctxguard command (check, --explain) from this same code, so both agree on every file.
 *
 *   rule      := ACTION [log|nolog] CALLS [from GLOB] [on SITUATION]
 *   ACTION    := allow | block | deny | abort | reclaim
 *   CALLS     := ITEM[,ITEM…]   ITEM: a call name or glob (cuDevicePrimaryCtxReset*) or a group:
 *                @reset @destroy @destructive @all
 *   GLOB      := glob on the caller's path if it contains '/', else on its file name
 *   SITUATION := any | primary | shared | created | none      (default any)
 * One rule per line in a file ('#' starts a comment); ';' separates rules in CTXGUARD_RULES. First
 * match wins; where nothing matches, the CTXGUARD_MODE preset decides. */
#ifndef CTXGUARD_RULES_H
#define CTXGUARD_RULES_H

#include <stddef.h>

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

#define CG_MAX_RULES 128
#define CG_RULE_MAX_CALLS 8
#define CG_RULE_LINE_MAX 1024
#define CG_RULE_FILE_MAX (1 << 20)
#define CG_RULE_MAX_REPORTED 10 /* problems reported one by one; the rest are counted */

enum cg_situation { CG_SIT_ANY, CG_SIT_PRIMARY, CG_SIT_SHARED, CG_SIT_CREATED, CG_SIT_NONE };
enum cg_rule_action { CG_RULE_ALLOW, CG_RULE_BLOCK, CG_RULE_DENY, CG_RULE_ABORT, CG_RULE_RECLAIM };

struct cg_rule {
    int action;                          /* enum cg_rule_action */
    int log;                             /* -1 default, 0 nolog, 1 log */
    int ncalls;
    char calls[CG_RULE_MAX_CALLS][64];   /* names, globs, or @groups */
    char from[256];                      /* "" = any caller */
    int situation;                       /* enum cg_situation */
    char where[96];                      /* "file:line", for logs */
};

struct cg_ruleset {
    int n;
    struct cg_rule rules[CG_MAX_RULES];
};

typedef void (*cg_rule_complain_fn)(const char *line);

/* Parses `text` (rules separated by newlines, or also by ';' when `semicolons`), appending to rs.
 * Every problem is reported once as "SOURCE:LINE:COL: what; expected …". Returns the number of
 * problems; rules with a problem are dropped, the others kept. */
int cg_rules_parse(struct cg_ruleset *rs, const char *text, size_t len, const char *source, int semicolons,
                   cg_rule_complain_fn complain);

/* Reads and parses a file, with the limits above; problems reported as in cg_rules_parse. */
int cg_rules_load_file(struct cg_ruleset *rs, const char *path, cg_rule_complain_fn complain);

/* The first rule matching (call, caller, situation), or NULL. cg_rules_match_as: a rule's caller glob
 * matches either the module's real path (`caller`) or the path it was loaded by (`loaded_as`, NULL
 * when the same): a rule written for a symlinked plugin directory matches the plugins in it. */
const struct cg_rule *cg_rules_match_as(const struct cg_ruleset *rs, const char *call, const char *caller,
                                        const char *loaded_as, int situation);
const struct cg_rule *cg_rules_match(const struct cg_ruleset *rs, const char *call, const char *caller,
                                     int situation);

/* Whether the library ever decides `call` by a rule (a judged call; see rules.c), and the i-th such
 * call (NULL past the last): what `ctxguard check --list-calls` prints and completion offers. */
int cg_rules_judged(const char *call);
const char *cg_rules_judged_name(int i);

const char *cg_situation_name(int s);
const char *cg_rule_action_name(int a);

#pragma GCC visibility pop

#endif
