#!/usr/bin/env bash
# A glibc 2.31 userland (Debian 11, Ubuntu 20.04's glibc; the base of many CUDA images) to run the
# library built here in: fetches bullseye's libc6, libgcc-s1, libc6-dev and linux-libc-dev (a private
# apt state, scripts/private-apt.sh), extracts them into a sysroot, and builds the fake CUDA
# libraries, the test plugins and the plugin host against that sysroot with this machine's gcc.
# The library itself is not rebuilt: the point is that build/libctxguard.so, built on this glibc,
# loads and guards there.
#   scripts/old-glibc.sh DIR      prints three lines: the loader, its --library-path, the build dir
# Used by tests/test_package.c. Exit 77 with "SKIP: ..." on stderr when the packages cannot be fetched
# (no network, no mirror serving bullseye); the fetched sysroot is kept in DIR for the next run.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
D=${1:?usage: scripts/old-glibc.sh DIR}
mkdir -p "$D"
D=$(cd "$D" && pwd)
S=$D/sysroot
# shellcheck source=scripts/private-apt.sh
. scripts/private-apt.sh

if [ ! -f "$S/.complete" ]; then
    rm -rf "$S" "$D/debs"
    if ! papt_init "$D/apt" bullseye:main >"$D/fetch.log" 2>&1 ||
       ! papt_download "$D/apt" "$D/debs" libc6 libgcc-s1 libc6-dev linux-libc-dev >>"$D/fetch.log" 2>&1; then
        echo "SKIP: cannot fetch Debian 11 (bullseye) libc6 from $(papt_mirror): see $D/fetch.log" >&2
        tail -5 "$D/fetch.log" >&2
        exit 77
    fi
    for deb in "$D"/debs/*.deb; do dpkg-deb -x "$deb" "$S"; done
    # absolute links (lib64/ld-linux-x86-64.so.2 -> /lib/...) point into the sysroot, not at this system
    find "$S" -type l -lname '/*' | while read -r l; do ln -sfn "$S$(readlink "$l")" "$l"; done
    touch "$S/.complete"
fi
LOADER=$(ls "$S"/lib/x86_64-linux-gnu/ld-2.*.so 2>/dev/null | head -1)
[ -x "$LOADER" ] || { echo "old-glibc: no loader in $S" >&2; exit 1; }

# The fakes, plugins and hosts against the sysroot, by the Makefile's own rules (B= its own tree).
B=$D/build
# (gcc's own library directories are not under --sysroot on Debian: -B and -L put the sysroot's first)
L=$S/usr/lib/x86_64-linux-gnu
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN make -s -C "$ROOT" B="$B" CC="gcc --sysroot=$S -B$L/ -L$L -L$S/lib/x86_64-linux-gnu" \
    "$B/plugins/libplugA.so" "$B/plugins/libplugB.so" "$B/plugins/libplugS1.so" "$B/plugins/libplugS2.so" \
    "$B/progs/plugin_host" "$B/progs/cuda_host" >"$D/build.log" 2>&1 ||
    { cat "$D/build.log" >&2; echo "old-glibc: building against the 2.31 sysroot failed" >&2; exit 1; }
echo "$LOADER"
echo "$S/lib/x86_64-linux-gnu:$S/usr/lib/x86_64-linux-gnu"
echo "$B"
