/* CTXGUARD_LOG=syslog without openlog(3): openlog changes the identity and facility of the whole
 * process, so a host that had said openlog("myhost", …, LOG_DAEMON) would log as "ctxguard" under
 * "user" from then on. ctxguard writes to the syslog socket itself, with its own identity. */
#ifndef CTXGUARD_SYSLOG_SINK_H
#define CTXGUARD_SYSLOG_SINK_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Connects to CTXGUARD_SYSLOG_SOCKET (tests only) or /dev/log, datagram first, then stream. Returns 0,
 * or -1 after saying once on stderr why lines go to stderr instead. */
int cg_syslog_open(void);

/* One line, as "<PRI>Mmm dd hh:mm:ss ctxguard[PID]: LINE" (RFC 3164), PRI = CTXGUARD_SYSLOG_FACILITY +
 * sev. Returns 0, or -1 when it could not be sent (the caller writes it to stderr). */
int cg_syslog_send(int sev, const char *line, size_t n);

/* In a forked child: the parent's socket is shared; the child's pid goes into its lines. */
void cg_syslog_after_fork_child(void);

#pragma GCC visibility pop

#endif
