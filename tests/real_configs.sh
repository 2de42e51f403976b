#!/usr/bin/env bash
# Every config.yaml in tests/real-configs (with its NN-name.d/ drop-ins, if
# any) goes through diff -> apply -> diff (nothing left) -> rollback (bytes,
# mode and owner back), and the effective configuration, computed by an
# independent reader (k3s_effective.py, PyYAML), keeps every user option and
# entry and holds every hardening value once. The role detected is the one
# real-configs/roles.txt names (NAME.units/ are the host's K3s units); an
# agent gets no server file, a server its manifests under the effective
# data-dir.
set -u
bin=${K3H_BIN:?set K3H_BIN}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {
	local what=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok - $what"
	else fail=$((fail + 1)); echo "not ok - $what"; fi
}
tree() { (cd "$1" && find . -path ./var/lib/k3s-harden -prune -o -printf '%p %m %U:%G %s\n' | sort; \
	find . -path ./var/lib/k3s-harden -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum); }

for cfg in "$here"/real-configs/*.yaml; do
	name=$(basename "$cfg" .yaml)
	R=$tmp/$name; B=$tmp/$name.before; F=$tmp/$name.fresh
	# var/lib holds the tool's own state (var/lib/k3s-harden), which stays
	mkdir -p "$R/etc/rancher/k3s" "$R/var/lib"
	cp "$cfg" "$R/etc/rancher/k3s/config.yaml"
	chmod 0640 "$R/etc/rancher/k3s/config.yaml"
	if [ -d "$here/real-configs/$name.d" ]; then
		cp -r "$here/real-configs/$name.d" "$R/etc/rancher/k3s/config.yaml.d"
	fi
	if [ -d "$here/real-configs/$name.units" ]; then
		mkdir -p "$R/etc/systemd/system"
		cp "$here/real-configs/$name.units"/* "$R/etc/systemd/system/"
	fi
	role=$(awk -v n="$name" '$1 == n { print $2 }' "$here/real-configs/roles.txt")
	cp -a "$R" "$B"
	tree "$R" >"$tmp/tree-before"
	"$bin" --root "$R" diff >"$tmp/diff" 2>"$tmp/err"; rc=$?
	check "$name: diff shows a change" [ "$rc" = 1 ]
	check "$name: role ${role:-?} detected" grep -q "role auto: ${role:-?} " "$tmp/err"
	"$bin" --root "$R" apply -q >"$tmp/out" 2>"$tmp/err"; rc=$?
	check "$name: apply" [ "$rc" = 0 ]
	[ "$rc" = 0 ] || sed 's/^/# /' "$tmp/err"
	"$bin" --root "$R" diff -q >/dev/null 2>&1; rc=$?
	check "$name: diff after apply is empty" [ "$rc" = 0 ]
	# the data dir K3s uses, by the independent reader
	dd=$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import k3s_effective as k
e = k.effective(sys.argv[2]); print((e.get("data-dir") or e.get("d") or ["/var/lib/rancher/k3s"])[-1].rstrip("/"))' "$here" "$B")
	server_files=$(cd "$R" && find . -path ./var/lib/k3s-harden -prune -o -type f \( -name psa.yaml -o -name audit.yaml -o -path '*/manifests/*' \) -print)
	if [ "$role" = agent ]; then
		check "$name: an agent gets no server file" [ -z "$server_files" ]
		check "$name: ... and no server-only key" bash -c "! grep -Eq '^(secrets-encryption|kube-apiserver-arg|kube-controller-manager-arg|kube-scheduler-arg)' '$R/etc/rancher/k3s/config.yaml'"
	else
		check "$name: manifests under the effective data dir $dd" [ -f "$R$dd/server/manifests/k3s-harden-serviceaccounts.yaml" ]
		check "$name: psa.yaml under it, as config.yaml says" grep -rq "admission-control-config-file=$dd/server/psa.yaml" "$R/etc/rancher/k3s/"
		check "$name: ... and it is there" [ -f "$R$dd/server/psa.yaml" ]
		if [ "$dd" != /var/lib/rancher/k3s ]; then
			check "$name: nothing under the default data dir" [ ! -e "$R/var/lib/rancher/k3s" ]
		fi
	fi
	# the configuration the profile renders for an empty host, for the same role
	mkdir -p "$F"
	"$bin" --root "$R" render --out "$F" >/dev/null 2>&1
	check "$name: effective configuration keeps the user's and holds ours" \
		/usr/bin/python3 "$here/k3s_effective.py" check "$F" "$B" "$R"
	# a scratch root holds no secrets: turning secrets-encryption off again is safe
	"$bin" --root "$R" rollback --force -q >/dev/null 2>"$tmp/err"; rc=$?
	check "$name: rollback" [ "$rc" = 0 ]
	tree "$R" >"$tmp/tree-after"
	check "$name: rollback restores bytes, modes and owners" cmp -s "$tmp/tree-before" "$tmp/tree-after"
	cmp -s "$tmp/tree-before" "$tmp/tree-after" || diff "$tmp/tree-before" "$tmp/tree-after" | head -5 | sed 's/^/# /'
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
