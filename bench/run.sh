#!/usr/bin/env bash
# Benchmarks: how long `render` takes for the built-in cis profile and how it
# grows with the number of network-policy namespaces; what `diff` and `apply`
# cost on a fresh, an already hardened and a changed root, and how many
# fsync/syncfs calls apply makes (and that a no-op makes none, nor writes);
# and what `apply --live` costs against a real systemd (a private instance,
# tests/systemd/harness.sh): a no-op, and an apply that restarts K3s, without
# the time the unit itself takes to stop and start; and (part 7) apply
# against the floor of doing the same file work plainly (bench/bench_files),
# as ratios in one run, at 4 / 100 / 1,000 / 10,000 namespaces.
#
#   make bench
#   K3H_BIN=$PWD/k3s-harden K3H_BUILD=$PWD/build bash bench/run.sh
#
# Environment (all optional):
#   K3H_BIN          the binary (default: ./k3s-harden)
#   K3H_BUILD        build directory holding bench/bench_render and
#                    bench/bench_exec (default: ./build)
#   BENCH_SECONDS    time budget per measurement, seconds (default 1.5)
#   BENCH_SIZES      namespace counts (default "10 100 1000 10000")
#   BENCH_CALLGRIND  auto (if valgrind is installed), 1 or 0 (default auto);
#                    instruction counts of render (part 3) and diff (part 4)
#   BENCH_CG_SIZES   namespace counts measured under callgrind
#                    (default "100 1000"; cis is always measured)
#   BENCH_PARTS      which parts to run (default "render diff apply systemd ratio keys")
#   BENCH_KEYS       top-level key counts of the profiles part 8 validates
#                    (default "10000 100000")
#   BENCH_RATIO_SIZES namespace counts of part 7 (default "4 100 1000 10000")
#   BENCH_CONF_LINES lines of the big config.yaml for diff (default 10000)
#   BENCH_APPLY_NS   also time apply of cis with this many namespaces on a
#                    fresh root (default 100; empty: skip)
#   BENCH_STRACE     auto (if strace is installed and works), 1 or 0
#   BENCH_RESTARTS   restarting applies (and baseline restarts) measured
#                    against the private systemd (default 20)
#   BENCH_SD_KEEP    append bench_exec's per-run lines of those runs to this file
# See bench/README.md for what each figure means.
set -euo pipefail

BIN=${K3H_BIN:-$PWD/k3s-harden}
BUILD=${K3H_BUILD:-$PWD/build}
SECS=${BENCH_SECONDS:-1.5}
SIZES=${BENCH_SIZES:-10 100 1000 10000}
CALLGRIND=${BENCH_CALLGRIND:-auto}
CG_SIZES=${BENCH_CG_SIZES:-100 1000}
PARTS=${BENCH_PARTS:-render diff apply systemd ratio keys}
KEYS=${BENCH_KEYS:-10000 100000}
RATIO_SIZES=${BENCH_RATIO_SIZES:-4 100 1000 10000}
CONF_LINES=${BENCH_CONF_LINES:-10000}
APPLY_NS=${BENCH_APPLY_NS-100}
STRACE=${BENCH_STRACE:-auto}
RESTARTS=${BENCH_RESTARTS:-20}
BR=$BUILD/bench/bench_render
BX=$BUILD/bench/bench_exec
BS=$BUILD/bench/bench_restart
BF=$BUILD/bench/bench_files

die() { echo "bench: $*" >&2; exit 1; }
run_part() { [[ " $PARTS " == *" $1 "* ]]; }

[[ -x $BIN ]] || die "no binary at '$BIN' (run make first, or set K3H_BIN)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/k3h-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Measure copies: a `make` elsewhere in the tree may relink the originals
# while the benchmark runs.
BIN_SRC=$BIN
mkdir "$TMP/bin"
cp "$BIN" "$TMP/bin/$(basename "$BIN")"
BIN=$TMP/bin/$(basename "$BIN")
for f in BR BX BS BF; do
	if [[ -x ${!f} ]]; then
		cp "${!f}" "$TMP/bin/"
		printf -v "$f" '%s' "$TMP/bin/$(basename "${!f}")"
	fi
done

# get KEY from a "k=v k=v" line
kv() { local v; v=$(sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"); echo "${v:-?}"; }
# microseconds -> "1234 us" / "12.3 ms" / "1.23 s"
fmt_us() {
	awk -v u="$1" 'BEGIN {
		if (u == "?" || u == "") { print "-"; exit }
		if (u < 1000) printf "%.0f us\n", u
		else if (u < 1000000) printf "%.2f ms\n", u / 1000
		else printf "%.2f s\n", u / 1000000 }'
}
# "median (min)"
medmin() { echo "$(fmt_us "$1") ($(fmt_us "$2"))"; }
# xmeasure STATUS PREP|"" MAXITER COMMAND... -> "cpu_med cpu_min wall_med wall_min iters"
xmeasure() {
	local st=$1 prep=$2 max=$3 line
	local a=(-s "$SECS" -w 1 -n "$max" -x "$st")
	shift 3
	[[ -n $prep ]] && a+=(-p "$prep")
	line=$("$BX" "${a[@]}" -- "$@") || return 1
	echo "$(kv "$line" cpu_med) $(kv "$line" cpu_min) $(kv "$line" wall_med)" \
		"$(kv "$line" wall_min) $(kv "$line" iters)"
}
# marginal cost per added namespace: (t - t_cis) / (n - n_cis)
per_ns() {
	awk -v t="$1" -v t0="$2" -v n="$3" -v n0="$4" 'BEGIN {
		if (t == "?" || t0 == "?" || n <= n0) { print "-"; exit }
		printf "%.1f us\n", (t - t0) / (n - n0) }'
}

echo "k3s-harden benchmarks ($PARTS)"
echo "  date     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "  binary   $BIN_SRC ($("$BIN" --version 2>/dev/null || echo '?'), $(sha256sum <"$BIN" | cut -c1-12)), run from a copy"
echo "  host     $(nproc) CPU, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
fstype=$(findmnt -n -o FSTYPE -T "$TMP" 2>/dev/null || stat -f -c %T "$TMP" 2>/dev/null || echo '?')
echo "  tmp      $TMP ($fstype)"
[[ $fstype != tmpfs ]] || echo "  !! TMPDIR is a tmpfs: fsync/syncfs cost nothing there; set TMPDIR to a disk"
echo "  budget   ${SECS}s per measurement; times are per run, median (min)"
echo

if [[ $CALLGRIND == auto ]]; then
	command -v valgrind >/dev/null 2>&1 && CALLGRIND=1 || CALLGRIND=0
fi
if [[ $CALLGRIND == 1 ]]; then
	command -v valgrind >/dev/null 2>&1 || die "BENCH_CALLGRIND=1 but valgrind is not installed"
