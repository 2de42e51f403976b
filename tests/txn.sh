#!/usr/bin/env bash
# Transaction tests for apply, rollback and history: the real binary against
# temporary roots. A no-op writes nothing, the lock waits a bounded time,
# backups come first, failures restore the host (exit 3) or say what is left
# (exit 4), a process killed at any system call is undone by the next run
# (strace fault injection), a full disk leaves the host as it was (tmpfs in a
# private mount namespace), rollback returns every byte, mode and owner,
# retention keeps N generations, and planted symlinks are refused.
#
# Usage: K3H_BIN=/abs/k3s-harden bash tests/txn.sh
# Needs strace and util-linux (flock, unshare); python3 for the JSON checks.
# Parts whose tools are missing print "# SKIP" lines, never a pass.
set -u
# LeakSanitizer cannot run under ptrace: runs of a sanitizer build under
# strace keep ASan and UBSan but skip the leak check.
strace() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" command strace "$@"; }
export LC_ALL=C
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
tmp=$(mktemp -d /tmp/k3h-txn-XXXXXX)
# a private copy: a rebuild of the tree while the tests run must not change it
cp "$bin" "$tmp/k3s-harden" && bin=$tmp/k3s-harden
bg=()
cleanup() {
	local p
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export K3S_HARDEN_LOCK_TIMEOUT=10
start=$(date +%s)
pass=0 fail=0 skip=0 n=0
if [ "$(id -u)" != 0 ]; then
	# the tool chowns what it writes to root, and the tests plant other owners
	echo "# SKIP everything: these tests need root (chown)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | head -20 | sed 's/^/#   /'; done
}
skip_t() { skip=$((skip + 1)); echo "# SKIP $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# cond 'SHELL CONDITION': for compound conditions in check/expect
cond() { eval "$1"; }
# expect NAME DETAIL CMD...: like check, with a detail line on failure
expect() { local name=$1 detail=$2; shift 2; if "$@"; then ok "$name"; else not_ok "$name" "$detail"; fi; }

# run CMD...: sets rc, out, err
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

have() { command -v "$1" >/dev/null 2>&1; }
have_py=0
if have python3 && python3 -c 'import json' 2>/dev/null; then have_py=1; fi

# ---- host trees ----

# A realistic host before hardening: the user's K3s config (token, tls-san,
# node-label, an audit-log-path that hardening replaces), an existing
# sysctl.d, /var/lib but no /var/lib/rancher yet.
mkroot() {
	mkdir -p "$1/etc/rancher/k3s" "$1/etc/sysctl.d" "$1/var/lib"
	cat >"$1/etc/rancher/k3s/config.yaml" <<-'EOF'
	# cluster-1, managed by hand
	token: "K10d6f0e7a1b2c3::server:5up3r53cr3t"
	tls-san:
	  - k3s.example.com
	  - 10.0.0.10
	node-label:
	  - "site=lab"
	  - "rack=r1"
	kube-apiserver-arg:
	  - "audit-log-path=/var/log/k3s-audit.log"
	  - "anonymous-auth=false"
	write-kubeconfig-mode: "0600"
	EOF
	chmod 0644 "$1/etc/rancher/k3s/config.yaml"
	echo "net.ipv4.ip_forward = 1" >"$1/etc/sysctl.d/99-user.conf"
	chmod 0644 "$1/etc/sysctl.d/99-user.conf"
	chmod 0755 "$1" "$1/etc" "$1/etc/rancher" "$1/etc/rancher/k3s" "$1/etc/sysctl.d" "$1/var" "$1/var/lib"
}

# Bytes aside, what a tree is: type, mode, owner, size, link target of every
# entry except our own state directory (no directory sizes: they depend on
# the file system).
sig() {
	find "$1" -path "$1/var/lib/k3s-harden" -prune -o -type d -printf '%P|d|%m|%u|%g\n' \
		-o -printf '%P|%y|%m|%u|%g|%s|%l\n' | sort
}
# Everything, state directory and times included (no atime).
tsig() {
	find "$1" -printf '%P|%y|%m|%u|%g|%s|%T@|%C@\n' | sort
}
# same REF DIR: byte-identical (state directory aside) with the same modes and owners
same() {
	diff -r --no-dereference --exclude=k3s-harden "$1" "$2" >/dev/null 2>&1 &&
		[ "$(sig "$1")" = "$(sig "$2")" ]
}
# what differs, for a failure message
whatdiff() {
	{
		diff -r --no-dereference --exclude=k3s-harden "$1" "$2" 2>&1 | head -12
		diff <(sig "$1") <(sig "$2") | grep '^[<>]' | head -8
	} | sed "s#$tmp#TMP#g"
}
temps() { find "$1" -name '.*.k3s-harden.tmp' 2>/dev/null | sed "s#$tmp#TMP#g" | head -5; }
gens() { ls "$1/var/lib/k3s-harden/backups" 2>/dev/null | grep -v '\.tmp$'; }
ngens() { gens "$1" | grep -c .; }
newest() { gens "$1" | tail -1; }
state_of() { cat "$1/var/lib/k3s-harden/backups/$2/state" 2>/dev/null; }

json_valid() { python3 -m json.tool "$1" >/dev/null 2>&1; }
# jq-less field access: jget FILE PYTHON-EXPRESSION-ON-d
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }

P=$tmp/pristine
mkroot "$P"
# the hardened reference: one apply on a fresh copy
H=$tmp/hardened
cp -a "$P" "$H"
run "$bin" apply --root "$H"
if [ "$rc" != 0 ]; then
	not_ok "reference apply on a realistic root exits 0 (got $rc)" "$err"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok "reference apply on a realistic root exits 0"

# ======================================================================
# apply: backups, journal, modes
# ======================================================================
sd=$H/var/lib/k3s-harden
g1=$(newest "$H")
check "apply says which generation it made" grep -q "generation $g1" <<<"$out"
check "the state directory is 0700 root" [ "$(stat -c '%a %U %G' "$sd" 2>/dev/null)" = "700 root root" ]
check "backups/ is 0700 root" [ "$(stat -c '%a %U %G' "$sd/backups" 2>/dev/null)" = "700 root root" ]
check "backups/$g1 is 0700 root" [ "$(stat -c '%a %U %G' "$sd/backups/$g1" 2>/dev/null)" = "700 root root" ]
loose=$(find "$sd/backups" -type f \( ! -perm 0600 -o ! -user root -o ! -group root \) 2>/dev/null)
expect "every file in the generation is 0600 root:root" "$loose" [ -z "$loose" ] 
check "the lock file is there" [ -f "$sd/lock" ]
check "no journal is left after a commit" [ ! -e "$sd/journal" ]
blob=$(awk '$NF == "/etc/rancher/k3s/config.yaml" { print $6 }' "$sd/backups/$g1/manifest" 2>/dev/null)
check "the backup of config.yaml (it holds the token) is byte-identical to the original" \
	cmp -s "$P/etc/rancher/k3s/config.yaml" "$sd/backups/$g1/$blob"
