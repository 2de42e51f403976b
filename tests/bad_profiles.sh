#!/usr/bin/env bash
# Profile error reporting, case by case.
#
#   K3H_BIN=/abs/path/k3s-harden bash tests/bad_profiles.sh     (from the repository root)
#
# Every tests/bad-profiles/NN-*.yaml starts with comment lines:
#   # expect: LINE:COL: substring       one per diagnostic the file must produce
#   # expect-file: RELPATH              later expect lines are about RELPATH (relative to
#                                       the case's directory; "." is the case itself)
# A bad case must exit 2 from `render --out` and from `profile validate`, print exactly
# one diagnostic per expect line (FILE:LINE:COL: ...substring...), in the order of the
# expect lines (every problem at once, in file order), print nothing on stdout and
# write nothing under --out. A few cases (empty file, directory, symbolic
# link, FIFO, oversized file) are made at run time in a temporary directory.
#
# Every tests/good-profiles/*.yaml (and every built-in) must validate and render (exit 0,
# no stderr, files written), and `profile show` of it must load back to the same output;
# optional lines:
#   # expect-render: PATH-substring     some written file's path contains it
#   # expect-text: PATH-substring: TEXT that file contains TEXT
set -u

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
K3H_BIN=${K3H_BIN:-$PWD/k3s-harden}
if [ ! -x "$K3H_BIN" ]; then
	echo "bad_profiles.sh: K3H_BIN '$K3H_BIN' is not an executable" >&2
	exit 2
fi
TIMEOUT=${K3H_TIMEOUT:-10}

n=0
passed=0
failed=0
tmp=
cleanup() { [ -n "$tmp" ] && rm -rf -- "$tmp"; tmp=; }
trap cleanup EXIT

# run OUTFILE ERRFILE ARGS...: the binary under a timeout, so a hang is a failure;
# in RUN_DIR when that is set
run() {
	local o=$1 e=$2
	shift 2
	(cd "${RUN_DIR:-.}" && timeout -k 5 "$TIMEOUT" "$K3H_BIN" "$@" >"$o" 2>"$e" </dev/null)
}

# Per-case state: reasons collect why the case failed.
reasons=()
fail() { reasons+=("$*"); }

