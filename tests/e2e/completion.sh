#!/usr/bin/env bash
# The bash completion of rtq (issue 15): an option, an option's argument
# (a directory for --log-dir, a duration for --timeout), HOST: from a
# given ssh config and known_hosts, and a task file; and `make install`
# puts it where bash-completion looks.
. "$RTQ_TOP/tests/e2e/lib.sh"
need bash make

mkdir -p "$T/home/.ssh" "$T/cwd/logs" "$T/cwd/lab"
cat >"$T/home/.ssh/config" <<'EOF'
Host master gpu-*
    HostName 192.0.2.10
host backup
    User me
Match host x
EOF
cat >"$T/home/.ssh/known_hosts" <<'EOF'
kh1,192.0.2.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA
[kh2]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA
|1|hashedhashed=|hashhash= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA
EOF
touch "$T/cwd/tasks.sh" "$T/cwd/tasks2.sh" "$T/cwd/lfile" "$T/cwd/mastery.sh"

# comp WORDS...: what completing the last word of "rtq WORDS..." offers,
# sorted, one a line
comp() {
	(cd "$T/cwd" && HOME=$T/home bash --norc --noprofile -c '
		. "$1"; shift
		COMP_WORDS=(rtq "$@"); COMP_CWORD=$#
		COMP_LINE="rtq $*"; COMP_POINT=${#COMP_LINE}
		_rtq
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort' bash \
	    "$RTQ_TOP/completion/rtq.bash" "$@")
}
expect_comp() {	# WANT WORDS...
	local want=$1
	shift
	expect_eq "completing rtq $*" "$(comp "$@" | tr '\n' ' ')" "$want"
}

say "options"
expect_comp "--plan " --pl
expect_comp "--timeline --timeout " --tim
expect_comp "--lock --log-dir " --lo
say "option arguments"
expect_comp "lab logs " --log-dir l
expect_comp "12h 15m 1d 1h " --timeout 1
expect_comp "192.0.2.5 backup kh1 kh2 master " -m ''
say "HOST: from the ssh config and known_hosts, and task files"
expect_comp "master: mastery.sh " mas
expect_comp "tasks.sh tasks2.sh " ta
expect_comp "backup: " -x ba
expect_comp "kh1: kh2: " --plan kh
say "a path is not taken for a host"
expect_comp "./mastery.sh " ./mas

say "make install puts it in share/bash-completion/completions"
make -C "$RTQ_TOP" -s install-completion DESTDIR="$T/dest" PREFIX=/usr >/dev/null ||
	die "make install-completion"
cmp "$T/dest/usr/share/bash-completion/completions/rtq" "$RTQ_TOP/completion/rtq.bash" ||
	die "the installed completion differs"
say "all cases behaved"
