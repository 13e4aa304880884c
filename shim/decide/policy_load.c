/* Reading the policy once, at initialisation: CTXGUARD_RULES first, then the CTXGUARD_CONFIG file. A
 * broken policy never weakens the host silently: every problem is reported, then either all rules are
 * dropped and the guard preset holds, or (CTXGUARD_STRICT=1) every guarded call is denied. Under
 * observe a broken policy stays observe: the dry run never starts blocking. */
#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "decide/policy.h"

struct cg_ruleset cg_rules;
int cg_strict_deny;
int cg_policy_broken;

/* Policy problems arrive as "SOURCE:LINE:COL: …" (the command prints them so); here they become
 * diagnostics. */
static void rule_complain(const char *line)
{
    cg_log_note("config_error", CG_SEV_ERR, "%s", line);
}

void cg_policy_load(struct cg_config *cfg)
{
    int bad = 0;
    if (cfg->rules)
        bad += cg_rules_parse(&cg_rules, cfg->rules, strlen(cfg->rules), "CTXGUARD_RULES", 1, rule_complain);
    if (cfg->config)
        bad += cg_rules_load_file(&cg_rules, cfg->config, rule_complain);
    if (bad == 0)
        return;
    cg_rules.n = 0;
    cg_policy_broken = 1;
    if (cfg->mode == CG_MODE_OBSERVE) {
        cg_log_note("config_error", CG_SEV_ERR, "the policy has errors: no rule is used; observe mode stays a dry run (nothing is blocked)%s",
                   cfg->strict ? "; under CTXGUARD_STRICT=1 every guarded call is logged as one that would be denied" : "");
        cg_strict_deny = cfg->strict;
    } else if (cfg->strict) {
        cg_strict_deny = 1;
        cg_log_note("config_error", CG_SEV_ERR, "the policy has errors and CTXGUARD_STRICT=1: every guarded call is denied "
                   "(error 800, cudaErrorNotPermitted)");
    } else {
        cfg->mode = CG_MODE_GUARD;
        cg_log_note("config_error", CG_SEV_ERR, "the policy has errors: no rule is used; the guard preset decides");
    }
}
