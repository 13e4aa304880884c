#!/usr/bin/env bash
# Builds the Debian packages (libctxguard, ctxguard) from this working tree, then runs lintian on them.
# dpkg-buildpackage writes its results beside the source tree, so it runs on a copy in build/deb/
# (the checkout's parent stays untouched); the .debs, .changes and lintian's report land there.
#   scripts/build-deb.sh [dpkg-buildpackage options]     e.g. DEB_BUILD_OPTIONS=nocheck scripts/build-deb.sh
# Needs: dpkg-dev, debhelper, lintian (apt-get install dpkg-dev debhelper lintian), and the
# Build-Depends of debian/control.
set -eu
cd "$(dirname "$0")/.."
ver=$(dpkg-parsechangelog -S Version)
want=$(sed -n 's/^#define CTXGUARD_VERSION "\(.*\)"/\1/p' include/ctxguard.h)
[ "$ver" = "$want" ] || { echo "build-deb: debian/changelog says $ver, include/ctxguard.h $want" >&2; exit 1; }
out=$PWD/build/deb
src=$out/ctxguard-$ver
rm -rf "$out"
mkdir -p "$src"
# the tracked and the new (not ignored) files, as a clean clone plus uncommitted work would have them
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
done | xargs -0 cp --parents -a -t "$src"
(cd "$src" && dpkg-buildpackage -us -uc -b "$@") >"$out/build.log" 2>&1 ||
    { tail -40 "$out/build.log" >&2; echo "build-deb: dpkg-buildpackage failed; log: $out/build.log" >&2; exit 1; }
ls -l "$out"/*.deb
changes=$(ls "$out"/*.changes)
# lintian's exit status is non-zero on errors (its default --fail-on=error)
st=0
lintian --pedantic --display-info "$changes" >"$out/lintian.txt" 2>&1 || st=$?
cat "$out/lintian.txt"
echo "lintian: $(grep -c '^E:' "$out/lintian.txt") errors, $(grep -c '^W:' "$out/lintian.txt") warnings (report: $out/lintian.txt)"
[ "$st" = 0 ] || { echo "build-deb: lintian failed ($st):" >&2; grep -v '^[IPN]:' "$out/lintian.txt" >&2; }
exit "$st"
