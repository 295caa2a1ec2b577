#!/usr/bin/env bash
# rtq --lock (SPEC 2.4, 6): it holds the task file's lock (the sidecar
# FILE.lock that runtask.sh also uses) until Ctrl-C; meanwhile a claim
# waits, and proceeds once the lock is let go.  Locally and over ssh.  A
# --lock whose process is killed (-9, with its ssh) must not strand the
# lock on the master: the remote "rtq-claim lock" sees its input close and
# lets go within a few seconds.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones


unlocked() { flock -n "$F.lock" true; }
no_lock_proc() { ! pgrep -f "rtq-claim lock $F\$" >/dev/null; }

F=$T/tasks.sh
printf '%s\n' 'echo one' 'echo two' 'echo three' >"$F"
"$CLAIM" register "$F" - tester >/dev/null || die "register failed"

# lock_start NAME TARGET [ENV...]: start rtq --lock; sets lpid
lock_start() {
	local name=$1 target=$2
	shift 2
	env "$@" "$RTQ" --lock "$target" </dev/null >"$T/$name.out" 2>"$T/$name.err" &
	lpid=$!
	LIB_CLEANUP+=("kill -9 $lpid 2>/dev/null")
	wait_for 10 grep -q 'locked' "$T/$name.out" ||
		{ cat "$T/$name.out" "$T/$name.err"; die "$name: rtq --lock did not say it holds the lock"; }
	unlocked && die "$name: rtq --lock says locked, but $F.lock is free"
	return 0
}
# claim_blocked NAME: start a claim and check that it waits; sets cpid
claim_blocked() {
	cp "$F" "$T/before"
	timeout -k 2 30 "$CLAIM" next "$F" 0 0 >"$T/$1.claim" 2>&1 &
	cpid=$!
	# it waits for the lock (the kernel says so), not merely slowly
	wait_for 10 lock_waits "$cpid" || { cat "$T/$1.claim"; die "$1: a claim went through while the file was locked (or never asked for the lock)"; }
	kill -0 "$cpid" 2>/dev/null || { cat "$T/$1.claim"; die "$1: a claim went through while the file was locked"; }
	cmp -s "$F" "$T/before" || die "$1: the file changed while locked"
}
# claim_done NAME SECONDS: the claim finishes in time and got a task
claim_done() {
	wait_for "$2" gone "$cpid" || die "$1: the claim still waits $2 s after the lock was let go"
	wait "$cpid" || { cat "$T/$1.claim"; die "$1: the claim failed"; }
	grep -q '^RTQ1 work ' "$T/$1.claim" || { cat "$T/$1.claim"; die "$1: the claim got no task"; }
}
# unlock_by_ctrl_c NAME: SIGINT to rtq --lock: exit 0, lock free
unlock_by_ctrl_c() {
	kill -INT "$lpid"
	wait_for 5 gone "$lpid" || die "$1: rtq --lock did not exit after Ctrl-C"
	local rc=0
	wait "$lpid" || rc=$?
	cat "$T/$1.out" "$T/$1.err"
	expect_eq "$1: exit status after Ctrl-C" "$rc" 0
	wait_for 5 unlocked || die "$1: the lock is still held after Ctrl-C"
}
# kill_hard NAME: kill -9 rtq --lock and its children (the ssh client)
kill_hard() {
	local kids
	kids=$(pgrep -P "$lpid")
	[ -n "$kids" ] || die "$1: rtq --lock has no child (rtq-claim or ssh) holding the lock"
	case $1 in ssh*) pgrep -P "$lpid" -x ssh >/dev/null || die "$1: no ssh child" ;; esac
	kill -9 "$lpid" $kids
	wait "$lpid" 2>/dev/null
	wait_for 5 unlocked || { ps -ef | grep -F "$F" | grep -v grep; die "$1: the lock is still held 5 s after rtq --lock was killed"; }
	wait_for 5 no_lock_proc || { pgrep -af 'rtq-claim lock'; die "$1: an 'rtq-claim lock' process is left"; }
}

say "local: rtq --lock holds the lock until Ctrl-C"
lock_start local "$F"
claim_blocked local
unlock_by_ctrl_c local
claim_done local 3
grep -q 'released' "$T/local.out" || die "rtq --lock did not say the lock was released"

say "local: rtq --lock killed with -9"
lock_start local9 "$F"
claim_blocked local9
kill_hard local9
claim_done local9 3

say "over ssh"
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim

say "ssh: rtq --lock holds the lock until Ctrl-C"
lock_start ssh "$SSHD_HOST:$F"
claim_blocked ssh
unlock_by_ctrl_c ssh
claim_done ssh 3
wait_for 5 no_lock_proc || die "an 'rtq-claim lock' process is left after Ctrl-C"

for mux in default 0; do
	say "ssh (connection sharing: $mux): rtq --lock and its ssh killed with -9 let go of the lock on the master"
	lock_start "ssh9-$mux" "$SSHD_HOST:$F" RTQ_SSH_MUX="$mux"
	claim_blocked "ssh9-$mux"
	kill_hard "ssh9-$mux"
	claim_done "ssh9-$mux" 3
done

say "ok"
