#!/usr/bin/env bash
# The worker at the edges (issue 11): a task does not outlive its worker,
# even one killed with SIGKILL (1); a jumpto into a queue where a live
# worker has our id registers with a new id and says so (2); a closed
# standard output ends --status --watch, a worker, and the slots of a
# killed rtq -j quietly (15); a finished task's result is reported
# although the next claim is refused, and the refusal is said once (18); a
# task retried above the worker's position with no init line above it runs
# where the worker started (19); set -e, set -u, an EXIT trap or a
# redirection of fd 3 in an init line cannot end or hang the worker's
# shell (20).
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones

u=$$$RANDOM	# makes the tasks' sleeps unique to this run, for pgrep
# task_runs PATTERN: a process matches PATTERN (pgrep -f)
task_runs() { pgrep -f "$1" >/dev/null; }
# live_in SID: a process of session SID that is not a zombie (one that
# pid 1 has yet to reap is gone for our purposes)
live_in() { ps -o stat= -s "$1" 2>/dev/null | grep -qv '^Z'; }
# claim_reads SID: the bytes read so far by the rtq-claim serve session of
# the worker SID (each request it answers reads the task file)
claim_reads() {
	local p
	p=$(pgrep -s "$1" -f 'rtq-claim serve' | head -n 1)
	[ -n "$p" ] && awk '/^rchar:/ { print $2 }' "/proc/$p/io" 2>/dev/null
}
# more_reads SID N: the serve session of SID has read more than N bytes
more_reads() { local r; r=$(claim_reads "$1") && [ "$r" -gt "$2" ]; }

# The sections are independent: each runs in a subshell (die ends only
# it), and all are run; the test fails if any did.
failed=()
section() {	# KEY TITLE FUNCTION
	say "($1) $2"
	("$3") || failed+=("($1) $2")
}

# (1) kill -9 of rtq alone: its task is stopped within a second or two, and
# the worker that runs it once the lease ran out does not overlap with it
sec_1() {
	F=$T/k9.sh
	L=$T/k9.log
	# worker 0 sleeps 12 s, the second run 1 s
	echo "echo start >>$L; sleep \$((WORKERID == 0 ? 12 : 1)).$u; echo end >>$L" >"$F"
	start_worker A --lease 4 -n A "$F"
	a=$wpid
	wait_for 10 has_line "$L" start || { show A; die "A did not start its task"; }
	wait_for 5 task_runs "^sleep 12\\.$u\$" || { show A; die "A's task does not run"; }
	kill -9 "$a"
	if ! wait_for 3 no_proc "^sleep 12\\.$u\$"; then
		ps -o pid,ppid,pgid,sid,args -s "$a" >&2
		die "A's task still runs 3 s after kill -9 of A"
	fi
	wait_for 3 eval '! live_in "$a"' || { ps -o pid,ppid,stat,args -s "$a" >&2; die "A's shell or watcher is left"; }
	# B comes after the lease ran out: 5 s later on rtq-claim's clock
	RTQ_NOW=+5 start_worker B -x --poll 0.2 --lease 4 -n B "$F"
	b=$wpid
	finish_worker B "$b" 30
	show B
	cat "$F" "$L"
	expect_eq "B's exit" "$wrc" 0
	expect_eq "the log (A's run stopped, B's whole)" "$(tr '\n' ' ' <"$L")" "start start end "
	grep -qE "^#echo start .* # worker 0 # \\([^)]*\\) #lost.* # worker 1 # \\([^)]*\\) #ok\$" "$F" ||
		die "the task is not A's lost run and B's ok one: $(grep start "$F")"
	no_running "$F"
}

