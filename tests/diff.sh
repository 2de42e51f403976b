#!/usr/bin/env bash
# diff: what apply would change, against demo roots. Golden output, patch -p1
# round trip, the K3s config merge rules at the command line.
# Usage: K3H_BIN=/abs/k3s-harden bash tests/diff.sh  (UPDATE_GOLDEN=1 rewrites goldens)
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
tmp=$(mktemp -d /tmp/k3h-diff-XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
pass=0 fail=0 skip=0 n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
fresh_root() { rm -rf "$1"; mkdir -p "$1"; cp -a "$here/fixtures/user-root/." "$1/"; chmod 0644 "$1/etc/rancher/k3s/config.yaml"; }
golden() {
	local name=$1 file=$here/golden/$2
	[ "${UPDATE_GOLDEN:-}" = 1 ] && cp "$tmp/out" "$file"
	if diff -u "$file" "$tmp/out" >"$tmp/g.diff"; then ok "$name"; else
		not_ok "$name" "differs from golden/$2"; sed 's/^/#   /' "$tmp/g.diff" | head -30; fi
}

# --- a root with the user's own config.yaml: only our keys and flags change
R=$tmp/user
fresh_root "$R"
run "$bin" diff --root "$R"
check "diff exits 1 when something would change" [ "$rc" = 1 ]
golden "diff output matches golden" diff-user.patch
cp "$tmp/out" "$tmp/user.patch"
# every removed config.yaml line is one we manage; user keys and comments stay
removed=$(awk '/^diff --git a\/etc\/rancher\/k3s\/config.yaml/{on=1;next} /^diff --git/{on=0} on && /^-[^-]/' "$tmp/user.patch")
check "only the managed audit-log-path line of config.yaml is removed" [ "$removed" = '-  - "audit-log-path=/var/log/k3s-audit.log"   # old location' ]
check "the user's token, comments and lists are context, not changes" \
	bash -c "! grep -E '^[-+].*(token:|tls-san|node-label|max-pods|platform team)' '$tmp/user.patch'"
check "mode change of config.yaml shown (0644 -> 0600)" grep -q '^old mode 100644$' "$tmp/user.patch"
check "directory to create shown" grep -q '^# create directory /var/lib/rancher/k3s/server/logs (mode 0700)$' "$tmp/user.patch"
check "summary on stderr" grep -q '9 to create, 1 to update, 0 to remove; K3s would restart' "$tmp/err"

# --- patch -p1 accepts it and reproduces what apply writes, byte for byte
if command -v patch >/dev/null; then
	P=$tmp/patched
	fresh_root "$P"
	( cd "$P" && patch -p1 -s --no-backup-if-mismatch ) <"$tmp/user.patch"
	check "patch -p1 applies the diff" [ $? = 0 ]
	mkdir -m 0700 "$P/var/lib/rancher/k3s/server/logs"
	run "$bin" diff --root "$P"
	check "after writing the files by hand, diff exits 0" [ "$rc" = 0 ]
	check "and prints nothing on stdout" [ ! -s "$tmp/out" ]
	A=$tmp/applied
	fresh_root "$A"
	"$bin" apply -q --root "$A" >/dev/null
	check "patched tree equals the applied tree" diff -r -x k3s-harden "$P" "$A"
	check "with the same modes" [ "$(cd "$P" && find . -path ./var/lib/k3s-harden -prune -o -printf '%m %p\n' | sort)" = \
		"$(cd "$A" && find . -path ./var/lib/k3s-harden -prune -o -printf '%m %p\n' | sort)" ]
else
	skip=$((skip + 1)); echo "# SKIP patch is not installed"
fi

# --- JSON
fresh_root "$R"
run "$bin" diff --root "$R" --output json
check "json diff exits 1" [ "$rc" = 1 ]
check "json has changed:true" grep -q '^{"changed":true,"role":"server","needs_restart":true,"files":\[' "$tmp/out"
check "json: config.yaml is an update with both sha256" grep -Eq '"path":"/etc/rancher/k3s/config.yaml","kind":"file","action":"update","old_sha256":"[0-9a-f]{64}","new_sha256":"[0-9a-f]{64}","mode":"0600","old_mode":"0644","needs_restart":true' "$tmp/out"
check "json: psa.yaml is a create" grep -q '"path":"/var/lib/rancher/k3s/server/psa.yaml","kind":"file","action":"create","old_sha256":null' "$tmp/out"
if command -v python3 >/dev/null; then
	check "json diff is valid JSON" python3 -m json.tool "$tmp/out" >/dev/null
fi

# --- colour only when asked (or on a terminal)
run "$bin" diff --root "$R" --color always
check "--color always colours" grep -q $'\033\\[' "$tmp/out"
run "$bin" diff --root "$R" --color never
check "--color never does not" bash -c "! grep -q $'\033' '$tmp/out'"

# --- config.yaml that does not exist, is empty, is not a mapping, has anchors
E=$tmp/none; mkdir -p "$E"
run "$bin" diff --root "$E"
check "no config.yaml: it is created" grep -q '^new file mode 100600$' "$tmp/out"
mkdir -p "$E/etc/rancher/k3s"; : >"$E/etc/rancher/k3s/config.yaml"
run "$bin" diff --root "$E"
check "empty config.yaml: filled with ours" grep -q '^+protect-kernel-defaults: true$' "$tmp/out"
printf -- '- just\n- a list\n' >"$E/etc/rancher/k3s/config.yaml"
run "$bin" diff --root "$E"
check "config.yaml that is not a mapping: exit 2" [ "$rc" = 2 ]
check "with a clear error naming file, line and column" grep -q '^/etc/rancher/k3s/config.yaml:1:1: the K3s configuration must be a mapping of options, found a list$' "$tmp/err"
check "and nothing on stdout" [ ! -s "$tmp/out" ]
printf 'common: &args\n  - max-pods=50\nkubelet-arg: *args\nprotect-kernel-defaults: &pkd false\n' >"$E/etc/rancher/k3s/config.yaml"
run "$bin" diff --root "$E"
check "anchors: exit 1" [ "$rc" = 1 ]
check "anchors: the alias becomes an explicit merged list" grep -qPz '\+kubelet-arg:\n\+  - max-pods=50\n\+  - streaming-connection-idle-timeout=5m  # CIS 4\.2\.5\n\+  - make-iptables-util-chains=true  # CIS 4\.2\.6\n' "$tmp/out"
check "anchors: an anchored value keeps its anchor" grep -q '^+protect-kernel-defaults: &pkd true$' "$tmp/out"

# --- a later drop-in that would silently override us is refused
fresh_root "$R"
mkdir -p "$R/etc/rancher/k3s/config.yaml.d"
printf '# site overrides\nkube-apiserver-arg:\n  - profiling=false\n' >"$R/etc/rancher/k3s/config.yaml.d/99-site.yaml"
run "$bin" diff --root "$R"
check "conflicting later drop-in: exit 2" [ "$rc" = 2 ]
check "names the drop-in, line and column, and says to use +" grep -q "^/etc/rancher/k3s/config.yaml.d/99-site.yaml:2:1: kube-apiserver-arg: this replaces the whole list and drops k3s-harden's .*write 'kube-apiserver-arg+:' to append" "$tmp/err"
printf 'kube-apiserver-arg+:\n  - profiling=false\nnot-a-k3s-key: 1\n' >"$R/etc/rancher/k3s/config.yaml.d/99-site.yaml"
run "$bin" diff --root "$R"
check "a drop-in that appends with + is fine" [ "$rc" = 1 ]
check "unknown keys in user files are warnings" grep -q "^warning: /etc/rancher/k3s/config.yaml.d/99-site.yaml:3:1: unknown K3s option 'not-a-k3s-key'" "$tmp/err"
printf 'kube-apiserver-arg+:\n  - audit-log-maxage=1\n' >"$R/etc/rancher/k3s/config.yaml.d/99-site.yml"
run "$bin" diff --root "$R"
check "a .yml drop-in appending a conflicting value is refused" grep -q "99-site.yml:2:5: kube-apiserver-arg: 'audit-log-maxage=1' here overrides" "$tmp/err"
rm -f "$R/etc/rancher/k3s/config.yaml.d/99-site.yml"
printf 'kube-apiserver-arg:\n  - audit-log-maxage=1\n' >"$R/etc/rancher/k3s/config.yaml.d/99-site.txt"
run "$bin" diff --root "$R"
check "files other than .yaml/.yml in config.yaml.d are not read" [ "$rc" = 1 ]

# --- drop-in mode: config.yaml untouched, our own file appends with key+:
fresh_root "$R"
printf 'extends: cis\nk3s: { mode: dropin }\n' >"$tmp/dropin.yaml"
run "$bin" -p "$tmp/dropin.yaml" diff --root "$R"
check "dropin: exit 1" [ "$rc" = 1 ]
check "dropin: config.yaml is not touched" bash -c "! grep -q '^diff --git a/etc/rancher/k3s/config.yaml ' '$tmp/out'"
check "dropin: 90-k3s-harden.yaml is created" grep -q '^+++ b/etc/rancher/k3s/config.yaml.d/90-k3s-harden.yaml$' "$tmp/out"
check "dropin: lists are appended with key+:" grep -q '^+kube-apiserver-arg+:$' "$tmp/out"
"$bin" -p "$tmp/dropin.yaml" apply -q --root "$R" >/dev/null
run "$bin" -p "$tmp/dropin.yaml" diff --root "$R"
check "dropin: after apply, diff exits 0" [ "$rc" = 0 ]
# back to merge mode: our drop-in is removed, config.yaml merged
run "$bin" diff --root "$R"
check "merge mode removes our old drop-in" grep -q '^deleted file mode 100600$' "$tmp/out"

# --- stale manifests of ours are removed, with a note about cluster objects
fresh_root "$R"
printf 'extends: cis\nnetwork_policies: { namespaces: [kube-system, default, apps] }\n' >"$tmp/three.yaml"
"$bin" -p "$tmp/three.yaml" apply -q --root "$R" >/dev/null
run "$bin" diff --root "$R"
check "a namespace dropped from the profile: its policy file is removed" grep -q '^--- a/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-apps.yaml$' "$tmp/out"
check "and the note says objects stay in the cluster" grep -q 'objects K3s created from removed manifests stay in the cluster' "$tmp/err"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mine}\n' >"$R/var/lib/rancher/k3s/server/manifests/k3s-harden-netpol-mine.yaml"
run "$bin" diff --root "$R"
check "a file with our prefix but not written by us is left alone" bash -c "! grep -q 'netpol-mine' '$tmp/out'"