check "the backup of config.yaml is 0600 root" [ "$(stat -c '%a %U' "$sd/backups/$g1/$blob" 2>/dev/null)" = "600 root" ]
check "the audit log directory was created 0700" [ "$(stat -c %a "$H/var/lib/rancher/k3s/server/logs" 2>/dev/null)" = 700 ]
check "missing parents were created 0755 root" \
	[ "$(stat -c '%a %U' "$H/var/lib/rancher" "$H/var/lib/rancher/k3s" "$H/var/lib/rancher/k3s/server" 2>/dev/null | sort -u)" = "755 root" ]
check "config.yaml was tightened to 0600 root" [ "$(stat -c '%a %U' "$H/etc/rancher/k3s/config.yaml")" = "600 root" ]
check "the user's keys are still in config.yaml" \
	grep -q 'token: "K10d6f0e7a1b2c3::server:5up3r53cr3t"' "$H/etc/rancher/k3s/config.yaml"
check "the old audit-log-path was replaced" bash -c "! grep -q /var/log/k3s-audit.log '$H/etc/rancher/k3s/config.yaml'"
t=$(temps "$H")
expect "no temp files beside the targets" "$t" [ -z "$t" ]
run "$bin" diff --root "$H"
check "diff after apply exits 0" [ "$rc" = 0 ]

# ======================================================================
# a no-op writes nothing
# ======================================================================
N=$tmp/noop
cp -a "$H" "$N"
before=$(tsig "$N")
sleep 0.02
run "$bin" apply --root "$N"
check "apply with nothing to do exits 0" [ "$rc" = 0 ]
check "apply with nothing to do says so" grep -qi "nothing to do" <<<"$out$err"
after=$(tsig "$N")
expect "apply with nothing to do changes no mtime, ctime, mode, owner or size anywhere (state dir included)" \
	"$(diff <(echo "$before") <(echo "$after") | head -10)" [ "$before" = "$after" ]
check "apply with nothing to do makes no generation" [ "$(ngens "$N")" = 1 ]
run "$bin" apply --root "$N" --output json
check "a no-op apply --output json exits 0" [ "$rc" = 0 ]
if [ "$have_py" = 1 ]; then
	echo "$out" >"$tmp/noop.json"
	check "a no-op apply --output json is valid JSON" json_valid "$tmp/noop.json"
	check "a no-op apply --output json says changed: false" [ "$(jget "$tmp/noop.json" 'd["changed"]')" = False ]
else
	skip_t "no-op JSON validity: python3 is missing"
fi
check "a no-op apply --output json changes nothing" [ "$(tsig "$N")" = "$before" ]

# a host that is already hardened but was never managed: no state directory appears
M=$tmp/unmanaged
cp -a "$H" "$M"
rm -rf "$M/var/lib/k3s-harden"
before=$(tsig "$M")
run "$bin" apply --root "$M"
check "apply on an already hardened, unmanaged host exits 0" [ "$rc" = 0 ]
check "... and does not create ROOT/var/lib/k3s-harden" [ ! -e "$M/var/lib/k3s-harden" ]
check "... and changes no time, mode or owner" [ "$(tsig "$M")" = "$before" ]

# ======================================================================
# JSON and history
# ======================================================================
J=$tmp/json
cp -a "$P" "$J"
run "$bin" apply --root "$J" --output json
echo "$out" >"$tmp/apply.json"
check "apply --output json exits 0" [ "$rc" = 0 ]
if [ "$have_py" = 1 ]; then
	check "apply --output json is valid JSON" json_valid "$tmp/apply.json"
	check "apply JSON: changed true, result ok, generation 000001" \
		[ "$(jget "$tmp/apply.json" '(d["changed"], d["result"], d["generation"])')" = "(True, 'ok', '000001')" ]
	check "apply JSON: every entry has path, action, mode; files old/new sha256 too" \
		[ "$(jget "$tmp/apply.json" 'all(set(["path","action","old_sha256","new_sha256","mode"]) <= set(f) for f in d["files"] if f.get("kind", "file") == "file") and all(set(["path","action","mode"]) <= set(f) for f in d["files"]) and len(d["files"]) > 0')" = True ]
	check "apply JSON: config.yaml is an update" \
		[ "$(jget "$tmp/apply.json" '[f["action"] for f in d["files"] if f["path"] == "/etc/rancher/k3s/config.yaml"]')" = "['update']" ]
else
	skip_t "apply JSON validity: python3 is missing"
fi
# more generations: a changed profile, a rollback
printf 'extends: cis\nname: json2\naudit:\n  max_age: 45\n' >"$tmp/json2.yaml"
"$bin" apply -p "$tmp/json2.yaml" --root "$J" >/dev/null 2>&1
run "$bin" rollback --root "$J" --output json
echo "$out" >"$tmp/rollback.json"
check "rollback --output json exits 0" [ "$rc" = 0 ]
if [ "$have_py" = 1 ]; then
	check "rollback --output json is valid JSON" json_valid "$tmp/rollback.json"
	check "rollback JSON: changed true, result ok, generation 000003" \
		[ "$(jget "$tmp/rollback.json" '(d["changed"], d["result"], d["generation"])')" = "(True, 'ok', '000003')" ]
else
	skip_t "rollback JSON validity: python3 is missing"
fi
run "$bin" history --root "$J"
check "history exits 0" [ "$rc" = 0 ]
ids=$(awk 'NR > 1 { print $1 }' <<<"$out" | tr '\n' ' ')
expect "history lists generations newest first" "got: $ids" [ "$ids" = "000003 000002 000001 " ]
check "history has the columns id, time, profile, kind, K3s, benchmark, files, result" \
	grep -qE '^ID +TIME +PROFILE +KIND +K3S +BENCHMARK +FILES +(FAIL +)?RESULT' <<<"$out"
# (offline with no version: the one the profile hardened for, the newest it
# covers, as the "K3s version unknown" note says)
check "history line: id, ISO time, profile, kind, K3s hardened for, benchmark, files, result" \
	grep -qE '^000002 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +json2 +apply +[0-9]+\.[0-9]+ +k3s-cis-[0-9.]+ +[0-9]+ +([0-9-]+ +)?committed' <<<"$out"
run "$bin" history --root "$J" --output json
echo "$out" >"$tmp/history.json"
check "history --output json exits 0" [ "$rc" = 0 ]
if [ "$have_py" = 1 ]; then
	check "history --output json is valid JSON" json_valid "$tmp/history.json"
	check "history JSON: ids newest first" \
		[ "$(jget "$tmp/history.json" '[g["id"] for g in d["generations"]]')" = "['000003', '000002', '000001']" ]
	check "history JSON: each generation has id, time, profile, files, result" \
		[ "$(jget "$tmp/history.json" 'all(set(["id","time","profile","files","result"]) <= set(g) for g in d["generations"])')" = True ]
	check "history JSON: profiles and kinds recorded" \
		[ "$(jget "$tmp/history.json" '[(g["profile"] if not g["profile"].startswith("k3s-cis-") else "k3s-cis-*", g["kind"]) for g in d["generations"]][1:]')" = "[('json2', 'apply'), ('k3s-cis-*', 'apply')]" ]
else
	skip_t "history JSON validity: python3 is missing"
fi
E=$tmp/empty
mkdir -p "$E"
run "$bin" history --root "$E" --output json
if [ "$have_py" = 1 ]; then
	echo "$out" >"$tmp/h0.json"
	check "history --output json with no generations is valid JSON with an empty list" \
		[ "$(jget "$tmp/h0.json" 'd["generations"]')" = "[]" ]
