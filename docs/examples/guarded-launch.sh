#!/bin/sh
# Launch script recipe: run a program under ctxguard with a policy and per-process JSON logs.
# Usage: guarded-launch.sh PROGRAM [ARGS...]   (CTXGUARD_BIN, LOG_DIR, POLICY may be overridden)
set -eu
CTXGUARD_BIN=${CTXGUARD_BIN:-/usr/local/bin/ctxguard}
LOG_DIR=${LOG_DIR:-/var/log/ctxguard}
POLICY=${POLICY:-/etc/ctxguard.rules}
mkdir -p "$LOG_DIR"
# Refuse to start on a broken policy rather than run with a weaker one.
"$CTXGUARD_BIN" check "$POLICY" >&2
exec "$CTXGUARD_BIN" run --mode guard --config "$POLICY" --json --log "$LOG_DIR/%p.jsonl" -- "$@"
