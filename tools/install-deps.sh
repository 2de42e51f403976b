#!/bin/sh
# Install the Debian packages k3s-harden needs to build and to run its tests:
# the libraries, plus systemd and dbus for the restart tests and patch and
# strace for the diff and crash tests, clang and its libFuzzer runtime for the
# fuzz targets (make check replays their corpora), ansible, debhelper, lintian,
# dpkg-dev and bash-completion for the collection, package and completion
# tests. Installs only what is missing.
set -e
pkgs="build-essential pkg-config libyaml-dev libcyaml-dev libsystemd-dev libcmocka-dev
systemd dbus patch strace util-linux python3 python3-yaml clang libclang-rt-14-dev
ansible debhelper lintian dpkg-dev bash-completion"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends $missing
