#!/usr/bin/env bash
# Real-host behaviour (issue 9): role detection, data-dir, symlinked
# drop-ins, operator messages and JSON everywhere.
# Usage: K3H_BIN=/abs/k3s-harden bash tests/hosts.sh
set -u
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
tmp=$(mktemp -d /tmp/k3h-hosts-XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
pass=0 fail=0 n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "rc=$rc err: $(head -c 600 "$tmp/err")"; fi; }
rc=0

# run CMD...: sets rc; stdout in $tmp/out, stderr in $tmp/err
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
# mk CONFIG: a fresh root in $R with that config.yaml
mk() { R=$(mktemp -d "$tmp/root-XXXXXX"); mkdir -p "$R/etc/rancher/k3s"; printf "$1" >"$R/etc/rancher/k3s/config.yaml"; }
# unit NAME EXECSTART: a K3s unit under $R
unit() { mkdir -p "$R/etc/systemd/system"; printf '[Unit]\nDescription=k3s\n[Service]\nExecStart=%s\n' "$2" >"$R/etc/systemd/system/$1"; }
has() { grep -q -- "$1" "$2"; }
hasnt() { ! grep -q -- "$1" "$2"; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$tmp/out"; }

# --- item 11: symlinked drop-ins are read, resolved inside the root
mk 'token: x\n'
mkdir -p "$R/etc/rancher/k3s/config.yaml.d" "$R/nix/store"
printf 'node-label: [team=a]\n' >"$R/nix/store/10-labels.yaml"
ln -s /nix/store/10-labels.yaml "$R/etc/rancher/k3s/config.yaml.d/10-labels.yaml"
run "$bin" --root "$R" diff
check "a symlinked drop-in does not block diff" [ "$rc" = 1 ]
# a link that climbs out of the root stays inside it
printf 'kubelet-arg: [max-pods=100]\n' >"$R/etc/hostile.yaml"
ln -s ../../../../../../../../../etc/hostile.yaml "$R/etc/rancher/k3s/config.yaml.d/20-up.yaml"
run "$bin" --root "$R" diff
check "a drop-in link climbing out of the root is read inside it" has "config.yaml.d/20-up.yaml:1:1: kubelet-arg: this replaces" "$tmp/err"
rm "$R/etc/rancher/k3s/config.yaml.d/20-up.yaml"
run "$bin" --root "$R" apply
check "apply with a symlinked drop-in exits 0" [ "$rc" = 0 ]
check "the drop-in link is left as it was" [ -L "$R/etc/rancher/k3s/config.yaml.d/10-labels.yaml" ]
# config.yaml is written by the merge: a symlink there is refused, naming the way out
mk ''
mkdir -p "$R/srv"; printf 'token: x\n' >"$R/srv/config.yaml"; rm "$R/etc/rancher/k3s/config.yaml"
ln -s /srv/config.yaml "$R/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R" diff
check "a symlinked config.yaml in merge mode is exit 2" [ "$rc" = 2 ]
check "... and names k3s: {mode: dropin}" has "k3s: {mode: dropin}" "$tmp/err"
printf 'extends: cis\nk3s: {mode: dropin}\n' >"$tmp/dropin.yaml"
run "$bin" --root "$R" -p "$tmp/dropin.yaml" diff
check "drop-in mode reads a symlinked config.yaml" [ "$rc" = 1 ]

# --- item 13: messages an operator can act on
mk 'token: x\n'
if chattr +i "$R/etc/rancher/k3s/config.yaml" 2>/dev/null; then
	cp "$R/etc/rancher/k3s/config.yaml" "$tmp/before"
	run "$bin" --root "$R" apply
	check "an immutable config.yaml: exit 2" [ "$rc" = 2 ]
	check "... says it is immutable and names chattr -i" has "config.yaml' is immutable (chattr +i or +a) and cannot be replaced: run 'chattr -i -a $R/etc/rancher/k3s/config.yaml' first" "$tmp/err"
	check "... nothing written" [ ! -e "$R/etc/sysctl.d/90-kubelet.conf" ]
	chattr -i "$R/etc/rancher/k3s/config.yaml"
else
	echo "ok - # SKIP chattr +i not possible here"
fi
run "$bin" --root "$tmp/no-such-root" diff
check "a missing --root: exit 2" [ "$rc" = 2 ]
check "... says no such directory" has "no such directory: $tmp/no-such-root" "$tmp/err"
mk 'token: x\n'
run "$bin" --root "$R" -v apply
check "one file: singular" has "1 file backed up" "$tmp/err"
hasnt "1 files" "$tmp/err" && ok "no '1 files'" || not_ok "no '1 files'"
mkdir -p "$tmp/tpl"; echo '# mine' >"$tmp/tpl/psa.mustache"
run "$bin" -t "$tmp/tpl" render
check "a misnamed template file: exit 2" [ "$rc" = 2 ]
check "... names it and lists the templates" has "no such template: 'psa.mustache'; the templates are audit.yaml.mustache, " "$tmp/err"
run "$bin" --root "$R" rollback --force
check "rollback says which generation and 'the files from before'" has "rolled back generation 000001 (the files from before 000001 are back) as generation 000002" "$tmp/out"
run "$bin" --root "$R" rollback --force 1
check "nothing to do: the files from before generation 1" has "the files from before generation 000001 are already in place" "$tmp/err"

# --- items 1 and 2: the role, from the unit first, never from our own writes
server_files() { find "$R" -path "$R/var/lib/k3s-harden" -prune -o -type f -print | grep -E 'psa.yaml|audit.yaml|manifests/' ; }
mk 'server: https://192.168.4.2:6443\ntoken: K10x::server:y\n'
unit k3s-agent.service '/usr/local/bin/k3s agent'
run "$bin" --root "$R" diff
check "an agent unit: diff plans no psa.yaml" hasnt 'psa.yaml' "$tmp/out"
check "... no audit.yaml" hasnt 'audit.yaml' "$tmp/out"
check "... no manifests" hasnt 'manifests/' "$tmp/out"
check "... no kube-apiserver-arg" hasnt 'kube-apiserver-arg' "$tmp/out"
check "... no secrets-encryption" hasnt 'secrets-encryption' "$tmp/out"
check "... the kubelet args" has '+  - make-iptables-util-chains=true' "$tmp/out"
check "... says the role and why" has "role auto: agent (the unit k3s-agent.service runs \`k3s agent\` (/etc/systemd/system/k3s-agent.service:4))" "$tmp/err"
run "$bin" --root "$R" --output json diff
check "JSON diff: role agent with its reason" json 'd["role"] == "agent" and "k3s-agent.service" in d["role_reason"]'
run "$bin" --root "$R" apply
check "apply on the agent exits 0" [ "$rc" = 0 ]
check "... and writes no server file" [ -z "$(server_files)" ]
run "$bin" --root "$R" -p cis-agent diff
check "cis-agent on the agent: nothing to change after cis" [ "$rc" = 0 ]
# a profile or --role against the unit
run "$bin" --root "$R" --role server diff
check "--role server on an agent unit: exit 2" [ "$rc" = 2 ]
check "... names both and what to do" has "role server, but this host is an agent: the unit k3s-agent.service runs \`k3s agent\`.*use --role agent" "$tmp/err"
printf 'extends: cis\nrole: server\n' >"$tmp/server.yaml"
run "$bin" --root "$R" -p "$tmp/server.yaml" apply
check "a role: server profile on an agent unit: exit 2" [ "$rc" = 2 ]
check "... names the profile" has "profile server says role server, but this host is an agent" "$tmp/err"
mk ''
unit k3s.service '/usr/local/bin/k3s server --cluster-init'
run "$bin" --root "$R" -p cis-agent diff
check "cis-agent on a server unit: exit 2" [ "$rc" = 2 ]
check "... says the host is a server" has "profile cis-agent says role agent, but this host is a server" "$tmp/err"
run "$bin" --root "$R" --role agent -p cis diff
check "--role agent on a server unit: exit 2" [ "$rc" = 2 ]
# the install script's env file, when ExecStart does not say
mk ''
unit k3s-agent.service '/opt/bin/start-k3s.sh'
printf 'EnvironmentFile=-/etc/systemd/system/k3s-agent.service.env\n' >>"$R/etc/systemd/system/k3s-agent.service"
printf "K3S_URL='https://10.0.0.1:6443'\nK3S_TOKEN=x\n" >"$R/etc/systemd/system/k3s-agent.service.env"
run "$bin" --root "$R" diff
check "K3S_URL in the unit's env file: agent" has "role auto: agent (the unit k3s-agent.service reads K3S_URL from /etc/systemd/system/k3s-agent.service.env" "$tmp/err"
# no unit: the configuration
mk 'server: https://10.0.0.1:6443\ntoken: t\ntls-san: [k3s.example.com]\n'
run "$bin" --root "$R" diff
check "server: with tls-san (an HA join) is a server" has "role auto: server (no K3s unit says; the configuration sets the server-only option 'tls-san'" "$tmp/err"
mk 'server: https://10.0.0.1:6443\ntoken: t\n'
run "$bin" --root "$R" --role server diff
check "--role server overrides weak evidence" has "role server (--role server, over the weaker evidence for agent" "$tmp/err"
check "... and plans the server files" has 'psa.yaml' "$tmp/out"
# item 2: role auto is stable: our own writes are no evidence
printf 'extends: cis\nrole: auto\n' >"$tmp/auto.yaml"
mk 'server: https://s:6443\ntoken: t\n'
run "$bin" --root "$R" -p "$tmp/auto.yaml" apply
check "role auto, first apply: agent" has "role auto: agent" "$tmp/err"
check "... writes no secrets-encryption" hasnt 'secrets-encryption' "$R/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R" -p "$tmp/auto.yaml" apply
check "second apply: still agent" has "role auto: agent" "$tmp/err"
check "... nothing to do" has "nothing to do" "$tmp/err"
check "... no server file" [ -z "$(server_files)" ]
# the server's own writes on a server do not decide either
mk 'server: https://s:6443\ntoken: t\n'
run "$bin" --root "$R" --role server apply
run "$bin" --root "$R" diff
check "after a server apply, our kube-apiserver-arg and secrets-encryption are no evidence" has "role auto: agent" "$tmp/err"

# apply after a crash: the role is detected from the recovered host, not
# from the half-new files of the interrupted run
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
	printf 'extends: cis\nname: srv\nk3s:\n  settings:\n    - {key: cluster-init, value: "true"}\n' >"$tmp/srv.yaml"
	mk 'server: https://s:6443\ntoken: t\n'
	cp -a "$R" "$tmp/probe"
	strace -f -qq -o "$tmp/ren.log" -e trace=rename,renameat,renameat2 "$bin" --root "$tmp/probe" -p "$tmp/srv.yaml" --role server apply >/dev/null 2>&1
	# the rename after the one that puts the new config.yaml in place
	at=$(grep -E '^[0-9]+ +rename' "$tmp/ren.log" | grep -n '"config.yaml")' | head -1 | cut -d: -f1)
	rsys=$(grep -m1 -oE '^[0-9]+ +(renameat2|renameat|rename)\(' "$tmp/ren.log" | grep -oE '[a-z0-9]+\($' | tr -d '(')
	{ strace -f -qq -o /dev/null -e trace="$rsys" -e inject="$rsys":signal=KILL:when=$((at + 1)) \
		"$bin" --root "$R" -p "$tmp/srv.yaml" --role server apply >/dev/null 2>&1; } 2>/dev/null
	check "crash: the interrupted apply left its journal and a half-new config.yaml" \
		eval '[ -e "$R/var/lib/k3s-harden/journal" ] && grep -q cluster-init "$R/etc/rancher/k3s/config.yaml"'
	run "$bin" --root "$R" apply
	check "apply after the crash: exit 0" [ "$rc" = 0 ]
	check "... undoes the interrupted run before it detects the role" \
		eval 'grep -n "interrupted transaction" "$tmp/err" | cut -d: -f1 | { read a; b=$(grep -n "role auto:" "$tmp/err" | cut -d: -f1); [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; }'
	check "... and detects agent from the recovered host" has "role auto: agent (no K3s unit says; the configuration names a server" "$tmp/err"
	check "... no server file" [ -z "$(server_files)" ]
	check "... the interrupted run's cluster-init is gone" hasnt cluster-init "$R/etc/rancher/k3s/config.yaml"
else
	echo "ok - # SKIP strace is missing or cannot trace"
fi

# server files an earlier run left on what a unit shows to be an agent:
# named with how to remove them, never touched; a user's own are not named.
# In config.yaml, our marked server-only list entries (kube-apiserver-arg,
# kube-controller-manager-arg) are ours to remove; our secrets-encryption
# stays, named: on a host that is in fact a server, turning it off would make
# the secrets stored encrypted unreadable.
mk 'server: https://s:6443\ntoken: t\n'
run "$bin" --root "$R" --role server apply
mkdir -p "$R/var/lib/rancher/k3s/server/manifests"
echo '# mine' >"$R/var/lib/rancher/k3s/server/manifests/my-app.yaml"
echo '# mine' >"$R/var/lib/rancher/k3s/server/manifests/k3s-harden-mine-too.yaml"
unit k3s-agent.service '/usr/local/bin/k3s agent'
sums() { ( cd "$R" && find . -type f ! -path './var/lib/k3s-harden/*' ! -path ./etc/rancher/k3s/config.yaml -exec sha256sum {} + | sort ); }
sums >"$tmp/before.sum"
ours=$(server_files | grep -vc 'my-app\|mine-too')
for cmd in diff apply; do
	run "$bin" --root "$R" "$cmd"
	check "$cmd on an agent with our old server files: exit $([ $cmd = diff ] && echo 1 || echo 0)" [ "$rc" = "$([ $cmd = diff ] && echo 1 || echo 0)" ]
	check "... names the generation that created them and how to remove them" has "this host is an agent, but k3s-harden generation 000001 (profile k3s-cis-[0-9.]*) created $ours server files that K3s agents do not read: /var/lib/rancher/k3s/server/psa.yaml, /var/lib/rancher/k3s/server/audit.yaml, .*remove them (rm $R/var/lib/rancher/k3s/server/psa.yaml .*k3s-harden rollback 000001" "$tmp/err"
	check "... our own secrets-encryption is kept and named, with why" has "config.yaml:[0-9]*:1: secrets-encryption is server-only and this host is an agent: k3s-harden generation 000001 (profile k3s-cis-[0-9.]*) added it for a server; k3s-harden keeps it: remove the line if this host is an agent (agents ignore it), not on a server, where secrets stored encrypted would become unreadable" "$tmp/err"
	check "... not the user's manifests" hasnt "my-app.yaml\|k3s-harden-mine-too" "$tmp/err"
	[ "$cmd" = diff ] && check "... diff removes our kube-apiserver-arg, not secrets-encryption" \
		bash -c "! grep -q -- '^-secrets-encryption' '$tmp/out' && grep -qx -- '-kube-apiserver-arg:' '$tmp/out'"
done
sums >"$tmp/after.sum"
check "... no other file was removed or changed" cmp -s "$tmp/before.sum" "$tmp/after.sum"
check "... config.yaml: our server-only list entries are gone" hasnt "kube-apiserver-arg\|kube-controller-manager-arg" "$R/etc/rancher/k3s/config.yaml"
check "... config.yaml: our secrets-encryption stays, with its mark" bash -c "grep -B1 -x 'secrets-encryption: true' '$R/etc/rancher/k3s/config.yaml' | grep -q '^# CIS '"
check "... the user's lines stay" bash -c "grep -qx 'server: https://s:6443' '$R/etc/rancher/k3s/config.yaml' && grep -qx 'token: t' '$R/etc/rancher/k3s/config.yaml'"
# our secrets-encryption line whose mark the user took off is theirs to remove: named
mk 'server: https://s:6443\ntoken: t\n'
run "$bin" --root "$R" --role server apply
sed -i '/^# CIS .*$/{N;/\nsecrets-encryption:/s/^[^\n]*\n//}' "$R/etc/rancher/k3s/config.yaml"
unit k3s-agent.service '/usr/local/bin/k3s agent'
run "$bin" --root "$R" diff
check "an unmarked secrets-encryption a generation added: named with its line" has "warning: /etc/rancher/k3s/config.yaml:[0-9]*:1: secrets-encryption is server-only and this host is an agent: k3s-harden generation 000001" "$tmp/err"
check "... and kept" hasnt "^-secrets-encryption" "$tmp/out"
run "$bin" --root "$R" --output json apply
check "... with --output json, stdout is the result document" json 'd["result"] == "ok"'
# the same files without a unit (weak evidence): no such warning
rm "$R/etc/systemd/system/k3s-agent.service"
run "$bin" --root "$R" --role agent diff
check "--role agent without a unit: no leftover warning" hasnt "server files that K3s agents" "$tmp/err"
# a secrets-encryption the user wrote before the tool ran is not blamed on it
mk 'server: https://s:6443\ntoken: t\nsecrets-encryption: true\n'
run "$bin" --root "$R" --role server apply
unit k3s-agent.service '/usr/local/bin/k3s agent'
run "$bin" --root "$R" diff
check "the user's own secrets-encryption is not named" hasnt "secrets-encryption is server-only" "$tmp/err"
check "... our server files are" has "created $(server_files | wc -l) server files" "$tmp/err"

# --- item 3: data-dir moves the manifests and the default server paths
mk 'data-dir: /home/rancher/k3s\ntoken: t\n'
run "$bin" --root "$R" apply
check "data-dir: apply exits 0" [ "$rc" = 0 ]
check "... manifests under the data dir" [ -f "$R/home/rancher/k3s/server/manifests/k3s-harden-serviceaccounts.yaml" ]
check "... psa.yaml under the data dir" [ -f "$R/home/rancher/k3s/server/psa.yaml" ]
check "... audit.yaml under the data dir" [ -f "$R/home/rancher/k3s/server/audit.yaml" ]
check "... nothing under the default data dir" [ ! -e "$R/var/lib/rancher/k3s" ]
check "... config.yaml names the moved psa.yaml" has 'admission-control-config-file=/home/rancher/k3s/server/psa.yaml' "$R/etc/rancher/k3s/config.yaml"
check "... and the moved audit files" has 'audit-policy-file=/home/rancher/k3s/server/audit.yaml' "$R/etc/rancher/k3s/config.yaml"
check "... and the moved audit log" has 'audit-log-path=/home/rancher/k3s/server/logs/audit.log' "$R/etc/rancher/k3s/config.yaml"
check "... says where the manifests go" has "data-dir /home/rancher/k3s: manifests go to /home/rancher/k3s/server/manifests" "$tmp/err"
# data-dir from a drop-in
mk 'token: t\n'
mkdir -p "$R/etc/rancher/k3s/config.yaml.d"; printf 'data-dir: /srv/k3s/\n' >"$R/etc/rancher/k3s/config.yaml.d/10-dir.yaml"
run "$bin" --root "$R" diff
check "data-dir in a drop-in counts" has '+++ b/srv/k3s/server/psa.yaml' "$tmp/out"
# an explicit path stays, with a warning when it is under the default data dir
printf 'extends: cis\npod_security: {path: /var/lib/rancher/k3s/server/my-psa.yaml}\n' >"$tmp/psa-path.yaml"
run "$bin" --root "$R" -p "$tmp/psa-path.yaml" diff
check "an explicit path stays as set" has '+++ b/var/lib/rancher/k3s/server/my-psa.yaml' "$tmp/out"
check "... with a warning naming the data dir" has "warning: k3s-harden: pod_security.path '/var/lib/rancher/k3s/server/my-psa.yaml' is under K3s's default data dir, but this host's data-dir is /srv/k3s" "$tmp/err"
mk 'data-dir: relative/dir\n'
run "$bin" --root "$R" diff
check "a relative data-dir: exit 2" [ "$rc" = 2 ]
check "... at its line" has "config.yaml:1:11: data-dir 'relative/dir' is not an absolute path" "$tmp/err"
mk 'data-dir: /home/k3s\n'
run "$bin" --root "$R" render
check "render follows data-dir too" has '==> /home/k3s/server/psa.yaml' "$tmp/out"

# --- item 14: JSON everywhere, failures included
run "$bin" --output json profile show
check "profile show --output json is JSON" json 'd["name"] == "cis" and d["role"] == "auto" and d["pod_security"]["enabled"] is True and d["retention"] == 10'
run "$bin" --output json profile list
check "profile list --output json" json '{"base", "cis-agent", "cis", "k3s-cis-1.9"} <= {p["name"] for p in d} and all(set(p) == {"name", "description", "role"} for p in d)'
printf 'extends: cis\naudit:\n  level: request\n  max_age: 0\nretention: 0\n' >"$tmp/bad.yaml"
run "$bin" --output json profile validate "$tmp/bad.yaml"
check "profile validate, invalid: exit 2" [ "$rc" = 2 ]
check "... one document: file, valid false, every diagnostic in file order" json 'd["file"].endswith("bad.yaml") and d["valid"] is False and [(x["line"], x["field"]) for x in d["diagnostics"]] == [(3, "audit.level"), (4, "audit.max_age"), (5, "retention")] and all(x["severity"] == "error" and x["column"] and x["message"] for x in d["diagnostics"])'
run "$bin" --output json --root "$tmp/no-such-root" diff
check "a failing diff: exit 2" [ "$rc" = 2 ]
check "... stdout is the failure document" json 'd["result"] == "failed" and d["exit_code"] == 2 and d["diagnostics"][0]["file"] is None and "no such directory" in d["diagnostics"][0]["message"]'
mk ''; echo '- a' >"$R/etc/rancher/k3s/config.yaml"
run "$bin" --output json --root "$R" apply
check "a failing apply: exit 2 with FILE:LINE:COL in JSON" json 'd["result"] == "failed" and d["diagnostics"][0]["file"] == "/etc/rancher/k3s/config.yaml" and d["diagnostics"][0]["line"] == 1 and d["diagnostics"][0]["column"] == 1'
check "... nothing written" [ ! -e "$R/etc/sysctl.d" ]
run "$bin" --output json --root "$R" rollback 7
check "a failing rollback: the failure document" json 'd["result"] == "failed" and "no such generation" in d["diagnostics"][0]["message"]'
run "$bin" --output json -p no-such-profile render
check "an unknown profile in JSON" json 'd["exit_code"] == 2 and "unknown profile" in d["diagnostics"][0]["message"]'
run "$bin" --output json no-such-command
check "an unknown command in JSON" json 'd["exit_code"] == 2'
mk 'server: https://s:6443\n'
unit k3s-agent.service '/usr/local/bin/k3s agent'
run "$bin" --output json --root "$R" -p cis --role server diff
check "a contradicting --role in JSON" json 'd["exit_code"] == 2 and "this host is an agent" in d["diagnostics"][0]["message"]'
run "$bin" --output json --root "$R" apply
check "apply JSON says role and why" json 'd["result"] == "ok" and d["role"] == "agent" and "k3s-agent.service" in d["role_reason"]'
run "$bin" --output json --root "$R" history
check "history JSON" json 'len(d["generations"]) == 1'


# every diagnostic about a named option or field names it in JSON
diag_field() { json "any(x[\"field\"] == \"$1\" and $2 for x in d[\"diagnostics\"])"; }
mk 'kube-apiserver-arg: {a: b}\n'
run "$bin" --output json --root "$R" diff
check "JSON: a merge error names its K3s option in field" diag_field kube-apiserver-arg '"expected a list" in x["message"] and x["line"] == 1'
mk 'token: x\n'
mkdir -p "$R/etc/rancher/k3s/config.yaml.d"; printf 'kubelet-arg: [max-pods=100]\n' >"$R/etc/rancher/k3s/config.yaml.d/20-up.yaml"
run "$bin" --output json --root "$R" diff
check "JSON: an effective-configuration error names its K3s option" diag_field kubelet-arg '"this replaces" in x["message"] and x["file"].endswith("20-up.yaml")'
mk 'token: x\n'
printf 'extends: cis\nk3s: {mode: dropin}\n' >"$tmp/dropin.yaml"
run "$bin" --output json --root "$R" -p "$tmp/dropin.yaml" --k3s-version v1.20.4+k3s1 diff
check "JSON: a preflight error names the profile field" diag_field k3s.mode '"drop-ins" in x["message"]'
mk 'server: https://s:6443\n'
unit k3s-agent.service '/usr/local/bin/k3s agent'
run "$bin" --output json --root "$R" --role server diff
check "JSON: a role contradiction has field role" diag_field role '"this host is an agent" in x["message"]'
mk 'data-dir: relative/dir\n'
run "$bin" --output json --root "$R" diff
check "JSON: a bad data-dir has field data-dir" diag_field data-dir '"not an absolute path" in x["message"] and x["line"] == 1'
# (with an error, so the failure document carries the warning too)
mk 'data-dir: /srv/k3s\nkubelet-arg: {a: b}\n'
run "$bin" --output json --root "$R" -p "$tmp/psa-path.yaml" diff
check "JSON: the data-dir warning names the profile field" diag_field pod_security.path 'x["severity"] == "warning"'

# help in JSON: the same options and commands as the text help
run "$bin" --help; cp "$tmp/out" "$tmp/help.txt"
run "$bin" --output json help
check "help --output json: exit 0, one document" json 'd["command"] is None and d["usage"].startswith("k3s-harden ")'
cp "$tmp/out" "$tmp/help.json"
check "... every command of the text help, with its usage" python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1])); text = open(sys.argv[2]).read()
names = re.findall(r"^  ([a-z]+)\b", text.split("Commands")[1], re.M)
cmds = {c["name"]: c for c in d["commands"]}
sys.exit(0 if names and set(names) == set(cmds) and all(c["usage"] and c["help"] for c in cmds.values()) else 1)' "$tmp/help.json" "$tmp/help.txt"
check "... every global option as {name, short, arg, help}" python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1])); text = open(sys.argv[2]).read()
longs = set(re.findall(r"--([a-z0-9-]+)", text.split("Commands")[0]))
sys.exit(0 if {o["name"] for o in d["options"]} == longs and all(set(o) == {"name", "short", "arg", "help"} for o in d["options"]) else 1)' "$tmp/help.json" "$tmp/help.txt"
run "$bin" --output json --help
check "--output json --help is the same document" cmp -s "$tmp/out" "$tmp/help.json"
run "$bin" apply --help --output json
check "apply --help --output json (json after --help): the command's document" json 'd["command"] == "apply" and "apply [--dry-run]" in d["usage"] and {o["name"] for o in d["options"]} == {"dry-run", "no-restart", "live"} and "output" in {o["name"] for o in d["global_options"]} and "5 done" in d["exit_codes"]'
cp "$tmp/out" "$tmp/apply.json"
run "$bin" help apply --output json
check "help apply --output json is the same" cmp -s "$tmp/out" "$tmp/apply.json"
run "$bin" --output json help no-such-command
check "help of an unknown command in JSON: exit 2, a failure document" json 'd["exit_code"] == 2 and "unknown command" in d["diagnostics"][0]["message"]'

