#!/usr/bin/env bash
# logins.sh - the bench's master: an sshd on loopback that logs in two
# unprivileged users, as a user's own master would (sourced by bench.sh).
#
# The test harness (tests/sshd-harness.sh) runs sshd as the current user, so
# it can log in only that user, and it sets SHLVL=1 so that bash skips
# ~/.bashrc.  Both are right for the tests and wrong for figures: as root
# here, every ssh call read root's ~/.bashrc (pyenv init, 128 ms a round
# trip).  So, as root, logins_start
#   - creates (once; they are kept) two users with bash as login shell:
#       $BENCH_USER (rtqbench): ~/.bashrc is Debian's /etc/skel/.bashrc,
#         which returns at once in a shell that is not interactive;
#       $BENCH_HEAVY_USER (rtqbench-heavy): ~/.bashrc first sources
#         ~/.rtq-bench-init.sh, which sleeps 100 ms, then is the default one.
#         It stands for a `conda init` (or pyenv init) block that runs for
#         every shell, as in rc files without an interactive guard before
#         it; a sleep, so it costs the same on every machine (a real one
#         also takes CPU, so on a busy master it costs more);
#     writes their ~/.bashrc afresh each run, authorises a key made for
#     this run in ~/.ssh/authorized_keys, and installs rtq-claim in
#     ~/.local/bin, where rtq looks for it (RTQ_CLAIM is not used);
#   - runs a second sshd as root, with sshd's defaults (MaxStartups,
#     MaxSessions, no SetEnv: bash reads ~/.bashrc for a remote command, as
#     Debian's bash does under sshd) except: loopback, a free port, its own
#     host key, UsePAM no (no PAM session, no systemd user manager), keys
#     only, AllowUsers the two users;
#   - writes an ssh client config with the hosts rtqb-light and rtqb-heavy.
# Not root: the test harness's sshd, logging in the current user with
# SHLVL=1 (so no ~/.bashrc), is the light login, and there is no heavy one.
#
# After logins_start:
#   LOGIN_CFG           ssh client config (ssh -F)
#   LOGIN_HOST[light]   host alias; LOGIN_HOST[heavy] too when root
#   LOGIN_DIR[col]      a directory of that user's, for its task files
#   LOGIN_USER[col]     the user name
#   LOGIN_SSHD          pid of the listening sshd
#   LOGIN_WHAT[col]     one line saying what the login is
# logins_stop kills the sshd and every process it started (by pid: the
# listener's descendants), removes the authorised key and the directories.

declare -A LOGIN_HOST LOGIN_DIR LOGIN_USER LOGIN_WHAT
LOGIN_CFG= LOGIN_SSHD= _login_mode= _login_dir=
BENCH_USER=${BENCH_USER:-rtqbench}
BENCH_HEAVY_USER=${BENCH_HEAVY_USER:-rtqbench-heavy}

# _login_user NAME KEY.PUB CLAIM BASHRC_HEAD: create or refresh a bench user
_login_user() {
	local u=$1 key=$2 claim=$3 head=$4 home g
	if ! id -u "$u" >/dev/null 2>&1; then
		useradd -m -s /bin/bash "$u" || return 1
	fi
	# sshd without PAM refuses a locked account ('!' in /etc/shadow); '*'
	# is no password at all, not a locked account
	usermod -s /bin/bash -p '*' "$u" || return 1
	home=$(getent passwd "$u" | cut -d: -f6)
	g=$(id -gn "$u")
	[ -d "$home" ] || install -d -o "$u" -g "$g" -m 750 "$home" || return 1
	install -d -o "$u" -g "$g" -m 700 "$home/.ssh" "$home/.local" \
	    "$home/.local/bin" &&
	install -o "$u" -g "$g" -m 600 "$key" "$home/.ssh/authorized_keys" &&
	install -o "$u" -g "$g" -m 755 "$claim" "$home/.local/bin/rtq-claim" ||
		return 1
	{
		printf '%s' "$head"
		if [ -f /etc/skel/.bashrc ]; then
			cat /etc/skel/.bashrc
		else
			printf 'case $- in\n    *i*) ;;\n      *) return;;\nesac\n'
		fi
	} >"$home/.bashrc" && chown "$u:$g" "$home/.bashrc" || return 1
	printf '# rtq bench: stands for a `conda init` that runs for every shell\nsleep 0.1\n' \
	    >"$home/.rtq-bench-init.sh" && chown "$u:$g" "$home/.rtq-bench-init.sh" ||
		return 1
	LOGIN_DIR[$u]=$(mktemp -d "$home/rtq-bench.XXXXXX") &&
		chown "$u:$g" "${LOGIN_DIR[$u]}"
}

