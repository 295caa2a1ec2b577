#!/usr/bin/env bash
# Nothing hangs, everything can be stopped (issue 11, items 12-14): a
# master that cannot be reached is reported (at once when retrying cannot
# help, within a bound when it might); a master that stops answering in
# the middle of a session is dropped and reconnected; a queue command
# waiting for the lock is ended by Ctrl-C and then changes nothing,
# locally and over ssh.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
F=$T/q.sh
printf 'echo a\n' >"$F"

say "(12) a host name that does not resolve: said at once, exit 1"
t0=$(_usecs)
rc=0
timeout 20 "$RTQ" --status "nosuchhost.invalid:$F" >"$T/out" 2>"$T/err" || rc=$?
secs=$((($(_usecs) - t0) / 1000000))
expect_eq "exit status" "$rc" 1
grep -q "ssh to nosuchhost.invalid failed" "$T/err" || { cat "$T/err"; die "no message"; }
grep -q "retrying" "$T/err" && { cat "$T/err"; die "a permanent failure was retried"; }
[ "$secs" -le 10 ] || die "took $secs s"

say "(12) a host beginning with '-' is a usage error, and ssh never runs"
rc=0
RTQ_SSH=$T/nossh "$RTQ" --status "-oProxyCommand=touch $T/pwned:$F" \
    >"$T/out" 2>"$T/err" || rc=$?
expect_eq "exit status" "$rc" 2
[ ! -e "$T/pwned" ] || die "an option reached ssh"

say "(12) a master that refuses connections: a queue command gives up within a bound"
cat >"$T/refused-ssh" <<'EOF'
#!/bin/sh
echo "ssh: connect to host rtqtest port 22: Connection refused" >&2
exit 255
EOF
chmod +x "$T/refused-ssh"
t0=$(_usecs)
rc=0
RTQ_SSH=$T/refused-ssh timeout 90 "$RTQ" --status "rtqtest:$F" >"$T/out" 2>"$T/err" || rc=$?
secs=$((($(_usecs) - t0) / 1000000))
expect_eq "exit status" "$rc" 1
grep -q "giving up after 30 s" "$T/err" || { cat "$T/err"; die "no giving up"; }
# the waits back off with jitter (d/2 to 3d/2 for d = 1, 2, 4, 8 s) and
# stop before one that would end past 30 s: between 7 and 31 s
[ "$secs" -ge 7 ] && [ "$secs" -le 60 ] || die "gave up after $secs s"

say "(13) a master that stops answering mid-session: dropped, reconnected"
G=$T/silent.sh
for i in 1 2 3 4 5 6; do echo "sleep 0.3; echo $i >>$T/silent.log"; done >"$G"
RTQ_REPLY_TIMEOUT=2 start_worker S -x --poll 0.1 "rtqtest:$G"
s=$wpid
serve="^$RTQ_BIN/rtq-claim serve $G"
wait_for 20 grep -qsx 1 "$T/silent.log" || { show S; die "no first task"; }
sp=$(pgrep -f "$serve" | head -1)
[ -n "$sp" ] || { show S; die "no serve session"; }
kill -STOP "$sp"
LIB_CLEANUP+=("kill -CONT $sp 2>/dev/null")
FINISH_LEFT_OK=1 finish_worker S "$s" 60
kill -CONT "$sp" 2>/dev/null
expect_eq "worker exit" "$wrc" 0
grep -q "session with rtq-claim on rtqtest broke" "$T/S.err" ||
	{ show S; die "the silent session was not dropped"; }
expect_eq "each task once" "$(sort -n "$T/silent.log" | tr '\n' ' ')" \
	"1 2 3 4 5 6 "
no_running "$G"

waiting_add() {
	local p
	p=$(pgrep -f "^$RTQ_BIN/rtq-claim add $F" | head -1)
	[ -n "$p" ] && lock_waits "$p"
}
add_interrupted() {	# WHERE TARGET
	local where=$1 target=$2 lockpid addpid rc
	mkfifo "$T/hold.$where"
	"$CLAIM" lock "$F" <"$T/hold.$where" >"$T/lock.$where" &
	lockpid=$!
	exec 9>"$T/hold.$where"
	wait_for 10 grep -q "RTQ1 locked" "$T/lock.$where" || die "$where: no lock"
	"$RTQ" --add "$target" "echo added-$where" >"$T/add.$where" 2>&1 &
	addpid=$!
	wait_for 20 waiting_add ||
		{ cat "$T/add.$where"; die "$where: add never waited for the lock"; }
	kill -INT "$addpid"
	wait_for 5 gone "$addpid" || die "$where: Ctrl-C did not end --add"
	rc=0
	wait "$addpid" || rc=$?
	expect_eq "$where: exit status of an interrupted --add" "$rc" 130
	exec 9>&-			# the lock goes
	wait "$lockpid" || true
	wait_for 10 no_proc "^$RTQ_BIN/rtq-claim add $F" ||
		die "$where: an add is left"
	grep -q "added-$where" "$F" && { cat "$F"; die "$where: the interrupted --add added its task"; }
	rm -f "$T/hold.$where"
}
say "(14) --add waiting for the lock: Ctrl-C ends it and nothing is added"
add_interrupted local "$F"
add_interrupted ssh "rtqtest:$F"
"$RTQ" --add "rtqtest:$F" "echo later" >/dev/null || die "a later --add failed"
grep -qx "echo later" "$F" || die "a later --add did not add"
say "all cases behaved"
