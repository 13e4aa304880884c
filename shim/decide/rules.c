/* The rule parser and matcher. Pure and bounded: fixed-size storage, no allocation; the only I/O is
 * cg_rules_load_file's read of the policy file. A rule that names a call the library never judges is
 * an error (see `interposed` below). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "core/hooks.h"
#include "decide/rules.h"

static const char *const actions[] = {"allow", "block", "deny", "abort", "reclaim", NULL};
static const char *const situations[] = {"any", "primary", "shared", "created", "none", NULL};
static const char *const groups[] = {"@reset", "@destroy", "@destructive", "@all", NULL};

const char *cg_situation_name(int s) { return s >= 0 && s <= CG_SIT_NONE ? situations[s] : "any"; }
const char *cg_rule_action_name(int a) { return a >= 0 && a <= CG_RULE_RECLAIM ? actions[a] : "allow"; }

struct lexer {
    const char *s, *end, *line_start;
    const char *source;
    int line;
    int errors;
    cg_rule_complain_fn complain;
};

static int lookup(const char *const *words, const char *w, size_t n)
{
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncmp(words[i], w, n) == 0)
            return i;
    return -1;
}

static void problem(struct lexer *lx, const char *at, size_t n, const char *what, const char *expected)
{
    char tok[48], line[512];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < sizeof tok; i++) {
        unsigned char c = (unsigned char)at[i];
        k += (size_t)snprintf(tok + k, sizeof tok - k, (c < 0x20 || c >= 0x7f) ? "\\x%02x" : "%c", c);
    }
    tok[k] = '\0';
    lx->errors++;
    if (lx->errors > CG_RULE_MAX_REPORTED)
        return; /* a binary or garbled file: the first problems say enough; the count follows */
    snprintf(line, sizeof line, "%s:%d:%d: %s%s%s%s; expected %s", lx->source, lx->line,
             (int)(at - lx->line_start) + 1, what, n ? " '" : "", tok, n ? "'" : "", expected);
    if (lx->complain)
        lx->complain(line);
}

/* One whitespace-separated token of the current rule, or length 0 at its end. */
static size_t token(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r'))
        (*p)++;
    const char *b = *p;
    while (*p < end && **p != ' ' && **p != '\t' && **p != '\r')
        (*p)++;
    return (size_t)(*p - b);
}

static int valid_item(const char *s, size_t n)
{
    if (n == 0 || n >= 64)
        return 0;
    if (s[0] == '@')
        return lookup(groups, s, n) >= 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '*' || c == '?' || c == '[' || c == ']'))
            return 0;
    }
    return 1;
}

/* Every entry point ctxguard interposes (hooks.def), and which of them a rule can decide: the library
 * judges every runtime call but the driver entry-point lookups (passed through, their pointers
 * wrapped), and of the driver calls only those that can end a context (primary reset and last
 * release, context destroy). Creating a context, retaining, making one current and cuGetProcAddress
 * are watched, never judged: a rule naming only them would never apply, so it is an error here, in
 * the library at startup and in `ctxguard check` alike. */
#define CG_JUDGED_RT_USE 1
#define CG_JUDGED_RT_PASS 1
#define CG_JUDGED_RT_SETDEV 1
#define CG_JUDGED_RT_RESET 1
#define CG_JUDGED_RT_ENTRY 0
#define CG_JUDGED_RT_ENTRYV 0
#define CG_JUDGED_RT_ALLOC 1 /* tracked calls: USE calls that also keep resource records */
#define CG_JUDGED_RT_FREE 1
#define CG_JUDGED_RT_CREATE 1
#define CG_JUDGED_RT_DESTROY 1
static const struct {
    const char *name;
    int judged;
} interposed_calls[] = {
#define CG_RT(name, params, args, kind) {#name, CG_JUDGED_RT_##kind},
#define CG_DRV(name, base, since, kind, group, params, args) {#name, CG_GROUP_##group != CG_GROUP_NONE},
#include "core/hooks.def"
    {NULL, 0}};