# logins_start DIR RTQ_CLAIM: see the top of the file; 1 on failure
logins_start() {
	local dir=$1 claim=$2 port try i started= sshd=/usr/sbin/sshd
	_login_dir=$dir
	mkdir -p "$dir" || return 1
	if [ "$(id -u)" != 0 ]; then
		# shellcheck source=../sshd-harness.sh
		. "$(dirname "${BASH_SOURCE[0]}")/../sshd-harness.sh"
		SSHD_DIR=$dir/sshd sshd_start >/dev/null || return 1
		_login_mode=harness
		LOGIN_CFG=$SSH_CONFIG
		read -r LOGIN_SSHD <"$SSHD_DIR/sshd.pid"
		LOGIN_HOST[light]=$SSHD_HOST
		LOGIN_USER[light]=$(id -un)
		LOGIN_DIR[light]=$dir/master
		mkdir -p "$dir/master"
		LOGIN_WHAT[light]="$(id -un) (not root: the test harness's sshd, SHLVL=1, so no ~/.bashrc)"
		export RTQ_CLAIM=$claim
		return 0
	fi
	_login_mode=root
	[ -x $sshd ] || { echo "bench: $sshd missing (apt-get install openssh-server)" >&2; return 1; }
	ssh-keygen -q -t ed25519 -N '' -C rtq-bench-host -f "$dir/host_key" </dev/null &&
	ssh-keygen -q -t ed25519 -N '' -C rtq-bench-client -f "$dir/client_key" </dev/null ||
		return 1
	_login_user "$BENCH_USER" "$dir/client_key.pub" "$claim" '' || return 1
	_login_user "$BENCH_HEAVY_USER" "$dir/client_key.pub" "$claim" \
	    '# rtq bench: a heavy login (100 ms), before the interactive guard
. "$HOME/.rtq-bench-init.sh"
' || return 1
	LOGIN_USER[light]=$BENCH_USER LOGIN_USER[heavy]=$BENCH_HEAVY_USER
	LOGIN_DIR[light]=${LOGIN_DIR[$BENCH_USER]}
	LOGIN_DIR[heavy]=${LOGIN_DIR[$BENCH_HEAVY_USER]}
	LOGIN_HOST[light]=rtqb-light LOGIN_HOST[heavy]=rtqb-heavy
	LOGIN_WHAT[light]="$BENCH_USER, bash, Debian's default ~/.bashrc"
	LOGIN_WHAT[heavy]="$BENCH_HEAVY_USER, bash, ~/.bashrc sleeps 100 ms first (stands for conda init)"
	mkdir -p /run/sshd && chmod 755 /run/sshd
	for try in $(seq 1 30); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		cat >"$dir/sshd_config" <<EOF
# rtq bench (tests/bench/logins.sh): sshd's defaults but for these lines
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AllowUsers $BENCH_USER $BENCH_HEAVY_USER
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
LogLevel ERROR
EOF
		: >"$dir/sshd.log"
		"$sshd" -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null ||
			{ cat "$dir/sshd.log" >&2; return 1; }
		for i in $(seq 1 100); do
			[ -s "$dir/sshd.pid" ] && { started=1; break; }
			grep -q 'Cannot bind' "$dir/sshd.log" && break
			sleep 0.1
		done
		[ -n "$started" ] && break
	done
	[ -n "$started" ] || { echo "bench: sshd did not start" >&2; cat "$dir/sshd.log" >&2; return 1; }
	read -r LOGIN_SSHD <"$dir/sshd.pid"
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/host_key.pub")" \
	    >"$dir/known_hosts"
	LOGIN_CFG=$dir/ssh_config
	cat >"$LOGIN_CFG" <<EOF
Host rtqb-light
    User $BENCH_USER
Host rtqb-heavy
    User $BENCH_HEAVY_USER
Host rtqb-*
    HostName 127.0.0.1
    Port $port
    IdentityFile $dir/client_key
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile $dir/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    UpdateHostKeys no
    BatchMode yes
    ConnectTimeout 10
    LogLevel ERROR
EOF
	for i in $(seq 1 50); do
		ssh -F "$LOGIN_CFG" rtqb-light true </dev/null 2>"$dir/ssh.out" &&
		ssh -F "$LOGIN_CFG" rtqb-heavy true </dev/null 2>"$dir/ssh.out" &&
			return 0
		sleep 0.2
	done
	echo "bench: cannot log in to the bench's sshd:" >&2
	cat "$dir/ssh.out" "$dir/sshd.log" >&2
	return 1
}

# login_tree: pids of the listening sshd and all its descendants
login_tree() {
	[ -n "$LOGIN_SSHD" ] || return 0
	ps -e -o pid=,ppid= | awk -v r="$LOGIN_SSHD" '
	    { kids[$2] = kids[$2] " " $1; seen[$1] = 1 }
	    END { if (!(r in seen)) exit
		  q[1] = r; n = 1
		  for (i = 1; i <= n; i++) {
			print q[i]
			m = split(kids[q[i]], k, " ")
			for (j = 1; j <= m; j++) q[++n] = k[j]
		  } }'
}

# logins_stop: always returns 0
logins_stop() {
	local pids u home i
	if [ "$_login_mode" = harness ]; then
		pids=$(login_tree | grep -vx "$LOGIN_SSHD")
		[ -n "$pids" ] && kill $pids 2>/dev/null
		sshd_stop
	elif [ "$_login_mode" = root ]; then
		pids=$(login_tree)
		# the sessions first, then the listener
		[ -n "$pids" ] && kill $(echo "$pids" | grep -vx "$LOGIN_SSHD") 2>/dev/null
		kill "$LOGIN_SSHD" 2>/dev/null
		for i in $(seq 1 50); do
			[ -n "$(ps -o pid= -p "$(echo $pids | tr ' ' ,)" 2>/dev/null)" ] || break
			sleep 0.1
		done
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		for u in "$BENCH_USER" "$BENCH_HEAVY_USER"; do
			home=$(getent passwd "$u" | cut -d: -f6)
			[ -n "$home" ] || continue
			rm -f "$home/.ssh/authorized_keys"
			[ -n "${LOGIN_DIR[$u]:-}" ] && rm -rf "${LOGIN_DIR[$u]}"
		done
	fi
	_login_mode= LOGIN_SSHD=
	return 0
}
