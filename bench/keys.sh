#!/usr/bin/env bash
# Big mappings: how long `diff` takes on a config.yaml of N keys, and
# `profile validate` on a profile of N keys, and how fast a document over the
# node cap (YN_MAX_NODES, src/ynode.h) is refused. See bench/README.md.
#
#   K3H_BIN=$PWD/k3s-harden bash bench/keys.sh
#
# Environment: KEYS_CONFIG (default "10000 20000 40000 200000"),
# KEYS_PROFILE (default "10000 100000").
set -euo pipefail
BIN=${K3H_BIN:-$PWD/k3s-harden}
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

secs() { # command...: wall seconds, exit status ignored
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>"$tmp/err" || true
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

R=$tmp/root; mkdir -p "$R/etc/rancher/k3s"
printf '%-28s %10s %9s\n' "case" "keys" "seconds"
for n in ${KEYS_CONFIG:-10000 20000 40000 200000}; do
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "opt-%d: value-%d\n", i, i }' \
		>"$R/etc/rancher/k3s/config.yaml"
	printf '%-28s %10s %9s\n' "diff, config.yaml" "$n" "$(secs "$BIN" --root "$R" diff)"
done
# 1.7M short keys fit the 16 MiB host-file cap; the node cap refuses them
awk 'BEGIN { for (i = 0; i < 1700000; i++) printf "%x:\n", i }' >"$R/etc/rancher/k3s/config.yaml"
printf '%-28s %10s %9s  %s\n' "diff, over the node cap" 1700000 "$(secs "$BIN" --root "$R" diff)" \
	"$(grep -o 'more than [0-9]* YAML nodes' "$tmp/err" | head -1)"
for n in ${KEYS_PROFILE:-10000 100000}; do
	# top-level keys (each an unknown-key error), then keys under k3s:
	awk -v n="$n" 'BEGIN { print "extends: cis"; for (i = 0; i < n; i++) printf "k%x:\n", i }' >"$tmp/flat.yaml"
	printf '%-28s %10s %9s\n' "profile validate, top level" "$n" "$(secs "$BIN" profile validate "$tmp/flat.yaml")"
	awk -v n="$n" 'BEGIN { print "extends: cis\nk3s:"; for (i = 0; i < n; i++) printf " k%x:\n", i }' >"$tmp/nested.yaml"
	printf '%-28s %10s %9s\n' "profile validate, under k3s" "$n" "$(secs "$BIN" profile validate "$tmp/nested.yaml")"
done
