#!/usr/bin/env bash
# K3s versions and benchmark profiles from the command line: golden renders
# for every built-in benchmark profile and role, the default's pick, the
# version from --k3s-version, the profile or `k3s --version`, errors that
# name the supported range, and a 1.24 -> 1.30 upgrade as one transaction
# that rollback undoes, and what the merge does to the operator's own values
# (warnings, at-least audit numbers, quotes, idempotence). Usage: K3H_BIN=/abs/k3s-harden bash tests/versions.sh
# UPDATE_GOLDEN=1 rewrites the golden files from the current output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
tmp=$(mktemp -d /tmp/k3h-versions-XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
gdir=$here/golden/versions
mkdir -p "$gdir"
pass=0 fail=0 n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
golden() {
	local name=$1 file=$gdir/$2
	[ "${UPDATE_GOLDEN:-}" = 1 ] && cp "$tmp/out" "$file"
	if diff -u "$file" "$tmp/out" >"$tmp/g.diff" 2>&1; then ok "$name"; else
		not_ok "$name" "differs from golden/versions/$2"; sed 's/^/#   /' "$tmp/g.diff" | head -30; fi
}
# an empty root, or one whose K3s unit makes it an agent
server_root() { rm -rf "$1"; mkdir -p "$1"; }
agent_root() {
	server_root "$1"; mkdir -p "$1/etc/systemd/system"
	printf '[Service]\nExecStart=/usr/local/bin/k3s agent\n' >"$1/etc/systemd/system/k3s-agent.service"
}

# --- every built-in benchmark profile, each role, at the newest K3s it covers
profiles=$("$bin" profile list | awk '$1 ~ /^k3s-cis-/ && $1 !~ /-strict$/ {print $1}')
check "profile list has the benchmark profiles" [ "$(echo "$profiles" | wc -w)" -ge 11 ]
for p in $profiles; do
	max=$("$bin" profile show "$p" | awk '/^k3s_versions:/ {f=1} f && /max:/ {gsub(/[^0-9.]/, "", $2); print $2; exit}')
	[ -n "$max" ] || { not_ok "$p: profile show has k3s_versions.max"; continue; }
	for role in server agent; do
		R=$tmp/$p-$role; ${role}_root "$R"
		run "$bin" -p "$p" --root "$R" --k3s-version "$max" render
		check "$p $role (K3s $max): render exits 0" [ "$rc" = 0 ]
		golden "$p $role (K3s $max): matches golden" "$p-$role.txt"
		# render notes the role with -v only (it prints artifacts, not a host report)
		"$bin" -v -p "$p" --root "$R" --k3s-version "$max" render >/dev/null 2>"$tmp/err.v" || true
		check "$p $role: the role was detected" grep -q "role auto: $role" "$tmp/err.v"
	done
done

# --- the strict variants: every opt-in Manual control on; check on a root that
# apply wrote shows them PASS where the default profile leaves them WARN
for p in $profiles; do
	st=$p-strict
	check "profile list shows $st" bash -c "'$bin' profile list | grep -q '^$st '"
	max=$("$bin" profile show "$p" | awk '/^k3s_versions:/ {f=1} f && /max:/ {gsub(/[^0-9.]/, "", $2); print $2; exit}')
	for q in $p $st; do
		R=$tmp/strict-$q; server_root "$R"
		run "$bin" -p "$q" --root "$R" --k3s-version "$max" apply
		check "$q (K3s $max): apply exits 0" [ "$rc" = 0 ]
		run "$bin" -p "$q" --root "$R" --k3s-version "$max" check
		check "$q (K3s $max): check exits 0 (no FAIL)" [ "$rc" = 0 ]
		awk '$2 ~ /^(PASS|FAIL|WARN|INFO|N\/A|n\/a)$/ && $1 ~ /^[0-9]/ {print $1, $2}' "$tmp/out" | sort -u >"$tmp/st-$q"
		grep -E '^[0-9.]+ (PASS|WARN|FAIL) .*(AlwaysPullImages|DenyServiceExternalIPs|pod PIDs|pod-max-pids)' "$tmp/out" >"$tmp/st-lines-$q"
	done
	pid=$(grep -E 'pod PIDs|pod-max-pids' "$tmp/st-lines-$p" | awk '{print $1}' | head -1)
	api=$(grep -E 'AlwaysPullImages' "$tmp/st-lines-$p" | awk '{print $1}' | head -1)
	# the benchmarks that have a pod PID control (1.6, 1.23, 1.24 have none); 1.2.3
	# only where it asks for DenyServiceExternalIPs to be set (not "not set")
	dsi=$(grep -E 'DenyServiceExternalIPs is set' "$tmp/st-lines-$p" | awk '{print $1}' | head -1)
	check "$p: check names AlwaysPullImages" [ -n "$api" ]
	for id in $api $pid $dsi; do
		check "$p: $id is WARN by default" grep -qx "$id WARN" "$tmp/st-$p"
		check "$st: $id is PASS" grep -qx "$id PASS" "$tmp/st-$st"
	done
	case $p in k3s-cis-1.6|k3s-cis-1.23|k3s-cis-1.24) ;; *) check "$p: check names the pod PID limit" [ -n "$pid" ] ;; esac
	case $p in k3s-cis-1.6|k3s-cis-1.23|k3s-cis-1.24|k3s-cis-1.7|k3s-cis-1.8) ;;
	*) check "$p: check names DenyServiceExternalIPs is set" [ -n "$dsi" ] ;; esac
	# nothing that passes by default stops passing with strict
	lost=$(join "$tmp/st-$p" "$tmp/st-$st" | awk '$2 == "PASS" && $3 != "PASS" {print $1}')
	check "$st: every control PASS by default still passes" [ -z "$lost" ]
done
R=$tmp/strict-16; server_root "$R"
run "$bin" -p k3s-cis-1.6-strict --root "$R" --k3s-version 1.20 apply
check "k3s-cis-1.6-strict on K3s 1.20: apply exits 0 (no DenyServiceExternalIPs before 1.21)" [ "$rc" = 0 ]
check "k3s-cis-1.6-strict on 1.20: AlwaysPullImages is on" grep -q 'enable-admission-plugins=.*AlwaysPullImages' "$R/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R" --k3s-version 1.30 render
check "cis never picks a strict variant" bash -c "! grep -q 'strict' '$tmp/err'"