#define interposed(i) (interposed_calls[i].name)

static int destructive_call(const char *call, int *reset)
{
    int g = cg_hook_group(call);
    *reset = g == CG_GROUP_RESET;
    return g == CG_GROUP_RESET || g == CG_GROUP_DESTROY;
}

/* For a name from `interposed_calls`. */
static int judged_kind(const char *call)
{
    for (int i = 0; interposed(i); i++)
        if (strcmp(interposed(i), call) == 0)
            return interposed_calls[i].judged;
    return 0;
}

int cg_rules_judged(const char *call)
{
    return judged_kind(call);
}

const char *cg_rules_judged_name(int i)
{
    for (int k = 0; interposed(k); k++)
        if (interposed_calls[k].judged && i-- == 0)
            return interposed(k);
    return NULL;
}

/* Edit distance, capped: enough to suggest the call a misspelling meant. */
static int distance(const char *a, size_t n, const char *b)
{
    size_t m = strlen(b);
    if (n > 63 || m > 63)
        return 99;
    int row[64];
    for (size_t j = 0; j <= m; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[m];
}

/* A call item (not a group) that no judged call matches: a misspelling, or a call ctxguard passes
 * through. Reports it and returns 1. */
static int never_applies(struct lexer *lx, const char *s, size_t n)
{
    char item[64];
    memcpy(item, s, n);
    item[n] = '\0';
    int known = 0;
    for (int i = 0; interposed(i); i++)
        if (fnmatch(item, interposed(i), 0) == 0) {
            if (judged_kind(interposed(i)))
                return 0;
            known = 1;
        }
    if (known) {
        problem(lx, s, n, "call ctxguard never judges",
                "a call it decides (creating a context, retaining, making one current and entry-point lookups "
                "pass through unjudged; ctxguard check --list-calls)");
        return 1;
    }
    const char *best = NULL;
    int bd = 4;
    for (int i = 0; interposed(i); i++) {
        int d = judged_kind(interposed(i)) ? distance(item, n, interposed(i)) : 99;
        if (d < bd)
            bd = d, best = interposed(i);
    }
    char expected[160];
    snprintf(expected, sizeof expected, "%s%s%sa call ctxguard judges (ctxguard check --list-calls)",
             best ? "'" : "", best ? best : "", best ? "' or " : "");
    problem(lx, s, n, strpbrk(item, "*?[") ? "pattern matches no judged call" : "unknown call", expected);
    return 1;
}

/* Parses one rule in [b, e). */
static void parse_rule(struct lexer *lx, struct cg_ruleset *rs, const char *b, const char *e)
{
    struct cg_rule r;
    memset(&r, 0, sizeof r);
    r.log = -1;
    const char *p = b, *t;
    size_t n;

    t = p;
    n = token(&p, e);
    t = p - n;
    if ((r.action = lookup(actions, t, n)) < 0) {
        problem(lx, t, n, "unknown action", "allow, block, deny, abort or reclaim");
        return;
    }
    n = token(&p, e);
    t = p - n;
    if (n && (lookup((const char *const[]){"nolog", "log", NULL}, t, n)) >= 0) {
        r.log = lookup((const char *const[]){"nolog", "log", NULL}, t, n);
        n = token(&p, e);
        t = p - n;
    }
    if (n == 0) {
        problem(lx, t, 0, "missing calls", "a call name, a glob or a group (@reset, @destroy, @destructive, @all)");
        return;
    }
    for (const char *q = t; q < t + n;) {
        const char *c = q;
        while (q < t + n && *q != ',')
            q++;
        if (!valid_item(c, (size_t)(q - c))) {
            problem(lx, c, (size_t)(q - c), "bad call", "a call name, a glob or @reset, @destroy, @destructive, @all");
            return;
        }
        if (c[0] != '@' && never_applies(lx, c, (size_t)(q - c)))
            return;
        if (r.ncalls == CG_RULE_MAX_CALLS) {
            problem(lx, c, (size_t)(q - c), "too many calls in one rule", "at most 8; split the rule");
            return;
        }
        memcpy(r.calls[r.ncalls], c, (size_t)(q - c));
        r.calls[r.ncalls++][q - c] = '\0';
        if (q < t + n)
            q++;
    }
    for (;;) {
        n = token(&p, e);
        t = p - n;
        if (n == 0)
            break;
        if (n == 4 && strncmp(t, "from", 4) == 0 && !r.from[0]) {
            n = token(&p, e);
            t = p - n;
            if (n == 0 || n >= sizeof r.from) {
                problem(lx, t, n, n ? "caller glob too long" : "missing caller after 'from'",
                        "a glob on a module path or file name, shorter than 256 bytes");
                return;
            }
            memcpy(r.from, t, n);
            r.from[n] = '\0';
        } else if (n == 2 && strncmp(t, "on", 2) == 0 && r.situation == CG_SIT_ANY) {
            n = token(&p, e);
            t = p - n;
            if ((r.situation = lookup(situations, t, n)) < 0) {
                problem(lx, t, n, n ? "unknown situation" : "missing situation after 'on'",
                        "any, primary, shared, created or none");
                return;
            }
        } else {
            problem(lx, t, n, "unexpected", "'from GLOB', 'on SITUATION' or the end of the rule");
            return;
        }
    }
    if (rs->n == CG_MAX_RULES) {
        problem(lx, b, 0, "too many rules", "at most 128 rules");
        return;
    }
    snprintf(r.where, sizeof r.where, "%s:%d", lx->source, lx->line);
    rs->rules[rs->n++] = r;
}

int cg_rules_parse(struct cg_ruleset *rs, const char *text, size_t len, const char *source, int semicolons,
                   cg_rule_complain_fn complain)
{
    struct lexer lx = {text, text + len, text, source, 1, 0, complain};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lx.line_start = p;
        if (le - p > CG_RULE_LINE_MAX) {
            problem(&lx, p, 0, "line too long", "at most 1024 bytes a line");
        } else if (memchr(p, '\0', (size_t)(le - p))) {
            problem(&lx, memchr(p, '\0', (size_t)(le - p)), 1, "NUL byte", "text");
        } else {
            const char *hash = memchr(p, '#', (size_t)(le - p));
            const char *stop = hash ? hash : le;
            for (const char *b = p; b < stop;) {
                const char *semi = semicolons ? memchr(b, ';', (size_t)(stop - b)) : NULL;
                const char *re = semi ? semi : stop;
                const char *q = b;
                if (token(&q, re) > 0)
                    parse_rule(&lx, rs, b, re);
                b = semi ? semi + 1 : stop;
            }
        }
        lx.line++;
        p = le + 1;
    }
    if (lx.errors > CG_RULE_MAX_REPORTED && complain) {
        char line[300];
        snprintf(line, sizeof line, "%s: %d more problems not shown (is this a policy file?)", source,
                 lx.errors - CG_RULE_MAX_REPORTED);
        complain(line);
    }
    return lx.errors;
}

