#!/usr/bin/env bash
# shellcheck disable=SC2317 # helpers are called through check()
# Self-test of the systemd harness and the K3s stand-in, without k3s-harden:
# a Type=notify stand-in fails its start job on a bad configuration, and the
# Restart=always variant crash-loops instead (DESIGN.md fact 13).
# Exit 0 all passed, 1 something failed, 77 could not run here (all skipped;
# K3H_REQUIRE_SYSTEMD=1 turns that into a failure).
set -u
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d /tmp/k3h-sdself.XXXXXX)
trap 'sd_stop_all >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP

n=0 pass=0 failn=0 skipn=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failn=$((failn + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
skip_rest() { # skip_rest COUNT REASON
	local i
	for ((i = 0; i < $1; i++)); do
		n=$((n + 1)) skipn=$((skipn + 1))
		echo "ok $n # SKIP $2"
	done
}
finish() {
	local s="$pass passed, $failn failed"
	[ "$skipn" -gt 0 ] && s="$s, $skipn skipped"
	echo "$s"
	[ "$failn" -gt 0 ] && exit 1
	if [ "$skipn" -gt 0 ] && [ "$pass" -eq 0 ]; then
		[ "${K3H_REQUIRE_SYSTEMD:-0}" = 1 ] && exit 1
		exit 77
	fi
	exit 0
}
is() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; return 1; }; }
matches() { # matches VALUE PATTERN
	# shellcheck disable=SC2254
	case $1 in $2) return 0 ;; esac
	echo "#   got '$1', want $2"
	return 1
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# What breaks the stand-in: a drop-in that names an audit policy that is not
# there (and, list-replace semantics, wipes config.yaml's kube-apiserver-arg).
break_config() {
	mkdir -p "$SD_ROOT/etc/rancher/k3s/config.yaml.d"
	printf 'kube-apiserver-arg:\n  - audit-policy-file=/var/lib/rancher/k3s/server/missing.yaml\n' \
		>"$SD_ROOT/etc/rancher/k3s/config.yaml.d/90-broken.yaml"
}
restore_config() { rm -f "$SD_ROOT/etc/rancher/k3s/config.yaml.d/90-broken.yaml"; }
reload_restart() { sd_reload && sd_restart_unit k3s.service; }

PLANNED=26
if ! sd_build_standin "$T"; then
	not_ok "build the stand-in's checker"
	finish
fi

# --- Type=notify -------------------------------------------------------------
mkdir "$T/a"
sd_start "$T/a" notify 2>"$T/start.err"
rc=$?
cat "$T/start.err" >&2
if [ "$rc" = 77 ]; then
	skip_rest "$PLANNED" "$(sed -n "s/^harness: //p" "$T/start.err" | head -n 1)"
	finish
fi
if [ "$rc" != 0 ]; then
	not_ok "start a private systemd"
	finish
fi
ok "start a private systemd (${SD_START_MS} ms)"
check "empty configuration: stand-in active" is "$(sd_state k3s.service)" active/running/success
check "stand-in signalled ready once" is "$(sd_starts k3s.service)" 1
check "systemd runs in its own cgroup namespace" is "$(sed -n 's/^0:://p' /proc/"$SD_PID"/cgroup)" \
	"$SD_CG_REL/init.scope"

sd_fixture_hardened "$SD_ROOT"
check "hardened configuration: Reload + RestartUnit" reload_restart
check "hardened configuration: stand-in active" is "$(sd_state k3s.service)" active/running/success
check "hardened configuration: ready twice" is "$(sd_starts k3s.service)" 2

break_config
check "broken configuration: Reload + RestartUnit, job gone" reload_restart
check "broken configuration: unit failed, Result exit-code" is "$(sd_state k3s.service)" failed/failed/exit-code
check "broken configuration: never signalled ready" is "$(sd_starts k3s.service)" 2
check "broken configuration: the stand-in said why" grep -q "audit-policy-file: cannot stat" "$SD_ROOT/standin.log"
out=$(sd_systemctl restart k3s.service 2>&1)
rc=$?
check "broken configuration: the restart job itself fails (systemctl in the namespace)" \
	matches "$rc:$out" '1:*Job for k3s.service failed*'

restore_config
sd_fake_kernel "$SD_ROOT" default
restart_fails() { reload_restart && is "$(sd_state k3s.service)" failed/failed/exit-code; }
check "kernel values wrong with protect-kernel-defaults: start fails" restart_fails
check "the stand-in named the kernel flag" grep -q "invalid kernel flag: vm/overcommit_memory" "$SD_ROOT/standin.log"

sd_fake_kernel "$SD_ROOT" k3s
check "restored: Reload + RestartUnit" reload_restart
check "restored: stand-in active again" is "$(sd_state k3s.service)" active/running/success
check "restored: ready three times" is "$(sd_starts k3s.service)" 3

rt=()
for i in $(seq 10); do
	t0=$(_sd_now_us)
	reload_restart || break
	rt+=($((($(_sd_now_us) - t0) / 1000)))
done
rt_med=$(printf '%s\n' "${rt[@]}" | median)
sd_save a

# --- Restart=always, side by side with the first ------------------------------
mkdir "$T/b"
if ! sd_start "$T/b" always; then
	not_ok "start a second instance, Restart=always"
	finish
fi
ok "start a second instance, Restart=always (${SD_START_MS} ms)"
sd_fixture_hardened "$SD_ROOT"
restart_works() { reload_restart && is "$(sd_state k3s.service)" active/running/success; }
check "Restart=always: stand-in active" restart_works
break_config
reload_restart
st=$(sd_state k3s.service)
check "Restart=always, broken: failed start reads as activating (auto-restart)/exit-code, not active" \
	matches "$st" 'activating/auto-restart/exit-code'
out=$(sd_systemctl restart k3s.service 2>&1)
rc=$?
check "Restart=always, broken: the restart job fails although the unit is activating" \
	matches "$rc:$out" '1:*Job for k3s.service failed*'
a0=$(sd_attempts k3s.service) s0=$(sd_starts k3s.service)
sleep 2.5
crash_loop() {
	[ "$(sd_prop k3s.service NRestarts)" -ge 2 ] && [ "$(sd_attempts k3s.service)" -ge $((a0 + 2)) ] &&
		is "$(sd_starts k3s.service)" "$s0"
}
check "Restart=always, broken: crash loop (NRestarts grows, attempts grow, never ready)" crash_loop
restore_config
check "Restart=always, restored: Reload + RestartUnit brings it back" restart_works
# NRestarts is not reset by a manual restart in systemd 252: do not judge by it.

sd_save b
sd_use a
undisturbed() { is "$(sd_state k3s.service)/$(sd_starts k3s.service)" "active/running/success/$((3 + ${#rt[@]}))"; }
check "first instance undisturbed by the second" undisturbed

# --- stop and leave nothing behind ---------------------------------------------
sd_stop
a_stop=$SD_STOP_MS
check "first instance: nothing left behind (${a_stop} ms to stop)" sd_check_clean
sd_use b
sd_stop
check "second instance: nothing left behind (${SD_STOP_MS} ms to stop)" sd_check_clean

echo "# Reload + RestartUnit + wait via busctl processes: median ${rt_med:-?} ms of ${#rt[@]}"
finish
