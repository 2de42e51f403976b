#!/usr/bin/env bash
# k3s-harden apply/rollback against a real systemd (TESTING-SYSTEMD.md): the
# K3s stand-in is restarted over D-Bus, judged by the job, a settle period
# and the health command, and rolled back when it does not come back.
#   K3H_BIN=/abs/k3s-harden bash tests/systemd/apply.sh
# Exit 0 passed, 1 failed, 77 could not run here (K3H_REQUIRE_SYSTEMD=1: 1).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/harness.sh"
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
T=$(mktemp -d /tmp/k3h-sdapply.XXXXXX)
trap 'sd_stop_all >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP
pass=0 fail=0 n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
skip_all() {
	echo "# SKIP $1"
	echo "0 passed, 0 failed, 1 skipped"
	[ "${K3H_REQUIRE_SYSTEMD:-}" = 1 ] && exit 1
	exit 77
}
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }
kh() { run env DBUS_SYSTEM_BUS_ADDRESS="$SD_BUS_ADDRESS" "$bin" "$@" --root "$SD_ROOT" --live; }
tree_sum() { (cd "$SD_ROOT" && find etc var/lib/rancher -type f -exec sha256sum {} + 2>/dev/null | sort; find etc var/lib/rancher -printf '%m %p\n' 2>/dev/null | sort) | sha256sum; }

# a fast gate for tests: the stand-in is ready in milliseconds
printf 'extends: cis\nrestart: { job_timeout: 20s, settle: 1s, health_command: [] }\n' >"$T/good.yaml"
printf 'extends: cis\nrestart: { job_timeout: 20s, settle: 1s, health_command: [] }\nk3s: { admission_plugins: [NodeRestriction, NoSuchPlugin] }\n' >"$T/bad.yaml"

# ---- Type=notify, as the real k3s.service
mkdir -p "$T/a" "$T/b"
sd_start "$T/a" notify; src=$?
[ $src = 77 ] && skip_all "cannot start a private systemd here (namespaces, cgroup2 or root missing)"
[ $src = 0 ] || { not_ok "start a private systemd"; echo "$pass passed, $fail failed"; exit 1; }
starts0=$(sd_starts)

kh -p "$T/good.yaml" apply --output json
check "good profile: apply exits 0" [ "$rc" = 0 ]
check "good profile: JSON says restarted" grep -q '"restarted":true' "$T/out"
check "good profile: K3s started once more" [ "$(sd_starts)" = $((starts0 + 1)) ]
check "good profile: the unit is active" [ "$(sd_prop k3s.service ActiveState)" = active ]
check "kernel values were set live under the root first" [ "$(cat "$SD_ROOT/proc/sys/kernel/keys/root_maxkeys")" = 1000000 ]
hardened=$(tree_sum)

kh -p "$T/good.yaml" apply
check "second apply: exits 0" [ "$rc" = 0 ]
check "second apply: nothing to do" grep -q 'nothing to do' "$T/err"
check "second apply: no restart" [ "$(sd_starts)" = $((starts0 + 1)) ]

mkdir -p "$SD_ROOT/proc/sys/net/ipv4"; echo 0 >"$SD_ROOT/proc/sys/net/ipv4/ip_forward"
printf 'extends: %s\nkernel: { parameters+: [{ key: net.ipv4.ip_forward, value: "1" }] }\n' "$T/good.yaml" >"$T/sysctl.yaml"
kh -p "$T/sysctl.yaml" apply
check "sysctl-only change: exits 0" [ "$rc" = 0 ]
check "sysctl-only change: the value is live" [ "$(cat "$SD_ROOT/proc/sys/net/ipv4/ip_forward")" = 1 ]
check "sysctl-only change: no restart" [ "$(sd_starts)" = $((starts0 + 1)) ]
kh -p "$T/good.yaml" apply
check "back to the good profile (sysctl only again, no restart)" [ "$rc" = 0 ] && [ "$(sd_starts)" = $((starts0 + 1)) ]
hardened=$(tree_sum)

before=$(tree_sum)
kh -p "$T/bad.yaml" apply
check "breaking profile: exit 3" [ "$rc" = 3 ]
check "breaking profile: says why K3s failed" grep -q 'k3s.service did not come back healthy with the new files: k3s.service: job failed' "$T/err"
check "breaking profile: the previous files are back" [ "$(tree_sum)" = "$before" ]
check "breaking profile: the unit is active again" [ "$(sd_prop k3s.service ActiveState)" = active ]
check "breaking profile: K3s was started again with the old files" [ "$(sd_starts)" = $((starts0 + 2)) ]
run "$bin" history --root "$SD_ROOT"
check "history shows the failed apply as rolled back" grep -Eq '^[0-9]+ .* bad +apply +[^ ]+ +[^ ]+ +[0-9]+ +([0-9-]+ +)?rolled-back' "$T/out"

