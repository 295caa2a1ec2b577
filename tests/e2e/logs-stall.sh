#!/usr/bin/env bash
# A master that stops answering does not stall a task that prints
# continuously (issue 13): the task prints 10 MB and times itself, once
# with the master answering and once with the worker's rtq-claim session
# stopped (SIGSTOP) while it runs; its duration stays the same (within
# 2x + 1 s of the first run, where a stall would last until the session
# gave up), every byte still reaches the worker's terminal, and the task
# is reported once the worker opened a new session.
. "$RTQ_TOP/tests/e2e/lib.sh"
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
export RTQ_REPLY_TIMEOUT=5	# a silent session is given up after 5 s
H=$SSHD_HOST

# task K: wait for $T/goK, print 160 lines of 64 KiB, write the ms it took
task() {
	echo "while [ ! -e $T/go$1 ]; do sleep 0.05; done; s=\$(date +%s%N); for i in \$(seq 1 160); do head -c 65535 /dev/zero | tr '\\0' x; echo; done; e=\$(date +%s%N); echo \$(( (e - s) / 1000000 )) >$T/dur$1"
}

run() {		# run K STOP
	local F=$T/q$1.sh pid
	task "$1" >"$F"
	start_worker w$1 -x --poll 0.1 "$H:$F"
	pid=$wpid
	wait_for 20 grep -q ' # worker 0 # ' "$F" || { show "w$1"; die "the task did not start"; }
	if [ "$2" = stop ]; then
		spid=$(pgrep -f "rtq-claim serve $F") || die "no session of rtq-claim for $F"
		kill -STOP $spid
		LIB_CLEANUP+=("kill -CONT $spid 2>/dev/null")
	fi
	touch "$T/go$1"
	wait_for 60 test -s "$T/dur$1" || { show "w$1"; die "the task did not finish printing"; }
	[ "$2" = stop ] && kill -CONT $spid
	finish_worker "w$1" "$pid" 60
	expect_eq "worker $1's exit status" "$wrc" 0
	expect_eq "lines of 64 KiB on worker $1's terminal" \
		"$(grep -c "^xxxxxxxx" "$T/w$1.out")" 160
	grep -qE '#ok$' "$F" || { cat "$F"; die "task $1 was not reported ok"; }
}

say "the master answering"
run 1 go
say "the master's session stopped while the task prints"
run 2 stop
d1=$(cat "$T/dur1") d2=$(cat "$T/dur2")
echo "the task printed 10 MB in $d1 ms, and in $d2 ms with the master stopped"
[ "$d2" -le $((2 * d1 + 1000)) ] || die "the stopped master slowed the task: $d1 ms, then $d2 ms"
cat "$T/w2.err"
echo PASS
