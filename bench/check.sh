#!/usr/bin/env bash
# How long `k3s-harden check` takes: the whole process (exec, benchmark table,
# component facts, config files, manifests, verdicts, output) on a root
# hardened by `apply` with the cis profile, on an empty root, and with
# --output json; plus `benchmarks NAME`, which judges an empty root too.
#
#   make bench-check
#   K3H_BIN=$PWD/k3s-harden K3H_BUILD=$PWD/build bash bench/check.sh
#
# Environment: K3H_BIN, K3H_BUILD (bench/bench_exec), BENCH_SECONDS (default 1.5).
set -euo pipefail
BIN=${K3H_BIN:-$PWD/k3s-harden}
BUILD=${K3H_BUILD:-$PWD/build}
SECS=${BENCH_SECONDS:-1.5}
BX=$BUILD/bench/bench_exec
tmp=$(mktemp -d /tmp/k3h-bench-check-XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
cp "$BIN" "$tmp/k3s-harden"
B=$tmp/k3s-harden
mkdir -p "$tmp/hard" "$tmp/empty"
"$B" --root "$tmp/hard" -q apply --no-restart
# the exit status check gives on that root (1 while the profile lacks kube-node-lease)
set +e
"$B" --root "$tmp/hard" check >/dev/null 2>&1; hard_rc=$?
"$B" --root "$tmp/empty" check >/dev/null 2>&1; empty_rc=$?
set -e
echo "# k3s-harden check, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
line() { printf '%-34s %s\n' "$1" "$(sed -E 's/([a-z_]+_(med|min))=([0-9]+)\.?[0-9]*/\1=\3/g' <<<"$2" |
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] ~ /(cpu|wall)_(med|min)/) printf "%s=%.1fms ", kv[1], kv[2] / 1000 } }')"; }
line "check, hardened root (text)" "$("$BX" -s "$SECS" -x "$hard_rc" -- "$B" --root "$tmp/hard" check)"
line "check, hardened root (json)" "$("$BX" -s "$SECS" -x "$hard_rc" -- "$B" --root "$tmp/hard" check --output json)"
line "check, empty root" "$("$BX" -s "$SECS" -x "$empty_rc" -- "$B" --root "$tmp/empty" check)"
line "benchmarks k3s-cis-1.9" "$("$BX" -s "$SECS" -- "$B" benchmarks k3s-cis-1.9)"
