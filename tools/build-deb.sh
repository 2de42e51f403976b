#!/bin/sh
# Build the Debian package from a copy of the source tree, so that the
# build's `make clean` never touches the working tree's build. The .deb,
# .buildinfo and .changes land in OUTDIR (default build-deb/).
#   sh tools/build-deb.sh [OUTDIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-deb}
command -v dpkg-buildpackage >/dev/null || { echo "build-deb: dpkg-buildpackage not found (apt-get install dpkg-dev debhelper)" >&2; exit 1; }
version=$(cd "$top" && dpkg-parsechangelog -S Version)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/k3h-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=$tmp/k3s-harden-$version
mkdir -p "$src" "$out"
(cd "$top" && tar -cf - --exclude=./.git --exclude=./build --exclude=./build-san --exclude=./build-fuzz \
	--exclude=./build-deb --exclude=./k3s-harden --exclude=./bench/results --exclude=__pycache__ .) |
	(cd "$src" && tar -xf -)
(cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed" >&2
	exit 1
}
cp "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out"/
cp "$tmp/build.log" "$out/build.log"
ls "$out"/*.deb
