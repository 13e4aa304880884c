/* Opening a destination ctxguard writes to (the log file, a dump) without ever blocking the host. */
#ifndef CTXGUARD_OPEN_DEST_H
#define CTXGUARD_OPEN_DEST_H

#pragma GCC visibility push(hidden)

#define CG_DEST_NOT_REGULAR (-2)

/* Opens `path` for appending (created with `mode` exactly, whatever the umask, if missing; an existing
 * file keeps its mode; a symlink is refused, not followed). Only a
 * regular file or a character device (/dev/null) is accepted: a FIFO would block in open until a reader
 * came (forever, in a host with no reader), a socket or directory is no log. Returns the descriptor (close-on-exec, blocking), or -1
 * with errno when open failed, or CG_DEST_NOT_REGULAR with *kind naming what is there ("a FIFO", …).
 * Async-signal-safe (a dump may be written from a signal handler). */
int cg_open_dest(const char *path, unsigned int mode, const char **kind);

/* The one message for a refused destination, straight to stderr (async-signal-safe):
 * "ctxguard: VAR PATH is KIND, not a regular file: FALLBACK". */
void cg_dest_refused(const char *var, const char *path, const char *kind, const char *fallback);

#pragma GCC visibility pop

#endif
