# SPDX-License-Identifier: MIT
# bash completion for mailhaul: commands, options, option values, providers, stored
# accounts and the config file's jobs. Commands and options are read from the program's
# own help (`mailhaul --help`, `mailhaul COMMAND --help`) when completing, so they always
# match the installed version; stored accounts come from `mailhaul accounts`.
# Installed as share/bash-completion/completions/mailhaul; also works when sourced into a
# bash without the bash-completion package.

# The commands, one a line, from "Commands:" in the global help.
_mailhaul_commands()
{
	"$1" --help 2>/dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
	echo help
}

# The long and short options of command $2, one a line, from its help (every group).
_mailhaul_options()
{
	local help
	help=$("$1" "$2" --help 2>/dev/null)
	case $help in
	*--help-all*) help+=$'\n'$("$1" "$2" --help-all 2>/dev/null) ;;
	esac
	printf '%s\n' "$help" | sed -n 's/^ \{1,\}\(-[a-zA-Z], \)\{0,1\}\(--[A-Za-z0-9][A-Za-z0-9_-]*\).*/\1\2/p' |
		sed 's/, /\n/' | sort -u
}

# The config file's section names of kind $1 ("job", "provider").
_mailhaul_config_sections()
{
	local file=${MAILHAUL_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/mailhaul/config.ini}
	[ -r "$file" ] || return 0
	sed -n "s/^[[:space:]]*\[$1[[:space:]]\{1,\}\([^]]*\)\][[:space:]]*$/\1/p" "$file"
}

_mailhaul_providers()
{
	printf '%s\n' generic gmail m365
	_mailhaul_config_sections provider
}

# Stored sign-ins (`mailhaul accounts`: ACCOUNT KIND STORE ...), then PROVIDER: prefixes.
_mailhaul_accounts()
{
	timeout 5 "$1" accounts 2>/dev/null | awk '$2 == "oauth2" || $2 == "password" { print $1 }'
	_mailhaul_providers | sed 's/$/:/'
}

_mailhaul()
{
	local cur prev words cword
	if declare -F _get_comp_words_by_ref >/dev/null; then
		_get_comp_words_by_ref -n := cur prev words cword
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		# Without bash-completion, "--opt=" and "--opt=VALUE" arrive split at "=".
		[ "$cur" = "=" ] && cur=
		[ "$prev" = "=" ] && [ "$cword" -ge 2 ] && prev=${words[cword - 2]}
	fi

	local prog=${words[0]}
	[ -x "$prog" ] || prog=mailhaul
	local cmd="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) cmd=sync; break ;; # imapsync style: options before any command
		*) cmd=${words[i]}; break ;;
		esac
	done

	local -a reply=()
	case $prev in
	--config | --passfile* | --cafile* | --service-account* | --log | --report | --state | \
		--oauthaccesstoken*)
		compopt -o filenames 2>/dev/null
		mapfile -t reply < <(compgen -f -- "$cur")
		;;
	--dir | --output | -o)
		compopt -o filenames 2>/dev/null
		mapfile -t reply < <(compgen -d -- "$cur")
		;;
	--token-store) mapfile -t reply < <(compgen -W "keyring file" -- "$cur") ;;
	--flow) mapfile -t reply < <(compgen -W "browser device paste" -- "$cur") ;;
	--provider1 | --provider2)
		mapfile -t reply < <(compgen -W "$(_mailhaul_providers)" -- "$cur")
		;;
	--gmail-labels) mapfile -t reply < <(compgen -W "once copy keywords" -- "$cur") ;;
	--authmech*) mapfile -t reply < <(compgen -W "CRAM-MD5 PLAIN LOGIN" -- "$cur") ;;
	--debug) mapfile -t reply < <(compgen -W "imap wire sync auth http all" -- "$cur") ;;
	--job) mapfile -t reply < <(compgen -W "$(_mailhaul_config_sections job)" -- "$cur") ;;
	--account1 | --account2)
		compopt -o nospace 2>/dev/null
		mapfile -t reply < <(compgen -W "$(_mailhaul_accounts "$prog")" -- "$cur")
		;;
	*)
		if [ -z "$cmd" ]; then
			mapfile -t reply < <(compgen -W "$(_mailhaul_commands "$prog") --help --version" -- "$cur")
		elif [[ $cur == -* ]]; then
			[ "$cmd" = help ] && return 0
			mapfile -t reply < <(compgen -W "$(_mailhaul_options "$prog" "$cmd")" -- "$cur")
		else
			case $cmd in
			check | sync | verify | login | logout | token)
				compopt -o nospace 2>/dev/null
				mapfile -t reply < <(compgen -W "$(_mailhaul_accounts "$prog")" -- "$cur")
				;;
			help) mapfile -t reply < <(compgen -W "$(_mailhaul_commands "$prog")" -- "$cur") ;;
			provider)
				if [ "$prev" = show ]; then
					mapfile -t reply < <(compgen -W "$(_mailhaul_providers)" -- "$cur")
				elif [ "$prev" = import-google ]; then
					compopt -o filenames 2>/dev/null
					mapfile -t reply < <(compgen -f -- "$cur")
				else
					mapfile -t reply < <(compgen -W "show import-google" -- "$cur")
				fi
				;;
			batch)
				compopt -o filenames 2>/dev/null
				mapfile -t reply < <(compgen -f -- "$cur")
				;;
			batch-report)
				compopt -o filenames 2>/dev/null
				mapfile -t reply < <(compgen -d -- "$cur")
				;;
			esac
		fi
		;;
	esac
	# An account completed to "gmail:" waits for its user; a whole account gets a space.
	if [ ${#reply[@]} -eq 1 ] && [[ ${reply[0]} != *: ]]; then
		compopt +o nospace 2>/dev/null
	fi
	COMPREPLY=("${reply[@]}")
	declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
	return 0
}
complete -F _mailhaul mailhaul
