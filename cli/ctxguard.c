/* The ctxguard command: run, check, report, inspect (one file each); this file dispatches.
 * Conventions (cli.h): every subcommand takes --help (usage on stdout, exit 0), --opt=value as well
 * as --opt value; messages and errors go to stderr, results to stdout; exit 2 for a usage error. */
#include <stdio.h>
#include <string.h>

#include "../include/ctxguard.h"
#include "cli.h"

static const char usage[] =
    "usage: ctxguard run [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "       ctxguard check [FILE...] [--rules RULES] [--explain CALL --caller MODULE [--ctx SITUATION]]\n"
    "       ctxguard report [OPTIONS] LOG...\n"
    "       ctxguard inspect BINARY|LIBRARY...\n"
    "       ctxguard --help | --version | SUBCOMMAND --help\n"
    "\n"
    "run     runs PROGRAM with libctxguard.so preloaded (appended to any existing LD_PRELOAD) and the\n"
    "        given settings, checked first; its exit status is PROGRAM's.\n"
    "check   validates policy files, printing each problem as FILE:LINE:COL; with --explain, says which\n"
    "        rule (or the preset) would decide CALL made by MODULE.\n"
    "report  summarises logs and dumps (JSON lines, text; several files and processes, each event\n"
    "        counted once): per module and call, or per process in order (--timeline); --json,\n"
    "        --format prometheus.\n"
    "inspect says how a binary or library reaches CUDA (runtime linked or carried, driver, dlopen)\n"
    "        and therefore what ctxguard can and cannot see of it.\n"
    "Exit status: 2 for a usage error in every subcommand; see SUBCOMMAND --help and ctxguard(1).\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        if (strcmp(cmd, "help") == 0 && argc > 2) { /* ctxguard help run = ctxguard run --help */
            static char help[] = "--help";
            cmd = argv[2];
            argv[2] = help;
        } else {
            fputs(usage, stdout);
            return CLI_OK;
        }
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ctxguard %s\n", CTXGUARD_VERSION);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"run", cmd_run}, {"check", cmd_check}, {"report", cmd_report}, {"inspect", cmd_inspect}};
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
        if (strcmp(cmd, cmds[k].name) == 0)
            return cmds[k].fn(argc - 2, argv + 2);
    fprintf(stderr, "ctxguard: unknown command ");
    cli_put_escaped(stderr, cmd);
    fprintf(stderr, "\n%s", usage);
    return CLI_USAGE;
}