fi
# instructions executed by COMMAND... (valgrind callgrind, whole process)
count_ir() {
	local ir
	valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$@" >/dev/null 2>"$TMP/cg.err" ||
		true # diff exits 1 with changes pending; a failure shows as no count
	ir=$(sed -n 's/^totals: *//p' "$TMP/cg.out" 2>/dev/null)
	[[ -n $ir ]] || ir=$(sed -n 's/.*Collected : *//p' "$TMP/cg.err")
	rm -f "$TMP/cg.out"
	[[ -n $ir ]] || die "callgrind run failed: $*: $(tail -3 "$TMP/cg.err")"
	echo "$ir"
}
# 1234567 -> 1,234,567
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# --- render: profiles with 10 ... 10000 namespaces -------------------------
if run_part render; then
	echo "Render ('/ns' = cost per namespace added to cis, from the minimums)"
	echo
	# One profile per size: extends cis, replaces its namespace list.
	gen_profile() {
		local n=$1 f=$TMP/ns-$1.yaml
		{
			echo "name: bench-ns-$n"
			echo "description: cis with $n network-policy namespaces"
			echo "extends: cis"
			echo "network_policies:"
			echo "  namespaces:"
			seq -f '  - ns-%04g' 1 "$n"
		} >"$f"
		"$BIN" profile validate "$f" >/dev/null || die "generated profile $f does not validate"
		echo "$f"
	}

	declare -A PROF
	CASES=(cis cis-agent)
	PROF[cis]=cis
	PROF[cis-agent]=cis-agent
	for n in $SIZES; do
		PROF[ns-$n]=$(gen_profile "$n")
		CASES+=("ns-$n")
	done
	# namespaces of the built-in cis profile (3 today), from its resolved form
	NS_CIS=$("$BIN" profile show cis | awk '
		/^[^ ]/ { np = ($1 == "network_policies:") }
		np && /^  [^ -]/ { inl = ($1 == "namespaces:") ; next }
		np && inl && /^  - / { n++ }
		END { print n + 0 }')
	ns_of() { case $1 in ns-*) echo "${1#ns-}" ;; cis) echo "$NS_CIS" ;; *) echo 0 ;; esac; }

	# --- 1. in-process: profile_load + render_profile ---------------------------
	# per-namespace figures come from the minimums: least disturbed by other load
	declare -A CPU ARTS LOAD REND
	if [[ -x $BR ]]; then
		echo "1. In process (bench_render: profile_load + render_profile, no exec, no output)"
		printf '   %-10s %6s %6s %9s %5s  %-10s %-10s %-21s %-10s %-9s %s\n' \
			profile ns files bytes iters load render "cpu total" wall "load/ns" "render/ns"
		for c in "${CASES[@]}"; do
			warm=2
			[[ $(ns_of "$c") -ge 5000 ]] && warm=1
			line=$("$BR" -s "$SECS" -w "$warm" -n 5000 "${PROF[$c]}") || die "bench_render failed for $c"
			CPU[$c]=$(kv "$line" cpu_med)
			LOAD[$c]=$(kv "$line" load_cpu_min)
			REND[$c]=$(kv "$line" render_cpu_min)
			ARTS[$c]=$(kv "$line" arts)
			pl=-
			pr=-
			if [[ $c == ns-* ]]; then
				pl=$(per_ns "${LOAD[$c]}" "${LOAD[cis]}" "$(ns_of "$c")" "$NS_CIS")
				pr=$(per_ns "${REND[$c]}" "${REND[cis]}" "$(ns_of "$c")" "$NS_CIS")
			fi
			printf '   %-10s %6s %6s %9s %5s  %-10s %-10s %-21s %-10s %-9s %s\n' \
				"$c" "$(ns_of "$c")" "${ARTS[$c]}" "$(kv "$line" bytes)" "$(kv "$line" iters)" \
				"$(fmt_us "$(kv "$line" load_cpu_med)")" "$(fmt_us "$(kv "$line" render_cpu_med)")" \
				"$(fmt_us "${CPU[$c]}") ($(fmt_us "$(kv "$line" cpu_min)"))" \
				"$(fmt_us "$(kv "$line" wall_med)")" "$pl" "$pr"
			if [[ $c == ns-* ]]; then
				want=$(( ARTS[cis] - NS_CIS + $(ns_of "$c") ))
				[[ ${ARTS[$c]} == "$want" ]] || echo "   !! $c rendered ${ARTS[$c]} files, expected $want"
			fi
		done
		verdict="NOT MET"
		awk -v t="${CPU[cis]}" 'BEGIN { exit !(t < 5000) }' && verdict=met
		echo "   goal: cis under 5 ms CPU per render in process: $verdict ($(fmt_us "${CPU[cis]}") median)"
	else
		echo "1. In process: skipped ($BR not built; run 'make bench')"
	fi
	echo

	# --- 2. whole process: exec of k3s-harden render ------------------------------
	# measure CASE [ARGS...] -> "cpu_med cpu_min wall_med maxrss"
	measure_exec() {
		local c=$1 line
		shift
		if [[ -x $BX ]]; then
			line=$("$BX" -s "$SECS" -w 1 -n 2000 -- "$BIN" -p "${PROF[$c]}" "$@") || return 1
			echo "$(kv "$line" cpu_med) $(kv "$line" cpu_min) $(kv "$line" wall_med) $(kv "$line" maxrss)"
		else
			# Fallback: bash's `time` around a loop of runs; mean, not median.
			local runs=20 i out
			[[ $(ns_of "$c") -ge 1000 ]] && runs=3
			out=$( { TIMEFORMAT='%3U %3S %3R'; time (for ((i = 0; i < runs; i++)); do
				"$BIN" -p "${PROF[$c]}" "$@" >/dev/null || exit 1; done); } 2>&1) || return 1
			awk -v r="$runs" '{ printf "%.1f ? %.1f ?\n", ($1 + $2) * 1e6 / r, $3 * 1e6 / r }' <<<"$out"
		fi
	}

	echo "2. Whole process ($(basename "$BIN") -p PROFILE render ...; CPU = user+sys of the child)"
	[[ -x $BX ]] || echo "   ($BX not built: means of a loop timed by bash 'time', ms resolution)"
	printf '   %-10s %6s  %-20s %-9s %-10s %-9s  %-20s %-9s %s\n' \
		profile ns "stdout: cpu" wall "cpu/ns" maxrss "--out DIR: cpu" wall "cpu/ns"
	declare -A XC XO
	for c in "${CASES[@]}"; do
		res=$(measure_exec "$c" render) || die "render failed for $c"
		read -r cm cmin wm rss <<<"$res"
		res=$(measure_exec "$c" render --out "$TMP/out-$c") || die "render --out failed for $c"
		read -r om omin owm _ <<<"$res"
		rm -rf "$TMP/out-$c"
		# the bash fallback has no minimum: use its mean
		[[ $cmin == "?" ]] && cmin=$cm
		[[ $omin == "?" ]] && omin=$om
		XC[$c]=$cmin
		XO[$c]=$omin
		pn=-
		po=-
		if [[ $c == ns-* ]]; then
			pn=$(per_ns "$cmin" "${XC[cis]}" "$(ns_of "$c")" "$NS_CIS")
			po=$(per_ns "$omin" "${XO[cis]}" "$(ns_of "$c")" "$NS_CIS")
		fi
		rss_s=-
		[[ $rss != "?" ]] && rss_s="$((rss / 1024)).$(( (rss % 1024) * 10 / 1024 )) MiB"
		printf '   %-10s %6s  %-20s %-9s %-10s %-9s  %-20s %-9s %s\n' \
			"$c" "$(ns_of "$c")" "$(fmt_us "$cm") ($(fmt_us "$cmin"))" "$(fmt_us "$wm")" "$pn" "$rss_s" \
			"$(fmt_us "$om") ($(fmt_us "$omin"))" "$(fmt_us "$owm")" "$po"
	done
	echo

	# --- 3. callgrind instruction counts (deterministic) -------------------------
	if [[ $CALLGRIND == 1 ]]; then
		echo "3. Instructions (valgrind --tool=callgrind, whole process, render to /dev/null)"
		printf '   %-10s %6s %16s %16s\n' profile ns "instructions" "Ir/ns added"
		cg_cases=(cis)
		for n in $CG_SIZES; do
			[[ -n ${PROF[ns-$n]:-} ]] || PROF[ns-$n]=$(gen_profile "$n")
			cg_cases+=("ns-$n")
		done
		ir0=
		for c in "${cg_cases[@]}"; do
			ir=$(count_ir "$BIN" -p "${PROF[$c]}" render)
			[[ $c == cis ]] && ir0=$ir
			pir=-
			[[ $c == ns-* ]] && pir=$(awk -v a="$ir" -v b="$ir0" -v n="$(ns_of "$c")" \
				-v n0="$NS_CIS" 'BEGIN { printf "%.0f", (a - b) / (n - n0) }')
			printf '   %-10s %6s %16s %16s\n' "$c" "$(ns_of "$c")" "$(commas "$ir")" "$pir"
		done
	else
		echo "3. Instructions: skipped (valgrind not installed or BENCH_CALLGRIND=0)"
	fi
	echo