fi
check "history on a root without state creates nothing" [ -z "$(ls -A "$E")" ]

# ======================================================================
# the lock
# ======================================================================
if have flock; then
	L=$tmp/lock
	cp -a "$H" "$L"
	rm -f "$L/etc/sysctl.d/90-kubelet.conf"         # something to do
	Lsig=$(sig "$L")
	lockf=$L/var/lib/k3s-harden/lock
	( flock 9 && exec sleep 60 ) 9>>"$lockf" &
	holder=$!
	bg+=("$holder")
	for _ in $(seq 50); do flock -n "$lockf" true 2>/dev/null || break; sleep 0.05; done
	t0=$(date +%s%N)
	K3S_HARDEN_LOCK_TIMEOUT=0.5 "$bin" apply --root "$L" >"$tmp/out" 2>"$tmp/err"
	rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	expect "a second apply gives up on a held lock with exit 2" "rc=$rc $(cat "$tmp/err")" [ "$rc" = 2 ]
	expect "it waited about K3S_HARDEN_LOCK_TIMEOUT=0.5 s (400..5000 ms)" "waited $ms ms" \
		cond '[ "$ms" -ge 400 ] && [ "$ms" -lt 5000 ]'
	check "the message names the lock" grep -qi "lock" "$tmp/err"
	check "the host was not touched while the lock was held" [ "$(sig "$L")" = "$Lsig" ]
	check "no generation was made while the lock was held" [ "$(ngens "$L")" = 1 ]
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	bg=()
	( flock 9 && exec sleep 1 ) 9>>"$lockf" &
	holder=$!
	bg+=("$holder")
	for _ in $(seq 50); do flock -n "$lockf" true 2>/dev/null || break; sleep 0.05; done
	t0=$(date +%s%N)
	K3S_HARDEN_LOCK_TIMEOUT=10 "$bin" apply --root "$L" >"$tmp/out" 2>"$tmp/err"
	rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	expect "apply waits for a lock released within the timeout, then succeeds" "rc=$rc after $ms ms: $(cat "$tmp/err")" \
		cond '[ "$rc" = 0 ] && [ "$ms" -ge 500 ]'
	wait "$holder" 2>/dev/null
	bg=()
	check "... and the host is hardened" same "$H" "$L"
else
	skip_t "lock: flock (util-linux) is missing"
fi

# ======================================================================
# failures injected with strace: restore (exit 3) or what is left (exit 4)
# ======================================================================
have_strace=0
if have strace && strace -f -qq -o /dev/null -e trace=getpid -e inject=getpid:error=EIO:when=1 true 2>/dev/null; then
	have_strace=1
