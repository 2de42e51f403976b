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
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$tmp/out"; }

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

echo "# hosts.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