# healthy only without the new exemption: the old files pass, the new ones do not
printf 'extends: %s\nrestart: { health_command: [sh, -c, "if grep -q monitoring $0; then echo not ready; exit 1; fi", %s/var/lib/rancher/k3s/server/psa.yaml], health_timeout: 2s, health_interval: 500ms }\n' "$T/good.yaml" "$SD_ROOT" >"$T/unhealthy.yaml"
printf 'extends: %s\npod_security: { exemptions: { namespaces+: [monitoring] } }\n' "$T/unhealthy.yaml" >"$T/unhealthy2.yaml"
kh -p "$T/unhealthy2.yaml" apply
check "failing health command: exit 3" [ "$rc" = 3 ]
check "failing health command: its output is shown" grep -q 'health command .sh. did not pass within 2s: not ready' "$T/err"
check "failing health command: files restored" [ "$(tree_sum)" = "$before" ]
check "failing health command: K3s is back with the old files" [ "$(sd_prop k3s.service ActiveState)" = active ] && grep -q 'is active again' "$T/err"

printf 'extends: %s\nrestart: { health_command: [sh, -c, "test -f $0", %s/var/lib/rancher/k3s/server/psa.yaml] }\npod_security: { exemptions: { namespaces+: [monitoring] } }\n' "$T/good.yaml" "$SD_ROOT" >"$T/healthy.yaml"
kh -p "$T/healthy.yaml" apply
check "passing health command: exit 0" [ "$rc" = 0 ]
check "passing health command: restarted" [ "$(sd_starts)" = $((starts0 + 5)) ]

printf 'extends: %s\nunit: no-such-k3s.service\npod_security: { exemptions: { namespaces+: [other] } }\n' "$T/good.yaml" >"$T/nounit.yaml"
before=$(tree_sum)
gens=$(ls "$SD_ROOT/var/lib/k3s-harden/backups" | wc -l)
kh -p "$T/nounit.yaml" apply
check "missing unit: exit 2" [ "$rc" = 2 ]
check "missing unit: a clear error" grep -q 'the unit no-such-k3s.service does not exist' "$T/err"
check "missing unit: nothing written" [ "$(tree_sum)" = "$before" ] && [ "$(ls "$SD_ROOT/var/lib/k3s-harden/backups" | wc -l)" = "$gens" ]

kh -p "$T/good.yaml" apply --no-restart
check "--no-restart: exit 0" [ "$rc" = 0 ]
check "--no-restart: K3s not restarted" [ "$(sd_starts)" = $((starts0 + 5)) ]
run "$bin" history --root "$SD_ROOT"
check "--no-restart: history shows the restart pending" grep -q 'committed, K3s restart pending' "$T/out"

kh -p "$T/good.yaml" rollback --force
check "rollback: exit 0" [ "$rc" = 0 ]
check "rollback: K3s restarted and passed the gate" [ "$(sd_starts)" = $((starts0 + 6)) ] && grep -q 'K3s restarted' "$T/out"
check "rollback: the unit is active" [ "$(sd_prop k3s.service ActiveState)" = active ]
run "$bin" history --root "$SD_ROOT"
check "after a restart nothing is pending any more" bash -c "! grep -q 'restart pending' '$T/out'"

sd_stop
check "notify instance: nothing left behind (process, mount, cgroup)" sd_check_clean

# ---- Restart=always, as K3s's installer writes the unit: a crash loop is a failure
sd_start "$T/b" always || { not_ok "start the Restart=always instance"; echo "$pass passed, $fail failed"; exit 1; }
kh -p "$T/good.yaml" apply
check "Restart=always: good profile applies" [ "$rc" = 0 ]
before=$(tree_sum)
kh -p "$T/bad.yaml" apply
check "Restart=always: crash loop is a failure, exit 3" [ "$rc" = 3 ]
check "Restart=always: judged by the job, not 'activating'" grep -q 'job failed' "$T/err"
check "Restart=always: files restored" [ "$(tree_sum)" = "$before" ]
check "Restart=always: active again" [ "$(sd_prop k3s.service ActiveState)" = active ]
sd_stop
check "Restart=always instance: nothing left behind" sd_check_clean

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
