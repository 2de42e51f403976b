#!/usr/bin/env bash
# Render benchmarks: how long `render` takes for the built-in cis profile and
# how it grows with the number of network-policy namespaces.
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
#   BENCH_CALLGRIND  auto (if valgrind is installed), 1 or 0 (default auto)
#   BENCH_CG_SIZES   namespace counts measured under callgrind
#                    (default "100 1000"; cis is always measured)
# See bench/README.md for what each figure means.
set -euo pipefail

BIN=${K3H_BIN:-$PWD/k3s-harden}
BUILD=${K3H_BUILD:-$PWD/build}
SECS=${BENCH_SECONDS:-1.5}
SIZES=${BENCH_SIZES:-10 100 1000 10000}
CALLGRIND=${BENCH_CALLGRIND:-auto}
CG_SIZES=${BENCH_CG_SIZES:-100 1000}
BR=$BUILD/bench/bench_render
BX=$BUILD/bench/bench_exec

die() { echo "bench: $*" >&2; exit 1; }

[[ -x $BIN ]] || die "no binary at '$BIN' (run make first, or set K3H_BIN)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/k3h-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

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

echo "k3s-harden render benchmark"
echo "  date     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "  binary   $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo "  host     $(nproc) CPU, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "  budget   ${SECS}s per measurement; times are per render, median (min);"
echo "           '/ns' = cost per namespace added to cis, from the minimums"
echo

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
if [[ $CALLGRIND == auto ]]; then
	command -v valgrind >/dev/null 2>&1 && CALLGRIND=1 || CALLGRIND=0
fi
if [[ $CALLGRIND == 1 ]]; then
	command -v valgrind >/dev/null 2>&1 || die "BENCH_CALLGRIND=1 but valgrind is not installed"
	echo "3. Instructions (valgrind --tool=callgrind, whole process, render to /dev/null)"
	printf '   %-10s %6s %16s %16s\n' profile ns "instructions" "Ir/ns added"
	cg_cases=(cis)
	for n in $CG_SIZES; do
		[[ -n ${PROF[ns-$n]:-} ]] || PROF[ns-$n]=$(gen_profile "$n")
		cg_cases+=("ns-$n")
	done
	ir0=
	for c in "${cg_cases[@]}"; do
		valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
			"$BIN" -p "${PROF[$c]}" render >/dev/null 2>"$TMP/cg.err" ||
			die "callgrind run failed for $c: $(tail -3 "$TMP/cg.err")"
		ir=$(sed -n 's/^totals: *//p' "$TMP/cg.out")
		[[ -n $ir ]] || ir=$(sed -n 's/.*Collected : *//p' "$TMP/cg.err")
		[[ $c == cis ]] && ir0=$ir
		pir=-
		[[ $c == ns-* ]] && pir=$(awk -v a="$ir" -v b="$ir0" -v n="$(ns_of "$c")" \
			-v n0="$NS_CIS" 'BEGIN { printf "%.0f", (a - b) / (n - n0) }')
		printf '   %-10s %6s %16s %16s\n' "$c" "$(ns_of "$c")" \
			"$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$ir")" "$pir"
		rm -f "$TMP/cg.out"
	done
else
	echo "3. Instructions: skipped (valgrind not installed or BENCH_CALLGRIND=0)"
fi