fi
# owner and mode a user set: restore must bring them back exactly
mkroot_owned() {
	mkroot "$1"
	chown 1234:1234 "$1/etc/rancher/k3s/config.yaml"
	chmod 0640 "$1/etc/rancher/k3s/config.yaml"
}
if [ "$have_strace" = 1 ]; then
	# the renameat calls of an apply, in order: find the target replacements
	F=$tmp/rename-trace
	cp -a "$P" "$F"
	strace -f -qq -o "$tmp/ren.log" -e trace=renameat,renameat2,rename "$bin" apply --root "$F" >/dev/null 2>&1
	first=$(grep -n '\.k3s-harden\.tmp"' "$tmp/ren.log" | head -1 | cut -d: -f1)
	last=$(grep -n '\.k3s-harden\.tmp"' "$tmp/ren.log" | tail -1 | cut -d: -f1)
	cfg=$(grep -n '"\.config\.yaml\.k3s-harden\.tmp"' "$tmp/ren.log" | head -1 | cut -d: -f1)
	commit=$((last + 1))
	rsys=$(grep -m1 -oE '^[0-9]+ +(renameat2|renameat|rename)\(' "$tmp/ren.log" | grep -oE '[a-z0-9]+\($' | tr -d '(')
	echo "# target renames are $rsys calls #$first..#$last (config.yaml #$cfg), commit #$commit"
	inject_apply() { # ROOT WHEN
		strace -f -qq -o /dev/null -e trace="$rsys" -e inject="$rsys":error=EIO:when="$2" \
			"$bin" apply --root "$1" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		err=$(cat "$tmp/err")
	}
	for spec in "$((first + 1)):the second target replacement" "$last:the last target replacement" \
		"$commit:the commit"; do
		when=${spec%%:*} what=${spec#*:}
		X=$tmp/inj-$when
		mkroot_owned "$X"
		cp -a "$X" "$X.orig"
		inject_apply "$X" "$when"
		expect "failure at $what: exit 3" "rc=$rc: $err" [ "$rc" = 3 ]
		expect "failure at $what: every file, mode and owner restored" "$(whatdiff "$X.orig" "$X")" same "$X.orig" "$X"
		t=$(temps "$X")
		expect "failure at $what: no temp files left" "$t" [ -z "$t" ]
		check "failure at $what: no journal left" [ ! -e "$X/var/lib/k3s-harden/journal" ]
		check "failure at $what: the generation is marked rolled-back" \
			[ "$(state_of "$X" "$(newest "$X")")" = rolled-back ]
		check "failure at $what: the message says the host was restored" grep -qi "restored" <<<"$err"
	done

	# config.yaml's replacement fails and so does every later rename. The
	# files replaced before it were new and go by unlink; config.yaml was
	# never replaced. The host is as it was: exit 3, no by-hand steps.
	X=$tmp/inj-cfg
	mkroot_owned "$X"
	cp -a "$X" "$X.orig"
	inject_apply "$X" "$cfg+"
	expect "config.yaml's rename fails, later renames fail too: the host is unchanged" "$(whatdiff "$X.orig" "$X")" same "$X.orig" "$X"
	expect "... so apply exits 3, not 4" "rc=$rc: $err" [ "$rc" = 3 ]
	expect "... and asks for no by-hand restore of a file it never replaced" "$err" \
		bash -c '! grep -q "by hand" <<<"$1"' _ "$err"

	# the commit fails and so does every rename after it: config.yaml was
	# replaced and cannot be put back -> exit 4 with the exact steps
	X=$tmp/inj-broken
	mkroot_owned "$X"
	cp -a "$X" "$X.orig"
	inject_apply "$X" "$commit+"
	expect "restore fails after the commit failed: exit 4" "rc=$rc: $err" [ "$rc" = 4 ]
	hand=$(grep 'by hand: ' <<<"$err")
	expect "exit 4 names config.yaml with a by-hand command" "$err" grep -q "/etc/rancher/k3s/config.yaml.*by hand: " <<<"$hand"
	others=$(grep -v 'config.yaml' <<<"$hand")
	expect "exit 4 names only files that really are left to restore" "$others" [ -z "$others" ]
	expect "exit 4 says to run history afterwards (the journal is kept)" "$err" grep -q "history" <<<"$err"
	check "the journal is kept after exit 4" [ -e "$X/var/lib/k3s-harden/journal" ]
	cmds=$(sed -n 's/.*by hand: //p' <<<"$hand")
	bash -c "$cmds" >/dev/null 2>&1
	c1=$X.orig/etc/rancher/k3s/config.yaml c2=$X/etc/rancher/k3s/config.yaml
	check "the by-hand command restores config.yaml's bytes" cmp -s "$c1" "$c2"
	check "the by-hand command restores config.yaml's mode" [ "$(stat -c %a "$c1")" = "$(stat -c %a "$c2")" ]
	expect "the by-hand command restores config.yaml's owner (1234:1234)" "$cmds" \
		[ "$(stat -c %u:%g "$c1")" = "$(stat -c %u:%g "$c2")" ]
	run "$bin" history --root "$X"
	check "after exit 4, the next run undoes the transaction (exit 0)" [ "$rc" = 0 ]
	check "... and reports it" grep -qi "interrupted" <<<"$err"
	expect "... and the host is as it was, owner and mode included" "$(whatdiff "$X.orig" "$X")" same "$X.orig" "$X"
else
	skip_t "failure injection: strace is missing or cannot inject (apt-get install strace)"
fi

# ======================================================================
# crash recovery: kill apply at every system call of each kind
# ======================================================================
Hsig=$(sig "$H")
Psig=$(sig "$P")
cap=${K3H_CRASH_CAP:-2000}
# crash_one SYSCALL RESULT: kill at call N for N = 1, 2, ... until a run is not killed
crash_one() {
	local sc=$1 res=$2 w=$tmp/crash-$1 N=1 rc hrc arc jr ref refname problems t
	local points=0 bad=0 undone=0 committed=0 finished=0 stray=0
	: >"$res.log"
	while [ "$N" -le "$cap" ]; do
		rm -rf "$w"
		cp -a "$P" "$w"
		{ strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when="$N" \
			"$bin" apply --root "$w" >/dev/null 2>"$w.err"; } 2>/dev/null
		rc=$?
		if [ "$rc" = 0 ]; then
			finished=1
			if ! { diff -r --no-dereference --exclude=k3s-harden "$H" "$w" >/dev/null 2>&1 &&
				[ "$(sig "$w")" = "$Hsig" ]; }; then
				bad=$((bad + 1))
				echo "$sc #$N: the run that was not killed did not harden the host" >>"$res.log"
			fi
			break
		fi
		if [ "$rc" != 137 ]; then
			bad=$((bad + 1))
			echo "$sc #$N: apply exited $rc instead of being killed: $(head -c 300 "$w.err")" >>"$res.log"
			N=$((N + 1))
			continue
		fi
		points=$((points + 1))
		jr=0 ref=$P refname="the state before the apply"
		# a journal beside a commit record (killed after the record, before
		# the journal was removed): the commit is finished, not undone
		if [ -e "$w/var/lib/k3s-harden/journal" ] || [ -L "$w/var/lib/k3s-harden/journal" ] &&
			! cat "$w"/var/lib/k3s-harden/backups/*/state 2>/dev/null | grep -q '^committed'; then
			jr=1
		elif cat "$w"/var/lib/k3s-harden/backups/*/state 2>/dev/null | grep -q '^committed'; then
			ref=$H refname="the committed hardened state"
			committed=$((committed + 1))
		fi
		problems=
		"$bin" history --root "$w" >/dev/null 2>"$w.err"
		hrc=$?
		[ "$hrc" = 0 ] || problems+=" history exited $hrc ($(head -c 200 "$w.err" | tr '\n' ' '));"
		if [ "$jr" = 1 ]; then
			undone=$((undone + 1))
			grep -qi interrupted "$w.err" || problems+=" the undo was not reported;"
		fi
		[ -e "$w/var/lib/k3s-harden/journal" ] && problems+=" the journal is still there;"
		if ! { diff -r --no-dereference --exclude=k3s-harden "$ref" "$w" >/dev/null 2>&1 &&
			[ "$(sig "$w")" = "$(if [ "$ref" = "$H" ]; then echo "$Hsig"; else echo "$Psig"; fi)" ]; }; then
			problems+=" the host is not $refname: $(whatdiff "$ref" "$w" | head -4 | tr '\n' ' ');"
		fi
		t=$(temps "$w")
		[ -z "$t" ] || problems+=" temp files left: $(echo $t);"
		t=$(find "$w/var/lib/k3s-harden" -name '.*.k3s-harden-*' 2>/dev/null | wc -l)
		stray=$((stray + t))
		"$bin" apply --root "$w" >/dev/null 2>"$w.err"
		arc=$?
		[ "$arc" = 0 ] || problems+=" the following apply exited $arc ($(head -c 200 "$w.err" | tr '\n' ' '));"
		if ! { diff -r --no-dereference --exclude=k3s-harden "$H" "$w" >/dev/null 2>&1 &&
			[ "$(sig "$w")" = "$Hsig" ]; }; then
			problems+=" the following apply did not yield the hardened state;"
		fi
		if [ -n "$problems" ]; then
			bad=$((bad + 1))
			echo "kill at $sc #$N:$problems" >>"$res.log"
		fi
		N=$((N + 1))
	done
	rm -rf "$w" "$w.err"
	echo "$points $bad $undone $committed $finished $stray $N" >"$res"
}

syscalls="openat close write fchmod fchown mkdirat renameat unlinkat fsync syncfs renameat2 rename"
if [ "$have_strace" = 1 ]; then
	jobs_max=$(nproc 2>/dev/null || echo 2)
	t0=$(date +%s)
	running=0
	for sc in $syscalls; do
		if [ "$running" -ge "$jobs_max" ]; then
			wait -n
			running=$((running - 1))
		fi
		crash_one "$sc" "$tmp/crash.$sc" &
		bg+=("$!")
		running=$((running + 1))
	done
	wait
	bg=()
	total=0
	for sc in $syscalls; do
		if [ ! -s "$tmp/crash.$sc" ]; then
			not_ok "crash at every $sc: the loop did not finish"
			continue
		fi
		read -r points bad undone committed finished stray lastn <"$tmp/crash.$sc"
		total=$((total + points))
		echo "# $sc: $points kill points ($undone undone from the journal, $committed after the commit)"
		[ "$stray" = 0 ] || echo "# $sc: $stray temp files of the state directory (.journal/.state.k3s-harden-PID-N) were left behind"
		if [ "$finished" != 1 ]; then
			not_ok "crash at every $sc: still killed at call $cap (K3H_CRASH_CAP); not every point was tried"
		elif [ "$bad" = 0 ] && [ "$points" = 0 ]; then
			ok "apply makes no $sc call: no kill point, and the run under strace hardened the host"
		elif [ "$bad" = 0 ]; then
			ok "killed at each of $points $sc calls: the next run restores the host, leaves no temp files, and apply then hardens it"
		else
			mapfile -t lines <"$tmp/crash.$sc.log"
			not_ok "killed at each of $points $sc calls: $bad kill points left the host wrong" "${lines[@]:0:8}"
		fi
	done
	echo "# crash injection: $total kill points in $(($(date +%s) - t0)) s (every call, no stepping)"
else
	skip_t "crash injection: strace is missing or cannot inject (apt-get install strace)"
fi

# ======================================================================
# every command that reads or writes the host undoes a crash first
# ======================================================================
if [ "$have_strace" = 1 ]; then
	mid=$((first + 2))
	crashed() { # ROOT [apply args]: apply killed in the middle of replacing targets
		local root=$1
		shift
		{ strace -f -qq -o /dev/null -e trace="$rsys" -e inject="$rsys":signal=KILL:when="${CRASH_WHEN:-$mid}" \
			"$bin" apply "$@" --root "$root" >/dev/null 2>&1; } 2>/dev/null
		[ -e "$root/var/lib/k3s-harden/journal" ]
	}
	for cmd in history diff apply; do
		X=$tmp/undo-$cmd
		cp -a "$P" "$X"
		check "$cmd after a crash: the apply was killed mid-way, its journal is there" crashed "$X"
		run "$bin" "$cmd" --root "$X"
		expect "$cmd after a crash: the interrupted transaction is undone and reported first" "rc=$rc: $err" \
			grep -qi "interrupted" <<<"$err"
		check "$cmd after a crash: no journal left" [ ! -e "$X/var/lib/k3s-harden/journal" ]
		case $cmd in
		history)
			expect "history after a crash: exit 0, the host is as before the apply" "$(whatdiff "$P" "$X")" \
				cond '[ "$rc" = 0 ] && same "$P" "$X"'
			check "history after a crash lists the generation as interrupted" grep -q "interrupted" <<<"$out"
			;;
		diff)
			expect "diff after a crash: exit 1 and the diff is against the host before the apply" "rc=$rc $(whatdiff "$P" "$X")" \
				cond '[ "$rc" = 1 ] && same "$P" "$X"'
			;;
		apply)
			expect "apply after a crash: exit 0 and the host is hardened" "rc=$rc $(whatdiff "$H" "$X")" \
				cond '[ "$rc" = 0 ] && same "$H" "$X"'
			;;
		esac
		t=$(temps "$X")
		expect "$cmd after a crash: no temp files beside the targets" "$t" [ -z "$t" ]
	done
	# rollback: a committed apply, then a second apply (another profile) killed
	X=$tmp/undo-rollback
	cp -a "$P" "$X"
	"$bin" apply --root "$X" >/dev/null 2>&1
	printf 'extends: cis\nname: second\naudit:\n  max_age: 40\n' >"$tmp/second.yaml"
	# the second apply replaces only config.yaml: renames 1 and 2 are the
	# generation and the journal, 3 is config.yaml
	CRASH_WHEN=3 check "rollback after a crash: the second apply was killed mid-way" crashed "$X" -p "$tmp/second.yaml"
	run "$bin" rollback --force --root "$X"
	expect "rollback after a crash: the interrupted apply is undone and reported first" "rc=$rc: $err" \
		grep -qi "interrupted" <<<"$err"
	expect "rollback after a crash: then it rolls back the committed apply (exit 0, host as before it)" \
		"rc=$rc $(whatdiff "$P" "$X")" cond '[ "$rc" = 0 ] && same "$P" "$X"'
