/* CTXGUARD_EXIT_CODE=N (1..255): a process whose CUDA calls were blocked or denied, and that would have
 * exited with status 0, exits with N instead, so a CI job fails where a guarded reset went unnoticed.
 *
 * How the status is learnt: on_exit(3) hands its function the status given to exit() (or returned by
 * main). The function is registered by a constructor, when the preloaded library is initialised,
 * which is before the program's startup code registers the dynamic linker's finaliser; exit() runs
 * these in reverse order, so it runs after every destructor (the exit summary and dump included), last
 * but for what was registered before it. It flushes stdio (which exit() would do next) and _exit(N)s.
 *
 * Limits: a process that ends through _exit(), quick_exit(), execve() or a signal keeps its status;
 * exit functions registered before this one (by another preloaded library's constructor) do not run
 * when the status is changed; a nonzero status is kept as it is. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "core/diag.h"
#include "report/log.h"

static void at_exit(int status, void *arg)
{
    (void)arg;
    if (status != 0 || !__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE) || cg_cfg.exit_code == 0 ||
        !cg_summary_severe())
        return;
    cg_log_note("warning", CG_SEV_WARNING,
                "calls were blocked or denied: exit status 0 becomes %d (CTXGUARD_EXIT_CODE)", cg_cfg.exit_code);
    fflush(NULL);
    _exit(cg_cfg.exit_code);
}

__attribute__((constructor)) static void cg_exit_code_install(void)
{
    on_exit(at_exit, NULL);
}
