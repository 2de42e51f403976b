#!/usr/bin/env bash
# The Ansible collection against the real ansible-playbook: an inventory of
# three servers and three agents, all ansible_connection: local, each with
# its own root under a temporary directory.
#   K3H_BIN=/abs/k3s-harden bash tests/ansible/run.sh
# --check --diff reports changed with the diff and writes nothing; a real run
# changes each host once; a second run changes nothing; a server whose apply
# fails (bad profile, read-only root) fails its task and, with serial: 1, the
# servers after it stay untouched. Exit 0 passed, 1 failed, 77 ansible-playbook
# is not installed (K3H_REQUIRE_ANSIBLE=1: that is a failure).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"
	[ -f "$T/play.out" ] && tail -n 25 "$T/play.out" | sed 's/^/#   /'
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
cond() { eval "$1"; }

if ! command -v ansible-playbook >/dev/null || ! command -v ansible-doc >/dev/null; then
	echo "# SKIP ansible-playbook not found (apt-get install ansible)"
	[ "${K3H_REQUIRE_ANSIBLE:-}" = 1 ] && exit 1
	exit 77
fi
T=$(mktemp -d /tmp/k3h-ansible.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP
ans_setup "$T" "$bin" || { echo "not ok - set up the Ansible environment"; exit 1; }
servers="s1 s2 s3" agents="a1 a2 a3"

# inventory DIR [HOST=VAR:VALUE ...]: six hosts with roots under DIR
inventory() {
	local dir=$1 h kv
	shift
	{
		echo "all:"
		echo "  vars: { ansible_connection: local, ansible_python_interpreter: /usr/bin/python3 }"
		echo "  children:"
		echo "    k3s_servers:"
		echo "      vars: { k3s_harden_profile: cis }"
		echo "      hosts:"
		for h in $servers; do
			printf '        %s:\n          k3s_harden_root: %s/%s\n' "$h" "$dir" "$h"
			for kv in "$@"; do [ "${kv%%=*}" = "$h" ] && printf '          %s: %s\n' "$(echo "${kv#*=}" | cut -d: -f1)" "$(echo "${kv#*=}" | cut -d: -f2-)"; done
		done
		echo "    k3s_agents:"
		echo "      vars: { k3s_harden_profile: cis-agent }"
		echo "      hosts:"
		for h in $agents; do
			printf '        %s:\n          k3s_harden_root: %s/%s\n' "$h" "$dir" "$h"
			for kv in "$@"; do [ "${kv%%=*}" = "$h" ] && printf '          %s: %s\n' "$(echo "${kv#*=}" | cut -d: -f1)" "$(echo "${kv#*=}" | cut -d: -f2-)"; done
		done
	} >"$dir.yml"
	echo "$dir.yml"
}

# roots DIR: a server or agent K3s config with the user's own settings
roots() {
	local dir=$1 h
	for h in $servers; do
		mkdir -p "$dir/$h/etc/rancher/k3s"
		printf '# %s, by hand\ntoken: secret-%s\nnode-name: %s\ntls-san:\n  - %s.example\n' "$h" "$h" "$h" "$h" \
			>"$dir/$h/etc/rancher/k3s/config.yaml"
	done
	for h in $agents; do
		mkdir -p "$dir/$h/etc/rancher/k3s"
		printf 'server: https://s1.example:6443\ntoken: secret\nnode-name: %s\n' "$h" >"$dir/$h/etc/rancher/k3s/config.yaml"
	done
}
sums() { local d=$1 h; for h in $servers $agents; do printf '%s %s\n' "$h" "$(tree_sum "$d/$h")"; done; }
all_count() { local key=$1 want=$2 h; for h in $servers $agents; do [ "$(ans_count "$h" "$key")" = "$want" ] || return 1; done; }
gens() { "$bin" --root "$1" --output json history | grep -o '"id":"[0-9]*"' | wc -l; }

# ---- the collection is well formed
ansible-doc k3s_harden.hardening.k3s_harden >"$T/doc.out" 2>&1
check "ansible-doc renders the module" cond 'grep -q "fail_on_noncompliance" "$T/doc.out" && grep -q "EXAMPLES" "$T/doc.out" && grep -q "RETURN VALUES" "$T/doc.out" && grep -q "backup_generation" "$T/doc.out"'
ansible-doc -t role k3s_harden.hardening.harden >"$T/roledoc.out" 2>&1
check "ansible-doc renders the role's argument spec" grep -q k3s_harden_profile_extra "$T/roledoc.out"

# ---- a fleet: --check --diff, real run, second run
R=$T/r1
roots "$R"
# a3 gets site content on top of its profile, written by the role
inv=$(inventory "$R" 'a3=k3s_harden_profile_extra:{ k3s: { args: [ { list: kubelet-arg, flag: rotate-certificates, value: "true" } ] } }')
ans_play "$inv" --syntax-check k3s_harden.hardening.rollout
check "the rollout playbook passes --syntax-check" [ "$rc" = 0 ]

before=$(sums "$R")
ans_play "$inv" --check --diff k3s_harden.hardening.rollout
check "--check --diff: exit 0" [ "$rc" = 0 ]
check "--check --diff: every host reports changed (a3 also its profile file and directory)" \
	cond 'for h in s1 s2 s3 a1 a2; do [ "$(ans_count $h changed)" = 1 ] || exit 1; done; [ "$(ans_count a3 changed)" = 3 ]'
check "--check --diff: nothing failed" all_count failed 0
check "--check --diff: a diff of the kernel parameters for each of the six hosts" \
	[ "$(grep -c '^+++ b/etc/sysctl.d/90-kubelet.conf' "$T/play.out")" = 6 ]
check "--check --diff: psa.yaml for the three servers only" \
	[ "$(grep -c '^+++ b/var/lib/rancher/k3s/server/psa.yaml' "$T/play.out")" = 3 ]
check "--check --diff: the user's config keeps its keys (in the context, never removed)" \
	cond 'grep -q "^   - s2.example" "$T/play.out" && ! grep -q "^-token: secret" "$T/play.out"'
check "--check --diff: a3's site profile shows in its diff" grep -q '^+  - rotate-certificates=true' "$T/play.out"
check "--check --diff: wrote nothing on any host" [ "$(sums "$R")" = "$before" ]
check "--check --diff: servers one per batch, agents at 20% (one of three) per batch" \
	cond '[ "$(grep -c "^PLAY \[Harden K3s servers" "$T/play.out")" = 3 ] && [ "$(grep -c "^PLAY \[Harden K3s agents" "$T/play.out")" = 3 ]'

ans_play "$inv" k3s_harden.hardening.rollout
check "real run: exit 0" [ "$rc" = 0 ]
check "real run: servers and a1, a2 changed once" cond 'for h in s1 s2 s3 a1 a2; do [ "$(ans_count $h changed)" = 1 ] || exit 1; done'
check "real run: a3 changed its profile file and the host" [ "$(ans_count a3 changed)" = 3 ]
check "real run: one generation on each host" cond 'for h in $servers $agents; do [ "$(gens "$R/$h")" = 1 ] || exit 1; done'
check "real run: each host now matches its profile (k3s-harden diff exits 0)" \
	cond 'for h in $servers; do "$bin" -q --root "$R/$h" -p cis diff >/dev/null || exit 1; done; for h in a1 a2; do "$bin" -q --root "$R/$h" -p cis-agent diff >/dev/null || exit 1; done'
check "real run: a3 hardened with its site profile" \
	cond '"$bin" -q --root "$R/a3" -p "$R/a3/etc/k3s-harden/ansible-profile.yaml" diff >/dev/null && grep -q rotate-certificates=true "$R/a3/etc/rancher/k3s/config.yaml"'
check "real run: servers have psa.yaml, agents do not" \
	cond '[ -f "$R/s3/var/lib/rancher/k3s/server/psa.yaml" ] && [ ! -e "$R/a1/var/lib/rancher/k3s/server/psa.yaml" ]'
check "real run: the user's keys are still there" grep -q '^token: secret-s2' "$R/s2/etc/rancher/k3s/config.yaml"

after=$(sums "$R")
ans_play "$inv" k3s_harden.hardening.rollout
check "second run: exit 0" [ "$rc" = 0 ]
check "second run: changed=0 on every host" all_count changed 0
check "second run: no new generation, nothing touched" \
	cond '[ "$(sums "$R")" = "$after" ] && [ "$(gens "$R/s1")" = 1 ]'

ans_play "$inv" --check --diff k3s_harden.hardening.rollout
check "--check --diff after the run: changed=0, no diff" \
	cond 'all_count changed 0 && ! grep -q "^+++ b/" "$T/play.out"'

# ---- state: rolled_back on s1 (check mode, real, a generation that does not exist)
cat >"$T/rollback.yml" <<-'PLAY'
	- hosts: s1
	  gather_facts: false
	  tasks:
	    - name: roll back the last apply
	      k3s_harden.hardening.k3s_harden:
	        state: rolled_back
	        root: "{{ k3s_harden_root }}"
	        force: true
	      register: rb
	    - name: the result, for the test
	      ansible.builtin.debug:
	        msg: "RB changed={{ rb.changed }} generation={{ rb.generation | default('none') }} backup={{ rb.backup_generation | default('none') }}"
	    - name: roll back to a generation that does not exist
	      k3s_harden.hardening.k3s_harden:
	        state: rolled_back
	        root: "{{ k3s_harden_root }}"
	        generation: "999999"
	      register: bad
	      ignore_errors: true
	    - name: the failure, for the test
	      ansible.builtin.debug:
	        msg: "BAD failed={{ bad.failed }} rc={{ bad.rc }}"
	    - name: a binary that is not there
	      k3s_harden.hardening.k3s_harden:
	        root: "{{ k3s_harden_root }}"
	        binary: /nonexistent/k3s-harden
	      register: nobin
	      ignore_errors: true
	    - name: the failure, for the test
	      ansible.builtin.debug:
	        msg: "NOBIN failed={{ nobin.failed }} msg={{ nobin.msg }}"
	PLAY
before=$(sums "$R")
ans_play "$inv" --check "$T/rollback.yml"
check "rolled_back in check mode: changed, nothing written" \
	cond 'grep -q "RB changed=True" "$T/play.out" && [ "$(sums "$R")" = "$before" ]'
check "rolled_back in check mode: an unknown generation fails with exit 2" grep -q "BAD failed=True rc=2" "$T/play.out"
ans_play "$inv" "$T/rollback.yml"
check "rolled_back: changed, a new generation 000002 recorded" \
	cond 'grep -q "RB changed=True generation=000002 backup=000002" "$T/play.out" && [ "$(gens "$R/s1")" = 2 ]'
check "rolled_back: s1's K3s files are back as they were before the rollout" \
	cond '[ ! -e "$R/s1/var/lib/rancher/k3s/server/psa.yaml" ] && grep -q "^# s1, by hand" "$R/s1/etc/rancher/k3s/config.yaml" && ! grep -q protect-kernel-defaults "$R/s1/etc/rancher/k3s/config.yaml"'
check "rolled_back: an unknown generation fails with the tool's exit 2 and message" \
	cond 'grep -q "BAD failed=True rc=2" "$T/play.out" && grep -q "no such generation" "$T/play.out"'
check "a missing binary fails the task, saying so" \
	grep -q "NOBIN failed=True msg=k3s-harden binary '/nonexistent/k3s-harden' is not executable" "$T/play.out"

# ---- a server with a bad profile stops the rollout there
R=$T/r2
roots "$R"
printf 'extends: cis\npod_security:\n  defaults:\n    enforce: strict\n' >"$T/bad.yaml"
inv=$(inventory "$R" "s2=k3s_harden_profile:$T/bad.yaml")
before=$(sums "$R")
ans_play "$inv" k3s_harden.hardening.rollout
check "bad profile on s2: the play fails" [ "$rc" != 0 ]
check "bad profile on s2: s1 was hardened" cond '[ "$(ans_count s1 changed)" = 1 ] && [ "$(gens "$R/s1")" = 1 ]'
check "bad profile on s2: s2's task failed" [ "$(ans_count s2 failed)" = 1 ]
check "bad profile on s2: the task names the bad input (FILE:LINE:COL)" \
	cond 'grep -q "rejected the input, nothing was changed (exit 2)" "$T/play.out" && grep -Eq "bad.yaml:4:[0-9]+:" "$T/play.out"'
check "bad profile on s2: s2, s3 and every agent untouched" \
	cond '[ "$(sums "$R" | grep -v "^s1 ")" = "$(echo "$before" | grep -v "^s1 ")" ] && [ ! -e "$R/s3/var/lib/k3s-harden" ]'
check "bad profile on s2: s3 and the agents never ran" \
	cond '[ -z "$(ans_recap s3)" ] && [ -z "$(ans_recap a1)" ]'

# ---- a server whose root cannot be written (read-only bind mount)
if unshare -m true 2>/dev/null; then
	R=$T/r3
	roots "$R"
	inv=$(inventory "$R")
	before=$(sums "$R")
	setsid -w unshare -m sh -c 'mount -n --bind "$1" "$1" && mount -n -o remount,bind,ro "$1" && exec ansible-playbook -i "$2" k3s_harden.hardening.rollout' \
		sh "$R/s2" "$inv" </dev/null >"$T/play.out" 2>&1
	rc=$?
	check "read-only root on s2: the play fails" [ "$rc" != 0 ]
	check "read-only root on s2: s1 hardened, s2 failed with the tool's message" \
		cond '[ "$(ans_count s1 changed)" = 1 ] && [ "$(ans_count s2 failed)" = 1 ] && grep -q "Read-only file system" "$T/play.out"'
	check "read-only root on s2: s2, s3 and every agent untouched" \
		cond '[ "$(sums "$R" | grep -v "^s1 ")" = "$(echo "$before" | grep -v "^s1 ")" ] && [ -z "$(ans_recap s3)" ]'
else
	echo "# SKIP read-only root: cannot make a mount namespace here"
fi

# ---- state: checked and k3s_version/role, against the check command (issue 12).
# GATE: runs only when this build has `check`; the integrator removes the
# gate (the `if` in the call below) once --k3s-version, --role and check are merged.
test_checked() {
	local R=$T/r4 h want
	roots "$R"
	"$bin" -q --root "$R/s1" -p cis apply >/dev/null 2>&1
	cat >"$T/checked.yml" <<-PLAY
		- hosts: k3s_servers
		  gather_facts: false
		  tasks:
		    - name: check, report only
		      k3s_harden.hardening.k3s_harden:
		        state: checked
		        root: "{{ k3s_harden_root }}"
		        profile: cis
		        role: server
		        k3s_version: v1.29.4+k3s1
		        fail_on_noncompliance: false
		      register: c
		    - name: the totals, for the test
		      ansible.builtin.debug:
		        msg: "TOTALS {{ inventory_hostname }} FAIL={{ c.check.totals.FAIL }} PASS={{ c.check.totals.PASS }}"
		    - name: check, failing on noncompliance
		      k3s_harden.hardening.k3s_harden:
		        state: checked
		        root: "{{ k3s_harden_root }}"
		        profile: cis
		        role: server
		        k3s_version: v1.29.4+k3s1
		PLAY
	inv=$(inventory "$R")
	ans_play "$inv" -v "$T/checked.yml"
	for h in s1 s2; do
		want=$("$bin" --output json --root "$R/$h" -p cis --role server --k3s-version v1.29.4+k3s1 check |
			python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print("FAIL=%d PASS=%d" % (t["FAIL"], t["PASS"]))')
		check "checked: $h's totals are the tool's own (${want:-none})" \
			cond '[ -n "$want" ] && grep -q "TOTALS $h $want" "$T/play.out"'
	done
	check "checked: --role and --k3s-version reach the tool" \
		cond 'grep -q "\"--role\", \"server\", \"--k3s-version\", \"v1.29.4+k3s1\"" "$T/play.out"'
	want=$("$bin" --output json --root "$R/s2" -p cis --role server --k3s-version v1.29.4+k3s1 check |
		python3 -c 'import json,sys; d=json.load(sys.stdin); f=[c["id"] for c in d["controls"] if c["status"]=="FAIL"]; print("%d CIS controls FAIL on this host: %s" % (d["totals"]["FAIL"], ", ".join(f)))')
	check "checked: the unhardened s2 fails the second task, naming its FAIL controls" \
		cond '[ "$(ans_count s2 failed)" = 1 ] && [ -n "$want" ] && grep -qF "$want" "$T/play.out"'
	check "checked: nothing changed on any host" cond '[ "$(ans_count s1 changed)" = 0 ] && [ "$(ans_count s2 changed)" = 0 ]'
}
test_checked

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