# --- a symlink where a managed file should be is an error for that path
fresh_root "$R"
mkdir -p "$tmp/outside"; echo secret >"$tmp/outside/file"
mkdir -p "$R/etc/sysctl.d"; ln -s "$tmp/outside/file" "$R/etc/sysctl.d/90-kubelet.conf"
run "$bin" diff --root "$R"
check "symlinked target: exit 2" [ "$rc" = 2 ]
check "symlinked target: named in the error" grep -q "'/etc/sysctl.d/90-kubelet.conf' is a symbolic link" "$tmp/err"
rm "$R/etc/sysctl.d/90-kubelet.conf"; mkdir "$R/etc/sysctl.d/90-kubelet.conf"
run "$bin" diff --root "$R"
check "a directory where a file should be: exit 2" [ "$rc" = 2 ]

# --- a 1 MB config.yaml with one managed value changed: one small hunk
B=$tmp/big
fresh_root "$B"
"$bin" apply -q --root "$B" >/dev/null
cfg=$B/etc/rancher/k3s/config.yaml
{ for i in $(seq 1 20000); do printf '# user note %05d: keep this line exactly as it is\n' "$i"; done; cat "$cfg"; } >"$tmp/cfg" && cat "$tmp/cfg" >"$cfg"
sed -i 's/audit-log-maxage=30/audit-log-maxage=7/' "$cfg"
run "$bin" diff --root "$B"
check "1 MB config: exit 1" [ "$rc" = 1 ]
check "1 MB config: exactly one hunk" [ "$(grep -c '^@@' "$tmp/out")" = 1 ]
check "1 MB config: one line out, one line in" [ "$(grep -c '^-[^-]' "$tmp/out")" = 1 ] && [ "$(grep -c '^+[^+]' "$tmp/out")" = 1 ]

