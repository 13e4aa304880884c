/* Where ctxguard's lines go: stderr, syslog or a file (CTXGUARD_LOG). Bytes only: what a line says is
 * formatted above (report/). The sink never starts initialisation: until init.c has configured it,
 * every line goes to stderr. */
#ifndef CTXGUARD_SINK_H
#define CTXGUARD_SINK_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Writes all n bytes, retrying EINTR (a signal in the host must not drop a line) and short writes.
 * Returns 0, or the errno of the failed write. Async-signal-safe. */
int cg_write_all(int fd, const char *s, size_t n);

/* Called once by init.c, after the configuration is read: from then on lines go where CTXGUARD_LOG
 * says (the file is opened on the first line, so a process that logs nothing creates nothing). */
void cg_sink_configure(void);

/* One line, without its newline, in a buffer with room for one more byte (the newline is added in
 * place, so the line leaves in one write(2) and lines of several processes never interleave). */
void cg_sink_line(char *line, size_t n);
/* The same with the line's severity (enum cg_sev, diag.h): syslog's priority says it. */
void cg_sink_line_at(int sev, char *line, size_t n);

/* In a forked child whose log path moved to its own pid (reopen): the child's first line opens that
 * file, and the parent's stays the parent's. */
void cg_sink_after_fork_child(int reopen);

/* One finished line to stderr, whatever the configuration (before it is known, or about the sink). */
void cg_log_raw(const char *line);

#pragma GCC visibility pop

#endif