# (2) jumpto= into a queue where a live worker has our id: a new id, said
sec_2() {
	O=$T/other.sh
	Q=$T/q2.sh
	printf '%s\n' "while [ ! -e $T/go2 ]; do sleep 0.05; done; echo one >>$T/o.log" \
		"echo two >>$T/o.log" >"$O"
	start_worker X -x --poll 0.1 -i 0 -n X "$O"
	x=$wpid
	wait_for 10 grep -q "# worker 0 # (" "$O" || { show X; die "X did not claim"; }
	printf '%s\n' "jumpto=$O #!" 'echo never-q2' >"$Q"
	start_worker Y -x --poll 0.1 -n Y "$Q"
	y=$wpid
	wait_for 10 grep -q "worker 1: Y" "$O" || { show Y; cat "$O"; die "Y did not register in $O with a new id"; }
	touch "$T/go2"
	finish_worker X "$x" 20
	xrc=$wrc
	finish_worker Y "$y" 20
	show X
	show Y
	cat "$O"
	expect_eq "X's exit" "$xrc" 0
	expect_eq "Y's exit" "$wrc" 0
	grep -qF "[rtq 1] worker id 0 is in use in $O; registered as 1 instead" "$T/Y.err" ||
		die "Y did not say that it took another id"
	expect_eq "each task of $O once" "$(sort "$T/o.log" | tr '\n' ' ')" "one two "
	grep -q '^never-q2$' "$T/Y.out" && die "Y ran a task of the queue it left"
	no_running "$O"
}

# (15) standard output closed: --status --watch and a worker end quietly
sec_15() {
	F=$T/st.sh
	printf '%s\n' 'echo a' 'echo b' >"$F"
	("$RTQ" --status --watch 1 "$F" 2>"$T/st.err" | head -n 1 >"$T/st.out"
		echo "${PIPESTATUS[0]}" >"$T/st.rc") &
	if ! wait_for 10 test -s "$T/st.rc"; then
		pkill -f "status --watch 1 $F"
		die "rtq --status --watch 1 | head -1 did not end within 10 s"
	fi
	expect_eq "--watch's exit" "$(cat "$T/st.rc")" 0
	[ -s "$T/st.err" ] && die "--watch said: $(cat "$T/st.err")"
	[ -s "$T/st.out" ] || die "head got nothing"
	say "a worker whose output is closed stops its task and exits 0"
	W=$T/wo.sh
	printf '%s\n' "echo started; sleep 30.15$u; echo never" 'echo after' >"$W"
	# head reads the worker's banner, the task's and what the task says
	(setsid "$RTQ" -x --poll 0.1 "$W" 2>"$T/wo.err" </dev/null |
		head -n 3 >"$T/wo.out"
		echo "${PIPESTATUS[0]}" >"$T/wo.rc") &
	# (the task is stopped as soon as head is gone)
	if ! wait_for 10 test -s "$T/wo.rc"; then
		pkill -f "sleep 30\\.15$u"
		pkill -f -- "-x --poll 0.1 $W"
		die "rtq -x | head -3 did not end within 10 s of head's exit"
	fi
	cat "$T/wo.out" "$T/wo.err" "$W"
	grep -q '^started$' "$T/wo.out" || die "head did not get the task's line"
	expect_eq "the worker's exit" "$(cat "$T/wo.rc")" 0
	wait_for 5 no_proc "^sleep 30\\.15$u\$" || die "the task is left running"
	grep -qE "^echo started; sleep 30\\.15$u; echo never # worker 0 # \\([^)]*\\) #error[0-9]+\$" "$W" ||
		die "the stopped task was not given back"
	expect_eq "the next task" "$(sed -n 3p "$W")" "echo after"
	no_running "$W"
	say "-j: the slots of an rtq killed with SIGKILL stop (their output is gone)"
	J=$T/j.sh
	printf '%s\n' "sleep 30.16$u" "sleep 30.16$u" "echo never" >"$J"
	start_worker J -j 2 --poll 0.1 "$J"
	j=$wpid
	wait_for 10 eval '[ "$(pgrep -fc "^sleep 30\\.16$u\$")" -ge 2 ]' || { show J; cat "$J"; die "the slots' tasks did not start"; }
	kill -9 "$j"
	wait_for 10 no_proc "^sleep 30\\.16$u\$" || { ps -o pid,ppid,stat,args -s "$j" >&2; die "the slots' tasks still run 10 s after their rtq was killed"; }
	wait_for 10 eval '! live_in "$j"' || { ps -o pid,ppid,stat,args -s "$j" >&2; die "processes of the killed rtq are left"; }
	cat "$J"
	expect_eq "tasks given back" "$(grep -cE "^sleep 30\\.16$u # worker [01] # \\([^)]*\\) #error[0-9]+\$" "$J")" 2
	grep -q '^echo never$' "$J" || die "a slot claimed another task"
	no_running "$J"
}