else
	skip_t "recovery by each command: strace is missing"
fi

# ======================================================================
# the live path: kernel values are in the journal, and a crash puts them
# back with the files (--live under a root whose proc/sys holds them)
# ======================================================================
mkproc() { # ROOT: the six kernel values the profile sets, all at other values
	local d=$1/proc/sys
	mkdir -p "$d/vm" "$d/kernel/keys"
	echo 1 >"$d/vm/panic_on_oom"
	echo 0 >"$d/vm/overcommit_memory"
	echo 0 >"$d/kernel/panic"
	echo 0 >"$d/kernel/panic_on_oops"
	echo 200 >"$d/kernel/keys/root_maxkeys"
	echo 20000 >"$d/kernel/keys/root_maxbytes"
}
ksig() { (cd "$1/proc/sys" && find . -type f -printf '%P=' -exec cat {} \; | sort); }
PL=$tmp/live-pristine
cp -a "$P" "$PL"
mkproc "$PL"
HL=$tmp/live-hardened
cp -a "$PL" "$HL"
run "$bin" apply --root "$HL" --live --no-restart
expect "apply --live --no-restart under a root with proc/sys exits 0" "rc=$rc: $err" [ "$rc" = 0 ]
check "... and sets the kernel values under ROOT/proc/sys" [ "$(cat "$HL/proc/sys/kernel/panic")" = 10 ]
kold=$(ksig "$PL") knew=$(ksig "$HL")
if [ "$have_strace" = 1 ]; then
	live_kills=0 live_bad="" live_committed=0 live_undone=0 live_recorded=0
	for sc in write renameat fsync unlinkat; do
		N=1
		while [ "$N" -le 400 ]; do
			w=$tmp/live-crash
			rm -rf "$w"
			cp -a "$PL" "$w"
			{ strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when="$N" \
				"$bin" apply --root "$w" --live --no-restart >/dev/null 2>"$w.err"; } 2>/dev/null
			rc=$?
			[ "$rc" = 137 ] || break
			live_kills=$((live_kills + 1))
			grep -q '^kernel ' "$w/var/lib/k3s-harden/journal" 2>/dev/null && live_recorded=$((live_recorded + 1))
			"$bin" history --root "$w" >/dev/null 2>>"$w.err"
			if cat "$w"/var/lib/k3s-harden/backups/*/state 2>/dev/null | grep -q '^committed'; then
				live_committed=$((live_committed + 1))
				{ same "$HL" "$w" && [ "$(ksig "$w")" = "$knew" ]; } ||
					live_bad+="$sc #$N (after the commit): files or kernel values not new: $(whatdiff "$HL" "$w" | head -3 | tr '\n' ' '); "
			else
				live_undone=$((live_undone + 1))
				{ same "$PL" "$w" && [ "$(ksig "$w")" = "$kold" ]; } ||
					live_bad+="$sc #$N: files or kernel values not old: $(whatdiff "$PL" "$w" | head -3 | tr '\n' ' '); "
			fi
			N=$((N + 1))
		done
	done
	rm -rf "$tmp/live-crash" "$tmp/live-crash.err"
	echo "# live path: $live_kills kill points ($live_undone undone, $live_recorded with kernel values in the journal, $live_committed after the commit)"
	expect "killed at each write, rename, fsync and unlink of apply --live: files old <=> kernel values old after recovery" \
		"$live_bad" [ -z "$live_bad" ]
	expect "... some kills fell after the old kernel values were recorded in the journal" \
		"$live_recorded of $live_kills" [ "$live_recorded" -gt 0 ]
else
	skip_t "live path kill points: strace is missing or cannot inject"
fi

# ======================================================================
# a full disk: tmpfs in a private mount namespace
# ======================================================================
# fulldisk: runs inside `unshare -m`; prints "R|ok|name", "R|not ok|name|detail", "R|#|text"
fulldisk() {
	local m=$tmp/fdmnt k i rc levels=0 ok_runs=0 backup=0 replace=0 codes="" bad_code="" bad_host="" bad_after="" ph
	mkdir -p "$m"
	if ! mount -t tmpfs -o size=1m,mode=0755 tmpfs "$m" 2>"$tmp/mount.err"; then
		echo "R|skip|full disk: cannot mount a tmpfs ($(head -c 200 "$tmp/mount.err"))"
		return
	fi
	for k in $(seq 0 80); do
		rm -rf "$m/root" "$m/fill" "$m"/spare*
		cp -a "$P" "$m/root"
		# leave exactly k free pages
		for i in $(seq 1 "$k"); do head -c 4096 /dev/zero >"$m/spare$i" 2>/dev/null || break; done
		dd if=/dev/zero of="$m/fill" bs=4096 >/dev/null 2>&1
		rm -f "$m"/spare*
		"$bin" apply --root "$m/root" >"$tmp/fd.out" 2>"$tmp/fd.err"
		rc=$?
		levels=$((levels + 1))
		codes+="$k:$rc "
		if [ "$rc" = 0 ]; then
			ok_runs=$((ok_runs + 1))
			same "$H" "$m/root" || bad_host+="k=$k: exit 0 but not hardened; "
		else
			if grep -q "before changing anything" "$tmp/fd.err"; then
				backup=$((backup + 1)) ph=backup
			else
				replace=$((replace + 1)) ph=replace
			fi
			[ "$rc" = 3 ] || bad_code+="k=$k ($ph phase): exit $rc: $(grep -v '^ ' "$tmp/fd.err" | tail -2 | tr '\n' ' ' | sed "s#$tmp#TMP#g" | cut -c1-400); "
			same "$P" "$m/root" || bad_host+="k=$k: host changed: $(whatdiff "$P" "$m/root" | head -3 | tr '\n' ' '); "
			[ -z "$(temps "$m/root")" ] || bad_host+="k=$k: temp files left: $(temps "$m/root" | tr '\n' ' '); "
		fi
		# with space again, the next apply (undoing a left journal first) hardens the host
		rm -f "$m/fill"
		"$bin" apply --root "$m/root" >/dev/null 2>"$tmp/fd.err"
		rc=$?
		{ [ "$rc" = 0 ] && same "$H" "$m/root"; } || bad_after+="k=$k: exit $rc; "
		[ "$ok_runs" -ge 2 ] && break
	done
	umount "$m"
	echo "R|#|full disk: $levels fill levels (free pages:exit) $codes"
	if [ -z "$bad_code" ]; then echo "R|ok|full disk: every failing apply exits 3"
	else echo "R|not ok|full disk: every failing apply exits 3|$bad_code"; fi
	if [ -z "$bad_host" ]; then echo "R|ok|full disk: the host is byte-identical with its modes and owners after every failure, no temp files"
	else echo "R|not ok|full disk: the host is byte-identical with its modes and owners after every failure, no temp files|$bad_host"; fi
	if [ "$backup" -gt 0 ]; then echo "R|ok|full disk: the backup phase ran out of space ($backup levels)"
	else echo "R|not ok|full disk: the backup phase ran out of space (no fill level reached it)"; fi
	if [ "$replace" -gt 0 ]; then echo "R|ok|full disk: the replace phase ran out of space ($replace levels)"
	else echo "R|not ok|full disk: the replace phase ran out of space (no fill level reached it)"; fi
	if [ "$ok_runs" -gt 0 ]; then echo "R|ok|full disk: with enough space the same apply succeeds"
	else echo "R|not ok|full disk: with enough space the same apply succeeds (never reached)"; fi
	if [ -z "$bad_after" ]; then echo "R|ok|full disk: once space is freed, apply succeeds and hardens the host"
	else echo "R|not ok|full disk: once space is freed, apply succeeds and hardens the host|$bad_after"; fi
}
if have unshare && unshare -m true 2>/dev/null; then
	export tmp bin P H
	unshare -m bash -c "$(declare -f sig same whatdiff temps fulldisk); fulldisk" >"$tmp/fd.res" 2>&1
	got=0
	while IFS='|' read -r tag kind name detail; do
		[ "$tag" = R ] || continue
		got=1
		case $kind in
		ok) ok "$name" ;;
		"not ok") not_ok "$name" "$detail" ;;
		skip) skip_t "$name" ;;
		"#") echo "# $name" ;;
		esac
	done <"$tmp/fd.res"
	[ "$got" = 1 ] || not_ok "full disk: the test body ran" "$(head -5 "$tmp/fd.res")"
else
	skip_t "full disk: cannot make a private mount namespace (unshare -m; needs root or CAP_SYS_ADMIN)"
fi

# ======================================================================
# rollback
# ======================================================================
O=$tmp/owned
mkroot_owned "$O"
# an existing directory of the user's the profile tightens, and a file of theirs we replace
mkdir -p "$O/var/lib/rancher/k3s/server/logs"
chown 1234:1234 "$O/var/lib/rancher/k3s/server" "$O/var/lib/rancher/k3s/server/logs"
chmod 0750 "$O/var/lib/rancher/k3s/server/logs"
chmod 0751 "$O/var/lib/rancher/k3s/server"
printf '# mine\nvm.panic_on_oom = 1\n' >"$O/etc/sysctl.d/90-kubelet.conf"
chown 1234:1234 "$O/etc/sysctl.d/90-kubelet.conf"
chmod 0640 "$O/etc/sysctl.d/90-kubelet.conf"
cp -a "$O" "$tmp/owned.orig"
run "$bin" apply --root "$O"
check "apply on a host with user-owned files exits 0" [ "$rc" = 0 ]
check "apply made config.yaml root-owned and did not loosen 0640" [ "$(stat -c '%a %U' "$O/etc/rancher/k3s/config.yaml")" = "600 root" ]
check "apply made the audit log directory 0700 root" [ "$(stat -c '%a %U' "$O/var/lib/rancher/k3s/server/logs")" = "700 root" ]
ga=$(newest "$O")
blob=$(awk '$NF == "/etc/rancher/k3s/config.yaml" { print $6 }' "$O/var/lib/k3s-harden/backups/$ga/manifest" 2>/dev/null)
check "the backup of a user-owned config.yaml is 0600 root:root" \
	[ "$(stat -c '%a %U %G' "$O/var/lib/k3s-harden/backups/$ga/$blob" 2>/dev/null)" = "600 root root" ]
cp -a "$O" "$tmp/owned.hard"
# secrets-encryption: the original has none; rolling back turns it off
run "$bin" rollback --root "$O"
check "rollback that turns secrets-encryption off is refused without --force (exit 2)" [ "$rc" = 2 ]
check "... the message explains secrets-encryption and --force" \
	bash -c 'grep -q "secrets-encryption" <<<"$1" && grep -q -- "--force" <<<"$1"' _ "$err"
check "... nothing changed" same "$tmp/owned.hard" "$O"
check "... and no generation was made" [ "$(ngens "$O")" = 1 ]
run "$bin" rollback --force --root "$O"
check "rollback --force exits 0" [ "$rc" = 0 ]
expect "apply then rollback returns every byte, mode and owner" "$(whatdiff "$tmp/owned.orig" "$O")" same "$tmp/owned.orig" "$O"
check "rollback removed the files and directories apply created" \
	cond '[ ! -e "$O/var/lib/rancher/k3s/server/psa.yaml" ] && [ ! -e "$O/var/lib/rancher/k3s/server/manifests" ]'
check "rollback names objects K3s keeps from removed manifests (kind ns/name)" \
	grep -qE "NetworkPolicy kube-system/[a-z]" <<<"$err"
check "... service accounts too" grep -qE "ServiceAccount kube-system/default" <<<"$err"
gr=$(newest "$O")
check "the rollback is a generation of its own, kind rollback" \
	grep -qE "^$gr .* rollback .* committed" <<<"$("$bin" history --root "$O")"
blob=$(awk '$NF == "/etc/rancher/k3s/config.yaml" { print $6 }' "$O/var/lib/k3s-harden/backups/$gr/manifest" 2>/dev/null)
check "the rollback backed up the hardened config.yaml (0600 root)" \
	bash -c 'cmp -s "$1" "$2" && [ "$(stat -c "%a %U" "$2")" = "600 root" ]' _ \
	"$tmp/owned.hard/etc/rancher/k3s/config.yaml" "$O/var/lib/k3s-harden/backups/$gr/$blob"
run "$bin" rollback --root "$O" "$gr"
check "rollback of the rollback (rollback $gr) exits 0" [ "$rc" = 0 ]
expect "rollback of the rollback returns to the hardened state" "$(whatdiff "$tmp/owned.hard" "$O")" same "$tmp/owned.hard" "$O"
run "$bin" rollback --force --root "$O" "$((10#$ga))"
check "rollback GENERATION (the first apply, by number) exits 0" [ "$rc" = 0 ]
expect "... and returns the original bytes, modes and owners" "$(whatdiff "$tmp/owned.orig" "$O")" same "$tmp/owned.orig" "$O"
run "$bin" rollback --root "$O" 999
check "rollback of a generation that does not exist: exit 2 with a message" \
	bash -c '[ "$1" = 2 ] && [ -n "$2" ]' _ "$rc" "$err"
run "$bin" rollback --root "$E"
check "rollback with no generations: exit 2 with a message" bash -c '[ "$1" = 2 ] && [ -n "$2" ]' _ "$rc" "$err"

# ======================================================================
# retention
# ======================================================================
R=$tmp/retention
cp -a "$P" "$R"
good=1 detail=
for i in 1 2 3 4 5; do
	printf 'extends: cis\nname: ret%s\nretention: 2\naudit:\n  max_age: %s\n' "$i" "$((20 + i))" >"$tmp/ret.yaml"
	[ "$i" = 5 ] && cp -a "$R" "$tmp/ret.before5"
	"$bin" apply -p "$tmp/ret.yaml" --root "$R" >/dev/null 2>"$tmp/err" || { good=0; detail+="apply $i failed: $(cat "$tmp/err"); "; }
	c=$(ngens "$R")
	# the last two, and the first (the host before the tool ever ran)
	want=$((i < 3 ? i : 3))
	[ "$c" = "$want" ] || { good=0; detail+="after apply $i: $c generations ($(gens "$R" | tr '\n' ' ')); "; }
	[ "$(newest "$R")" = "$(printf '%06d' "$i")" ] || { good=0; detail+="after apply $i: newest is $(newest "$R"); "; }
done
expect "retention: 2 keeps the last two generations and the first after each apply" "$detail" [ "$good" = 1 ]
cp -a "$R" "$tmp/ret.after5"
run "$bin" rollback --root "$R"
check "retention: the generation a rollback needs was kept (rollback exits 0)" [ "$rc" = 0 ]
expect "retention: the rollback returns the state before the last apply" "$(whatdiff "$tmp/ret.before5" "$R")" same "$tmp/ret.before5" "$R"
run "$bin" rollback --root "$R" "$(newest "$R")"
expect "retention: rollback of that rollback returns the state after it" "$(whatdiff "$tmp/ret.after5" "$R")" \
	bash -c '[ "$1" = 0 ]' _ "$rc"
check "... byte for byte" same "$tmp/ret.after5" "$R"
# the default: 10
D=$tmp/retention-default
cp -a "$P" "$D"
for i in $(seq 1 12); do
	printf 'extends: cis\nname: def%s\naudit:\n  max_age: %s\n' "$i" "$((20 + i))" >"$tmp/def.yaml"
	"$bin" apply -p "$tmp/def.yaml" --root "$D" >/dev/null 2>&1
done
expect "retention defaults to 10 generations, and the first is kept" "$(gens "$D" | tr '\n' ' ')" \
	cond '[ "$(ngens "$D")" = 11 ] && [ "$(newest "$D")" = 000012 ] && [ "$(gens "$D" | head -2 | tr "\n" " ")" = "000001 000003 " ]'

# twelve applies alternating two profiles: the first generation (the only
# one holding the user's own config.yaml) survives, and rollback 1 brings
# that file back byte for byte, with its mode and owner
F=$tmp/retention-first
cp -a "$P" "$F"
chown 1234:5678 "$F/etc/rancher/k3s/config.yaml"
chmod 0640 "$F/etc/rancher/k3s/config.yaml"
cp -a "$F/etc/rancher/k3s/config.yaml" "$tmp/first.config.yaml"
first_meta=$(stat -c '%a %u %g' "$F/etc/rancher/k3s/config.yaml")
printf 'extends: cis\nname: alt-a\naudit:\n  max_age: 21\n' >"$tmp/alt-a.yaml"
printf 'extends: cis\nname: alt-b\naudit:\n  max_age: 22\n' >"$tmp/alt-b.yaml"
good=1 detail=
for i in $(seq 1 12); do
	pf=$tmp/alt-a.yaml
	[ $((i % 2)) = 0 ] && pf=$tmp/alt-b.yaml
	"$bin" apply -p "$pf" --root "$F" >/dev/null 2>"$tmp/err" || { good=0; detail+="apply $i failed: $(cat "$tmp/err"); "; }
done
expect "retention: twelve alternating applies keep generation 1 and the last 10" "$detail $(gens "$F" | tr '\n' ' ')" \
	cond '[ "$good" = 1 ] && [ "$(gens "$F" | head -1)" = 000001 ] && [ "$(ngens "$F")" = 11 ] && [ ! -e "$F/var/lib/k3s-harden/backups/000002" ]'
run "$bin" rollback --root "$F" 2
expect "retention: rollback of a pruned generation says it was pruned (exit 2)" "rc=$rc: $err" \
	cond '[ "$rc" = 2 ] && grep -q "generation 2 was pruned (retention keeps the last 10 and the first)" "$tmp/err"'
run "$bin" history --root "$F"
expect "retention: history says which generations were pruned" "rc=$rc: $err" \
	cond '[ "$rc" = 0 ] && grep -q "1 generation between 2 and 2 was pruned (retention keeps the last 10 and the first)" "$tmp/err"'
run "$bin" rollback --force --root "$F" 1
expect "retention: rollback 1 after twelve applies exits 0" "rc=$rc: $err" [ "$rc" = 0 ]
expect "... and config.yaml is the user's original, byte for byte" \
	"$(diff "$tmp/first.config.yaml" "$F/etc/rancher/k3s/config.yaml" 2>&1 | head -5)" \
	cmp -s "$tmp/first.config.yaml" "$F/etc/rancher/k3s/config.yaml"
expect "... with its mode and owner" "$(stat -c '%a %u %g' "$F/etc/rancher/k3s/config.yaml") (want $first_meta)" \
	[ "$(stat -c '%a %u %g' "$F/etc/rancher/k3s/config.yaml")" = "$first_meta" ]

# ======================================================================
# planted symbolic links
# ======================================================================
out_dir=$tmp/outside
mkdir -p "$out_dir/sub"
echo "not yours" >"$out_dir/file"
outsig() { find "$out_dir" -printf '%P|%y|%m|%s|%T@\n' | sort; md5sum "$out_dir/file"; }
osig=$(outsig)
plant() { # NAME SETUP-FUNCTION: apply is refused; nothing written outside; PX is the root
	local name=$1 X
	X=$tmp/link-$(tr -c 'a-zA-Z0-9\n' _ <<<"$1")
	PX=$X
	cp -a "$P" "$X"
	"$2" "$X"
	local xs
	xs=$(sig "$X")
	run "$bin" apply --root "$X"
	expect "symlink at $name: apply is refused (exit 2) with a message" "rc=$rc: $err" \
		bash -c '[ "$1" = 2 ] && [ -n "$2" ]' _ "$rc" "$err"
	expect "symlink at $name: nothing written outside the root" "$(diff <(echo "$osig") <(outsig))" [ "$(outsig)" = "$osig" ]
	check "symlink at $name: the host is unchanged" [ "$(sig "$X")" = "$xs" ]
}
lk_target() { ln -sf "$out_dir/file" "$1/etc/rancher/k3s/config.yaml"; }
lk_newtarget() { ln -s "$out_dir/newfile" "$1/etc/sysctl.d/90-kubelet.conf"; }
lk_server() { mkdir -p "$1/var/lib/rancher/k3s" && ln -s "$out_dir/sub" "$1/var/lib/rancher/k3s/server"; }
lk_rancher() { ln -s "$out_dir/sub" "$1/var/lib/rancher"; }
lk_backups() { mkdir -m 0700 "$1/var/lib/k3s-harden" && ln -s "$out_dir/sub" "$1/var/lib/k3s-harden/backups"; }
lk_state() { ln -s "$out_dir/sub" "$1/var/lib/k3s-harden"; }
lk_lock() { mkdir -m 0700 "$1/var/lib/k3s-harden" && ln -s "$out_dir/lock" "$1/var/lib/k3s-harden/lock"; }
lk_journal() { mkdir -m 0700 "$1/var/lib/k3s-harden" && ln -s "$out_dir/file" "$1/var/lib/k3s-harden/journal"; }
plant "ROOT/etc/rancher/k3s/config.yaml" lk_target
plant "ROOT/etc/sysctl.d/90-kubelet.conf (dangling)" lk_newtarget
plant "ROOT/var/lib/rancher/k3s/server" lk_server
plant "ROOT/var/lib/rancher (a directory apply creates)" lk_rancher
plant "ROOT/var/lib/k3s-harden/backups" lk_backups
plant "ROOT/var/lib/k3s-harden" lk_state
state_link=$PX
plant "ROOT/var/lib/k3s-harden/lock" lk_lock
plant "ROOT/var/lib/k3s-harden/journal" lk_journal
check "symlink at the journal: the message names the journal" grep -q "journal" <<<"$err"
run "$bin" history --root "$PX"
expect "symlink at the journal: history refuses (exit 2) with a message naming it" "rc=$rc: $err" \
	cond '[ "$rc" = 2 ] && grep -q journal <<<"$err"'
for cmd in history rollback; do
	X=$state_link
	if [ "$cmd" = rollback ]; then run "$bin" rollback --force --root "$X"; else run "$bin" history --root "$X"; fi
	expect "symlink at ROOT/var/lib/k3s-harden: $cmd refuses (exit 2) with a message" "rc=$rc: $err" \
		bash -c '[ "$1" = 2 ] && [ -n "$2" ]' _ "$rc" "$err"
done
# a generation directory replaced by a link
X=$tmp/link-gen
cp -a "$P" "$X"
"$bin" apply --root "$X" >/dev/null 2>&1
mv "$X/var/lib/k3s-harden/backups/000001" "$out_dir/gen"
ln -s "$out_dir/gen" "$X/var/lib/k3s-harden/backups/000001"
osig=$(outsig)
xs=$(sig "$X")
run "$bin" rollback --force --root "$X" 1
expect "symlink at a generation directory: rollback refuses (exit 2)" "rc=$rc: $err" [ "$rc" = 2 ]
check "... and writes nothing inside or outside" bash -c '[ "$1" = "$2" ] && [ "$3" = "$4" ]' _ "$(outsig)" "$osig" "$(sig "$X")" "$xs"
# a link planted at our temp file name is not followed
X=$tmp/link-tmp
cp -a "$P" "$X"
ln -s "$out_dir/file" "$X/etc/rancher/k3s/.config.yaml.k3s-harden.tmp"
osig=$(outsig)
run "$bin" apply --root "$X"
check "a symlink planted at the temp file name is not followed" [ "$(outsig)" = "$osig" ]
expect "... and apply still hardens the host" "rc=$rc: $err" same "$H" "$X"

# ======================================================================
# one directory fd per directory: the opens grow with the files, not with
# the files times the depth of their paths (it was ~57 openat per file)
# ======================================================================
if have strace && strace -o /dev/null true 2>/dev/null; then
	# opens of a first and a no-op apply of cis + N namespaces: "FILES FIRST NOOP"
	opens_for() {
		local m=$tmp/many-$1
		{
			printf 'extends: cis\nname: many\nnetwork_policies:\n  namespaces:\n'
			for i in $(seq 1 "$1"); do echo "  - ns-$i"; done
		} >"$tmp/many-$1.yaml"
		mkdir "$m"
		strace -f -c -o "$tmp/sc.first" -e trace=openat,open,openat2 "$bin" -q -p "$tmp/many-$1.yaml" \
			apply --root "$m" >/dev/null 2>&1
		strace -f -c -o "$tmp/sc.noop" -e trace=openat,open,openat2 "$bin" -q -p "$tmp/many-$1.yaml" \
			apply --root "$m" >/dev/null 2>&1
		echo "$(find "$m" -path "$m/var/lib/k3s-harden" -prune -o -type f -print | grep -c .)" \
			"$(awk '$NF == "total" { print $4 }' "$tmp/sc.first")" "$(awk '$NF == "total" { print $4 }' "$tmp/sc.noop")"
	}
	read -r f1 a1 b1 <<<"$(opens_for 100)"
	read -r f2 a2 b2 <<<"$(opens_for 300)"
	# what the 200 more files cost, whatever the process opens anyway
	# (shared libraries, a sanitizer's own files): a first apply opens each
	# new file once to write it, and once more when the check evidence kept
	# with the generation reads the manifests back
	expect "first apply: 200 more files cost at most two openat each ($f1 files: $a1, $f2 files: $a2)" \
		"$(cat "$tmp/sc.first")" cond '[ $((f2 - f1)) -ge 200 ] && [ $((a2 - a1)) -le $((2 * (f2 - f1) + 4)) ]'
	expect "no-op apply: 200 more files cost at most one openat each ($f1 files: $b1, $f2 files: $b2)" \
		"$(cat "$tmp/sc.noop")" cond '[ $((b2 - b1)) -le $((f2 - f1 + 4)) ]'
else
	skip_t "openat counts: strace not usable"
fi

echo "# runtime $(($(date +%s) - start)) s"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
