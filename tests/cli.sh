#!/usr/bin/env bash
# Command-line tests: run the real binary against temporary roots and compare
# with golden files. Usage: K3H_BIN=/abs/k3s-harden bash tests/cli.sh
# UPDATE_GOLDEN=1 rewrites the golden files from the current output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
tmp=$(mktemp -d /tmp/k3h-cli-XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
pass=0 fail=0 n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

# run CMD...: sets rc, out, err
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

golden() {
	local name=$1 file=$here/golden/$2
	if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$tmp/out" "$file"
	fi
	if diff -u "$file" "$tmp/out" >"$tmp/golden.diff"; then
		ok "$name"
	else
		not_ok "$name" "output differs from golden/$2:"
		sed 's/^/#   /' "$tmp/golden.diff" | head -40
	fi
}

# --- render to stdout: golden output for the built-in profiles
run "$bin" render
check "render cis exits 0" [ "$rc" = 0 ]
golden "render cis matches golden" render-cis.txt
run "$bin" -p cis-agent render
check "render cis-agent exits 0" [ "$rc" = 0 ]
golden "render cis-agent matches golden" render-cis-agent.txt

# --- render --out writes every artifact at its host path with its mode
o=$tmp/r1
run "$bin" render --out "$o"
check "render --out exits 0" [ "$rc" = 0 ]
want_files="
0600 /var/lib/rancher/k3s/server/psa.yaml
0600 /var/lib/rancher/k3s/server/audit.yaml
0644 /etc/sysctl.d/90-kubelet.conf
0600 /var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-kube-system.yaml
0600 /var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-default.yaml
0600 /var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-kube-public.yaml
0600 /var/lib/rancher/k3s/server/manifests/k3s-harden-serviceaccounts.yaml
0600 /etc/rancher/k3s/config.yaml"
while read -r mode path; do
	[ -n "$path" ] || continue
	check "render --out wrote $path" [ -f "$o$path" ]
	check "render --out mode $mode for $path" [ "$(stat -c %04a "$o$path" 2>/dev/null)" = "$mode" ]
done <<<"$want_files"
check "audit log directory exists with mode 0700" [ "$(stat -c %04a "$o/var/lib/rancher/k3s/server/logs" 2>/dev/null)" = 0700 ]
count=$(find "$o" -type f | wc -l)
check "render --out wrote exactly 9 files (got $count)" [ "$count" = 9 ]
check "no temporary files left" [ -z "$(find "$o" -name '.*k3s-harden*')" ]

# the files are byte for byte what render prints
"$bin" render >"$tmp/stdout.txt"
same=1
while read -r mode path; do
	[ -n "$path" ] || continue
	awk -v p="$path" '
		/^==> / { on = ($2 == p); first = 1; next }
		on { if (!first && pending) print ""; first = 0; if ($0 == "") { pending = 1; next } if (pending) { pending = 0 } print }
	' "$tmp/stdout.txt" >"$tmp/section"
	cmp -s <(sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$o$path") "$tmp/section" || same=0
done <<<"$want_files"
check "files written by --out match the printed render" [ "$same" = 1 ]

# --- JSON: one entry per artifact with the sha256 of the written bytes
run "$bin" render --output json
check "render --output json exits 0" [ "$rc" = 0 ]
sum=$(sha256sum "$o/etc/rancher/k3s/config.yaml" | cut -d' ' -f1)
check "json names config.yaml with its sha256" grep -q "\"path\":\"/etc/rancher/k3s/config.yaml\",\"kind\":\"file\",\"mode\":\"0600\",\"sha256\":\"$sum\"" "$tmp/out"
check "json marks psa.yaml as needing a restart" grep -Eq '"path":"/var/lib/rancher/k3s/server/psa.yaml"[^}]*"needs_restart":true' "$tmp/out"
check "json marks manifests as not needing a restart" grep -Eq '"path":"[^"]*netpol-default.yaml"[^}]*"needs_restart":false' "$tmp/out"
check "json lists the log directory" grep -q '"path":"/var/lib/rancher/k3s/server/logs","kind":"directory","mode":"0700"' "$tmp/out"

# --- global options are accepted after the command too
run "$bin" render --out "$tmp/r2" -p cis-agent -q
check "options after the command" [ "$rc" = 0 ] && [ -f "$tmp/r2/etc/sysctl.d/90-kubelet.conf" ] && [ ! -e "$tmp/r2/var/lib/rancher/k3s/server/psa.yaml" ]

# --- profile commands
run "$bin" profile list
check "profile list shows cis and cis-agent" grep -q '^cis ' "$tmp/out"
check "profile list shows cis-agent" grep -q '^cis-agent ' "$tmp/out"
run "$bin" profile show cis
check "profile show exits 0" [ "$rc" = 0 ]
cp "$tmp/out" "$tmp/shown.yaml"
run "$bin" profile validate "$tmp/shown.yaml"
check "profile show output validates" [ "$rc" = 0 ]
"$bin" -p "$tmp/shown.yaml" render >"$tmp/a.txt" 2>/dev/null
"$bin" -p cis render >"$tmp/b.txt"
check "profile show output renders the same files" cmp -s "$tmp/a.txt" "$tmp/b.txt"

# --- templates override by name
mkdir -p "$tmp/tpl"
printf '{{> header}}\napiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: {{level}}\n  omitStages: [RequestReceived]\n' >"$tmp/tpl/audit.yaml.mustache"
run "$bin" -t "$tmp/tpl" render
check "--templates overrides audit.yaml" grep -q 'omitStages: \[RequestReceived\]' "$tmp/out"
printf 'rules:\n- level: {{#level}}\n' >"$tmp/tpl/audit.yaml.mustache"
run "$bin" -t "$tmp/tpl" render --out "$tmp/r3"
check "broken template exits 2" [ "$rc" = 2 ]
check "broken template error names template and line" grep -q "audit.yaml.mustache:2:10: " "$tmp/err"
check "broken template wrote nothing" [ ! -e "$tmp/r3" ]
printf 'rules: [\n- level: {{level}}\n' >"$tmp/tpl/audit.yaml.mustache"
run "$bin" -t "$tmp/tpl" render
check "template rendering invalid YAML exits 2" [ "$rc" = 2 ]
check "invalid YAML error names template and line" grep -Eq 'audit.yaml.mustache: rendered invalid YAML for /var/lib/rancher/k3s/server/audit.yaml: line [0-9]+' "$tmp/err"
run "$bin" -t "$tmp/missing-dir" render
check "missing template directory exits 2" [ "$rc" = 2 ]

# --- a symlink planted in the output tree is refused, nothing written through it
mkdir -p "$tmp/r4/etc" "$tmp/elsewhere"
ln -s "$tmp/elsewhere" "$tmp/r4/etc/sysctl.d"
run "$bin" render --out "$tmp/r4"
check "symlinked directory in --out is refused" [ "$rc" = 2 ]
check "symlink refusal is explained" grep -q 'sysctl.d.*symbolic link' "$tmp/err"
check "nothing written through the symlink" [ -z "$(ls -A "$tmp/elsewhere")" ]

# --- usage errors
run "$bin" --bogus render
check "unknown option exits 2" [ "$rc" = 2 ]
run "$bin" frobnicate
check "unknown command exits 2" [ "$rc" = 2 ]
run "$bin" render extra
check "extra argument exits 2" [ "$rc" = 2 ]
run "$bin" profile list --out /tmp/x
check "option of another command exits 2" [ "$rc" = 2 ]
run "$bin" --output yaml render
check "bad --output value exits 2" [ "$rc" = 2 ]
run "$bin" -p no-such-profile render
check "unknown profile exits 2" [ "$rc" = 2 ]
check "unknown profile lists built-ins" grep -Eq "built-in: .*cis-agent" "$tmp/err"
run "$bin" --help
check "--help exits 0 and names render" [ "$rc" = 0 ] && grep -q 'render \[--out DIR\]' "$tmp/out"
run "$bin" --version
check "--version prints a version" grep -Eq '^k3s-harden [0-9]+\.[0-9]+' "$tmp/out"
if [ -w /dev/full ]; then
	"$bin" render >/dev/full 2>"$tmp/err"
	rc=$?
	check "writing to a full stdout fails loudly" [ "$rc" = 2 ]
fi

# --- each command has its own help: usage, its options, exit codes
run "$bin" apply --help
check "apply --help exits 0" [ "$rc" = 0 ]
check "apply --help prints apply's own usage" grep -q '^usage: k3s-harden \[GLOBAL OPTIONS\] apply \[--dry-run\] \[--no-restart\] \[--live\]$' "$tmp/out"
check "apply --help names its exit codes, 5 included" grep -q '5 done and committed, but the report' "$tmp/out"
check "apply --help does not list the commands" bash -c '! grep -q "^  render \[--out" "$1"' _ "$tmp/out"
cp "$tmp/out" "$tmp/apply-help"
run "$bin" help apply
check "help apply prints the same as apply --help" cmp -s "$tmp/out" "$tmp/apply-help"
run "$bin" --root / apply --no-restart --help
check "apply --help after other options" cmp -s "$tmp/out" "$tmp/apply-help"
for spec in "render:--out" "diff:--live" "apply:--dry-run --no-restart --live" \
	"rollback:--force --ignore-k3s-version --no-restart --live" "history:" "profile:"; do
	cmd=${spec%%:*} opts=${spec#*:}
	run "$bin" "$cmd" --help
	good=1
	[ "$rc" = 0 ] && grep -q "^usage: k3s-harden \[GLOBAL OPTIONS\] $cmd" "$tmp/out" || good=0
	for o in $opts --profile --root --templates --output --color --quiet --verbose; do
		grep -q -- "$o" "$tmp/out" || good=0
	done
	check "$cmd --help lists every option it takes (${opts:-none of its own}) and the global ones" [ "$good" = 1 ]
done
run "$bin" help no-such-command
check "help of an unknown command exits 2" [ "$rc" = 2 ]
run "$bin" diff --force
check "an option of another command is refused (diff --force: exit 2)" [ "$rc" = 2 ]
run "$bin" render -q --out "$tmp/r5" --output json
check "global options mixed with the command's after the command" [ "$rc" = 0 ] && [ -f "$tmp/r5/etc/sysctl.d/90-kubelet.conf" ]

# --- apply plans once: with role: auto, the role is noted once
if [ "$(id -u)" = 0 ]; then
	printf 'extends: cis\nrole: auto\n' >"$tmp/auto.yaml"
	R=$tmp/auto-root
	mkdir -p "$R"
	run "$bin" -p "$tmp/auto.yaml" apply --root "$R"
	check "apply with role: auto exits 0" [ "$rc" = 0 ]
	check "... and notes the role once" [ "$(grep -c 'role auto:' "$tmp/err")" = 1 ]
fi

# --- a committed change whose report cannot be written: exit 5, not 2
if [ -w /dev/full ] && [ "$(id -u)" = 0 ]; then
	R=$tmp/full-root
	mkdir -p "$R"
	"$bin" apply --root "$R" >/dev/full 2>"$tmp/err"
	rc=$?
	check "apply > /dev/full that committed exits 5" [ "$rc" = 5 ]
	check "... says the report could not be written" grep -q "error writing to standard output" "$tmp/err"
	run "$bin" history --root "$R"
	check "... and history shows it committed" grep -q " committed" "$tmp/out"
	run "$bin" diff --root "$R"
	check "... and diff finds nothing to change" [ "$rc" = 0 ]
	"$bin" apply --root "$R" --output json >/dev/full 2>"$tmp/err"
	rc=$?
	check "a no-op apply --output json > /dev/full exits 2 (nothing was changed)" [ "$rc" = 2 ]
	"$bin" rollback --force --root "$R" --output json >/dev/full 2>"$tmp/err"
	rc=$?
	check "rollback --output json > /dev/full that committed exits 5" [ "$rc" = 5 ]
	R=$tmp/full-root2
	mkdir -p "$R"
	"$bin" apply --root "$R" --output json >/dev/full 2>"$tmp/err"
	rc=$?
	check "apply --output json > /dev/full that committed exits 5" [ "$rc" = 5 ]
fi

# --- bad profiles: exit 2, FILE:LINE:COL and field, nothing written
if [ -f "$here/bad_profiles.sh" ]; then
	if K3H_BIN=$bin bash "$here/bad_profiles.sh" >"$tmp/bad.log" 2>&1; then
		ok "bad profile suite ($(tail -n 1 "$tmp/bad.log"))"
	else
		not_ok "bad profile suite"
		grep -v '^ok' "$tmp/bad.log" | head -40
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