fi
# --- diff and apply: roots prepared once -------------------------------------
# Every root lives under $TMP/roots; apply runs on copies under $TMP/runs,
# one per run, made by bench_exec's -p PREP outside the timing.
if run_part diff || run_part apply; then
	[[ -x $BX ]] || die "diff/apply need $BX (run 'make bench', or BENCH_PARTS=render)"
	ROOTS=$TMP/roots
	RUNS=$TMP/runs
	CONF=etc/rancher/k3s/config.yaml
	mkdir -p "$ROOTS/empty" "$RUNS"
	cp -a "$ROOTS/empty" "$ROOTS/hardened"
	"$BIN" -q -r "$ROOTS/hardened" apply || die "apply on an empty root failed"
	st=0
	"$BIN" -q -r "$ROOTS/hardened" diff >/dev/null || st=$?
	[[ $st == 0 ]] || die "diff on a freshly hardened root exits $st, expected 0"

	# PREP for bench_exec: a fresh copy of root $1 under $RUNS, flushed to disk
	# so that apply's syncs only pay for what apply writes; prints its path.
	prep_copy() {
		# shellcheck disable=SC2016 # expanded by bench_exec's sh -c, per run
		printf 'd=$(mktemp -d %q) && cp -a %q/. "$d" && sync -f "$d" && echo "$d"' \
			"$RUNS/r.XXXXXX" "$1"
	}
fi

# --- 4. diff -------------------------------------------------------------------
if run_part diff; then
	# A hardened root whose config.yaml has CONF_LINES lines: the user's
	# comments and keys before the managed block, in which one value differs
	# from the profile (audit-log-maxage 7 instead of 30).
	cp -a "$ROOTS/hardened" "$ROOTS/bigconf"
	src=$ROOTS/hardened/$CONF
	grep -q 'audit-log-maxage=30' "$src" || die "no audit-log-maxage=30 in the hardened $CONF"
	pad=$(( CONF_LINES - $(wc -l <"$src") - 4 ))
	[[ $pad -ge 10 ]] || die "BENCH_CONF_LINES=$CONF_LINES is too small"
	ncom=$(( pad / 2 ))
	nlab=$(( (pad - ncom) / 2 ))
	nsan=$(( pad - ncom - nlab ))
	{
		seq -f '# user comment %g: kept as written' 1 "$ncom"
		echo 'node-name: bench-node'
		echo 'write-kubeconfig-mode: "0600"'
		echo 'node-label:'
		seq -f '  - bench.example/l%g=v  # user label' 1 "$nlab"
		echo 'tls-san:'
		seq -f '  - san%g.bench.example' 1 "$nsan"
		sed 's/audit-log-maxage=30/audit-log-maxage=7/' "$src"
	} >"$TMP/big.yaml"
	# rewrite in place: the file keeps the mode apply gave it
	cat "$TMP/big.yaml" >"$ROOTS/bigconf/$CONF"
	rm -f "$TMP/big.yaml"

	echo "4. diff ($(basename "$BIN") -q --root R diff >/dev/null; whole process, CPU = user+sys of the child)"
	printf '   %-36s %6s %4s %5s %5s %5s  %-20s %s\n' \
		root "lines" exit files hunks iters cpu wall
	declare -A DCPU DLINES
	for c in hardened bigconf; do
		r=$ROOTS/$c
		st=0
		"$BIN" -q -r "$r" diff >"$TMP/diff.out" || st=$?
		files=$(grep -c '^diff --git ' "$TMP/diff.out" || true)
		hunks=$(grep -c '^@@ ' "$TMP/diff.out" || true)
		case $c in
		hardened)
			label="hardened (nothing to change)"
			[[ $st == 0 && $files == 0 ]] || echo "   !! diff on the hardened root: exit $st, $files files"
			;;
		bigconf)
			label="hardened, big config.yaml, 1 value off"
			chg=$(grep -c '^[-+]  - audit-log-maxage=' "$TMP/diff.out" || true)
			[[ $st == 1 && $files == 1 && $hunks == 1 && $chg == 2 ]] ||
				echo "   !! expected exit 1, 1 file, 1 hunk changing audit-log-maxage; got exit $st," \
					"$files files, $hunks hunks (diff kept in $TMP/diff.out until exit)"
			;;
		esac
		DLINES[$c]=$(wc -l <"$r/$CONF")
		res=$(xmeasure "$st" "" 2000 "$BIN" -q -r "$r" diff) || die "diff failed on $c"
		read -r cm cmin wm _ it <<<"$res"
		DCPU[$c]=$cmin
		printf '   %-36s %6s %4s %5s %5s %5s  %-20s %s\n' "$label" "${DLINES[$c]}" "$st" \
			"$files" "$hunks" "$it" "$(medmin "$cm" "$cmin")" "$(fmt_us "$wm")"
	done
	echo "   per 1000 lines of config.yaml: $(awk -v a="${DCPU[bigconf]}" -v b="${DCPU[hardened]}" \
		-v n="${DLINES[bigconf]}" -v n0="${DLINES[hardened]}" \
		'BEGIN { printf "%.0f us", (a - b) / (n - n0) * 1000 }') CPU (from the minimums)"
	if [[ $CALLGRIND == 1 ]]; then
		ir0=$(count_ir "$BIN" -q -r "$ROOTS/hardened" diff)
		ir1=$(count_ir "$BIN" -q -r "$ROOTS/bigconf" diff)
		echo "   instructions (callgrind): hardened $(commas "$ir0"), big config.yaml $(commas "$ir1");" \
			"$(awk -v a="$ir1" -v b="$ir0" -v n="${DLINES[bigconf]}" -v n0="${DLINES[hardened]}" \
				'BEGIN { printf "%.0f", (a - b) / (n - n0) }') per added line"
	fi
	echo
