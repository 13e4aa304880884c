/* What the ctxguard command's parts share: the subcommands and one option reader, so that every
 * subcommand takes --opt=value as well as --opt value, answers --help on stdout with exit 0, and
 * reports a usage error on stderr with exit 2. */
#ifndef CTXGUARD_CLI_H
#define CTXGUARD_CLI_H

#include <stdio.h>

/* Exit codes every subcommand shares (run's own: PROGRAM's status, 126, 127). */
#define CLI_OK 0
#define CLI_PROBLEMS 1 /* check: problems found; inspect: a file could not be read */
#define CLI_USAGE 2    /* usage error, unreadable input, or run refusing to start */

struct cli_opt {
    const char *name; /* "--mode" */
    int takes_value;
    int id;
};

enum { CLI_ARG = -1, CLI_END = -2, CLI_HELP = -3, CLI_BAD = -4 };

/* Reads argv[*i]. An option of `opts`: returns its id, with its value (from "--name=value" or the
 * next argument) in *val, and moves *i past what it used. "--help"/"-h": CLI_HELP. "--": CLI_END,
 * *i past it. Anything else not starting with '-', and "-" itself: CLI_ARG, *i unchanged. An unknown
 * option, a missing value or a value given to a flag: one line on stderr, CLI_BAD. */
int cli_next(const char *cmd, const struct cli_opt *opts, int argc, char **argv, int *i, const char **val);

/* "ctxguard CMD: MESSAGE" and the command's usage on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A string for a terminal or a text report: control bytes, DEL and backslash as \xNN, so that a
 * hostile module path cannot forge a line. Writes at most cap-1 bytes; returns out. */
char *cli_escape(char *out, size_t cap, const char *s);
void cli_put_escaped(FILE *f, const char *s);

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
