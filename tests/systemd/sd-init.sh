#!/bin/sh
# PID 1 of the test namespaces until it execs systemd (see harness.sh and
# ../../../shared/TESTING-SYSTEMD.md). Runs under unshare --mount --pid ...,
# on the pty that `script` gives it. Every mount is made with -n inside a
# private mount namespace, so the host's mount table never sees them.
#   $1  the instance directory (DIR/run becomes /run, DIR/units the unit path)
set -eu
d=$1
if [ "$$" != 1 ]; then
	echo "sd-init: not PID 1 of a new PID namespace" >&2
	exit 1
fi
mount -n --make-rprivate /
mount -n --bind "$d/run" /run
mount -n -t cgroup2 cgroup2 /sys/fs/cgroup
# Read-only, or systemd raises host-wide sysctls such as fs.file-max.
mount -n --bind /proc/sys /proc/sys
mount -n -o remount,bind,ro /proc/sys
# A machine ID of our own: systemd never sees a "first boot" (which would
# run preset-all against the host's /etc).
mount -n --bind "$d/machine-id" /etc/machine-id
# systemd and the services write to /dev/console: make it our pty, whose
# output `script` copies to DIR/console.log.
console=$(tty)
mount -n --bind "$console" /dev/console
exec env -i container=k3s-harden-test \
	SYSTEMD_UNIT_PATH="$d/units" \
	SYSTEMD_GENERATOR_PATH="$d/empty" \
	SYSTEMD_ENVIRONMENT_GENERATOR_PATH="$d/empty" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	"${SD_SYSTEMD:-/lib/systemd/systemd}" --system --unit=k3h-test.target
