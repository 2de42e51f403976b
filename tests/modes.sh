#!/usr/bin/env bash
# opt_in.file_modes from the command line (issue 11 item 8): on a fake root
# whose K3s certificates, keys and kubeconfigs are 0644, the default profile
# leaves them alone and check names the setting; the strict profile's diff
# shows git-style mode lines, apply tightens them (owner kept, nothing read,
# nothing created, no K3s restart for a mode change alone), diff is empty
# after it, check passes, and rollback puts the old modes and owners back; a
# moved data-dir is followed, symlinks are left alone, an agent tightens only
# its own files. Usage: K3H_BIN=/abs/k3s-harden bash tests/modes.sh
set -u
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
tmp=$(mktemp -d /tmp/k3h-modes-XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
pass=0 fail=0 n=0
V=(--k3s-version 1.27)          # k3s-cis-1.9: *.crt, *.key 600 (1.1.20, 1.1.21)

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
mode_of() { stat -c %a "$1"; }
owner_of() { stat -c %u:%g "$1"; }
# status of control ID in the last check's text output
status_of() { awk -v id="$1" '$1 == id {print $2; exit}' "$tmp/out"; }

# a server root: K3s's files below DD (default /var/lib/rancher/k3s), all 0644
fake_k3s() {
	local R=$1 dd=${2:-/var/lib/rancher/k3s} f
	mkdir -p "$R$dd/server/tls/etcd" "$R$dd/server/cred" "$R$dd/agent"
	for f in client-ca.crt server-ca.crt serving-kube-apiserver.crt client-ca.key server-ca.key service.key; do
		printf 'PEM %s\n' "$f" >"$R$dd/server/tls/$f"
	done
	printf 'PEM etcd\n' >"$R$dd/server/tls/etcd/peer-ca.crt"
	for f in admin scheduler controller; do printf 'apiVersion: v1\n' >"$R$dd/server/cred/$f.kubeconfig"; done
	printf 'apiVersion: v1\n' >"$R$dd/agent/kubelet.kubeconfig"
	printf 'PEM\n' >"$R$dd/agent/client-ca.crt"
	find "$R$dd" -type f -exec chmod 0644 {} +
}

R=$tmp/root; mkdir -p "$R"; fake_k3s "$R"
tls=$R/var/lib/rancher/k3s/server/tls
# a key owned by someone else: the tool never chowns a K3s file
chown 1234:5678 "$tls/server-ca.key"

# --- the default profile leaves the modes alone, and check says how to fix them
run "$bin" -p k3s-cis-1.9 --root "$R" "${V[@]}" apply --no-restart
check "default profile: apply exits 0" [ "$rc" = 0 ]
check "default profile: server-ca.crt stays 0644" [ "$(mode_of "$tls/server-ca.crt")" = 644 ]
check "default profile: client-ca.key stays 0644" [ "$(mode_of "$tls/client-ca.key")" = 644 ]
run "$bin" -p k3s-cis-1.9 --root "$R" "${V[@]}" check
check "default profile: check exits 1 (1.1.20 fails)" [ "$rc" = 1 ]
check "default profile: 1.1.20 FAIL" [ "$(status_of 1.1.20)" = FAIL ]
check "default profile: 1.1.21 FAIL" [ "$(status_of 1.1.21)" = FAIL ]
run "$bin" -p k3s-cis-1.9 --root "$R" "${V[@]}" --output json check
check "default profile: the remediation names opt_in.file_modes" \
	grep -q 'set opt_in.file_modes: true (on in the k3s-cis-\*-strict profiles) and apply' "$tmp/out"
run "$bin" -p k3s-cis-1.9 --root "$R" "${V[@]}" diff
check "default profile: diff after apply is empty (exit 0)" [ "$rc" = 0 ]

# --- the one key alone: mode changes only, shown as git mode lines
cat >"$tmp/modes.yaml" <<'EOF'
name: modes-only
extends: k3s-cis-1.9
opt_in:
  file_modes: true
EOF
run "$bin" -p "$tmp/modes.yaml" --root "$R" "${V[@]}" diff
check "file_modes: diff exits 1" [ "$rc" = 1 ]
check "file_modes: diff shows server-ca.crt's mode lines" grep -qzF \
	$'diff --git a/var/lib/rancher/k3s/server/tls/server-ca.crt b/var/lib/rancher/k3s/server/tls/server-ca.crt\nold mode 100644\nnew mode 100600\n' "$tmp/out"
check "file_modes: diff shows admin.kubeconfig (1.1.13)" grep -q '^diff --git a/var/lib/rancher/k3s/server/cred/admin.kubeconfig' "$tmp/out"
check "file_modes: no content hunk for a key" bash -c "! grep -q '^+++\|^---\|PEM' '$tmp/out'"
check "file_modes: tls/etcd is not named by 1.9's tls/*.crt" bash -c "! grep -q 'tls/etcd/' '$tmp/out'"
check "file_modes: the agent's kubeconfig on a server too (4.1.5, role both)" grep -q 'agent/kubelet.kubeconfig' "$tmp/out"
check "file_modes: K3s would not restart" bash -c "! grep -q 'K3s would restart' '$tmp/err'"
run "$bin" -p "$tmp/modes.yaml" --root "$R" "${V[@]}" --output json diff
check "file_modes: JSON kind mode, 0644 -> 0600, no restart" grep -q \
	'"path":"/var/lib/rancher/k3s/server/tls/server-ca.crt","kind":"mode","action":"update","mode":"0600","old_mode":"0644","needs_restart":false' "$tmp/out"
gen_before=$(ls "$R/var/lib/k3s-harden/backups" | tail -1)
run "$bin" -v -p "$tmp/modes.yaml" --root "$R" "${V[@]}" apply --no-restart
check "file_modes: apply exits 0" [ "$rc" = 0 ]
check "file_modes: apply lists the mode change" grep -q '^mode      /var/lib/rancher/k3s/server/tls/server-ca.crt 0644 -> 0600$' "$tmp/out"
check "file_modes: apply needs no K3s restart" bash -c "! grep -q 'restart pending' '$tmp/out'"
for f in client-ca.crt server-ca.crt serving-kube-apiserver.crt client-ca.key server-ca.key service.key; do
	check "file_modes: $f is 0600" [ "$(mode_of "$tls/$f")" = 600 ]
done
check "file_modes: admin.kubeconfig is 0600" [ "$(mode_of "$R/var/lib/rancher/k3s/server/cred/admin.kubeconfig")" = 600 ]
check "file_modes: agent/client-ca.crt is 0600 (4.1.7)" [ "$(mode_of "$R/var/lib/rancher/k3s/agent/client-ca.crt")" = 600 ]
check "file_modes: tls/etcd/peer-ca.crt untouched" [ "$(mode_of "$tls/etcd/peer-ca.crt")" = 644 ]
check "file_modes: the owner of server-ca.key is kept" [ "$(owner_of "$tls/server-ca.key")" = 1234:5678 ]
check "file_modes: the content is kept" [ "$(cat "$tls/client-ca.key")" = "PEM client-ca.key" ]
check "file_modes: a missing file is not created (kubeproxy.kubeconfig)" [ ! -e "$R/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig" ]
gen=$(ls "$R/var/lib/k3s-harden/backups" | tail -1)
check "file_modes: a new generation" [ "$gen" != "$gen_before" ]
check "file_modes: the generation records the old mode and owner (P entry)" \
	grep -qx 'P 1 0644 1234 5678 - - /var/lib/rancher/k3s/server/tls/server-ca.key' "$R/var/lib/k3s-harden/backups/$gen/manifest"
check "file_modes: no backup blob of a key" bash -c "! grep -rq 'PEM client-ca.key' '$R/var/lib/k3s-harden/backups/$gen'"
run "$bin" -p "$tmp/modes.yaml" --root "$R" "${V[@]}" diff
check "file_modes: diff after apply is empty (exit 0)" [ "$rc" = 0 ]
check "file_modes: diff after apply prints nothing" [ ! -s "$tmp/out" ]
run "$bin" -p "$tmp/modes.yaml" --root "$R" "${V[@]}" check
# the key owned by 1234:5678 fails 1.1.19 (ownership): the tool does not chown
fails=$(awk '$2 == "FAIL" && $1 ~ /^[0-9]/ {print $1}' "$tmp/out")
check "file_modes: check exits 1" [ "$rc" = 1 ]
check "file_modes: check fails only 1.1.19, the owner it leaves alone" [ "$fails" = 1.1.19 ]
for id in 1.1.13 1.1.20 1.1.21; do check "file_modes: $id PASS" [ "$(status_of "$id")" = PASS ]; done
run "$bin" -p "$tmp/modes.yaml" --root "$R" "${V[@]}" --output json check
check "file_modes: check names opt_in.file_modes as the setting of 1.1.20" grep -q \
	'"id":"1.1.20","key":"file.pki_cert_mode"[^}]*"setting":"opt_in.file_modes"' "$tmp/out"

# --- never loosen: a file already stricter stays as it is
chmod 0400 "$tls/server-ca.crt"; chmod 0640 "$tls/serving-kube-apiserver.crt"
run "$bin" -p "$tmp/modes.yaml" --root "$R" "${V[@]}" apply --no-restart
check "never loosen: apply exits 0" [ "$rc" = 0 ]
check "never loosen: 0400 stays 0400" [ "$(mode_of "$tls/server-ca.crt")" = 400 ]
check "never loosen: 0640 becomes 0600" [ "$(mode_of "$tls/serving-kube-apiserver.crt")" = 600 ]

# --- rollback puts the modes and owners back
run "$bin" -p "$tmp/modes.yaml" --root "$R" "${V[@]}" rollback "$gen" --no-restart
check "rollback: exits 0" [ "$rc" = 0 ]
for f in client-ca.crt client-ca.key server-ca.key service.key; do
	check "rollback: $f is 0644 again" [ "$(mode_of "$tls/$f")" = 644 ]
done
check "rollback: admin.kubeconfig is 0644 again" [ "$(mode_of "$R/var/lib/rancher/k3s/server/cred/admin.kubeconfig")" = 644 ]
check "rollback: server-ca.key keeps its owner" [ "$(owner_of "$tls/server-ca.key")" = 1234:5678 ]
check "rollback: the content is kept" [ "$(cat "$tls/client-ca.key")" = "PEM client-ca.key" ]

# --- strict turns it on; a moved data-dir is followed
R2=$tmp/moved; mkdir -p "$R2/etc/rancher/k3s"; fake_k3s "$R2" /srv/k3s; fake_k3s "$R2"
printf 'data-dir: /srv/k3s\n' >"$R2/etc/rancher/k3s/config.yaml"
run "$bin" -p k3s-cis-1.9-strict --root "$R2" "${V[@]}" apply --no-restart
check "strict, moved data-dir: apply exits 0" [ "$rc" = 0 ]
check "strict, moved data-dir: /srv/k3s/server/tls/server-ca.key is 0600" [ "$(mode_of "$R2/srv/k3s/server/tls/server-ca.key")" = 600 ]
check "strict, moved data-dir: /srv/k3s/agent/kubelet.kubeconfig is 0600" [ "$(mode_of "$R2/srv/k3s/agent/kubelet.kubeconfig")" = 600 ]
check "strict, moved data-dir: the default dir's files are not K3s's: untouched" \
	[ "$(mode_of "$R2/var/lib/rancher/k3s/server/tls/server-ca.key")" = 644 ]
run "$bin" -p k3s-cis-1.9-strict --root "$R2" "${V[@]}" check
check "strict, moved data-dir: 1.1.20 PASS" [ "$(status_of 1.1.20)" = PASS ]
check "strict, moved data-dir: 1.1.21 PASS" [ "$(status_of 1.1.21)" = PASS ]

# --- a symbolic link where a certificate is: not followed, not changed
R3=$tmp/link; mkdir -p "$R3"; fake_k3s "$R3"
printf 'secret\n' >"$R3/outside"; chmod 0644 "$R3/outside"
ln -s ../../../../../../outside "$R3/var/lib/rancher/k3s/server/tls/link.crt"
run "$bin" -p "$tmp/modes.yaml" --root "$R3" "${V[@]}" apply --no-restart
check "symlink: apply exits 0" [ "$rc" = 0 ]
check "symlink: its target keeps 0644" [ "$(mode_of "$R3/outside")" = 644 ]
check "symlink: the real files are tightened" [ "$(mode_of "$R3/var/lib/rancher/k3s/server/tls/server-ca.crt")" = 600 ]

# --- a hard link: a chmod would change every name of it; left alone, with a warning
R6=$tmp/hardlink; mkdir -p "$R6/etc"; fake_k3s "$R6"
printf 'root:x:0:\n' >"$R6/etc/shadow"; chmod 0640 "$R6/etc/shadow"
ln "$R6/etc/shadow" "$R6/var/lib/rancher/k3s/server/tls/planted.key"
run "$bin" -p "$tmp/modes.yaml" --root "$R6" "${V[@]}" apply --no-restart
check "hard link: apply exits 0" [ "$rc" = 0 ]
check "hard link: the other name keeps 0640" [ "$(mode_of "$R6/etc/shadow")" = 640 ]
check "hard link: a warning names it" grep -q "planted.key' has 2 hard links: its mode 0640 is left as it is" "$tmp/err"
check "hard link: the other keys are tightened" [ "$(mode_of "$R6/var/lib/rancher/k3s/server/tls/server-ca.key")" = 600 ]

# --- an agent tightens its own files only
R4=$tmp/agent; mkdir -p "$R4/etc/systemd/system"; fake_k3s "$R4"
printf '[Service]\nExecStart=/usr/local/bin/k3s agent\n' >"$R4/etc/systemd/system/k3s-agent.service"
run "$bin" -p "$tmp/modes.yaml" --root "$R4" "${V[@]}" apply --no-restart
check "agent: apply exits 0" [ "$rc" = 0 ]
check "agent: agent/kubelet.kubeconfig is 0600" [ "$(mode_of "$R4/var/lib/rancher/k3s/agent/kubelet.kubeconfig")" = 600 ]
check "agent: server/tls is a server's: untouched" [ "$(mode_of "$R4/var/lib/rancher/k3s/server/tls/server-ca.key")" = 644 ]

# --- bad value: FILE:LINE:COL, exit 2, nothing written
printf 'extends: k3s-cis-1.9\nopt_in:\n  file_modes: sometimes\n' >"$tmp/bad.yaml"
R5=$tmp/bad; mkdir -p "$R5"; fake_k3s "$R5"
run "$bin" -p "$tmp/bad.yaml" --root "$R5" "${V[@]}" apply --no-restart
check "bad value: exit 2" [ "$rc" = 2 ]
check "bad value: FILE:LINE:COL names opt_in.file_modes" grep -q "bad.yaml:3:15: opt_in.file_modes: expected true or false" "$tmp/err"
check "bad value: nothing written" [ ! -e "$R5/var/lib/k3s-harden/backups" ]

echo "# $pass passed, $fail failed"
[ "$fail" = 0 ]
