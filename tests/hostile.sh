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

# --- the profile file: a FIFO, a device or a symlink is refused by its type
mkfifo "$tmp/fifo.yaml"
run "$bin" profile validate "$tmp/fifo.yaml"
check "profile that is a FIFO: refused without blocking (exit 2)" [ "$rc" = 2 ]
check "the message says it is a FIFO" grep -q "fifo.yaml: profile is not a regular file but a FIFO; refusing to open it" "$tmp/err"
run "$bin" profile validate /dev/null
check "profile that is a character device: refused (exit 2)" [ "$rc" = 2 ]
check "the message says it is a device" grep -q "/dev/null: profile is not a regular file but a character device; refusing to open it" "$tmp/err"
printf 'extends: cis\n' >"$tmp/real.yaml"
ln -s "$tmp/real.yaml" "$tmp/link.yaml"
run "$bin" profile validate "$tmp/link.yaml"
check "profile that is a symbolic link: refused (exit 2)" [ "$rc" = 2 ]
check "the message says it is a symbolic link" grep -q "link.yaml: refusing to read profile through a symbolic link" "$tmp/err"
printf 'extends: %s\n' "$tmp/fifo.yaml" >"$tmp/child.yaml"
run "$bin" profile validate "$tmp/child.yaml"
check "extends: of a FIFO: refused without blocking (exit 2)" [ "$rc" = 2 ]
check "the message names the extends: line and the FIFO" grep -q "child.yaml:1:.*extends: profile '.*fifo.yaml' is not a regular file but a FIFO" "$tmp/err"

# --- K3s's data dir moved to another disk by a symbolic link: refused, and
# the message names the link and the data-dir setting that avoids it
D=$tmp/datalink; rm -rf "$D"; mkdir -p "$D/etc/rancher/k3s" "$D/var/lib/rancher" "$D/mnt/big/k3s"
printf 'token: x\n' >"$D/etc/rancher/k3s/config.yaml"
ln -s ../../../mnt/big/k3s "$D/var/lib/rancher/k3s"
( cd "$D" && find . -printf '%p %y %m\n' | sort ) >"$tmp/before"
run "$bin" diff --root "$D" --role server
check "data dir that is a symbolic link: refused (exit 2)" [ "$rc" = 2 ]
check "... the message names the link, where it points, and data-dir" grep -q "lies below the symbolic link '/var/lib/rancher/k3s' (-> '../../../mnt/big/k3s'), which holds K3s's data dir /var/lib/rancher/k3s; k3s-harden does not write through links: set 'data-dir: /mnt/big/k3s' in /etc/rancher/k3s/config.yaml" "$tmp/err"
run "$bin" apply --root "$D" --role server
check "... apply refused too (exit 2)" [ "$rc" = 2 ]
check "... and nothing was written" bash -c "cd '$D' && find . -printf '%p %y %m\\n' | sort | cmp -s - '$tmp/before'"
printf 'token: x\ndata-dir: /mnt/big/k3s\n' >"$D/etc/rancher/k3s/config.yaml"
run "$bin" apply --root "$D" --role server
check "... with the data-dir the message names, apply works" [ "$rc" = 0 ]
check "... and writes psa.yaml in the real directory" [ -f "$D/mnt/big/k3s/server/psa.yaml" ]
L2=$tmp/etclink; rm -rf "$L2"; mkdir -p "$L2/srv/k3s" "$L2/etc/rancher"
ln -s /srv/k3s "$L2/etc/rancher/k3s"
run "$bin" diff --root "$L2" --role server
check "a link elsewhere (/etc/rancher/k3s): refused (exit 2), named, no data-dir hint" \
	bash -c "[ $rc = 2 ] && grep -q \"lies below the symbolic link '/etc/rancher/k3s' (-> '/srv/k3s'); k3s-harden does not write through links: replace the link\" '$tmp/err'"

# --- the journal and a generation's manifest: read only when regular
J=$tmp/journal; rm -rf "$J"; mkdir -p "$J"
"$bin" apply -q --root "$J" >/dev/null 2>&1
mkfifo "$J/var/lib/k3s-harden/journal"
run "$bin" apply --root "$J"
check "a FIFO at the journal: refused without blocking (exit 2)" [ "$rc" = 2 ]
check "the message names the journal and its type" grep -q "cannot read the journal /var/lib/k3s-harden/journal: it is not a regular file" "$tmp/err"
rm "$J/var/lib/k3s-harden/journal"
g=$(ls "$J/var/lib/k3s-harden/backups" | head -1)
printf 'k3s-harden-journal 1\nid %s\n' "$g" >"$J/var/lib/k3s-harden/journal"
# a journal beside a committed record is finished without reading the manifest: not committed
printf prepared >"$J/var/lib/k3s-harden/backups/$g/state"
rm "$J/var/lib/k3s-harden/backups/$g/manifest"; mkfifo "$J/var/lib/k3s-harden/backups/$g/manifest"
run "$bin" apply --root "$J"
check "a FIFO at the manifest of the generation to undo: refused without blocking (exit 2)" [ "$rc" = 2 ]
check "the message names the generation and the type" grep -q "cannot read generation $g to undo the interrupted transaction: it is not a regular file" "$tmp/err"
rm "$J/var/lib/k3s-harden/backups/$g/manifest" "$J/var/lib/k3s-harden/journal"
if mknod "$J/var/lib/k3s-harden/journal" c 1 3 2>/dev/null && command -v strace >/dev/null &&
	strace -o /dev/null true 2>/dev/null; then
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 30 strace -f -e trace=open,openat,openat2 -o "$tmp/trace" "$bin" apply --root "$J" >"$tmp/out" 2>"$tmp/err"; rc=$?
	check "a device at the journal: refused (exit 2)" [ "$rc" = 2 ]
	check "the device was never opened" bash -c "! grep -q '\"journal\"' '$tmp/trace'"
else
	skip "device at the journal" "mknod or strace not usable"
fi

# --- a profile of 100,000 keys is checked in full: every unknown key and
# the one 'key'/'key+' pair reported (the duplicate check looks keys up
# through the map's index; a timeout guards against a hang, nothing is timed)
{
	echo 'extends: cis'
	i=1
	while [ $i -le 100000 ]; do echo "k$i:"; i=$((i + 1)); done
	echo 'k50000+: [x]'
} >"$tmp/big.yaml"
timeout 120 "$bin" profile validate "$tmp/big.yaml" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "100,000-key profile: validated to the end, refused (exit 2)" [ "$rc" = 2 ]
check "... the key+ beside key is a duplicate, naming the first line" grep -q "^$tmp/big.yaml:100002:1: k50000: duplicate key (also set on line 50001)" "$tmp/err"
check "... every one of the 100,000 unknown keys is reported" [ "$(grep -c ': unknown key' "$tmp/err")" = 100000 ]

echo "$pass passed, $fail failed$( [ $skip -gt 0 ] && echo ", $skip skipped")"
[ "$fail" = 0 ]
