#!/usr/bin/env bash
# Hostile trees under --root: hard links, FIFOs and devices where the tool
# reads host files or writes live kernel values. Nothing outside the root is
# written, nothing blocks, and a device is never opened.
# Usage: K3H_BIN=/abs/k3s-harden bash tests/hostile.sh
set -u
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
tmp=$(mktemp -d /tmp/k3h-hostile-XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
pass=0 fail=0 skip=0 n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; sed 's/^/#   /' "$tmp/err" | head -5; }
skip() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# every run is bounded: a FIFO must not block the tool
run() { timeout 30 "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

live_root() {
	rm -rf "$1"; mkdir -p "$1"
	"$bin" apply -q --root "$1" >/dev/null
	mkdir -p "$1/proc/sys/vm" "$1/proc/sys/kernel/keys"
	echo 1 >"$1/proc/sys/vm/overcommit_memory"; echo 0 >"$1/proc/sys/vm/panic_on_oom"
	echo 10 >"$1/proc/sys/kernel/panic"; echo 1 >"$1/proc/sys/kernel/panic_on_oops"
	echo 1000000 >"$1/proc/sys/kernel/keys/root_maxkeys"; echo 25000000 >"$1/proc/sys/kernel/keys/root_maxbytes"
}
gens() { ls "$1/var/lib/k3s-harden/backups" | wc -l; }

# --- a hard link at /proc/sys/KEY to a file outside the root
L=$tmp/link; live_root "$L"
echo 0 >"$tmp/outside"
rm "$L/proc/sys/kernel/panic"; ln "$tmp/outside" "$L/proc/sys/kernel/panic"
g=$(gens "$L")
run "$bin" apply --live --root "$L"
check "hard link under /proc/sys: refused (exit 2)" [ "$rc" = 2 ]
check "the message names the key and why" grep -q "refusing to set kernel parameter 'kernel.panic' live: its file under /proc/sys has more than one hard link" "$tmp/err"
check "the file outside the root is untouched" [ "$(cat "$tmp/outside")" = 0 ]
check "no generation was started" [ "$(gens "$L")" = "$g" ]

# --- a FIFO there: refused at once, not blocked on
F=$tmp/fifo; live_root "$F"
rm "$F/proc/sys/kernel/panic"; mkfifo "$F/proc/sys/kernel/panic"
g=$(gens "$F")
run "$bin" apply --live --root "$F"
check "FIFO under /proc/sys: refused without blocking (exit 2)" [ "$rc" = 2 ]
check "the message says it is not a regular file" grep -q "kernel.panic' live: its file under /proc/sys is not a regular file" "$tmp/err"
check "no generation was started" [ "$(gens "$F")" = "$g" ]

# --- a character device where a host file is read: looked at, never opened
D=$tmp/dev; mkdir -p "$D/etc/sysctl.d"
if ! mknod "$D/etc/sysctl.d/90-kubelet.conf" c 1 3 2>/dev/null; then
	skip "device host file" "mknod needs root"
elif ! command -v strace >/dev/null || ! strace -o /dev/null true 2>/dev/null; then
	skip "device host file" "strace not usable"
else
	# LeakSanitizer cannot run under ptrace
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 30 strace -f -e trace=open,openat,openat2 -o "$tmp/trace" "$bin" diff --root "$D" >"$tmp/out" 2>"$tmp/err"; rc=$?
	check "device at a host file: refused (exit 2)" [ "$rc" = 2 ]
	check "the message says it is not a regular file" grep -q "90-kubelet.conf.*not a regular file" "$tmp/err"
	check "the device was never opened" bash -c "! grep -q '90-kubelet.conf' '$tmp/trace'"
fi

echo "$pass passed, $fail failed$( [ $skip -gt 0 ] && echo ", $skip skipped")"
[ "$fail" = 0 ]
