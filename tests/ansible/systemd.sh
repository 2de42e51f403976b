#!/usr/bin/env bash
# The rollout playbook against a real systemd (tests/systemd/harness.sh): the
# module restarts the K3s stand-in over the bus, and a health command that
# fails ends in a failed task with the files restored.
#   K3H_BIN=/abs/k3s-harden bash tests/ansible/systemd.sh
# Exit 0 passed, 1 failed, 77 could not run here (no ansible-playbook, or no
# private systemd; K3H_REQUIRE_SYSTEMD=1 / K3H_REQUIRE_ANSIBLE=1 make that a failure).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/../systemd/harness.sh"
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"
	[ -f "$T/play.out" ] && tail -n 25 "$T/play.out" | cut -c1-400 | sed 's/^/#   /'
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
cond() { eval "$1"; }
skip_all() {
	echo "# SKIP $1"
	[ "$2" = 1 ] && exit 1
	exit 77
}
command -v ansible-playbook >/dev/null || skip_all "ansible-playbook not found" "${K3H_REQUIRE_ANSIBLE:-}"
T=$(mktemp -d /tmp/k3h-ansd.XXXXXX)
trap 'sd_stop_all >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP
ans_setup "$T" "$bin" || { echo "not ok - set up the Ansible environment"; exit 1; }
k3s_sum() { (cd "$SD_ROOT" && find etc var/lib/rancher -type f -exec sha256sum {} + 2>/dev/null | sort; find etc var/lib/rancher -printf '%m %p\n' 2>/dev/null | sort) | sha256sum; }

mkdir -p "$T/sd"
sd_start "$T/sd" notify; src=$?
[ $src = 77 ] && skip_all "cannot start a private systemd here" "${K3H_REQUIRE_SYSTEMD:-}"
[ $src = 0 ] || { not_ok "start a private systemd"; echo "$pass passed, $fail failed"; exit 1; }
starts0=$(sd_starts)

printf 'extends: cis\nrestart: { job_timeout: 20s, settle: 1s, health_command: [] }\n' >"$T/good.yaml"
# healthy only without the monitoring exemption: the old files pass, the new ones do not
printf 'extends: %s\nrestart: { health_command: [sh, -c, "if grep -q monitoring $0; then echo not ready; exit 1; fi", %s/var/lib/rancher/k3s/server/psa.yaml], health_timeout: 2s, health_interval: 500ms }\n' \
	"$T/good.yaml" "$SD_ROOT" >"$T/unhealthy.yaml"
inventory() {
	cat >"$T/inv.yml" <<-INV
		all:
		  vars: { ansible_connection: local, ansible_python_interpreter: /usr/bin/python3 }
		  children:
		    k3s_servers:
		      hosts:
		        s1:
		          k3s_harden_root: $SD_ROOT
		          k3s_harden_live: true
		          k3s_harden_environment: { DBUS_SYSTEM_BUS_ADDRESS: "$SD_BUS_ADDRESS" }
		          k3s_harden_profile_file: $T/site.yaml
	INV
	printf '          %s\n' "$@" >>"$T/inv.yml"
	printf '    k3s_agents:\n      hosts: {}\n' >>"$T/inv.yml"
}

inventory "k3s_harden_profile: $T/good.yaml"
ans_play "$T/inv.yml" -v k3s_harden.hardening.rollout
check "good profile: the play succeeds" [ "$rc" = 0 ]
check "good profile: changed, K3s restarted over the bus" \
	cond '[ "$(ans_count s1 changed)" = 1 ] && grep -q "\"restarted\": true" "$T/play.out"'
check "good profile: the stand-in started once more and is active" \
	cond '[ "$(sd_starts)" = $((starts0 + 1)) ] && [ "$(sd_prop k3s.service ActiveState)" = active ]'
check "good profile: kernel values set live under the root" \
	[ "$(cat "$SD_ROOT/proc/sys/kernel/keys/root_maxkeys")" = 1000000 ]

ans_play "$T/inv.yml" k3s_harden.hardening.rollout
check "good profile again: changed=0, no restart" \
	cond '[ "$rc" = 0 ] && [ "$(ans_count s1 changed)" = 0 ] && [ "$(sd_starts)" = $((starts0 + 1)) ]'

before=$(k3s_sum)
inventory "k3s_harden_profile: $T/unhealthy.yaml" \
	"k3s_harden_profile_extra: { pod_security: { exemptions: { 'namespaces+': [monitoring] } } }"
ans_play "$T/inv.yml" k3s_harden.hardening.rollout
check "failing health command: the play fails" [ "$rc" != 0 ]
check "failing health command: the task failed" [ "$(ans_count s1 failed)" = 1 ]
check "failing health command: the message says restored, exit 3, and why" \
	cond 'grep -q "failed and the host was restored to its previous state (exit 3)" "$T/play.out" && grep -q "did not pass within 2s: not ready" "$T/play.out"'
check "failing health command: the K3s files are restored" [ "$(k3s_sum)" = "$before" ]
check "failing health command: K3s is active again with the old files" \
	cond '[ "$(sd_prop k3s.service ActiveState)" = active ] && [ "$(sd_starts)" = $((starts0 + 3)) ]'
check "failing health command: history records the rollback" \
	cond '"$bin" --root "$SD_ROOT" history | grep -q rolled-back'

starts1=$(sd_starts)
inventory "k3s_harden_profile: $T/good.yaml" "k3s_harden_restart: false" \
	"k3s_harden_profile_extra: { pod_security: { exemptions: { 'namespaces+': [monitoring] } } }"
ans_play "$T/inv.yml" -v k3s_harden.hardening.rollout
check "restart: false: changed, files written, K3s not restarted" \
	cond '[ "$rc" = 0 ] && [ "$(ans_count s1 changed)" -ge 1 ] && [ "$(sd_starts)" = "$starts1" ] && grep -q monitoring "$SD_ROOT/var/lib/rancher/k3s/server/psa.yaml"'
check "restart: false: the result and history say the restart is pending" \
	cond 'grep -q "\"restart_pending\": true" "$T/play.out" && "$bin" --root "$SD_ROOT" history | grep -q "restart pending"'

sd_stop
check "nothing left behind (process, mount, cgroup)" sd_check_clean
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