fi

# --- 5. apply ------------------------------------------------------------------
if run_part apply; then
	if [[ $STRACE == auto ]]; then
		STRACE=0
		command -v strace >/dev/null 2>&1 && strace -o /dev/null true >/dev/null 2>&1 && STRACE=1
	fi
	if [[ $STRACE == 1 ]]; then
		strace -o /dev/null true >/dev/null 2>&1 || die "BENCH_STRACE=1 but strace does not work here"
	fi

	# a profile that differs from cis in one config.yaml value only (same name,
	# so the generated files' headers do not change either)
	P_UPD=$TMP/cis-maxage7.yaml
	printf '%s\n' 'name: cis' 'description: cis with 7 days of audit logs' 'extends: cis' \
		'audit:' '  max_age: 7' >"$P_UPD"
	"$BIN" profile validate "$P_UPD" >/dev/null || die "profile $P_UPD does not validate"
	st=0
	"$BIN" -q -p "$P_UPD" -r "$ROOTS/hardened" diff >"$TMP/diff.out" || st=$?
	[[ $st == 1 && $(grep -c '^diff --git ' "$TMP/diff.out") == 1 ]] &&
		grep -q "^diff --git a/$CONF " "$TMP/diff.out" ||
		echo "   !! $P_UPD should change $CONF only (diff exit $st)"
	P_NS=
	if [[ -n $APPLY_NS ]]; then
		P_NS=$TMP/apply-ns-$APPLY_NS.yaml
		{
			echo "name: bench-ns-$APPLY_NS"
			echo "description: cis with $APPLY_NS network-policy namespaces"
			echo "extends: cis"
			echo "network_policies:"
			echo "  namespaces:"
			seq -f '  - ns-%04g' 1 "$APPLY_NS"
		} >"$P_NS"
		"$BIN" profile validate "$P_NS" >/dev/null || die "profile $P_NS does not validate"
	fi

	# one verbose apply on a fresh copy of root $1 with profile $2:
	# "CHANGED SYNCS" from its output ("9 created, 0 updated, 0 removed" and
	# "N files backed up, M fsync/syncfs calls")
	apply_counts() {
		local d out ch sy
		d=$(mktemp -d "$RUNS/v.XXXXXX")
		cp -a "$1/." "$d"
		out=$("$BIN" -v -p "$2" -r "$d" apply 2>&1) || die "apply -v failed: $out"
		ch=$(sed -n 's/.*: \([0-9]*\) created, \([0-9]*\) updated, \([0-9]*\) removed.*/\1+\2+\3/p' \
			<<<"$out" | head -1)
		[[ -n $ch ]] && ch=$((ch))
		sy=$(sed -n 's/.* \([0-9]*\) fsync\/syncfs calls.*/\1/p' <<<"$out" | head -1)
		echo "${ch:-0} ${sy:--}"
	}
	# strace -c of COMMAND... -> "TOTAL (N fsync, M syncfs)", or "0"
	strace_syncs() {
		strace -f -qq -c -o "$TMP/strace.c" -e trace=fsync,fdatasync,syncfs "$@" >/dev/null ||
			die "'$*' failed under strace"
		awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ { n[$NF] = $4; t += $4 }
			END {
				for (i = 1; i <= 3; i++) {
					k = i == 1 ? "fsync" : i == 2 ? "fdatasync" : "syncfs"
					if (k in n) { s = s sep n[k] " " k; sep = ", " }
				}
				printf "%d%s\n", t, (s == "" ? "" : " (" s ")") }' "$TMP/strace.c"
	}

	echo "5. apply ($(basename "$BIN") -q [-p PROFILE] --root R apply; whole process, CPU = user+sys)"
	echo "   fresh/update: every run on its own copy of R, made and flushed (sync -f) before the"
	echo "   run, outside the timing; syncs: from 'apply -v', and counted by strace -f -c (if run)"
	printf '   %-32s %7s %5s  %-20s %-20s %6s  %s\n' \
		case changed iters cpu wall "syncs" "strace: fsync+syncfs"
	cases=(fresh)
	[[ -n $P_NS ]] && cases+=(fresh-ns)
	cases+=(update noop)
	for c in "${cases[@]}"; do
		case $c in
		fresh) src=$ROOTS/empty prof=cis label="fresh root, cis" ;;
		fresh-ns) src=$ROOTS/empty prof=$P_NS label="fresh root, cis + $APPLY_NS namespaces" ;;
		update) src=$ROOTS/hardened prof=$P_UPD label="hardened, profile change (1 file)" ;;
		noop) src=$ROOTS/hardened prof=cis label="hardened, no-op" ;;
		esac
		if [[ $c == noop ]]; then
			# nothing changes: the same root serves every run
			res=$(xmeasure 0 "" 2000 "$BIN" -q -r "$src" apply) || die "apply failed ($c)"
			changed=0 syncs=0
		else
			res=$(xmeasure 0 "$(prep_copy "$src")" 150 "$BIN" -q -p "$prof" -r '{}' apply) ||
				die "apply failed ($c)"
			read -r changed syncs <<<"$(apply_counts "$src" "$prof")"
		fi
		read -r cm cmin wm wmin it <<<"$res"
		ss=-
		if [[ $STRACE == 1 ]]; then
			r=$src
			if [[ $c != noop ]]; then
				r=$(mktemp -d "$RUNS/s.XXXXXX")
				cp -a "$src/." "$r"
			fi
			ss=$(strace_syncs "$BIN" -q -p "$prof" -r "$r" apply)
			[[ $syncs == - || $syncs == "${ss%% *}" ]] ||
				echo "   !! $c: apply -v reports $syncs syncs, strace counted $ss"
		fi
		printf '   %-32s %7s %5s  %-20s %-20s %6s  %s\n' "$label" "$changed" "$it" \
			"$(medmin "$cm" "$cmin")" "$(medmin "$wm" "$wmin")" "$syncs" "$ss"
		rm -rf "${RUNS:?}"/*
	done

	# What does a run change? strace every call that can create, write, rename,
	# remove, change attributes or sync (fds shown with their paths), and
	# compare a listing of the whole root (type, mode, owner, size, mtime,
	# ctime) before and after. The fresh apply is the control: it must show up.
	snapshot() { find "$1" -printf '%P %y %m %U:%G %s %T@ %C@\n' | LC_ALL=C sort; }
	# trace FILE -> "opens-for-write writes ns-changes attr-changes syncs"
	tally() {
		awk '
		{
			if ($2 !~ /^[a-z_0-9]+\(/) next
			name = $2; sub(/\(.*/, "", name)
			if (name ~ /^(open|openat|openat2)$/ && $0 ~ /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/) wo++
			else if (name == "creat") wo++
			else if (name ~ /^(write|pwrite64|writev|pwritev|pwritev2)$/) {
				fd = $2; sub(/^[a-z0-9]+\(/, "", fd); sub(/[<,].*/, "", fd)
				if (fd != 1 && fd != 2) w++
			}
			else if (name ~ /^(mkdir|mkdirat|rename|renameat|renameat2|unlink|unlinkat|rmdir|link|linkat|symlink|symlinkat|mknod|mknodat)$/) ns++
			else if (name ~ /^(chmod|fchmod|fchmodat|chown|fchown|fchownat|lchown|truncate|ftruncate|fallocate|utime|utimes|utimensat|futimesat|setxattr|lsetxattr|fsetxattr|removexattr|lremovexattr|fremovexattr)$/) at++
			else if (name ~ /^(sync|fsync|fdatasync|syncfs|sync_file_range)$/) sy++
		}
		END { printf "%d %d %d %d %d\n", wo, w, ns, at, sy }' "$1"
	}
	TRACE_SET='%file,write,pwrite64,writev,pwritev,pwritev2,ftruncate,fallocate,fchmod,fchown'
	TRACE_SET+=',fsetxattr,fremovexattr,sync,fsync,fdatasync,syncfs,sync_file_range'
	echo
	if [[ $STRACE == 1 ]]; then
		echo "   what a run changes (strace -f -y -e trace=%file,write*,f*chmod/chown,*sync*; tree listing)"
	else
		echo "   what a run changes (strace not available: tree listing only)"
	fi
	printf '   %-32s %8s %7s %11s %6s %6s  %s\n' \
		run "open-w" writes "mk/mv/rm" attrs syncs "tree before/after"
	for c in fresh noop diff; do
		case $c in
		fresh)
			r=$(mktemp -d "$RUNS/t.XXXXXX")
			cmd=("$BIN" -q -r "$r" apply) label="apply, fresh root (control)" ;;
		noop) r=$ROOTS/hardened cmd=("$BIN" -q -r "$r" apply) label="apply, hardened (no-op)" ;;
		diff) r=$ROOTS/hardened cmd=("$BIN" -q -r "$r" diff) label="diff, hardened" ;;
		esac
		snapshot "$r" >"$TMP/tree.before"
		t="- - - - -"
		if [[ $STRACE == 1 ]]; then
			strace -f -qq -y -o "$TMP/strace.out" -e trace="$TRACE_SET" "${cmd[@]}" \
				>/dev/null 2>&1 || die "'${cmd[*]}' failed under strace"
			t=$(tally "$TMP/strace.out")
		else
			"${cmd[@]}" >/dev/null 2>&1 || die "'${cmd[*]}' failed"
		fi
		snapshot "$r" >"$TMP/tree.after"
		tree="unchanged ($(wc -l <"$TMP/tree.before") entries)"
		cmp -s "$TMP/tree.before" "$TMP/tree.after" ||
			tree="changed ($(LC_ALL=C comm -3 "$TMP/tree.before" "$TMP/tree.after" | wc -l) lines differ)"
		read -r wo w ns at sy <<<"$t"
		printf '   %-32s %8s %7s %11s %6s %6s  %s\n' "$label" "$wo" "$w" "$ns" "$at" "$sy" "$tree"
		if [[ $c != fresh ]] && [[ $t != "0 0 0 0 0" && $t != "- - - - -" || $tree == changed* ]]; then
			echo "   !! $label is not read-only (trace kept in $TMP/strace.out until exit)"
		fi
	done
	rm -rf "${RUNS:?}"/*
	echo
fi

# --- 6. apply --live against a real systemd --------------------------------------
# A private systemd (tests/systemd/harness.sh, /work/shared/TESTING-SYSTEMD.md)
# runs the K3s stand-in as k3s.service (Type=notify); k3s-harden reaches it
# over that instance's bus. What systemd spends stopping and starting the
# unit is taken out per run, from the unit's own timestamps read after it.
if run_part systemd; then
	echo "6. apply --live against a real systemd (private instance, tests/systemd/harness.sh;"
	echo "   K3s stand-in as k3s.service, Type=notify; restart gate: settle 0s, no health command)"
	[[ -x $BX ]] || die "the systemd part needs $BX (run 'make bench', or BENCH_PARTS without systemd)"
	[[ -x $BS ]] || die "the systemd part needs $BS (run 'make bench', or BENCH_PARTS without systemd)"
	[[ $RESTARTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RESTARTS='$RESTARTS' is not a positive number"
	# shellcheck source-path=SCRIPTDIR/.. source=tests/systemd/harness.sh disable=SC1091 # -x follows it
	. "$(dirname "${BASH_SOURCE[0]}")/../tests/systemd/harness.sh"
	SD=$TMP/sd
	mkdir "$SD"
	# the instance must go whatever happens: stop it before removing $TMP
	trap 'sd_stop_all >/dev/null 2>&1; rm -rf "$TMP"' EXIT
	trap 'exit 130' INT TERM HUP
	st=0
	sd_start "$SD" notify 2>"$TMP/sd.err" || st=$?
	if [[ $st == 77 ]]; then
		echo "   SKIP: cannot run a private systemd here ($(sed -n 's/^harness: //p' "$TMP/sd.err" | tail -1))"
	elif [[ $st != 0 ]]; then
		die "cannot start the private systemd (harness exit $st): $(tail -5 "$TMP/sd.err")"
	else
		sd_ready_ms=$SD_START_MS
		export DBUS_SYSTEM_BUS_ADDRESS=$SD_BUS_ADDRESS
		# AFTER for bench_exec: "ActiveExit,InactiveEnter,InactiveExit,ActiveEnter,STARTS"
		# of k3s.service (CLOCK_MONOTONIC, us) and how often the stand-in got ready
		# shellcheck disable=SC2016 # expanded by bench_exec's sh -c, per run
		SD_AFTER=$(printf 'p=$(busctl --address=%q --timeout=10 get-property %s %s %s %s) || exit 1; %s' \
			"$SD_BUS_ADDRESS" org.freedesktop.systemd1 /org/freedesktop/systemd1/unit/k3s_2eservice \
			org.freedesktop.systemd1.Unit \
			'ActiveExitTimestampMonotonic InactiveEnterTimestampMonotonic InactiveExitTimestampMonotonic ActiveEnterTimestampMonotonic' \
			"$(printf 'n=$(wc -l <%q) || exit 1; printf "%%s\\n" "$p" | awk -v n="$n" %s' \
				"$SD_ROOT/standin-starts" "'{ printf \"%s,\", \$2 } END { print n }'")")
		unit_now() { sh -c "$SD_AFTER" || die "cannot read k3s.service's timestamps"; }
		# per-run lines of bench_exec -r -a "$SD_AFTER"; STARTS0 the count before
		# the first -> "K_med=.. K_min=.." for wall, cpu, restart (unit left active
		# -> active again), start (activating -> active), own (wall - restart),
		# nostart (wall - start), before (exec -> unit leaves active), after
		# (active again -> reaped); runs=N bad=M (runs whose restart was not
		# inside the run, or that did not make the stand-in ready exactly once)
		unit_stats() {
			awk -v s0="$1" '
			function put(k, v) { n[k]++; a[k, n[k]] = v }
			function stat(k,   i, j, t, m) {
				for (i = 2; i <= n[k]; i++) {
					t = a[k, i]
					for (j = i - 1; j >= 1 && a[k, j] > t; j--) a[k, j + 1] = a[k, j]
					a[k, j + 1] = t
				}
				m = n[k] % 2 ? a[k, (n[k] + 1) / 2] : (a[k, n[k] / 2] + a[k, n[k] / 2 + 1]) / 2
				printf " %s_med=%.1f %s_min=%.1f", k, m, k, a[k, 1]
			}
			$1 ~ /^run=/ {
				for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
				split(f["after"], p, ",")
				ae = p[1] + 0; ie = p[2] + 0; ix = p[3] + 0; an = p[4] + 0; st = p[5] + 0
				t0 = f["t0"] + 0; t1 = f["t1"] + 0; w = f["wall"] + 0
				if (!(ae >= t0 && an <= t1 && ae <= ie && ie <= ix && ix <= an && st == s0 + 1)) bad++
				s0 = st
				runs++
				put("wall", w); put("cpu", f["cpu"] + 0)
				put("restart", an - ae); put("start", an - ix)
				put("own", w - (an - ae)); put("nostart", w - (an - ix))
				put("before", ae - t0); put("after", t1 - an)
			}
			END {
				printf "runs=%d bad=%d", runs, bad
				if (runs) {
					stat("wall"); stat("cpu"); stat("restart"); stat("start"); stat("own")
					stat("nostart"); stat("before"); stat("after")
				}
				print ""
			}'
		}
		# restarting runs: bench_exec -r with SD_AFTER, exactly RESTARTS of them
		# after one warm-up -> "STATS" of unit_stats; $1 PREP or ""
		restart_runs() {
			local prep=$1 s0 a=(-s 86400 -w 1 -n "$RESTARTS" -r -a "$SD_AFTER")
			shift
			[[ -n $prep ]] && a+=(-p "$prep")
			s0=$(unit_now)
			"$BX" "${a[@]}" -- "$@" >"$TMP/sd.runs" || return 1
			[[ -z ${BENCH_SD_KEEP:-} ]] || cat "$TMP/sd.runs" >>"$BENCH_SD_KEEP"
			# the warm-up run restarted it once too
			unit_stats "$(( ${s0##*,} + 1 ))" <"$TMP/sd.runs"
		}

		# two profiles that differ in psa.yaml only (one exempt namespace), the
		# same name; the gate adds no waiting of its own
		P_LA=$TMP/live-a.yaml
		P_LB=$TMP/live-b.yaml
		printf '%s\n' 'name: bench-live' 'description: cis, restart gate without waiting' \
			'extends: cis' 'restart: { job_timeout: 20s, settle: 0s, health_command: [] }' >"$P_LA"
		printf '%s\n' 'name: bench-live' 'description: bench-live, one namespace exempt' \
			"extends: $P_LA" 'pod_security: { exemptions: { namespaces+: [bench-toggle] } }' >"$P_LB"
		for f in "$P_LA" "$P_LB"; do
			"$BIN" profile validate "$f" >/dev/null || die "profile $f does not validate"
		done
		live_apply() { "$BIN" -q -p "$1" apply --root "$SD_ROOT" --live; }
		# the first apply: files, kernel values (live, under the root), restart
		out=$(live_apply "$P_LA" 2>&1) || die "apply --live of $P_LA failed: $out"
		st=0
		"$BIN" -q -p "$P_LB" diff --root "$SD_ROOT" >"$TMP/diff.out" || st=$?
		[[ $st == 1 && $(grep -c '^diff --git ' "$TMP/diff.out") == 1 ]] &&
			grep -q '^diff --git a/var/lib/rancher/k3s/server/psa.yaml ' "$TMP/diff.out" ||
			echo "   !! $P_LB should change psa.yaml only (diff exit $st)"

		printf '   %-46s %5s  %-20s %s\n' case iters cpu wall
		# (a) no-op, with and without --live; neither may touch the unit
		u0=$(unit_now)
		for c in live offline; do
			case $c in
			live) a=(--live) label="apply --live, no-op (nothing to do)" ;;
			offline) a=() label="apply, no-op, same root offline (no --live)" ;;
			esac
			res=$(xmeasure 0 "" 2000 "$BIN" -q -p "$P_LA" apply --root "$SD_ROOT" "${a[@]}") ||
				die "no-op apply failed ($c)"
			read -r cm cmin wm wmin it <<<"$res"
			printf '   %-46s %5s  %-20s %s\n' "$label" "$it" "$(medmin "$cm" "$cmin")" "$(medmin "$wm" "$wmin")"
		done
		u1=$(unit_now)
		[[ $u0 == "$u1" ]] || echo "   !! the no-op applies touched k3s.service (timestamps,starts $u0 -> $u1)"

		# (b) restarting applies: every run switches to the other profile
		tog=$TMP/live-toggle
		prep=$(printf 'if [ -e %q ]; then rm -f %q && echo %q; else : >%q && echo %q; fi' \
			"$tog" "$tog" "$P_LA" "$tog" "$P_LB")
		# the same file work without the restart (restart left pending; the
		# warm-up run below does it)
		res=$(xmeasure 0 "$prep" 150 "$BIN" -q -p '{}' apply --root "$SD_ROOT" --live --no-restart) ||
			die "apply --live --no-restart failed"
		read -r cm cmin wm wmin it <<<"$res"
		NR_WALL=$wm
		printf '   %-46s %5s  %-20s %s\n' "apply --live --no-restart, psa.yaml changed" "$it" \
			"$(medmin "$cm" "$cmin")" "$(medmin "$wm" "$wmin")"
		declare -A US
		US[apply]=$(restart_runs "$prep" "$BIN" -q -p '{}' apply --root "$SD_ROOT" --live) ||
			die "restarting apply failed (runs so far in $TMP/sd.runs; console: $SD/console.log)"
		# the same bus calls without k3s-harden (src/systemd.c via bench_restart)
		US[base]=$(restart_runs "" "$BS" -r -s k3s.service) || die "bench_restart -r -s failed"
		for c in apply base; do
			l=${US[$c]}
			case $c in
			apply) label="apply --live, psa.yaml changed, K3s restarted" ;;
			base) label="baseline: bench_restart -r -s k3s.service" ;;
			esac
			printf '   %-46s %5s  %-20s %s\n' "$label" "$(kv "$l" runs)" \
				"$(medmin "$(kv "$l" cpu_med)" "$(kv "$l" cpu_min)")" \
				"$(medmin "$(kv "$l" wall_med)" "$(kv "$l" wall_min)")"
			[[ $(kv "$l" bad) == 0 ]] ||
				echo "   !! $(kv "$l" bad) runs: no restart of k3s.service inside the run, or not one start"
		done
		declare -A BW
		for c in reload connect; do
			case $c in
			reload) a=(-r) label="baseline: bench_restart -r k3s.service" ;;
			connect) a=() label="baseline: bench_restart k3s.service" ;;
			esac
			res=$(xmeasure 0 "" 500 "$BS" "${a[@]}" k3s.service) || die "bench_restart ${a[*]} failed"
			read -r cm cmin wm wmin it <<<"$res"
			BW[$c]=$wm
			printf '   %-46s %5s  %-20s %s\n' "$label" "$it" "$(medmin "$cm" "$cmin")" "$(medmin "$wm" "$wmin")"
		done
		echo "   bench_restart makes apply's bus calls (src/systemd.c), nothing else: connect and check"
		echo "   the unit; -r daemon-reload; -s RestartUnit and wait for the job, as the gate does"
		echo
		echo "   restarting runs, split by k3s.service's timestamps read after each (median (min) of the"
		echo "   per-run figures): down-up = ActiveExit -> ActiveEnter (its stop and start as systemd ran"
		echo "   them), start = InactiveExit -> ActiveEnter, to-stop = exec -> ActiveExit, from-up ="
		echo "   ActiveEnter -> reaped; wall = to-stop + down-up + from-up"
		printf '   %-20s %-20s %-20s %-20s %-20s %-20s %s\n' \
			run down-up start "wall - start" "wall - down-up" to-stop from-up
		for c in apply base; do
			l=${US[$c]}
			mm() { medmin "$(kv "$l" "$1_med")" "$(kv "$l" "$1_min")"; }
			case $c in apply) label="apply --live" ;; base) label="bench_restart -r -s" ;; esac
			printf '   %-20s %-20s %-20s %-20s %-20s %-20s %s\n' "$label" "$(mm restart)" "$(mm start)" \
				"$(mm nostart)" "$(mm own)" "$(mm before)" "$(mm after)"
		done
		echo "   k3s-harden's own time, apply restarting K3s: cpu $(medmin "$(kv "${US[apply]}" cpu_med)" \
			"$(kv "${US[apply]}" cpu_min)"); wall - down-up $(fmt_us "$(kv "${US[apply]}" own_med)");"
		echo "   of that, the bus calls alone (bench_restart -r -s, wall - down-up)" \
			"$(fmt_us "$(kv "${US[base]}" own_med)"), daemon-reload ~$(awk -v a="${BW[reload]}" \
				-v b="${BW[connect]}" 'BEGIN { printf "%.1f ms", (a - b) / 1000 }')"
		echo "   (bench_restart -r minus bench_restart); the files alone (--no-restart) $(fmt_us "$NR_WALL");" \
			"all medians"
		unset DBUS_SYSTEM_BUS_ADDRESS

		st=0
		sd_stop 2>"$TMP/sd.err" || st=$?
		if [[ $st == 0 ]] && sd_check_clean "$SD" 2>"$TMP/sd.err"; then
			echo "   instance: ready in ${sd_ready_ms} ms, stopped in ${SD_STOP_MS} ms, nothing left" \
				"behind (sd_check_clean)"
		else
			echo "   !! the private systemd was not stopped cleanly: $(tr '\n' ' ' <"$TMP/sd.err")"
		fi
	fi
	trap 'rm -rf "$TMP"' EXIT
	echo
fi

# --- 7. apply against the floor: the same files, handled plainly ------------
# For each size: a profile of N network-policy namespaces; REF = its files
# (`render --out`); H = a root after one apply. Every figure is a whole
# process (bench_exec), all in this one run, so the ratios compare like with
# like on whatever else the machine is doing.
#   no-op apply  k3s-harden apply on H (nothing to do)
#   read         bench_files read H REF: open and read each file of H once
#   compare      bench_files compare H REF: read each file of H and of REF and
#                compare: the floor of a no-op (apply has REF from rendering)
#   first apply  k3s-harden apply on a fresh empty root (PREP, not timed)
#   batched      bench_files write: every temp file, syncfs, every rename,
#                syncfs (DESIGN.md) into a fresh empty root
#   maxrss       of the apply runs (bench_exec, largest of any run)
# and, with strace, the system calls of one no-op and one first apply.
if run_part ratio; then
	echo "7. apply against the floor (bench/bench_files; whole processes, wall median (min))"
	[[ -x $BX ]] || die "the ratio part needs $BX (run 'make bench')"
	[[ -x $BF ]] || die "the ratio part needs $BF (run 'make bench')"
	RT=$TMP/ratio
	mkdir -p "$RT/runs"
	rst=$STRACE
	if [[ $rst == auto ]]; then
		command -v strace >/dev/null 2>&1 && strace -o /dev/null true 2>/dev/null && rst=1 || rst=0
	fi
	# wall times: "med min maxrss iters" of bench_exec
	wmeasure() {
		local prep=$1 line a=(-s "$SECS" -w 1 -n 1000)
		shift
		[[ -n $prep ]] && a+=(-p "$prep")
		line=$("$BX" "${a[@]}" -- "$@") || return 1
		echo "$(kv "$line" wall_med) $(kv "$line" wall_min) $(kv "$line" maxrss) $(kv "$line" iters)"
	}
	# "med-ratio (min-ratio)"
	ratio() {
		awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {
			if (b <= 0 || d <= 0) print "-"; else printf "%.2fx (%.2fx)\n", a / b, c / d }'
	}
	# "openat close all" system calls of CMD... (strace -f -c)
	scount() {
		strace -f -c -o "$RT/sc" "$@" >/dev/null 2>&1 || { echo "- - -"; return; }
		awk '$NF == "openat" { o = $4 } $NF == "close" { c = $4 } $NF == "total" { t = $4 }
			END { printf "%d %d %d\n", o, c, t }' "$RT/sc"
	}
	fresh_prep=$(printf 'd=$(mktemp -d %q) && echo "$d"' "$RT/runs/f.XXXXXX")
	printf '   %6s %6s  %-20s %-20s %-20s %-14s  %-20s %-20s %-14s  %s\n' ns files "no-op apply" read compare \
		ratio "first apply" batched ratio "maxrss (no-op, first)"
	declare -A SC
	for n in $RATIO_SIZES; do
		P=$RT/ns-$n.yaml
		{
			echo "name: bench-ns-$n"
			echo "description: cis with $n network-policy namespaces"
			echo "extends: cis"
			echo "network_policies:"
			echo "  namespaces:"
			for ((i = 1; i <= n; i++)); do printf '  - ns-%05d\n' "$i"; done
		} >"$P"
		rm -rf "$RT/ref" "$RT/h"
		"$BIN" -q -p "$P" render --out "$RT/ref" >/dev/null || die "render --out of $P failed"
		mkdir "$RT/h"
		"$BIN" -q -p "$P" -r "$RT/h" apply || die "apply of $P failed"
		st=0
		"$BIN" -q -p "$P" -r "$RT/h" diff >/dev/null || st=$?
		[[ $st == 0 ]] || die "diff after apply of $P exits $st"
		files=$("$BF" read "$RT/h" "$RT/ref" | sed 's/files=\([0-9]*\).*/\1/')
		read -r nm nmin nrss _ < <(wmeasure "" "$BIN" -q -p "$P" -r "$RT/h" apply) || die "no-op apply failed"
		read -r rm_ rmin _ _ < <(wmeasure "" "$BF" read "$RT/h" "$RT/ref") || die "bench_files read failed"
		read -r cm cmin _ _ < <(wmeasure "" "$BF" compare "$RT/h" "$RT/ref") || die "bench_files compare failed"
		read -r fm fmin frss _ < <(wmeasure "$fresh_prep" "$BIN" -q -p "$P" -r '{}' apply) || die "first apply failed"
		rm -rf "${RT:?}/runs/"*
		read -r bm bmin _ _ < <(wmeasure "$fresh_prep" "$BF" write '{}' "$RT/ref") || die "bench_files write failed"
		rm -rf "${RT:?}/runs/"*
		printf '   %6s %6s  %-20s %-20s %-20s %-14s  %-20s %-20s %-14s  %s, %s\n' "$n" "$files" \
			"$(medmin "$nm" "$nmin")" "$(medmin "$rm_" "$rmin")" "$(medmin "$cm" "$cmin")" \
			"$(ratio "$nm" "$cm" "$nmin" "$cmin")" "$(medmin "$fm" "$fmin")" "$(medmin "$bm" "$bmin")" \
			"$(ratio "$fm" "$bm" "$fmin" "$bmin")" \
			"$(awk -v k="$nrss" 'BEGIN { printf "%.1f MiB", k / 1024 }')" \
			"$(awk -v k="$frss" 'BEGIN { printf "%.1f MiB", k / 1024 }')"
		if [[ $rst == 1 ]]; then
			mkdir "$RT/runs/s"
			SC[$n]="$(scount "$BIN" -q -p "$P" -r "$RT/h" apply) $(scount "$BF" compare "$RT/h" "$RT/ref")"
			SC[$n]+=" $(scount "$BIN" -q -p "$P" -r "$RT/runs/s" apply)"
			mkdir "$RT/runs/b"
			SC[$n]+=" $(scount "$BF" write "$RT/runs/b" "$RT/ref")"
			rm -rf "${RT:?}/runs/"*
		fi
	done
	echo "   ratio = k3s-harden / floor, of the medians (of the minimums); goal (issue 8): no-op within 2x of compare,"
	echo "   first apply within 2x of batched, maxrss under 10 MiB at 1,000"
	if [[ $rst == 1 ]]; then
		echo
		echo "   system calls of one run (strace -f -c): openat / close / all"
		printf '   %6s  %-22s %-22s %-22s %s\n' ns "no-op apply" "compare" "first apply" "batched"
		for n in $RATIO_SIZES; do
			read -r a b c d e f g h i j k l <<<"${SC[$n]}"
			printf '   %6s  %-22s %-22s %-22s %s\n' "$n" "$a / $b / $c" "$d / $e / $f" "$g / $h / $i" \
				"$j / $k / $l"
		done
	fi
	echo
