# bash completion for k3s-harden                             -*- shell-script -*-
# Commands and options come from the binary's own --help, so they follow the
# build; profile names from `k3s-harden profile list`, generation IDs from
# `k3s-harden history --output json` (under the --root already typed).

_k3s_harden_commands() {
	"$1" --help 2>/dev/null | awk '/^Commands/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ && seen { exit } on { seen = 1 }'
}

# Long and short options of COMMAND (or the global ones), from its --help.
_k3s_harden_options() {
	local bin=$1 cmd=$2
	if [ -n "$cmd" ]; then
		"$bin" "$cmd" --help 2>/dev/null
	else
		"$bin" --help 2>/dev/null
	fi | sed -n 's/^ \{1,8\}\(-[A-Za-z0-9], \)\{0,1\}\(--[a-z0-9-]*\).*/\1 \2/p' | tr -d ',' | tr ' ' '\n' | sed '/^$/d'
}

_k3s_harden_profiles() {
	"$1" profile list 2>/dev/null | awk '{ print $1 }'
}

_k3s_harden_generations() {
	local bin=$1 root=$2
	local -a args=(history --output json)
	[ -n "$root" ] && args+=(--root "$root")
	"$bin" "${args[@]}" 2>/dev/null | grep -o '"id":"[^"]*"' | sed 's/^"id":"//; s/"$//'
}

_k3s_harden() {
	local cur prev bin cmd="" sub="" root="" i w
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	bin=${COMP_WORDS[0]}
	case $bin in
	~/*) bin=$HOME/${bin#\~/} ;;
	esac
	command -v "$bin" >/dev/null 2>&1 || bin=k3s-harden

	# the command, the profile subcommand and --root among the words so far
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--root=*) root=${w#--root=} ;;
		-r | --root) root=${COMP_WORDS[i + 1]} ;;
		esac
		case $w in
		-p | --profile | -r | --root | -t | --templates | --output | --color | --role | \
			--k3s-version | --out | --benchmark)
			((i++))
			continue
			;;
		-*) continue ;;
		esac
		if [ -z "$cmd" ]; then
			cmd=$w
		elif [ -z "$sub" ]; then
			sub=$w
		fi
	done

	case $prev in
	-p | --profile)
		COMPREPLY=($(compgen -W "$(_k3s_harden_profiles "$bin")" -- "$cur"))
		COMPREPLY+=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
		return 0
		;;
	-r | --root | -t | --templates | --out)
		COMPREPLY=($(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
		return 0
		;;
	--output)
		if [ "$cmd" = check ]; then
			COMPREPLY=($(compgen -W "text json junit" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		fi
		return 0
		;;
	--color)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
		return 0
		;;
	--role)
		COMPREPLY=($(compgen -W "server agent" -- "$cur"))
		return 0
		;;
	--k3s-version | --benchmark)
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_k3s_harden_options "$bin" "$cmd")" -- "$cur"))
		return 0
	fi

	case $cmd in
	"")
		COMPREPLY=($(compgen -W "$(_k3s_harden_commands "$bin")" -- "$cur"))
		;;
	help)
		[ -z "$sub" ] && COMPREPLY=($(compgen -W "$(_k3s_harden_commands "$bin")" -- "$cur"))
		;;
	rollback)
		[ -z "$sub" ] && COMPREPLY=($(compgen -W "$(_k3s_harden_generations "$bin" "$root")" -- "$cur"))
		;;
	profile)
		case $sub in
		"") COMPREPLY=($(compgen -W "list show validate" -- "$cur")) ;;
		show)
			COMPREPLY=($(compgen -W "$(_k3s_harden_profiles "$bin")" -- "$cur"))
			COMPREPLY+=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
			compopt -o filenames 2>/dev/null
			;;
		validate)
			COMPREPLY=($(compgen -f -- "$cur"))
			compopt -o filenames 2>/dev/null
			;;
		esac
		;;
	esac
	return 0
}
complete -F _k3s_harden k3s-harden
