/* The option reader and output escaping shared by the subcommands (cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_next(const char *cmd, const struct cli_opt *opts, int argc, char **argv, int *i, const char **val)
{
    const char *a = argv[*i];
    *val = NULL;
    if (a[0] != '-' || a[1] == '\0')
        return CLI_ARG;
    if (strcmp(a, "--") == 0) {
        (*i)++;
        return CLI_END;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        (*i)++;
        return CLI_HELP;
    }
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        if (strlen(o->name) != n || strncmp(o->name, a, n) != 0)
            continue;
        if (!o->takes_value) {
            if (eq) {
                fprintf(stderr, "ctxguard %s: %s takes no value\n", cmd, o->name);
                return CLI_BAD;
            }
            (*i)++;
            return o->id;
        }
        if (eq)
            *val = eq + 1;
        else if (*i + 1 < argc)
            *val = argv[++*i];
        else {
            fprintf(stderr, "ctxguard %s: %s needs a value\n", cmd, o->name);
            return CLI_BAD;
        }
        (*i)++;
        return o->id;
    }
    fprintf(stderr, "ctxguard %s: unknown option ", cmd);
    cli_put_escaped(stderr, a);
    fprintf(stderr, " (ctxguard %s --help lists them)\n", cmd);
    return CLI_BAD;
}

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ctxguard %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return CLI_USAGE;
}

char *cli_escape(char *out, size_t cap, const char *s)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 5 < cap; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", *p);
        else
            out[k++] = (char)*p;
    }
    if (cap)
        out[k < cap ? k : cap - 1] = '\0';
    return out;
}

void cli_put_escaped(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}
