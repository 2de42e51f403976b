#!/usr/bin/env bash
# Benchmarks: how long `render` takes for the built-in cis profile and how it
# grows with the number of network-policy namespaces; what `diff` and `apply`
# cost on a fresh, an already hardened and a changed root, and how many
# fsync/syncfs calls apply makes (and that a no-op makes none, nor writes).
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
#   BENCH_PARTS      which parts to run (default "render diff apply")
#   BENCH_CONF_LINES lines of the big config.yaml for diff (default 10000)
#   BENCH_APPLY_NS   also time apply of cis with this many namespaces on a
#                    fresh root (default 100; empty: skip)
#   BENCH_STRACE     auto (if strace is installed and works), 1 or 0
# See bench/README.md for what each figure means.
set -euo pipefail

BIN=${K3H_BIN:-$PWD/k3s-harden}
BUILD=${K3H_BUILD:-$PWD/build}
SECS=${BENCH_SECONDS:-1.5}
SIZES=${BENCH_SIZES:-10 100 1000 10000}
CALLGRIND=${BENCH_CALLGRIND:-auto}
CG_SIZES=${BENCH_CG_SIZES:-100 1000}
PARTS=${BENCH_PARTS:-render diff apply}
CONF_LINES=${BENCH_CONF_LINES:-10000}
APPLY_NS=${BENCH_APPLY_NS-100}
STRACE=${BENCH_STRACE:-auto}
BR=$BUILD/bench/bench_render
BX=$BUILD/bench/bench_exec

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
for f in BR BX; do
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
	# "median (min)"
	medmin() { echo "$(fmt_us "$1") ($(fmt_us "$2"))"; }
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
