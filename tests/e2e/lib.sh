# Sourced by the end-to-end tests.  Gives: $CLAIM and $RTQ (the programs
# under test), $T (a private temp dir, removed at exit), and the helpers
# below.  Each test is a bash script that exits 0 on success; `die` fails
# it.  There is no skipping: a test that cannot run fails (tests/deps.sh
# installs what the tests need).
set -u
: "${RTQ_BIN:?run the tests through make check}"
CLAIM=$RTQ_BIN/rtq-claim
RTQ=$RTQ_BIN/rtq
T=$(mktemp -d "${TMPDIR:-/tmp}/rtq-test.XXXXXX")
export HOME_ORIG=$HOME
# At exit: what is left of the workers' sessions (start_worker), then
# LIB_CLEANUP (commands, in order), then $T.
lib_cleanup() {
	local f
	kill_sessions
	for f in "${LIB_CLEANUP[@]}"; do eval "$f"; done
	rm -rf "$T"
}
LIB_CLEANUP=()
trap lib_cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "--- $*"; }

# need COMMAND...: each COMMAND is installed, else the test fails (never
# skips); tests/deps.sh installs them
need() {
	local c
	for c; do
		command -v "$c" >/dev/null ||
			die "$c is not installed (tests/deps.sh installs it)"
	done
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" == "$3" ] || die "$1: got [$2], want [$3]"
}

# expect_file FILE <<'EOF' ... EOF   (compare a file with stdin)
expect_file() {
	local want
	want=$(cat)
	diff -u <(printf '%s\n' "$want") "$1" >&2 ||
		die "$1 differs from what was expected (diff above)"
}

# Replace the time stamps of a task file with "T" for golden comparisons.
unstamp() {
	sed -E 's/[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/T/g' "$@"
}

# c WORDS...: rtq-claim WORDS, which must succeed; its reply is in $T/reply
c() { "$CLAIM" "$@" >"$T/reply" || { cat "$T/reply"; die "rtq-claim $*"; }; }

# no_running FILE: no task of FILE is left marked running
running_re=' # worker [0-9]+ # \([^)]* \.\.\.$'
no_running() {
	if grep -nE "$running_re" "$1"; then
		die "$1: a task is left marked running"
	fi
}

# ---- waiting on events ------------------------------------------------

# wait_for SECONDS CMD...: run CMD every 0.05 s until it succeeds (0), or
# fail (1) once SECONDS (a decimal number) have passed on the clock.
wait_for() {
	local end
	end=$(($(_usecs) + $(_to_usecs "$1")))
	shift
	until "$@"; do
		(($(_usecs) < end)) || return 1
		sleep 0.05
	done
}
_usecs() { echo $((${EPOCHREALTIME/./})); }
_to_usecs() {	# a decimal number of seconds, in microseconds
	local i=${1%%.*} f=
	[[ $1 == *.* ]] && f=${1#*.}
	f=${f}000000
	echo $((10#${i:-0} * 1000000 + 10#${f:0:6}))
}
gone() { ! kill -0 "$1" 2>/dev/null; }			# PID
no_proc() { ! pgrep -f "$1" >/dev/null; }		# PATTERN (pgrep -f)
has_line() { grep -qxF -- "$2" "$1" 2>/dev/null; }	# FILE LINE
session_gone() { ! pgrep -s "$1" >/dev/null; }		# SID

# ---- workers in sessions of their own -----------------------------------

# start_worker NAME ARGS...: rtq ARGS in a session of its own (so that
# everything it started can be found, signalled as a terminal would, and
# killed at exit), stdin /dev/null, output in $T/NAME.out and $T/NAME.err;
# sets wpid (the session id).
start_worker() {
	local name=$1
	shift
	setsid "$RTQ" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err" &
	wpid=$!
	echo "$wpid" >>"$T/sessions"
}
kill_sessions() {
	local s
	[ -f "$T/sessions" ] || return 0
	while read -r s; do pkill -9 -s "$s" 2>/dev/null; done <"$T/sessions"
	return 0
}
# finish_worker NAME PID SECONDS: wait for the worker to exit (else kill
# its session, show its output and fail); sets wrc.  Then nothing of its
# session may be left 3 s later, unless FINISH_LEFT_OK=1.
finish_worker() {
	local name=$1 pid=$2 secs=$3
	if ! wait_for "$secs" gone "$pid"; then
		pkill -9 -s "$pid" 2>/dev/null
		show "$name"
		die "worker $name did not exit within $secs s"
	fi
	wrc=0
	wait "$pid" || wrc=$?
	[ "${FINISH_LEFT_OK:-0}" = 1 ] && return 0
	if ! wait_for 3 session_gone "$pid"; then
		ps -o pid,pgid,sid,args -s "$pid" >&2
		die "processes of worker $name are left behind"
	fi
}
show() { echo "== $1"; cat "$T/$1.out" "$T/$1.err"; }

# ---- the loopback sshd --------------------------------------------------

# with_sshd: start the private loopback sshd (tests/sshd-harness.sh), or
# fail.  rtq's ssh control sockets go to $T/xdg (XDG_RUNTIME_DIR), and
# their masters (ControlPersist) are ended at exit before the sshd goes.
with_sshd() {
	mkdir -p -m 700 "$T/xdg"
	export XDG_RUNTIME_DIR=$T/xdg
	# shellcheck source=../sshd-harness.sh
	. "$RTQ_TOP/tests/sshd-harness.sh"
	LIB_CLEANUP+=(mux_exit sshd_stop)
	sshd_start || die "cannot start the test sshd"
}
mux_exit() {
	local s
	[ -n "${SSH_CONFIG:-}" ] || return 0
	for s in "$T"/xdg/rtq/*; do
		[ -S "$s" ] && ssh -F "$SSH_CONFIG" -o ControlPath="$s" -O exit rtqtest 2>/dev/null
	done
	return 0
}

# lock_waits PID: PID (or a child of it) waits for a flock(2) lock
lock_waits() {
	local p
	for p in "$1" $(pgrep -P "$1"); do
		awk -v p="$p" '$2 == "->" && $3 == "FLOCK" && $6 == p { f = 1 }
			END { exit !f }' /proc/locks && return 0
	done
	return 1
}
