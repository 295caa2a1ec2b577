# bash completion for rtq(1).  Installed by `make install` as
# $(PREFIX)/share/bash-completion/completions/rtq.  It needs nothing from
# the bash-completion package: options, their arguments (a directory for
# --log-dir, durations for --timeout, a host for -m), task files, and
# HOST: for the master, from ~/.ssh/config and ~/.ssh/known_hosts.

# _rtq_hosts: the host names of the user's ssh config (Host lines, no
# patterns) and known_hosts (plain entries; hashed ones cannot be read)
_rtq_hosts()
{
	local f w rest IFS=$' \t\n'
	f=${RTQ_SSH_CONFIG:-$HOME/.ssh/config}
	if [[ -r $f ]]; then
		while read -r w rest; do
			[[ ${w,,} == host ]] || continue
			for w in $rest; do
				[[ $w == *[*?!]* ]] || printf '%s\n' "$w"
			done
		done <"$f"
	fi
	f=$HOME/.ssh/known_hosts
	if [[ -r $f ]]; then
		while read -r w rest; do
			[[ $w == '|'* || $w == '#'* || $w == @* || -z $w ]] && continue
			w=${w//,/ }
			for w in $w; do
				w=${w#[}
				printf '%s\n' "${w%]*}"
			done
		done <"$f"
	fi
}

_rtq()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= opts IFS=$'\n'
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	# one a line: IFS is a line break here, so that file names may
	# hold blanks
	opts=$(printf '%s\n' --add --edit --exit-when-done --exit-when-idle \
	    --failed --help --id --install-master --json --kill --lease --lock \
	    --log-dir --master --name --output --pause --plan --poll --reset \
	    --resume --retries --slots --status --timeline --timeout --version \
	    --wait --watch)
	case $prev in
	--log-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
		return ;;
	--timeout)
		COMPREPLY=($(compgen -W $'30s\n90s\n15m\n1h\n2h\n12h\n1d' -- "$cur"))
		return ;;
	-m|--master|--install-master)
		COMPREPLY=($(compgen -W "$(_rtq_hosts | sort -u)" -- "$cur"))
		return ;;
	-o|--output)
		COMPREPLY=($(compgen -f -- "$cur"))
		compopt -o filenames 2>/dev/null
		return ;;
	-i|--id|-j|--slots|-n|--name|--poll|--lease|--retries)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	# a task file: local files, or HOST: of a master (no space after it)
	COMPREPLY=($(compgen -f -- "$cur"))
	if [[ $cur != */* && $cur != *:* && $cur != [.~]* ]]; then
		local h
		for h in $(_rtq_hosts | sort -u); do
			[[ $h == "$cur"* ]] && COMPREPLY+=("$h:")
		done
	fi
	compopt -o filenames 2>/dev/null
	[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] &&
		compopt -o nospace 2>/dev/null
}
complete -F _rtq rtq