int cg_rules_load_file(struct cg_ruleset *rs, const char *path, cg_rule_complain_fn complain)
{
    char msg[1200];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    const char *err = NULL;
    if (fd < 0)
        err = strerror(errno);
    else if (fstat(fd, &st) != 0)
        err = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        err = "not a regular file";
    else if (st.st_size > CG_RULE_FILE_MAX)
        err = "larger than 1 MiB";
    /* the path as shown in messages: control bytes escaped, so a hostile name cannot forge lines */
    static char shown[600];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)path; *p && k + 5 < sizeof shown; p++)
        k += (size_t)snprintf(shown + k, sizeof shown - k, (*p < 0x20 || *p == 0x7f) ? "\\x%02x" : "%c", *p);
    shown[k] = '\0';
    if (err) {
        snprintf(msg, sizeof msg, "%s: cannot read policy: %s", shown, err);
        if (complain)
            complain(msg);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    /* A file rewritten while it is read could yield a mix of two versions, or a cut-off rule that
     * still parses (a weaker policy). So the file must look the same (inode, size, change times)
     * before and after the read, and hold exactly as many bytes as it said; else it is read again,
     * and after three tries refused like any broken policy. */
    static char buf[CG_RULE_FILE_MAX + 2];
    size_t n = 0;
    int stable = 0;
    for (int attempt = 0; attempt < 3 && !stable; attempt++) {
        struct stat after;
        n = 0;
        if (attempt > 0 && lseek(fd, 0, SEEK_SET) != 0)
            break;
        for (;;) {
            ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            n += (size_t)r;
            if (n == sizeof buf - 1)
                break; /* one byte past the limit: enough to know */
        }
        stable = fstat(fd, &after) == 0 && after.st_ino == st.st_ino && after.st_size == st.st_size &&
                 after.st_mtim.tv_sec == st.st_mtim.tv_sec && after.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
                 after.st_ctim.tv_sec == st.st_ctim.tv_sec && after.st_ctim.tv_nsec == st.st_ctim.tv_nsec &&
                 (off_t)n == st.st_size;
        if (!stable)
            st = after;
    }
    close(fd);
    if (n > CG_RULE_FILE_MAX) {
        snprintf(msg, sizeof msg, "%s: cannot read policy: grew past 1 MiB while being read", shown);
        if (complain)
            complain(msg);
        return 1;
    }
    if (!stable) {
        snprintf(msg, sizeof msg, "%s: cannot read policy: it kept changing while being read (3 tries); "
                                  "replace policy files atomically (write a new file, then rename it)", shown);
        if (complain)
            complain(msg);
        return 1;
    }
    return cg_rules_parse(rs, buf, n, shown, 0, complain);
}

