#!/bin/bash
# A regression test for scripts/layer-check.py (issue 13; found in review): it once accepted a lower layer calling upward when the call
# does not close a knot larger than --max-knot. Here core/config.c calls cg_init() (the exact kind of
# call that once hung the host: init_once -> cg_config_parse -> cg_init -> pthread_once on itself).
# Expected: layer-check fails (core/config.o -> init.o is an upward edge). Exit 0 = check caught it.
# usage: tests/layers/upward_call_refused.sh   (after `make`; part of make check)
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed 's|#include "core/config.h"|#include "core/config.h"\n#include "core/core.h"|' shim/core/config.c |
  awk '{print} /^int cg_config_parse\(/ {f=1} f && /^\{/ {print "    cg_init(); /* injected upward call */"; f=0}' > "$tmp/config.c"
grep -q "injected upward call" "$tmp/config.c" || { echo "could not inject"; exit 2; }
cc -std=gnu11 -O2 -fPIC -fvisibility=hidden -D_GNU_SOURCE -Ishim -c "$tmp/config.c" -o "$tmp/config.o" || exit 2
objs=$(ls $B/obj/*/*.o $B/obj/init.o $B/obj/arch/x86_64/*.o | grep -v "/core/config.o$")
nm "$tmp/config.o" | grep -q ' U cg_init_slow' || { echo "injected object does not reference cg_init_slow"; exit 2; }
mkdir -p "$tmp/obj/core" && cp "$tmp/config.o" "$tmp/obj/core/config.o"
if python3 scripts/layer-check.py $B/obj $objs "$tmp/obj/core/config.o"; then
  echo "FAIL: layer-check passed although core/config.o calls cg_init_slow (init.c), an upward call"
  exit 1
fi
echo "ok: layer-check refused the upward call"