# (18) the next claim refused (a line rtq cannot use): the result in hand
# is reported at once, the refusal said once, and Ctrl-C ends it
sec_18() {
	F=$T/refused.sh
	printf '%s\n' "echo a1" "echo a2 #@gpu1" "echo a3" >"$F"
	start_worker R --poll 0.1 "$F"
	r=$wpid
	wait_for 10 grep -q 'malformed worker tag' "$T/R.err" || { show R; die "no refusal"; }
	# three more polls
	local n=
	wait_for 10 eval 'n=$(claim_reads "$r")' || { show R; die "no serve session"; }
	for i in 1 2 3; do
		wait_for 10 more_reads "$r" "$n" && n=$(claim_reads "$r") ||
			{ show R; die "the worker does not poll"; }
	done
	expect_eq "line 2 (a1), before the stop" "$(sed -n 2p "$F" | unstamp)" \
		"#echo a1 # worker 0 # (T ... T) #ok"
	kill -INT -- "-$r"
	finish_worker R "$r" 10
	show R
	cat "$F"
	expect_eq "exit status" "$wrc" 0
	expect_eq "refusals said" "$(grep -c 'malformed worker tag' "$T/R.err")" 1
	expect_eq "line 3 untouched" "$(sed -n 3p "$F")" "echo a2 #@gpu1"
	no_running "$F"
	say "a stop while the next claim is retried still reports the result"
	# rtq-claim, one call per request, refuses every "next" for want of
	# space once the first task made $T/full: the result the worker holds
	# travels with them; at SIGTERM it goes alone, as a finish
	cat >"$T/full-claim" <<EOF
#!/bin/sh
if [ "\$1" = next ] && [ -e $T/full ]; then
	echo "RTQ1 error 1 $T/full: No space left on device (a test)"
	exit 1
fi
exec "$CLAIM" "\$@"
EOF
	chmod +x "$T/full-claim"
	G=$T/retried.sh
	printf '%s\n' "touch $T/full; echo b1" "echo b2" >"$G"
	RTQ_NOSERVE=1 RTQ_CLAIM=$T/full-claim start_worker R2 --poll 0.1 "$G"
	wait_for 10 grep -q 'retrying in' "$T/R2.err" || { show R2; die "the worker does not retry"; }
	kill -TERM "$wpid"
	finish_worker R2 "$wpid" 10
	show R2
	cat "$G"
	expect_eq "line 2 (b1)" "$(sed -n 2p "$G" | unstamp)" \
		"#touch $T/full; echo b1 # worker 0 # (T ... T) #ok"
	expect_eq "line 3 untouched" "$(sed -n 3p "$G")" "echo b2"
	no_running "$G"
}