fi

# --- 8. profile validate on a profile of many keys --------------------------
# `extends: cis` and N unknown top-level keys k1..kN (each an error, all
# reported), plus `kN/2+: [x]` beside `kN/2:` (a duplicate): the duplicate
# check of the extends merge and the schema's pruning of unknown keys, which
# were quadratic (~35 s at 100,000 keys).
if run_part keys; then
	echo "8. profile validate, N unknown keys and one key/key+ pair (exit 2; whole process)"
	[[ -x $BX ]] || die "the keys part needs $BX (run 'make bench')"
	printf '   %8s %9s %7s  %-20s %s\n' keys bytes iters cpu wall
	for k in $KEYS; do
		P=$TMP/keys-$k.yaml
		awk -v n="$k" 'BEGIN { print "extends: cis"; for (i = 1; i <= n; i++) print "k" i ":";
			print "k" int(n / 2) "+: [x]" }' >"$P"
		st=0
		"$BIN" profile validate "$P" >/dev/null 2>"$TMP/keys.err" || st=$?
		[[ $st == 2 ]] || die "profile validate of $k keys exits $st, expected 2"
		[[ $(grep -c ': unknown key' "$TMP/keys.err") == "$k" ]] ||
			echo "   !! not every unknown key of $P was reported"
		grep -q "k$((k / 2)): duplicate key" "$TMP/keys.err" || echo "   !! the key/key+ pair was not reported"
		res=$(xmeasure 2 "" 100 "$BIN" profile validate "$P" 2>/dev/null) || die "profile validate of $k keys failed"
		read -r cm cmin wm wmin it <<<"$res"
		printf '   %8s %9s %7s  %-20s %s\n' "$k" "$(wc -c <"$P")" "$it" "$(medmin "$cm" "$cmin")" \
			"$(medmin "$wm" "$wmin")"
	done
	echo
fi