# --- live kernel values that drifted from the sysctl file (a fake /proc/sys)
L=$tmp/live; mkdir -p "$L"
"$bin" apply -q --root "$L" >/dev/null
mkdir -p "$L/proc/sys/vm" "$L/proc/sys/kernel/keys"
echo 1 >"$L/proc/sys/vm/overcommit_memory"; echo 0 >"$L/proc/sys/vm/panic_on_oom"
echo 0 >"$L/proc/sys/kernel/panic"; echo 1 >"$L/proc/sys/kernel/panic_on_oops"
echo 1000000 >"$L/proc/sys/kernel/keys/root_maxkeys"; echo 25000000 >"$L/proc/sys/kernel/keys/root_maxbytes"
run "$bin" diff --root "$L"
check "offline diff does not look at live values" [ "$rc" = 0 ]
run "$bin" diff --live --root "$L"
check "diff --live: a drifted kernel value is a change (exit 1)" [ "$rc" = 1 ]
check "diff --live: names key, live value and wanted value" grep -q '^# kernel parameter kernel.panic: live value 0, the profile sets 10$' "$tmp/out"
gens=$(ls "$L/var/lib/k3s-harden/backups" | wc -l)
run "$bin" apply --live --root "$L"
check "apply --live sets only the drifted value" [ "$rc" = 0 ] && [ "$(cat "$L/proc/sys/kernel/panic")" = 10 ]
check "and makes no generation, as no file changed" [ "$(ls "$L/var/lib/k3s-harden/backups" | wc -l)" = "$gens" ]
run "$bin" diff --live --root "$L"
check "diff --live after it: exit 0" [ "$rc" = 0 ]