# --- a successful command's JSON carries the run's warnings, as a failure's does
mk 'token: x\nno-such-k3s-key: 1\n'
w='d["diagnostics"] and any(x["severity"] == "warning" and "no-such-k3s-key" in x["message"] and x["file"] == "/etc/rancher/k3s/config.yaml" and x["line"] == 2 for x in d["diagnostics"])'
run "$bin" --root "$R" --role server --k3s-version 1.30 --output json diff
check "diff --output json (exit 1): the unknown key's warning is in diagnostics" eval '[ "$rc" = 1 ] && json "$w"'
run "$bin" --root "$R" --role server --k3s-version 1.30 --output json apply
check "apply --output json (ok): the warning is in diagnostics" eval '[ "$rc" = 0 ] && json "d[\"result\"] == \"ok\" and $w"'
run "$bin" --root "$R" --role server --k3s-version 1.30 --output json apply
check "a no-op apply --output json: still there" eval '[ "$rc" = 0 ] && json "d[\"changed\"] is False and $w"'
run "$bin" --root "$R" --role server --k3s-version 1.30 --output json check
check "check --output json: the warning is in diagnostics" eval 'json "$w"'
run "$bin" --root "$R" --role server --k3s-version 1.30 --output json rollback --force
check "rollback --output json (ok): a diagnostics array (rollback reads no configuration)" eval '[ "$rc" = 0 ] && json "d[\"result\"] == \"ok\" and isinstance(d[\"diagnostics\"], list)"'
printf 'disable-network-policy: true\n' >"$R/etc/rancher/k3s/config.yaml"
run "$bin" --root "$R" --role server --k3s-version 1.30 --output json render
check "render --output json: its warning is in diagnostics" eval '[ "$rc" = 0 ] && json "any(\"nothing enforces them\" in x[\"message\"] and x[\"severity\"] == \"warning\" for x in d[\"diagnostics\"])"'
for cmd in history benchmarks "benchmarks k3s-cis-1.9"; do
	run "$bin" --root "$R" --output json $cmd
	check "$cmd --output json: a diagnostics array" eval '[ "$rc" = 0 ] && json "d[\"diagnostics\"] == []"'
