#!/bin/sh
# Makes sure cmocka's header and library are there; installs Debian's libcmocka-dev when run as root.
set -e
probe() { printf '#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <setjmp.h>\n#include <cmocka.h>\nint main(void){return 0;}\n' |
          ${CC:-cc} -x c - -o /dev/null -lcmocka >/dev/null 2>&1; }
probe && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ctxguard: installing libcmocka-dev" >&2
    apt-get install -y libcmocka-dev >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y libcmocka-dev >/dev/null; }
    probe && exit 0
fi
echo "ctxguard: cmocka is missing; run: sudo apt-get install -y libcmocka-dev" >&2
exit 1
