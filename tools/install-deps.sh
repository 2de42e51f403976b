#!/bin/sh
# Install the Debian packages k3s-harden needs to build and test.
set -e
pkgs="build-essential pkg-config libyaml-dev libcyaml-dev libsystemd-dev libcmocka-dev"
# for make check: a real systemd and D-Bus for the restart tests, patch and
# strace for the diff and crash tests
test_pkgs="systemd dbus patch strace"
[ "${1:-}" = --test ] && pkgs="$pkgs $test_pkgs"
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