done

# a unit drop-in that replaces ExecStart: the role reason names the drop-in's line
mk 'token: t\n'
unit k3s.service '/usr/local/bin/k3s server'
mkdir -p "$R/etc/systemd/system/k3s.service.d"
printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/k3s agent --server https://s:6443\n' >"$R/etc/systemd/system/k3s.service.d/10-agent.conf"
run "$bin" --root "$R" diff
check "ExecStart from a unit drop-in: agent, and the reason names the drop-in's line" has "role auto: agent (the unit k3s.service runs \`k3s agent\` (/etc/systemd/system/k3s.service.d/10-agent.conf:3))" "$tmp/err"

# a psa.yaml and audit.yaml copied from the guide (no header of ours) are
# replaced, with a warning that says so and where exemptions go; the backup
# keeps them and rollback puts them back byte for byte
mk 'token: t\n'
S=$R/var/lib/rancher/k3s/server; mkdir -p "$S"
printf 'apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins: []  # longhorn-system\n' >"$S/psa.yaml"
printf 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n' >"$S/audit.yaml"
cp "$S/psa.yaml" "$tmp/psa.mine"; cp "$S/audit.yaml" "$tmp/audit.mine"
run "$bin" --root "$R" --role server diff
check "a guide-copied psa.yaml: diff warns it is not ours and is replaced" has "^warning: /var/lib/rancher/k3s/server/psa.yaml: not written by k3s-harden (no 'Generated by k3s-harden' line): replaced by the profile's.*pod_security.exemptions.namespaces" "$tmp/err"
check "... and audit.yaml, saying rules are not merged" has "^warning: /var/lib/rancher/k3s/server/audit.yaml: not written by k3s-harden.*rules of yours are not merged" "$tmp/err"
run "$bin" --root "$R" --role server --output json diff
check "... the warning in JSON names the file and the profile field" json "any(x['file'] == '/var/lib/rancher/k3s/server/psa.yaml' and x['field'] == 'pod_security.exemptions.namespaces' and x['severity'] == 'warning' for x in d['diagnostics'])"
run "$bin" --root "$R" --role server apply
check "... apply replaces them (exit 0), warning again" bash -c "[ $rc = 0 ] && grep -q 'psa.yaml: not written by k3s-harden' '$tmp/err' && grep -q 'Generated by k3s-harden' '$S/psa.yaml'"
run "$bin" --root "$R" --role server diff
check "... a second diff: no such warning (the files are ours now)" hasnt "not written by k3s-harden" "$tmp/err"
run "$bin" --root "$R" --role server rollback --force
check "... rollback puts both back byte for byte" bash -c "cmp -s '$S/psa.yaml' '$tmp/psa.mine' && cmp -s '$S/audit.yaml' '$tmp/audit.mine'"

echo "# hosts.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
