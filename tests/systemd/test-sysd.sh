#!/usr/bin/env bash
# Run tests/test_systemd.c against real systemd instances: one Type=notify
# and one Restart=always, side by side, over their D-Bus daemons from the
# host, then once more from inside the notify instance's namespaces over the
# manager's private socket (no DBUS_SYSTEM_BUS_ADDRESS).
#   test-sysd.sh [TEST_BINARY]   default: build/tests/test_systemd (made if missing)
# Exit 0 passed, 1 failed, 77 could not run here (the binary then ran
# without an instance and reported its bus tests SKIPPED; with
# K3H_REQUIRE_SYSTEMD=1 that is a failure).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/harness.sh"

T=$(mktemp -d /tmp/k3h-sdtest.XXXXXX)
trap 'sd_stop_all >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP

bin=${1:-$top/build/tests/test_systemd}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if [ ! -x "$bin" ]; then
	if ! make -C "$top" -s build/tests/test_systemd >&2; then
		echo "# make failed; compiling the test directly" >&2
		# shellcheck disable=SC2046
		gcc -std=c11 -D_GNU_SOURCE -I"$top/src" -o "$T/test_systemd" \
			"$top/tests/test_systemd.c" "$top/src/systemd.c" \
			$(pkg-config --cflags --libs libsystemd cmocka) || exit 1
		bin=$T/test_systemd
	fi
fi

passed=0 failed=0
phase() { # phase NAME COMMAND...
	local name=$1
	shift
	echo "== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "not ok: $name"
	fi
}
run_tests() { (cd "$top/tests" && "$@"); }

sd_build_standin "$T" || exit 1
mkdir "$T/n" "$T/a"
sd_start "$T/n" notify
rc=$?
if [ "$rc" = 77 ]; then
	echo "# no private systemd here: the bus tests must report SKIPPED"
	env -u K3H_SD_BUS -u K3H_SD_BUS_ALWAYS "$bin" || exit 1
	echo "0 passed, 0 failed, 1 skipped"
	[ "${K3H_REQUIRE_SYSTEMD:-0}" = 1 ] && exit 1
	exit 77
fi
[ "$rc" = 0 ] || exit 1
start_n=$SD_START_MS
sd_fixture_hardened "$SD_ROOT" || exit 1
sd_save n
sd_start "$T/a" always || exit 1
start_a=$SD_START_MS
sd_fixture_hardened "$SD_ROOT" || exit 1
export K3H_SD_BUS_ALWAYS=$SD_BUS_ADDRESS K3H_SD_ROOT_ALWAYS=$SD_ROOT
sd_save a
sd_use n
export K3H_SD_BUS=$SD_BUS_ADDRESS K3H_SD_ROOT=$SD_ROOT K3H_SD_UNITS=$SD_DIR/units

phase "over the bus daemons (DBUS_SYSTEM_BUS_ADDRESS)" run_tests "$bin"
echo "# (the Restart=always case runs over the bus only: SKIPPED in the next phase)"
phase "inside the namespaces, private socket" \
	run_tests nsenter -t "$SD_PID" -m -p -- env -u DBUS_SYSTEM_BUS_ADDRESS K3H_SD_BUS=private "$bin"

sd_stop
stop_n=$SD_STOP_MS
phase "notify instance left nothing behind" sd_check_clean
sd_use a
sd_stop
stop_a=$SD_STOP_MS
phase "Restart=always instance left nothing behind" sd_check_clean

echo "# start ${start_n} ms and ${start_a} ms, stop ${stop_n} ms and ${stop_a} ms"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