# --- the oldest end too, where the guide differs: Traefik v1 (<= 1.20), PSP (<= 1.24), PSA (1.25)
for pv in k3s-cis-1.6:1.20 k3s-cis-1.23:1.22 k3s-cis-1.10:1.28; do
	p=${pv%%:*} v=${pv#*:}
	R=$tmp/$p-$v; server_root "$R"
	run "$bin" -p "$p" --root "$R" --k3s-version "$v" render
	check "$p server (K3s $v): render exits 0" [ "$rc" = 0 ]
	golden "$p server (K3s $v): matches golden" "$p-server-$v.txt"
done
run "$bin" -p k3s-cis-1.6 --root "$R" --k3s-version 1.20 render
check "K3s 1.20: the Traefik v1 allow selects app: traefik" grep -q '^      app: traefik$' "$tmp/out"
check "K3s 1.20: not the v2 label" bash -c "! grep -q 'app.kubernetes.io/name: traefik' '$tmp/out'"

# --- the default picks the newest benchmark that covers the version, and says so
R=$tmp/pick; server_root "$R"
for pair in 1.20:k3s-cis-1.6 1.24:k3s-cis-1.24 1.25:k3s-cis-1.7 1.27:k3s-cis-1.9 1.30:k3s-cis-1.11 v1.33.1+k3s1:k3s-cis-1.12; do
	v=${pair%%:*} want=${pair#*:}
	run "$bin" --root "$R" --k3s-version "$v" --output json render
	check "cis on K3s $v picks $want" grep -q "profile cis: $want, the newest benchmark that covers K3s $v" "$tmp/err"
	check "cis on K3s $v: JSON names the benchmark" grep -q "\"benchmark\":\"$want\"" "$tmp/out"
done
run "$bin" --root "$R" render
check "no version offline: exit 0" [ "$rc" = 0 ]
check "no version offline: the newest, with a note on how to pin" grep -q 'pin it with --k3s-version' "$tmp/err"
printf 'extends: cis\nname: pinned\nk3s_version: "1.24"\n' >"$tmp/pinned.yaml"
run "$bin" -p "$tmp/pinned.yaml" --root "$R" --output json render
check "k3s_version in a profile: K3s 1.24 without --k3s-version" grep -q '"k3s_version":"1.24"' "$tmp/out"
run "$bin" -p "$tmp/pinned.yaml" --root "$R" --k3s-version 1.30 --output json render
check "--k3s-version wins over the profile's k3s_version" grep -q '"k3s_version":"1.30"' "$tmp/out"

# --- a profile that extends cis gets the base cis picks for the version (trial finding 6)
X=$tmp/extends; server_root "$X"
printf 'extends: cis\naudit:\n  max_age: 90\n' >"$tmp/ninety.yaml"
for pair in 1.21.14+k3s1:k3s-cis-1.6 1.24.17+k3s1:k3s-cis-1.24 1.30.6+k3s1:k3s-cis-1.11; do
	v=${pair%%:*} want=${pair#*:}
	run "$bin" --root "$X" --k3s-version "$v" render
	sed 's/audit-log-maxage=30/audit-log-maxage=90/' "$tmp/out" >"$tmp/cis.render"
	run "$bin" --root "$X" --k3s-version "$v" -p "$tmp/ninety.yaml" render
	check "extends: cis on K3s $v: exit 0" [ "$rc" = 0 ]
	check "extends: cis on K3s $v: the note names $want" \
		grep -q "profile ninety extends cis: $want, the newest benchmark that covers K3s $v" "$tmp/err"
	check "extends: cis on K3s $v: renders what cis renders, with audit max_age 90" \
		diff -u "$tmp/cis.render" "$tmp/out"
	check "extends: cis on K3s $v: audit-log-maxage=90 is there" grep -q 'audit-log-maxage=90' "$tmp/out"
	run "$bin" --root "$X" --k3s-version "$v" -p "$tmp/ninety.yaml" diff
	check "extends: cis on K3s $v: diff exit 1 (files to create)" [ "$rc" = 1 ]
	run "$bin" --root "$X" --k3s-version "$v" -p "$tmp/ninety.yaml" --output json diff
	check "extends: cis on K3s $v: JSON names the benchmark $want" grep -q "\"benchmark\":\"$want\"" "$tmp/out"
	run "$bin" --k3s-version "$v" profile show "$tmp/ninety.yaml"
	check "extends: cis on K3s $v: profile show says $want" bash -c \
		"grep -q 'profile ninety extends cis: $want' '$tmp/err' && grep -qx 'benchmark: $want' '$tmp/out' && grep -qx 'name: ninety' '$tmp/out' && ! grep -q 'picked per version' '$tmp/out'"
	run "$bin" --k3s-version "$v" profile show cis
	check "profile show cis on K3s $v: the picked $want" bash -c \
		"grep -q 'profile cis: $want, the newest benchmark that covers K3s $v' '$tmp/err' && grep -qx 'name: $want' '$tmp/out'"
done
# the version from the profile's own k3s_version:
printf 'extends: cis\nk3s_version: "1.24"\naudit:\n  max_age: 90\n' >"$tmp/ninety-124.yaml"
run "$bin" --root "$X" -p "$tmp/ninety-124.yaml" --output json diff
check "extends: cis with k3s_version 1.24: k3s-cis-1.24" grep -q '"benchmark":"k3s-cis-1.24"' "$tmp/out"
# a key of the user's under a section the picked base turns off: FILE:LINE:COL, the field, the base
printf 'extends: cis\npod_security:\n  defaults:\n    enforce: baseline\n' >"$tmp/psa-on-psp.yaml"
run "$bin" --root "$X" --k3s-version 1.24.17+k3s1 -p "$tmp/psa-on-psp.yaml" diff
check "extends: cis, a PSA key on K3s 1.24: exit 2" [ "$rc" = 2 ]
check "extends: cis, a PSA key on K3s 1.24: FILE:LINE:COL, the field and the picked base" \
	grep -q "psa-on-psp.yaml:4:5: pod_security.defaults.enforce: has no effect: extends: cis picked k3s-cis-1.24 for K3s 1.24.17+k3s1" "$tmp/err"
check "extends: cis, a PSA key on K3s 1.24: nothing written" [ -z "$(ls -A "$X")" ]
run "$bin" --root "$X" --k3s-version 1.24.17+k3s1 -p "$tmp/psa-on-psp.yaml" --output json diff
check "extends: cis, a PSA key on K3s 1.24, JSON: the diagnostic's line, column and field" python3 -c "
import json,sys
d=[d for d in json.load(open('$tmp/out'))['diagnostics'] if d.get('severity')=='error']
sys.exit(not (len(d)==1 and d[0]['line']==4 and d[0]['column']==5 and d[0]['field']=='pod_security.defaults.enforce' and 'k3s-cis-1.24' in d[0]['message']))"
run "$bin" --root "$X" --k3s-version 1.30.6+k3s1 -p "$tmp/psa-on-psp.yaml" diff
check "extends: cis, the same PSA key on K3s 1.30: fine" [ "$rc" = 1 ]
printf 'extends: cis\npod_security:\n  enabled: true\n' >"$tmp/psa-both.yaml"
run "$bin" --root "$X" --k3s-version 1.24.17+k3s1 -p "$tmp/psa-both.yaml" diff
check "extends: cis, pod_security on beside 1.24's PSP: exit 2 at the key, naming the base" bash -c \
	"[ $rc = 2 ] && grep -q 'psa-both.yaml:3:12: pod_security.enabled: extends: cis picked k3s-cis-1.24' '$tmp/err'"
run "$bin" --root "$X" --k3s-version 1.24.17+k3s1 -p "$tmp/psa-both.yaml" --output json diff
check "extends: cis, pod_security on beside 1.24's PSP, JSON: the field" grep -q '"field":"pod_security.enabled"' "$tmp/out"
printf 'extends: cis\npod_security:\n  enabled: true\n  api_version: v1beta1\npod_security_policy:\n  enabled: false\n' >"$tmp/psa-swap.yaml"
run "$bin" --root "$X" --k3s-version 1.24.17+k3s1 -p "$tmp/psa-swap.yaml" diff
check "extends: cis, PSA v1beta1 instead of 1.24's PSP: the user's choice (exit 1)" [ "$rc" = 1 ]
printf 'extends: cis\naudit:\n  max_age: -4\n' >"$tmp/bad-age.yaml"
run "$bin" --root "$X" --k3s-version 1.24.17+k3s1 -p "$tmp/bad-age.yaml" diff
check "extends: cis, a bad value: the error, then which base it was checked against" bash -c \
	"[ $rc = 2 ] && grep -q 'bad-age.yaml:3:12: audit.max_age' '$tmp/err' && grep -q 'extends: cis picked k3s-cis-1.24 for K3s 1.24.17+k3s1' '$tmp/err'"

# --- diff and apply JSON name the benchmark in use and the K3s version
J=$tmp/json; server_root "$J"
run "$bin" --root "$J" --k3s-version 1.24 --output json diff
check "diff JSON: benchmark k3s-cis-1.24" grep -q '"benchmark":"k3s-cis-1.24"' "$tmp/out"
check "diff JSON: k3s_version 1.24" grep -q '"k3s_version":"1.24"' "$tmp/out"
run "$bin" --root "$J" -p k3s-cis-1.9-strict --k3s-version 1.27 --output json apply
check "apply JSON: the strict variant's benchmark k3s-cis-1.9" grep -q '"benchmark":"k3s-cis-1.9"' "$tmp/out"
check "apply JSON: k3s_version 1.27" grep -q '"k3s_version":"1.27"' "$tmp/out"
run "$bin" --root "$J" -p k3s-cis-1.9-strict --k3s-version 1.27 --output json apply --dry-run
check "apply --dry-run JSON: benchmark and k3s_version" grep -q '"benchmark":"k3s-cis-1.9","k3s_version":"1.27"' "$tmp/out"

# --- errors: exit 2, the range named, nothing written
run "$bin" --root "$R" -p k3s-cis-1.9 --k3s-version 1.30 apply
check "a version outside the profile: exit 2" [ "$rc" = 2 ]
check "the message names the supported range" grep -q "supports (1.27 to 1.27)" "$tmp/err"
check "nothing was written" [ ! -e "$R/etc" ] && [ ! -e "$R/var/lib/k3s-harden/backups" ]
run "$bin" --root "$R" --k3s-version 1.x render
check "--k3s-version 1.x: exit 2" [ "$rc" = 2 ] && grep -q "not '1.x'" "$tmp/err"
run "$bin" --root "$R" --k3s-version 1.10 render
check "a K3s no benchmark covers: exit 2" [ "$rc" = 2 ] && grep -q 'no built-in profile covers K3s 1.10' "$tmp/err"
printf 'extends: base\nname: psp25\nk3s:\n  admission_plugins: [PodSecurityPolicy]\n' >"$tmp/psp25.yaml"
run "$bin" -p "$tmp/psp25.yaml" --root "$R" --k3s-version 1.25 apply
check "preflight: PodSecurityPolicy on 1.25 is refused (exit 2)" [ "$rc" = 2 ]
check "preflight says why" grep -q 'does not know admission plugin PodSecurityPolicy' "$tmp/err"
check "preflight: nothing written" [ ! -e "$R/etc" ]
printf 'extends: cis\nname: typo\naudit:\n  controls: [apiserver.audit_log_pth]\n' >"$tmp/typo.yaml"
run "$bin" profile validate "$tmp/typo.yaml"
check "an unknown control key: exit 2 with did-you-mean" [ "$rc" = 2 ] && \
	grep -q "typo.yaml:4:14: .*did you mean 'apiserver.audit_log_path'" "$tmp/err"

# --- 1.30 -> 1.24 directly: our EventRateLimit and the admission config it
# needs go with the PSA file; the user's own plugins stay; comments follow
D=$tmp/downgrade; server_root "$D"; C=$D/etc/rancher/k3s/config.yaml
run "$bin" --root "$D" --k3s-version 1.30 apply
check "downgrade: apply on 1.30: exit 0" [ "$rc" = 0 ]
check "1.30: EventRateLimit is on" grep -q 'enable-admission-plugins=.*EventRateLimit' "$C"
# the user adds a plugin of their own to our entry
sed -i 's/^\(  - enable-admission-plugins=NodeRestriction\),EventRateLimit/\1,MyPlugin,EventRateLimit/' "$C"
check "1.30: the user's MyPlugin is in our entry" grep -q 'enable-admission-plugins=NodeRestriction,MyPlugin,EventRateLimit  # CIS' "$C"
old_comment=$(grep 'enable-admission-plugins=' "$C" | sed 's/.*# CIS //')
run "$bin" --root "$D" --k3s-version 1.24 apply
check "apply on 1.24: exit 0" [ "$rc" = 0 ]
check "1.24: no EventRateLimit left" bash -c "! grep -q EventRateLimit '$C'"
check "1.24: no admission-control-config-file for the removed psa.yaml" bash -c "! grep -q admission-control-config-file '$C'" && [ ! -e "$D/var/lib/rancher/k3s/server/psa.yaml" ]
check "1.24: the user's MyPlugin stays" grep -q 'enable-admission-plugins=.*MyPlugin' "$C"
check "1.24: PodSecurityPolicy is on" grep -q 'enable-admission-plugins=.*PodSecurityPolicy' "$C"
new_comment=$(grep 'enable-admission-plugins=' "$C" | sed 's/.*# CIS //')
server_root "$tmp/none"; want=$("$bin" --root "$tmp/none" --k3s-version 1.24 render 2>/dev/null | grep 'enable-admission-plugins=' | sed 's/.*# CIS //')
check "1.24: the entry's # CIS comment is 1.24's ($want), not 1.30's ($old_comment)" [ -n "$want" ] && [ "$new_comment" = "$want" ] && [ "$new_comment" != "$old_comment" ]
run "$bin" --root "$D" --k3s-version 1.24 check
check "1.24 after the downgrade: check exits 0" [ "$rc" = 0 ]
run "$bin" --root "$D" --k3s-version 1.24 diff
check "1.24 after the downgrade: nothing left to do" [ "$rc" = 0 ]
# a user's own entry (no # CIS mark) keeps its EventRateLimit
U=$tmp/userent; server_root "$U"; mkdir -p "$U/etc/rancher/k3s"
printf 'kube-apiserver-arg:\n  - enable-admission-plugins=NodeRestriction,EventRateLimit\n  - admission-control-config-file=/etc/mine.yaml\n' >"$U/etc/rancher/k3s/config.yaml"
run "$bin" --root "$U" --k3s-version 1.24 diff
check "a user's own entry: diff exits 1" [ "$rc" = 1 ]
check "a user's own EventRateLimit entry is kept" grep -q '^+  - enable-admission-plugins=.*PodSecurityPolicy,EventRateLimit$' "$tmp/out"
check "and its own admission config" grep -q '^   - admission-control-config-file=/etc/mine.yaml$' "$tmp/out"
# preflight: EventRateLimit without its configuration would not start
printf 'extends: k3s-cis-1.24\nname: erl24\nk3s:\n  admission_plugins: [NodeRestriction, EventRateLimit]\n' >"$tmp/erl24.yaml"
P=$tmp/erl; server_root "$P"
run "$bin" -p "$tmp/erl24.yaml" --root "$P" --k3s-version 1.24 apply
check "preflight: EventRateLimit on 1.24 without its configuration: exit 2" [ "$rc" = 2 ]
check "preflight says why" grep -q 'EventRateLimit without its configuration' "$tmp/err"
check "preflight: nothing written" [ ! -e "$P/etc" ]

# --- the components that run decide the allow policies
R=$tmp/disable; server_root "$R"; mkdir -p "$R/etc/rancher/k3s"
printf 'disable: [traefik, metrics-server]\n' >"$R/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R" --k3s-version 1.30 render
check "disable: [traefik, metrics-server]: no Traefik allow" bash -c "! grep -q 'allow-all-traefik' '$tmp/out'"
check "no metrics-server allow" bash -c "! grep -q 'allow-all-metrics-server' '$tmp/out'"
check "the DNS allow stays" grep -q 'default-network-dns-policy' "$tmp/out"
check "and says why" grep -q 'no allow policy for metrics-server' "$tmp/err"
printf 'disable-network-policy: true\n' >"$R/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R" --k3s-version 1.30 render
check "disable-network-policy: a warning that nothing enforces them, naming where it is set" grep -q '^warning: /etc/rancher/k3s/config.yaml:1:1: disable-network-policy is set: .*nothing enforces them' "$tmp/err"
run "$bin" --root "$R" --k3s-version 1.30 --output json render
check "... in JSON with file, line, column and field" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(x['file'] == '/etc/rancher/k3s/config.yaml' and x['line'] == 1 and x['column'] == 1 and x['field'] == 'disable-network-policy' for x in d['diagnostics']) else 1)" "$tmp/out"

# --- the version from `k3s --version` (the unit's ExecStart under the root, with --live)
R=$tmp/live; server_root "$R"; mkdir -p "$R/etc/systemd/system" "$R/usr/local/bin"
printf '[Service]\nExecStart=/usr/local/bin/k3s server\n' >"$R/etc/systemd/system/k3s.service"
printf '#!/bin/sh\necho "k3s version v1.24.17+k3s1 (026bb0ec)"\n' >"$R/usr/local/bin/k3s"
chmod 0755 "$R/usr/local/bin/k3s"
run "$bin" --root "$R" diff --live
check "diff --live asks k3s --version" grep -q 'K3s v1.24.17+k3s1 (from k3s --version)' "$tmp/err"
check "and picks the benchmark for it" grep -q 'profile cis: k3s-cis-1.24' "$tmp/err"
run "$bin" --root "$R" diff
check "offline, the binary is not run" bash -c "! grep -q 'from k3s --version' '$tmp/err'"
run "$bin" --root "$R" -p "$tmp/ninety.yaml" diff --live
check "extends: cis, diff --live: the base for the version k3s --version says" \
	grep -q 'profile ninety extends cis: k3s-cis-1.24, the newest benchmark that covers K3s v1.24.17+k3s1' "$tmp/err"
check "extends: cis, diff --live: no PSA v1 refusal on 1.24" bash -c "! grep -q 'PodSecurityConfiguration v1' '$tmp/err'"

# --- 1.24 -> 1.30: PSP out, PSA in, one transaction; rollback brings PSP back
R=$tmp/upgrade; server_root "$R"
M=/var/lib/rancher/k3s/server/manifests
run "$bin" --root "$R" --k3s-version 1.24 apply
check "apply on 1.24: exit 0" [ "$rc" = 0 ]
check "1.24: PSP manifest, no psa.yaml" [ -f "$R$M/k3s-harden-psp.yaml" ] && [ ! -e "$R/var/lib/rancher/k3s/server/psa.yaml" ]
check "1.24: PodSecurityPolicy plugin" grep -q 'enable-admission-plugins=.*PodSecurityPolicy' "$R/etc/rancher/k3s/config.yaml"
cp "$R$M/k3s-harden-psp.yaml" "$tmp/psp-before"
gens=$(ls "$R/var/lib/k3s-harden/backups" | wc -l)
run "$bin" --root "$R" --k3s-version 1.30 --output json apply
check "apply on 1.30: exit 0" [ "$rc" = 0 ]
check "one generation for the whole change" [ "$(ls "$R/var/lib/k3s-harden/backups" | wc -l)" = $((gens + 1)) ]
check "the PSP manifest is removed in it" grep -q "\"path\":\"$M/k3s-harden-psp.yaml\",\"kind\":\"file\",\"action\":\"remove\"" "$tmp/out"
check "psa.yaml is created in it" grep -q '"path":"/var/lib/rancher/k3s/server/psa.yaml","kind":"file","action":"create"' "$tmp/out"
check "1.30: no PSP manifest, psa.yaml" [ ! -e "$R$M/k3s-harden-psp.yaml" ] && [ -f "$R/var/lib/rancher/k3s/server/psa.yaml" ]
check "1.30: no PodSecurityPolicy plugin left" bash -c "! grep -q PodSecurityPolicy '$R/etc/rancher/k3s/config.yaml'"
check "1.30: admission-control-config-file" grep -q 'admission-control-config-file=/var/lib/rancher/k3s/server/psa.yaml' "$R/etc/rancher/k3s/config.yaml"
check "says that PSP objects stay in the cluster until deleted" grep -q 'PodSecurityPolicy restricted-psp' "$tmp/err"
check "the marks above our settings name k3s-cis-1.11's IDs, as a fresh 1.30 apply writes them" \
	bash -c "grep -B1 -x 'secrets-encryption: true' '$R/etc/rancher/k3s/config.yaml' | grep -qx '# CIS 1.2.27, 1.2.28' && grep -B1 -x 'protect-kernel-defaults: true' '$R/etc/rancher/k3s/config.yaml' | grep -qx '# CIS k3s-cis-1.24:4.2.6'"
run "$bin" --root "$R" rollback
check "rollback: exit 0" [ "$rc" = 0 ]
check "rollback brings the PSP manifest back, byte for byte" cmp -s "$R$M/k3s-harden-psp.yaml" "$tmp/psp-before"
check "and removes psa.yaml" [ ! -e "$R/var/lib/rancher/k3s/server/psa.yaml" ]
check "and the PodSecurityPolicy plugin" grep -q 'enable-admission-plugins=.*PodSecurityPolicy' "$R/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R" --k3s-version 1.24 diff
check "after rollback, 1.24 has nothing left to do" [ "$rc" = 0 ]

# --- each generation records the K3s version and benchmark its files were
# made for; rollback checks them against the K3s version now
sum_root() { (cd "$1" && find . -printf '%p %y %m %s\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); }
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
R=$tmp/recorded; server_root "$R"; C=$R/etc/rancher/k3s/config.yaml
run "$bin" --root "$R" --k3s-version 1.24.17+k3s1 apply
check "recorded: apply on 1.24.17+k3s1: exit 0" [ "$rc" = 0 ]
check "recorded: 1.24 renders PodSecurityPolicy" grep -q 'enable-admission-plugins=.*PodSecurityPolicy' "$C"
cp "$C" "$tmp/rec-124.yaml"
run "$bin" --root "$R" --k3s-version 1.30.2+k3s1 apply
check "recorded: apply on 1.30.2+k3s1: exit 0" [ "$rc" = 0 ]
check "recorded: 1.30 has no PodSecurityPolicy, psa.yaml instead" bash -c "! grep -q PodSecurityPolicy '$C'" && [ -f "$R/var/lib/rancher/k3s/server/psa.yaml" ]
check "recorded: the manifest says k3s-version and benchmark" \
	grep -qx 'k3s-version 1.24.17+k3s1' "$R/var/lib/k3s-harden/backups/000001/manifest" && grep -qx 'benchmark k3s-cis-1.24' "$R/var/lib/k3s-harden/backups/000001/manifest"
run "$bin" --root "$R" history
check "recorded: history has K3S and BENCHMARK columns" grep -qE '^ID +TIME +PROFILE +KIND +K3S +BENCHMARK +FILES' "$tmp/out"
check "recorded: history text: generation 1 for 1.24.17+k3s1, k3s-cis-1.24" grep -qE '^000001 .* apply +1\.24\.17\+k3s1 +k3s-cis-1\.24 ' "$tmp/out"
check "recorded: history text: generation 2 for 1.30.2+k3s1, k3s-cis-1.11" grep -qE '^000002 .* apply +1\.30\.2\+k3s1 +k3s-cis-1\.11 ' "$tmp/out"
run "$bin" --root "$R" history --output json
cp "$tmp/out" "$tmp/rec-h.json"
check "recorded: history JSON: k3s_version and benchmark per generation" \
	[ "$(jq_py "$tmp/rec-h.json" '[(g["id"], g["k3s_version"], g["benchmark"]) for g in d["generations"]]')" = "[('000002', '1.30.2+k3s1', 'k3s-cis-1.11'), ('000001', '1.24.17+k3s1', 'k3s-cis-1.24')]" ]
# back to the 1.24 files while K3s is 1.30: refused, nothing written
before=$(sum_root "$R")
run "$bin" --root "$R" --k3s-version 1.30.2+k3s1 rollback
check "recorded: rollback to the 1.24 files on 1.30.2+k3s1: exit 2" [ "$rc" = 2 ]
check "recorded: ... names FILE:LINE:COL of the entry" grep -qE '^/etc/rancher/k3s/config.yaml:[0-9]+:[0-9]+: rolling back generation 000002' "$tmp/err"
line=$(grep -n 'enable-admission-plugins=.*PodSecurityPolicy' "$tmp/rec-124.yaml" | cut -d: -f1)
check "recorded: ... the line is the entry's in the restored file ($line)" grep -q "^/etc/rancher/k3s/config.yaml:$line:" "$tmp/err"
check "recorded: ... names the plugin, both versions and the generation the files are from" \
	grep -q 'admission plugin PodSecurityPolicy, which K3s 1.30.2+k3s1 does not know (removed in 1.25).*made for K3s 1.24.17+k3s1 (generation 000001, k3s-cis-1.24), K3s now is 1.30.2+k3s1' "$tmp/err"
check "recorded: ... and what to do" grep -q 'Downgrade K3s to <= 1.24 first, or roll back a generation whose files were made for K3s >= 1.25 (k3s-harden history), or pass --ignore-k3s-version' "$tmp/err"
check "recorded: ... and nothing under the root changed" [ "$(sum_root "$R")" = "$before" ]
run "$bin" --root "$R" --k3s-version 1.30.2+k3s1 --output json rollback 2
cp "$tmp/out" "$tmp/rec-rb.json"
check "recorded: rollback 2 --output json: exit 2" [ "$rc" = 2 ]
check "recorded: JSON diagnostic with file, line, column, field, message" \
	[ "$(jq_py "$tmp/rec-rb.json" '[(x["file"], x["line"], x["column"] > 0, x["field"], "PodSecurityPolicy" in x["message"], x["severity"]) for x in d["diagnostics"]]')" = "[('/etc/rancher/k3s/config.yaml', $line, True, 'kube-apiserver-arg', True, 'error')]" ]
check "recorded: ... still nothing changed" [ "$(sum_root "$R")" = "$before" ]
run "$bin" --root "$R" --k3s-version 1.30.2+k3s1 rollback --force
check "recorded: --force (secrets-encryption) does not override it: exit 2" [ "$rc" = 2 ] && [ "$(sum_root "$R")" = "$before" ]
# K3s downgraded to 1.24: the same rollback works and brings PSP back
run "$bin" --root "$R" --k3s-version 1.24.17+k3s1 rollback
check "recorded: rollback on 1.24.17+k3s1: exit 0" [ "$rc" = 0 ]
check "recorded: ... brings config.yaml back byte for byte, PodSecurityPolicy included" cmp -s "$C" "$tmp/rec-124.yaml"
check "recorded: ... and the PSP manifest" [ -f "$R$M/k3s-harden-psp.yaml" ]
run "$bin" --root "$R" history --output json
cp "$tmp/out" "$tmp/rec-h2.json"
check "recorded: the rollback generation records what its files were made for" \
	[ "$(jq_py "$tmp/rec-h2.json" '[(g["kind"], g["k3s_version"], g["benchmark"]) for g in d["generations"]][0]')" = "('rollback', '1.24.17+k3s1', 'k3s-cis-1.24')" ]
check "recorded: ... and the profile that made them" \
	[ "$(jq_py "$tmp/rec-h2.json" 'd["generations"][0]["profile"]')" = k3s-cis-1.24 ]
# check --generation: the stored result is judged for the generation's K3s version
run "$bin" --root "$R" --color never check --generation 1
check "recorded: check --generation 1 names the version it was judged for" bash -c "tail -1 '$tmp/out' | grep -q '(k3s-cis-1.24, server, K3s 1.24.17+k3s1, generation 000001)'"
run "$bin" --root "$R" --color never check --generation 3
check "recorded: check --generation 3 (the rollback) was judged for 1.24 with its benchmark, no FAIL" \
	bash -c "[ $rc = 0 ] && tail -1 '$tmp/out' | grep -q ' 0 FAIL, .*(k3s-cis-1.24, server, K3s 1.24.17+k3s1, generation 000003)'"
run "$bin" --root "$R" --output json check --generation 2
check "recorded: check --generation 2 --output json: k3s_version 1.30.2+k3s1" grep -q '"k3s_version":"1.30.2+k3s1"' "$tmp/out"
run "$bin" --root "$R" --k3s-version 1.30.2+k3s1 --color never check --generation 1
check "recorded: check --generation 1 --k3s-version 1.30: says the stored result is for 1.24" \
	grep -q 'warning: .*generation 000001 was judged for K3s 1.24.17+k3s1, not 1.30.2+k3s1' "$tmp/err"
# --ignore-k3s-version puts them back anyway, with a warning
R2=$tmp/recorded2; server_root "$R2"
"$bin" --root "$R2" --k3s-version 1.24.17+k3s1 apply >/dev/null 2>&1
"$bin" --root "$R2" --k3s-version 1.30.2+k3s1 apply >/dev/null 2>&1
run "$bin" --root "$R2" --k3s-version 1.30.2+k3s1 rollback --ignore-k3s-version
check "recorded: --ignore-k3s-version: exit 0" [ "$rc" = 0 ]
check "recorded: ... with the reason as a warning" grep -q '^warning: /etc/rancher/k3s/config.yaml:[0-9]*:[0-9]*: rolling back generation 000002 puts back admission plugin PodSecurityPolicy' "$tmp/err"
check "recorded: ... and PodSecurityPolicy is back" grep -q 'enable-admission-plugins=.*PodSecurityPolicy' "$R2/etc/rancher/k3s/config.yaml"
# offline without a version: a warning, the rollback goes ahead
R3=$tmp/recorded3; server_root "$R3"
"$bin" --root "$R3" --k3s-version 1.24.17+k3s1 apply >/dev/null 2>&1
"$bin" --root "$R3" --k3s-version 1.30.2+k3s1 apply >/dev/null 2>&1
run "$bin" --root "$R3" rollback
check "recorded: offline without --k3s-version: exit 0" [ "$rc" = 0 ]
check "recorded: ... warns that the version is not known" grep -q 'warning: .*PodSecurityPolicy, which K3s >= 1.25 does not know.*pass --k3s-version' "$tmp/err"
run "$bin" --root "$R3" --color never check --generation 3
check "recorded: ... its stored check judged the files for the K3s they were made for" \
	bash -c "tail -1 '$tmp/out' | grep -q '(k3s-cis-1.24, server, K3s 1.24.17+k3s1, generation 000003)'"
# generations from before the record: history lists them, rollback works
R4=$tmp/recorded4; server_root "$R4"
"$bin" --root "$R4" --k3s-version 1.24.17+k3s1 apply >/dev/null 2>&1
"$bin" --root "$R4" --k3s-version 1.30.2+k3s1 apply >/dev/null 2>&1
sed -i '/^k3s-version /d; /^benchmark /d' "$R4"/var/lib/k3s-harden/backups/*/manifest
run "$bin" --root "$R4" history
check "recorded: old manifests: history lists them with - for K3s and benchmark" \
	[ "$(grep -cE '^00000[12] .* apply +- +- ' "$tmp/out")" = 2 ]
run "$bin" --root "$R4" history --output json
cp "$tmp/out" "$tmp/rec-h4.json"
check "recorded: old manifests: JSON k3s_version and benchmark are null" \
	[ "$(jq_py "$tmp/rec-h4.json" '[(g["k3s_version"], g["benchmark"]) for g in d["generations"]]')" = "[(None, None), (None, None)]" ]
run "$bin" --root "$R4" --k3s-version 1.30.2+k3s1 rollback
check "recorded: old manifests: the content check still refuses PSP on 1.30: exit 2" [ "$rc" = 2 ]
check "recorded: ... saying the version was not recorded" grep -q 'made by generation 000001, which did not record its K3s version' "$tmp/err"
run "$bin" --root "$R4" --k3s-version 1.24.17+k3s1 rollback
check "recorded: old manifests: rollback on 1.24: exit 0" [ "$rc" = 0 ]
check "recorded: ... PodSecurityPolicy is back" grep -q 'enable-admission-plugins=.*PodSecurityPolicy' "$R4/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R4" --k3s-version 1.30.2+k3s1 rollback --force 1
check "recorded: rollback 1 (the files from before k3s-harden, no plugin) on 1.30: exit 0" [ "$rc" = 0 ]
check "recorded: ... and config.yaml is gone again" [ ! -e "$R4/etc/rancher/k3s/config.yaml" ]

# --- a profile that no longer sets what an earlier one wrote: k3s-cis-1.24 on a
# server, then the default for 1.30 once the host is an agent. Our marked
# server-only settings and list entries go, the user's stay byte for byte.
S=$tmp/stale; server_root "$S"; C=$S/etc/rancher/k3s/config.yaml
run "$bin" -p k3s-cis-1.24 --root "$S" --k3s-version 1.24 apply
check "stale: apply k3s-cis-1.24 on a server: exit 0" [ "$rc" = 0 ]
sed -i 's/^kube-controller-manager-arg:$/&\n  - node-monitor-period=4s\n  - node-cidr-mask-size=24  # CIS 1.3.1 (mine)/' "$C"
printf 'kube-scheduler-arg:\n  - bind-address=127.0.0.1\n# CIS 1.1.1, my note\nnode-name: n1\n' >>"$C"
grep -v '^  - \|^kube-apiserver-arg:\|^kube-controller-manager-arg:' "$C" >"$tmp/stale-user"
cp "$C" "$tmp/stale-before"
mkdir -p "$S/etc/systemd/system"
printf '[Service]\nExecStart=/usr/local/bin/k3s agent\n' >"$S/etc/systemd/system/k3s-agent.service"
run "$bin" --root "$S" --k3s-version 1.30 apply
check "stale: apply the default on the agent at 1.30: exit 0" [ "$rc" = 0 ]
check "stale: our secrets-encryption stays (turning it off loses data), named" \
	bash -c "grep -qx 'secrets-encryption: true' '$C' && grep -q 'secrets-encryption is server-only and this host is an agent' '$tmp/err'"
check "stale: our kube-apiserver-arg is gone" bash -c "! grep -q 'kube-apiserver-arg\|audit-log\|PodSecurityPolicy' '$C'"
check "stale: our kube-controller-manager-arg entries are gone" bash -c "! grep -q 'terminated-pod-gc-threshold\|use-service-account-credentials' '$C'"
check "stale: the user's entries stay in order, a look-alike comment included" \
	[ "$(grep -A2 -x 'kube-controller-manager-arg:' "$C")" = "$(printf 'kube-controller-manager-arg:\n  - node-monitor-period=4s\n  - node-cidr-mask-size=24  # CIS 1.3.1 (mine)')" ]
# (our exact marks may name other IDs now: they are ours, not the user's)
mark_re='^# CIS [A-Za-z0-9.:-]*\(, [A-Za-z0-9.:-]*\)*$'
check "stale: the user's other lines stay" bash -c "grep -v '^  - ' '$C' | grep -vx 'kube-controller-manager-arg:\|kubelet-arg:' | grep -v '$mark_re' | diff - <(grep -v '^  - \|^kube-controller-manager-arg:\|^kubelet-arg:' '$tmp/stale-user' | grep -v '$mark_re') >/dev/null"
check "stale: kube-scheduler-arg and node-name are the user's" \
	[ "$(grep -A3 -x 'kube-scheduler-arg:' "$C")" = "$(printf 'kube-scheduler-arg:\n  - bind-address=127.0.0.1\n# CIS 1.1.1, my note\nnode-name: n1')" ]
check "stale: the agent's kubelet-arg is there" grep -q '^  - streaming-connection-idle-timeout=5m  # CIS' "$C"
run "$bin" --root "$S" --k3s-version 1.30 diff
check "stale: diff after the apply: nothing to do" [ "$rc" = 0 ] && [ ! -s "$tmp/out" ]
run "$bin" --root "$S" rollback
check "stale: rollback: exit 0" [ "$rc" = 0 ]
check "stale: rollback restores config.yaml byte for byte" cmp -s "$C" "$tmp/stale-before"

# --- the operator's values: a plugin the K3s version does not know leaves the
# user's entry with a warning (FILE:LINE:COL, text and JSON); an audit number
# at least the profile's stays byte for byte (CIS 1.2.17-1.2.19 test gte), a
# smaller one is raised with a warning; quotes stay; a second apply is a no-op
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$tmp/out"; }
U=$tmp/operator; rm -rf "$U" && mkdir -p "$U/etc/rancher/k3s"
C=$U/etc/rancher/k3s/config.yaml
printf 'kube-apiserver-arg:\n  - "enable-admission-plugins=NodeRestriction,PodSecurityPolicy"\n  - audit-log-maxage=90\n' >"$C"
cp "$C" "$tmp/operator-before"
op() { run "$bin" --root "$U" --k3s-version 1.30.2+k3s1 --role server "$@"; }
op diff
check "operator: diff exits 1" [ "$rc" = 1 ]
check "operator: the PSP warning names FILE:LINE:COL, the plugin, why and what follows" \
	grep -qF "warning: /etc/rancher/k3s/config.yaml:2:5: kube-apiserver-arg: admission plugin PodSecurityPolicy taken out of your 'enable-admission-plugins': K3s 1.30.2+k3s1 does not know it (removed in 1.25) and kube-apiserver would not start with it; PodSecurityPolicy objects already in the cluster stay until deleted" "$tmp/err"
check "operator: one warning, none about the 90" [ "$(grep -c '^warning:' "$tmp/err")" = 1 ]
check "operator: the user's entry keeps its double quotes" grep -qxF '+  - "enable-admission-plugins=NodeRestriction,EventRateLimit"' "$tmp/out"
check "operator: audit-log-maxage=90 is context, not a change" grep -qxF '   - audit-log-maxage=90' "$tmp/out"
check "operator: no audit-log-maxage=30 is added" bash -c "! grep -q 'audit-log-maxage=30' '$tmp/out'"
op --output json diff
check "operator: JSON diagnostics carry the warning" json 'any(x["severity"] == "warning" and x["file"] == "/etc/rancher/k3s/config.yaml" and x["line"] == 2 and x["column"] == 5 and x["field"] == "kube-apiserver-arg" and "PodSecurityPolicy taken out" in x["message"] and "stay until deleted" in x["message"] for x in d["diagnostics"])'
op apply
check "operator: apply exits 0" [ "$rc" = 0 ]
check "operator: the 90 stays byte for byte, unmarked" [ "$(sed -n 3p "$C")" = '  - audit-log-maxage=90' ]
check "operator: the plugins entry keeps its quotes" [ "$(sed -n 2p "$C")" = '  - "enable-admission-plugins=NodeRestriction,EventRateLimit"' ]
check "operator: apply with --root and no --live writes no systemd" [ ! -e "$U/etc/systemd" ] && [ ! -e "$U/run/systemd" ]
cp "$C" "$tmp/operator-applied"
gens=$(ls "$U/var/lib/k3s-harden/backups" | wc -l)
op apply
check "operator: a second apply: exit 0" [ "$rc" = 0 ]
check "operator: ... nothing to do" grep -q 'nothing to do' "$tmp/err"
check "operator: ... config.yaml unchanged, no new generation" cmp -s "$C" "$tmp/operator-applied" && [ "$(ls "$U/var/lib/k3s-harden/backups" | wc -l)" = "$gens" ]
check "operator: ... and no warning (the plugin is gone)" bash -c "! grep -q '^warning:' '$tmp/err'"
op diff
check "operator: diff after apply: exit 0, no output" [ "$rc" = 0 ] && [ ! -s "$tmp/out" ]
op --output json check
check "operator: check judges the kept 90 as passing (1.2.17 gte 30)" json 'any(c["id"] == "1.2.17" and c["status"] == "PASS" and "audit-log-maxage=90" in c["evidence"] for c in d["controls"])'
# a smaller value is raised, with a warning naming it, the old and new value
printf 'kube-apiserver-arg:\n  - audit-log-maxage=20\n  - '"'"'audit-log-maxbackup=3'"'"'\n' >"$C"
op diff
check "operator: 20 is raised to 30 with a warning" \
	grep -qF "warning: /etc/rancher/k3s/config.yaml:2:5: kube-apiserver-arg: 'audit-log-maxage=20' raised to audit-log-maxage=30: the profile asks for at least 30 (CIS 1.2.17)" "$tmp/err"
check "operator: ... and 3 to 10, in its single quotes" grep -qxF "+  - 'audit-log-maxbackup=10'" "$tmp/out"
op --output json diff
check "operator: JSON: the raise is a warning at 3:5" json 'any(x["severity"] == "warning" and x["line"] == 3 and x["column"] == 5 and "raised to audit-log-maxbackup=10" in x["message"] for x in d["diagnostics"])'
op apply
check "operator: apply raises: exit 0" [ "$rc" = 0 ] && [ "$(sed -n 2,3p "$C")" = "$(printf "  - audit-log-maxage=30\n  - 'audit-log-maxbackup=10'")" ]
op apply
check "operator: and a second apply is a no-op" [ "$rc" = 0 ] && grep -q 'nothing to do' "$tmp/err"
# a user's EventRateLimit / ImagePolicyWebhook the merge keeps, with no
# admission configuration that holds it: refused, all reasons, nothing written
printf 'name: no-psa\ndescription: t\nextends: cis\npod_security: { enabled: false }\nevent_rate_limit: { enabled: false }\nk3s: { admission_plugins: [NodeRestriction] }\n' >"$tmp/no-psa.yaml"
printf 'kube-apiserver-arg:\n  - enable-admission-plugins=NodeRestriction,EventRateLimit,ImagePolicyWebhook\n' >"$C"
cp "$C" "$tmp/operator-before"
rm -rf "$U/var"
run "$bin" -p "$tmp/no-psa.yaml" --root "$U" --k3s-version 1.30.2+k3s1 --role server apply
check "operator: EventRateLimit with no admission configuration: exit 2" [ "$rc" = 2 ]
check "operator: ... both plugins named at FILE:LINE:COL" \
	[ "$(grep -c "^/etc/rancher/k3s/config.yaml:2:5: kube-apiserver-arg: 'enable-admission-plugins=NodeRestriction,EventRateLimit,ImagePolicyWebhook' enables \(EventRateLimit\|ImagePolicyWebhook\), which needs .* none is set" "$tmp/err")" = 2 ]
check "operator: ... nothing written" cmp -s "$C" "$tmp/operator-before" && [ ! -e "$U/var/lib/k3s-harden/backups" ]
# dropin mode: our drop-in, read last, lowers the user's 90: said, not refused
printf 'kube-apiserver-arg:\n  - audit-log-maxage=90\n' >"$C"
rm -rf "$U/var"
run "$bin" -p "$here/good-profiles/cis-dropin.yaml" --root "$U" --k3s-version 1.30.2+k3s1 --role server diff
check "operator: dropin mode: diff exits 1" [ "$rc" = 1 ]
check "operator: ... a warning names the user's 90 that our drop-in overrides" \
	grep -qF "warning: /etc/rancher/k3s/config.yaml:2:5: kube-apiserver-arg: your 'audit-log-maxage=90' is overridden by k3s-harden's audit-log-maxage=30 in '/etc/rancher/k3s/config.yaml.d/90-k3s-harden.yaml'" "$tmp/err"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
