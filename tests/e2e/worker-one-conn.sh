#!/usr/bin/env bash
# What a worker costs the master (issue 14, item 4): one ssh connection per
# rtq process.  Over the loopback sshd:
#   - rtq -x -j 3: while three tasks run (three serve sessions open), and
#     again while the next three run, exactly one TCP connection to the
#     sshd exists; a connection that drops (its ssh master killed while
#     tasks run) is made again, one for all, and no report is lost; every
#     task ran once and ended #ok; when rtq has exited the connection is
#     gone at once (its owner ended it), not after ControlPersist, and its
#     control socket and lock file with it;
#   - a single rtq -x: the same, one connection while its task runs, none
#     after;
#   - the master's sshd with MaxSessions 2 and rtq -j 3: the third slot's
#     session gets a connection of its own (two in all), rtq says so once,
#     naming MaxSessions, and every task still runs once.
# Each task checks that it runs once (mkdir of its own directory) in a
# slot (RTQ_SLOT), then waits for the test's go (a file), so that the
# connections are counted while the sessions are surely open.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories
need ss

with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
H=$SSHD_HOST

# conns: the established TCP connections to the test's sshd, client side
# (its port is private to this test: they can only be rtq's)
conns() {
	ss -Htn state established "( dport = :$SSHD_PORT )" | wc -l
}
conns_are() { [ "$(conns)" = "$1" ]; }
# started N: N tasks have begun
started() { [ -f "$T/log" ] && [ "$(grep -c "^start " "$T/log")" -ge "$1" ]; }

# queue FILE N: N tasks; task K waits for $T/go.R, R its round of 3
queue() {
	local k
	: >"$1"
	for ((k = 1; k <= $2; k++)); do
		printf '%s\n' "[ -n \"\$RTQ_SLOT\" ] && mkdir $T/ran/$k && echo start $k >>$T/log && for i in \$(seq 1 600); do [ -e $T/go.$(((k - 1) / 3 + 1)) ] && break; sleep 0.05; done && [ -e $T/go.$(((k - 1) / 3 + 1)) ] && echo done $k >>$T/log" >>"$1"
	done
}
# check FILE N NAME: every task ran once and ended #ok, the worker exited 0
check() {
	local k
	expect_eq "$3: exit status" "$wrc" 0
	expect_eq "$3: #ok lines" "$(grep -c ' #ok$' "$1")" "$2"
	for ((k = 1; k <= $2; k++)); do
		expect_eq "$3: task $k started" "$(grep -cx "start $k" "$T/log")" 1
		expect_eq "$3: task $k done" "$(grep -cx "done $k" "$T/log")" 1
	done
	no_running "$1"
}
reset_run() { rm -rf "$T/ran" "$T/log" "$T"/go.*; mkdir "$T/ran"; }

say "rtq -x -j 3: one connection for its three slots"
reset_run
F=$T/j3.sh
queue "$F" 6
expect_eq "no connection before" "$(conns)" 0
start_worker j3 -x -j 3 "$H:$F"
wait_for 60 started 3 || { show j3; die "three tasks did not start"; }
# the three sessions are open: each slot claimed over its own
got=$(conns)
[ "$got" = 1 ] || { ss -tnp state established "( dport = :$SSHD_PORT )"; show j3
	die "-j 3, first three tasks running: $got connections to the sshd, want 1"; }
# the connection drops (its ssh master killed): the sessions are opened
# again, on one new connection, and the tasks' reports are not lost
sock=$(ls "$T"/xdg/rtq/*-* 2>/dev/null | grep -v '\.lock$\|\.said$' | head -n 1)
[ -S "$sock" ] || { ls -la "$T/xdg/rtq"; die "-j 3: no control socket of rtq's"; }
mpid=$(ssh -F "$SSH_CONFIG" -S "$sock" -O check "$H" 2>&1 | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
[ -n "$mpid" ] || die "-j 3: no ssh master at $sock"
kill -9 "$mpid"
wait_for 10 conns_are 0 || die "-j 3: the killed master's connection stayed"
# heartbeats go every second while a task runs: each slot finds it broken
wait_for 30 conns_are 1 || die "-j 3: no connection again after the drop"
touch "$T/go.1"
wait_for 60 started 6 || { show j3; die "the next three tasks did not start"; }
got=$(conns)
[ "$got" = 1 ] || { ss -tnp state established "( dport = :$SSHD_PORT )"; show j3
	die "-j 3, next three tasks running: $got connections to the sshd, want 1"; }
touch "$T/go.2"
finish_worker j3 "$wpid" 60
check "$F" 6 "-j 3"
# ended by rtq, not left for ControlPersist (10 s)
wait_for 3 conns_are 0 || { ss -tnp state established "( dport = :$SSHD_PORT )"
	die "-j 3: the connection outlived rtq"; }
# its socket, and the lock its slots took turns on, are gone with it
left=$(ls -A "$T/xdg/rtq")
[ -z "$left" ] || die "-j 3: left in the control directory: $left"
cat "$T/j3.out" "$T/j3.err" | grep -q MaxSessions && { show j3; die "-j 3: MaxSessions said, not refused"; }

say "a single rtq -x: one connection, none after"
reset_run
F=$T/one.sh
queue "$F" 2
start_worker one -x "$H:$F"
wait_for 60 started 1 || { show one; die "the task did not start"; }
got=$(conns)
[ "$got" = 1 ] || { ss -tnp state established "( dport = :$SSHD_PORT )"; show one
	die "one worker: $got connections to the sshd, want 1"; }
touch "$T/go.1"
finish_worker one "$wpid" 60
check "$F" 2 "one worker"
wait_for 3 conns_are 0 || die "one worker: the connection outlived rtq"
left=$(ls -A "$T/xdg/rtq")
[ -z "$left" ] || die "one worker: left in the control directory: $left"

say "MaxSessions 2 on the master: the third slot's session on a connection of its own, said once"
pid=$(cat "$SSHD_DIR/sshd.pid")
kill "$pid"
wait_for 10 gone "$pid" || die "the test sshd did not stop"
echo "MaxSessions 2" >>"$SSHD_DIR/sshd_config"
rm -f "$SSHD_DIR/sshd.pid"
/usr/sbin/sshd -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" </dev/null ||
	die "cannot restart the test sshd"
wait_for 10 test -s "$SSHD_DIR/sshd.pid" || die "the test sshd did not restart"
reset_run
F=$T/max.sh
queue "$F" 3
start_worker max -x -j 3 "$H:$F"
wait_for 60 started 3 || { show max; die "MaxSessions 2: three tasks did not start"; }
got=$(conns)
[ "$got" = 2 ] || { ss -tnp state established "( dport = :$SSHD_PORT )"; show max
	die "MaxSessions 2, -j 3: $got connections to the sshd, want 2"; }
touch "$T/go.1"
finish_worker max "$wpid" 60
check "$F" 3 "MaxSessions 2"
# (a slot's messages come out on the output of the rtq that started it)
cat "$T/max.out" "$T/max.err" >"$T/max.all"
expect_eq "MaxSessions 2: said" "$(grep -c 'MaxSessions' "$T/max.all")" 1
grep -q 'refused by peer\|disabling multiplexing' "$T/max.all" &&
	{ show max; die "MaxSessions 2: ssh's own messages shown"; }
wait_for 3 conns_are 0 || die "MaxSessions 2: a connection outlived rtq"
echo "PASS"