# --- apply --live: a kernel value that cannot be set is refused before any write (preflight, exit 2)
K=$tmp/kfail; fresh_root "$K"
mkdir -p "$K/proc/sys/vm" "$K/proc/sys/kernel/keys"
echo 0 >"$K/proc/sys/vm/overcommit_memory"; echo 1 >"$K/proc/sys/vm/panic_on_oom"
echo 0 >"$K/proc/sys/kernel/panic"; echo 0 >"$K/proc/sys/kernel/panic_on_oops"
echo 200 >"$K/proc/sys/kernel/keys/root_maxkeys"   # root_maxbytes missing: the kernel has no such key
# (./var and ./var/lib may appear: they hold the tool's own state directory)
listing() { (cd "$K" && find . -path ./var/lib/k3s-harden -prune -o ! -path ./var ! -path ./var/lib -printf '%m %u %p\n' | sort; find etc var proc -type f -exec sha256sum {} + 2>/dev/null | grep -v k3s-harden | sort); }
before=$(listing)
run "$bin" apply --live --no-restart --root "$K"
check "a kernel value that cannot be set: exit 2" [ "$rc" = 2 ]
check "names the key" grep -q 'the kernel has no kernel.keys.root_maxbytes' "$tmp/err"
check "files and the values already set are back as they were" [ "$(listing)" = "$before" ]

# --- role auto: decided from the host, and said
A2=$tmp/auto; mkdir -p "$A2/etc/rancher/k3s"
printf 'server: https://10.0.0.1:6443\ntoken: x\n' >"$A2/etc/rancher/k3s/config.yaml"
printf 'extends: cis\nrole: auto\n' >"$tmp/auto.yaml"
run "$bin" -p "$tmp/auto.yaml" diff --root "$A2"
check "role auto: a config that joins a server is an agent" grep -q 'role auto: agent' "$tmp/err"
check "role auto: an agent gets no server files" bash -c "! grep -q 'psa.yaml' '$tmp/out'"
mkdir -p "$A2/etc/systemd/system"; : >"$A2/etc/systemd/system/k3s.service"
run "$bin" -p "$tmp/auto.yaml" diff --root "$A2"
check "role auto: a k3s.service unit means a server" grep -q 'role auto: server (found the unit k3s.service)' "$tmp/err"
run "$bin" diff --root "$tmp/does-not-exist"
check "a --root that is not a directory: exit 2" [ "$rc" = 2 ]

echo "$pass passed, $fail failed$( [ $skip -gt 0 ] && echo ", $skip skipped")"
[ "$fail" = 0 ]