# (19) a task retried above the worker's position, with no init line above
# it, runs where the worker started: not in the directory nor with the
# variables of the init lines below it
sec_19() {
	mkdir -p "$T/s19/start" "$T/s19/b"
	G=$T/s19/top.sh
	# (line numbers count the header registration inserts) Worker 1
	# claims line 2 and fails it once worker 0 runs line 6; worker 0,
	# in section b by then, gets line 2 back above its position
	cat >"$G" <<EOF
if [ "\$WORKERID" = 1 ]; then until grep -q '^#until ' $G; do sleep 0.05; done; exit 3; fi; echo "TOP pwd=\$PWD v=\${v-unset} f=\$(type -t fb)"
exit #!#@1
cd $T/s19/b #!
v=B; fb() { :; } #!
until grep -q '#error3\$' $G; do sleep 0.05; done; echo "SB pwd=\$PWD v=\$v"
echo "AFTER pwd=\$PWD v=\$v"
EOF
	start_worker W1 -x --poll 0.1 -i 1 "$G"
	w1=$wpid
	wait_for 10 grep -qE '^#if .* # worker 1 # \(' "$G" || { show W1; cat "$G"; die "worker 1 did not claim line 2"; }
	cd "$T/s19/start" || die "cd"
	start_worker W0 -x --poll 0.1 -i 0 "$G"
	w0=$wpid
	cd "$T" || die "cd"
	finish_worker W1 "$w1" 20
	expect_eq "worker 1's exit" "$wrc" 0
	finish_worker W0 "$w0" 20
	show W0
	cat "$G"
	expect_eq "worker 0's exit" "$wrc" 0
	expect_eq "SB" "$(grep '^SB ' "$T/W0.out")" "SB pwd=$T/s19/b v=B"
	expect_eq "TOP (where worker 0 started)" "$(grep '^TOP ' "$T/W0.out")" \
		"TOP pwd=$T/s19/start v=unset f="
	expect_eq "AFTER (the worker's shell did not move)" "$(grep '^AFTER ' "$T/W0.out")" \
		"AFTER pwd=$T/s19/b v=B"
	order=$(grep -E '^(SB|TOP|AFTER) ' "$T/W0.out" | cut -d' ' -f1 | tr '\n' ' ')
	expect_eq "order in worker 0" "$order" "SB TOP AFTER "
	grep -qF "[rtq 0] $T/s19/start:2 (where the worker started) \$ if " "$T/W0.out" ||
		die "the banner does not say where the task runs"
	no_running "$G"
}

# (20) what an init line does to the worker's shell cannot end it: set -e
# with a failing task, set -u, an EXIT trap (it runs once, when the worker
# ends), fd 3 taken by an init line
sec_20() {
	F=$T/errexit.sh
	cat >"$F" <<EOF
set -eu #!
trap 'echo trap >>$T/trap.log' EXIT #!
exec 3>$T/fd3.log #!
false
echo "after-false \${undefined-x}"
echo "\$undefined_var"
(exit 7)
echo fd3 >&3; echo last
EOF
	start_worker E -x --poll 0.1 "$F"
	finish_worker E "$wpid" 20
	show E
	cat "$F"
	expect_eq "exit status (tasks failed)" "$wrc" 3
	grep -q 'shell died' "$T/E.err" && die "the worker's shell died"
	grep -q '^after-false x$' "$T/E.out" || die "the task after a failed one did not run"
	grep -q '^last$' "$T/E.out" || die "the last task did not run"
	expect_eq "statuses" "$(grep -oE '#(ok|error[0-9]+)$' "$F" | tr '\n' ' ')" \
		"#error1 #ok #error1 #error7 #ok "
	expect_eq "fd 3 of the init line" "$(cat "$T/fd3.log")" fd3
	expect_eq "the EXIT trap ran once" "$(cat "$T/trap.log" 2>/dev/null)" trap
	no_running "$F"
}

section 1 "kill -9 of rtq: its task does not outlive it, and never overlaps its rerun" sec_1
section 2 "jumpto= into a queue where a live worker has our id: a new id, said" sec_2
section 15 "standard output closed: --status --watch and a worker end quietly" sec_15
section 18 "the next claim refused: the result is reported, the refusal said once" sec_18
section 19 "a task retried above the position, no init line above it: where the worker started" sec_19
section 20 "set -e, set -u, an EXIT trap, fd 3 in init lines do not end the worker's shell" sec_20

if [ ${#failed[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	die "${#failed[@]} section(s) failed"
fi
say "ok"
