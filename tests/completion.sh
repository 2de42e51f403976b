#!/usr/bin/env bash
# Bash completion (completion/k3s-harden.bash) against the real binary:
# commands, options per command, option values, built-in profile names and
# generation IDs under the --root typed so far. Expected lists come from the
# binary itself (--help, profile list, history --output json), not from copies.
#   K3H_BIN=/abs/k3s-harden bash tests/completion.sh [COMPLETION_FILE]
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${K3H_BIN:?set K3H_BIN to the k3s-harden binary}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
file=${1:-$here/../completion/k3s-harden.bash}
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; printf '#   %s\n' "$2"; }
T=$(mktemp -d /tmp/k3h-comp.XXXXXX)
trap 'rm -rf "$T"' EXIT
export LC_ALL=C

# an empty working directory: file completion on an empty word finds nothing
mkdir "$T/cwd" && cd "$T/cwd" || exit 1
# shellcheck source=/dev/null
. "$file" || { echo "not ok - source $file"; exit 1; }
# complete WORDS... : the words of the line, the last one being completed
complete_words() {
	COMP_WORDS=("$bin" "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_k3s_harden
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort -u | tr '\n' ' '
}
# expect NAME WANT WORDS...
expect() {
	local name=$1 want got
	want=$(printf '%s\n' $2 | sed '/^$/d' | sort -u | tr '\n' ' ')
	shift 2
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then ok "$name"; else not_ok "$name" "want '$want', got '$got'"; fi
}

check_registered() { complete -p k3s-harden 2>/dev/null | grep -q -- '-F _k3s_harden'; }
if check_registered; then ok "registered for k3s-harden"; else not_ok "registered for k3s-harden" "$(complete -p k3s-harden 2>&1)"; fi

# what the binary says, independently of the completion's parsing
cmds=$("$bin" --help | sed -n '/^Commands/,/^$/p' | grep -E '^  [a-z]' | awk '{print $1}')
profiles=$("$bin" profile list | cut -d' ' -f1)
apply_opts=$("$bin" apply --help | grep -oE '^ +(-[A-Za-z], )?--[a-z0-9-]+' | grep -oE -- '-{1,2}[A-Za-z0-9-]+')
[ -n "$cmds" ] && [ -n "$profiles" ] && [ -n "$apply_opts" ] || { echo "not ok - read the binary's help"; exit 1; }

expect "all commands on an empty word" "$cmds" ""
expect "commands by prefix (ro -> rollback)" "$(printf '%s\n' $cmds | grep '^ro')" ro
expect "commands after a global option and its value" "$cmds" --root /tmp ""
expect "apply's own options and the global ones" "$apply_opts" apply -
expect "apply --d -> --dry-run" "--dry-run" apply --d
expect "rollback --f -> --force" "--force" rollback --f
expect "--output values" "text json" diff --output ""
expect "--color values" "auto always never" --color ""
expect "built-in profile names after --profile" "$profiles" --profile ""
expect "profile names by prefix after -p" "$(printf '%s\n' $profiles | grep '^cis')" -p cis
expect "profile subcommands" "list show validate" profile ""
expect "profile show: built-in names" "$profiles" profile show ""
expect "help COMMAND" "$cmds" help ""

# generation IDs under the root given on the line
R=$T/root
mkdir -p "$R"
"$bin" -q --root "$R" -p cis apply >/dev/null 2>&1
"$bin" -q --root "$R" -p cis rollback --force >/dev/null 2>&1
gens=$("$bin" --root "$R" --output json history | python3 -c 'import json,sys; print(" ".join(g["id"] for g in json.load(sys.stdin)["generations"]))')
if [ "$(echo $gens | wc -w)" = 2 ]; then ok "two generations to complete"; else not_ok "two generations to complete" "history: $gens"; fi
expect "rollback GENERATION under --root" "$gens" --root "$R" rollback ""
expect "rollback GENERATION under --root=DIR, after the command" "$gens" rollback --root="$R" ""
expect "rollback GENERATION by prefix" "$(printf '%s\n' $gens | head -1)" rollback -r "$R" "$(printf '%s\n' $gens | head -1)"
expect "no generations on an empty root" "" rollback --root "$T" ""

# directories after --root, yaml files after --profile
mkdir -p "$T/dirs/alpha" "$T/dirs/beta"
: >"$T/dirs/site.yaml"
expect "--root completes directories" "$T/dirs/alpha $T/dirs/beta" --root "$T/dirs/"
expect "--profile completes profile files and directories" "$T/dirs/alpha $T/dirs/beta $T/dirs/site.yaml" --profile "$T/dirs/"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