report() {
	local name=$1 r
	n=$((n + 1))
	if [ ${#reasons[@]} -eq 0 ]; then
		echo "ok $n - $name"
		passed=$((passed + 1))
	else
		echo "not ok $n - $name: ${reasons[0]}"
		for r in "${reasons[@]:1}"; do
			echo "#   also: $r"
		done
		if [ -n "$tmp" ] && [ -s "$tmp/stderr" ]; then
			sed 's/^/#   stderr: /' "$tmp/stderr"
		fi
		failed=$((failed + 1))
	fi
	reasons=()
}

# expect_diag ERRFILE FILE LINE:COL SUBSTRING: one stderr line is FILE:LINE:COL: ...SUBSTRING...
# (LINE:COL "-" means a diagnostic without a position: "FILE: ...SUBSTRING..."); its line
# number goes to $found
found=0
expect_diag() {
	local errf=$1 file=$2 pos=$3 sub=$4 prefix line i=0
	if [ "$pos" = - ]; then
		prefix="$file: "
	else
		prefix="$file:$pos: "
	fi
	while IFS= read -r line; do
		i=$((i + 1))
		if [[ $line == "$prefix"* && ${line#"$prefix"} == *"$sub"* ]]; then
			found=$i
			return 0
		fi
	done <"$errf"
	fail "no diagnostic '$prefix...$sub...'"
	return 1
}

# check_bad NAME PROFILE EXPECTS...: each expect is "FILE<TAB>LINE:COL<TAB>SUBSTRING"
check_bad() {
	local name=$1 profile=$2 rc nd e file pos sub last
	shift 2
	run "$tmp/stdout" "$tmp/stderr" -p "$profile" render --out "$tmp/out"
	rc=$?
	[ "$rc" -eq 2 ] || fail "render exit code $rc, expected 2"
	[ $# -gt 0 ] || fail "the case declares no '# expect:' line"
	last=0
	for e in "$@"; do
		IFS=$'\t' read -r file pos sub <<<"$e"
		if expect_diag "$tmp/stderr" "$file" "$pos" "$sub"; then
			[ "$found" -gt "$last" ] || fail "'$file:$pos: ...$sub...' is out of order"
			last=$found
		fi
	done
	nd=$(grep -c . "$tmp/stderr")
	[ "$nd" -eq $# ] || fail "$nd diagnostic lines for $# expected"
	[ ! -s "$tmp/stdout" ] || fail "render printed on stdout: $(head -c 200 "$tmp/stdout")"
	if [ -e "$tmp/out" ] && [ -n "$(find "$tmp/out" ! -type d -print -quit)" ]; then
		fail "render wrote under --out: $(cd "$tmp/out" && find . ! -type d | head -3 | tr '\n' ' ')"
	fi
	run "$tmp/vstdout" "$tmp/vstderr" profile validate "$profile"
	rc=$?
	[ "$rc" -eq 2 ] || fail "profile validate exit code $rc, expected 2"
	cmp -s "$tmp/stderr" "$tmp/vstderr" ||
		fail "profile validate printed other diagnostics than render: $(head -c 300 "$tmp/vstderr")"
}

# ---- bad cases from files ----

for f in tests/bad-profiles/[0-9]*.yaml; do
	[ -e "$f" ] || continue
	tmp=$(mktemp -d) || exit 2
	dir=$(dirname "$f")
	cur=$f
	exps=()
	while IFS= read -r line; do
		case $line in
		'# expect-file: '*)
			rel=${line#'# expect-file: '}
			if [ "$rel" = . ]; then cur=$f; else cur=$dir/$rel; fi
			;;
		'# expect: '*)
			rest=${line#'# expect: '}
			pos=${rest%%: *}
			sub=${rest#*: }
			exps+=("$cur"$'\t'"$pos"$'\t'"$sub")
			;;
		'#'*) ;;
		*) break ;;
		esac
	done <"$f"
	check_bad "$(basename "$f" .yaml)" "$f" ${exps[@]+"${exps[@]}"}
	report "$(basename "$f" .yaml)"
	cleanup
done

# ---- bad cases made at run time ----

bad_runtime() {
	local name=$1
	tmp=$(mktemp -d) || exit 2
	"setup_$name"
	report "runtime-$name"
	cleanup
}

setup_empty_file() {
	: >"$tmp/empty.yaml"
	check_bad x "$tmp/empty.yaml" "$tmp/empty.yaml"$'\t'"1:1"$'\t'"empty document"
}

setup_directory() {
	mkdir "$tmp/dir.yaml"
	check_bad x "$tmp/dir.yaml" "$tmp/dir.yaml"$'\t'"-"$'\t'"profile is not a regular file"
}

setup_symlink() {
	printf 'role: server\n' >"$tmp/real.yaml"
	ln -s real.yaml "$tmp/link.yaml"
	check_bad x "$tmp/link.yaml" \
		"$tmp/link.yaml"$'\t'"-"$'\t'"refusing to read profile through a symbolic link"
}

setup_extends_symlink() {
	printf 'role: server\n' >"$tmp/real.yaml"
	ln -s real.yaml "$tmp/link.yaml"
	printf '# a child whose parent is a symbolic link\nextends: link.yaml\n' >"$tmp/child.yaml"
	check_bad x "$tmp/child.yaml" \
		"$tmp/child.yaml"$'\t'"2:10"$'\t'"extends: refusing to read profile"
}

setup_fifo() {
	mkfifo "$tmp/fifo.yaml"
	check_bad x "$tmp/fifo.yaml" "$tmp/fifo.yaml"$'\t'"-"$'\t'"profile is not a regular file"
}

setup_too_large() {
	{
		echo 'role: server'
		head -c 1100000 /dev/zero | tr '\0' '#'
		echo
	} >"$tmp/big.yaml"
	check_bad x "$tmp/big.yaml" "$tmp/big.yaml"$'\t'"-"$'\t'"profile is larger than 1 MiB"
}

setup_missing() {
	check_bad x "$tmp/missing.yaml" "$tmp/missing.yaml"$'\t'"-"$'\t'"cannot open profile"
}

setup_unknown_builtin() {
	check_bad x no-such-profile "no-such-profile"$'\t'"-"$'\t'"unknown profile 'no-such-profile'"
}

# a bare name is a built-in, never a file of the current directory; the message says
# how to name the file
setup_name_beside_file() {
	mkdir "$tmp/cwd"
	printf 'extends: cis\n' >"$tmp/cwd/site.yaml"
	RUN_DIR=$tmp/cwd check_bad x site \
		"site"$'\t'"-"$'\t'"unknown profile 'site' (built-in: base, cis-agent, cis-common, cis, k3s-cis-1.10-strict, k3s-cis-1.10, k3s-cis-1.11-strict, k3s-cis-1.11, k3s-cis-1.12-strict, k3s-cis-1.12, k3s-cis-1.23-strict, k3s-cis-1.23, k3s-cis-1.24-strict, k3s-cis-1.24, k3s-cis-1.6-strict, k3s-cis-1.6, k3s-cis-1.7-strict, k3s-cis-1.7, k3s-cis-1.8-strict, k3s-cis-1.8, k3s-cis-1.9-strict, k3s-cis-1.9, k3s-cis-2.0-strict, k3s-cis-2.0, k3s-cis-2.1-strict, k3s-cis-2.1); to use the file, write './site.yaml'"
}

for c in empty_file directory symlink extends_symlink fifo too_large missing unknown_builtin \
	name_beside_file; do
	bad_runtime "$c"
done

# ---- good cases ----

# reloads PROFILE: `profile show` output, saved to a file, shows the same again
reloads() {
	run "$tmp/show1.yaml" "$tmp/show.err" profile show "$1" ||
		{ fail "profile show exit code $?"; return; }
	run "$tmp/show2.yaml" "$tmp/show.err" profile show "$tmp/show1.yaml" ||
		{ fail "profile show of its own output: exit code $?: $(head -c 300 "$tmp/show.err")"; return; }
	cmp -s "$tmp/show1.yaml" "$tmp/show2.yaml" ||
		fail "profile show of its own output differs: $(diff "$tmp/show1.yaml" "$tmp/show2.yaml" | head -5)"
}

builtins=$("$K3H_BIN" profile list | awk '{ print $1 }')
[ -n "$builtins" ] || { echo "bad_profiles.sh: profile list printed nothing" >&2; exit 2; }
for b in $builtins; do
	tmp=$(mktemp -d) || exit 2
	reloads "$b"
	report "show-reloads-$b"
	cleanup
done

for f in tests/good-profiles/*.yaml; do
	[ -e "$f" ] || continue
	tmp=$(mktemp -d) || exit 2
	name=good-$(basename "$f" .yaml)
	run "$tmp/stdout" "$tmp/stderr" profile validate "$f"
	rc=$?
	[ "$rc" -eq 0 ] || fail "profile validate exit code $rc, expected 0"
	[ ! -s "$tmp/stderr" ] || fail "profile validate printed on stderr"
	run "$tmp/stdout" "$tmp/stderr" -q -p "$f" render --out "$tmp/out"
	rc=$?
	[ "$rc" -eq 0 ] || fail "render exit code $rc, expected 0"
	[ ! -s "$tmp/stderr" ] || fail "render printed on stderr"
	reloads "$f"
	files=$( (cd "$tmp/out" 2>/dev/null && find . -type f | sed 's|^\./|/|' | sort))
	[ -n "$files" ] || fail "render --out wrote no file"
	while IFS= read -r line; do
		case $line in
		'# expect-render: '*)
			want=${line#'# expect-render: '}
			grep -qF -- "$want" <<<"$files" || fail "no rendered file path contains '$want'"
			;;
		'# expect-text: '*)
			rest=${line#'# expect-text: '}
			want=${rest%%: *}
			text=${rest#*: }
			got=$(grep -F -- "$want" <<<"$files" | head -1)
			if [ -z "$got" ]; then
				fail "no rendered file path contains '$want'"
			elif ! grep -qF -- "$text" "$tmp/out$got"; then
				fail "$got does not contain '$text'"
			fi
			;;
		'#'*) ;;
		*) break ;;
		esac
	done <"$f"
	report "$name"
	cleanup
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