/* Groups come from hooks.def (its kind and group columns), not from name prefixes. @all: every
 * judged call (a call the library never judges never reaches a rule). */
static int call_in_group(const char *group, const char *call)
{
    int reset, destructive = destructive_call(call, &reset);
    if (strcmp(group, "@reset") == 0)
        return reset;
    if (strcmp(group, "@destroy") == 0)
        return destructive && !reset;
    if (strcmp(group, "@destructive") == 0)
        return destructive;
    return strcmp(group, "@all") == 0;
}

/* A rule's caller glob against one path: the whole path when the glob has a '/', else its file name. */
static int from_matches(const struct cg_rule *r, const char *path)
{
    if (path == NULL || path[0] == '\0')
        return 0;
    return fnmatch(r->from, strchr(r->from, '/') ? path : cg_basename(path), 0) == 0;
}

const struct cg_rule *cg_rules_match(const struct cg_ruleset *rs, const char *call, const char *caller,
                                     int situation)
{
    return cg_rules_match_as(rs, call, caller, NULL, situation);
}

const struct cg_rule *cg_rules_match_as(const struct cg_ruleset *rs, const char *call, const char *caller,
                                        const char *loaded_as, int situation)
{
    for (int i = 0; i < rs->n; i++) {
        const struct cg_rule *r = &rs->rules[i];
        int hit = 0;
        for (int k = 0; k < r->ncalls && !hit; k++)
            hit = r->calls[k][0] == '@' ? call_in_group(r->calls[k], call) : fnmatch(r->calls[k], call, 0) == 0;
        if (!hit)
            continue;
        if (r->from[0] && !from_matches(r, caller ? caller : "") && !from_matches(r, loaded_as))
            continue;
        if (r->situation != CG_SIT_ANY && r->situation != situation &&
            !(r->situation == CG_SIT_PRIMARY && situation == CG_SIT_SHARED))
            continue;
        return r;
    }
    return NULL;
}
