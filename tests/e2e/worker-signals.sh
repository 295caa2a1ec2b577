#!/usr/bin/env bash
# Signals (SPEC 3.5), with real signals sent the way a terminal does: each
# worker runs in its own session (setsid), and a "Ctrl-C" is SIGINT to its
# whole process group.  One Ctrl-C lets the task finish, reports it #ok and
# exits 0 without claiming more (a), also while waiting for work (a2), during
# an init line (e) and while retrying an unreachable master (g).  Two
# Ctrl-Cs, or SIGTERM, stop the task's process group (TERM, then KILL after
# the grace period for a task that ignores TERM), report it failed
# (uncommented, #errorN) so that another worker runs it, and exit non-zero
# (b, c, d); SIGTERM also stops a long init line (f).  Nothing is left
# marked running, and nothing of the worker (its shell, a task) is left.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones


u=$$$RANDOM	# makes the tasks' sleeps unique to this run, for pgrep
# worker NAME ARGS...: start_worker (lib.sh, a session of its own) with our poll
worker() { start_worker "$1" --poll 0.2 "${@:2}"; }
# task_runs PATTERN [N]: N (1) processes match PATTERN (pgrep -f)
task_runs() { [ "$(pgrep -fc "$1")" -ge "${2:-1}" ]; }
# claim_reads SID: the bytes read so far by the rtq-claim serve session of
# the worker SID (each request it answers reads the task file)
claim_reads() {
	local p
	p=$(pgrep -s "$1" -f 'rtq-claim serve' | head -n 1)
	[ -n "$p" ] && awk '/^rchar:/ { print $2 }' "/proc/$p/io" 2>/dev/null
}
# more_reads SID N: the serve session of SID has read more than N bytes
more_reads() { local r; r=$(claim_reads "$1") && [ "$r" -gt "$2" ]; }
# what the user sees must not show rtq's own shell plumbing (bash's job
# reports of its internal commands, say)
no_leak() {
	if grep -n '__rtq' "$T/$1.out" "$T/$1.err"; then
		die "$1: rtq's internal shell code shows in the worker's output"
	fi
}

# The sections are independent: each runs in a subshell (die ends only
# it), and all are run; the test fails if any did.  The workers' sessions
# are noted (start_worker), so that the cleanup at exit can end what a
# failed section left running.
failed=()
section() {	# KEY TITLE FUNCTION
	say "($1) $2"
	("$3") || failed+=("($1) $2")
}

# (a) one Ctrl-C: the task finishes, is #ok, the worker exits 0
sec_a() {
	A=$T/a.sh
	printf '%s\n' "sleep 2.$u; echo done-a" 'echo second-a' >"$A"
	worker a -x "$A"
	wait_for 10 task_runs "^sleep 2\\.$u\$" || { show a; cat "$A"; die "the task did not start"; }
	kill -INT -- "-$wpid"
	t0=$SECONDS
	finish_worker a "$wpid" 10
	show a
	no_leak a
	cat "$A"
	expect_eq "exit status" "$wrc" 0
	grep -q '^done-a$' "$T/a.out" || die "the task did not finish after one Ctrl-C"
	((SECONDS - t0 <= 4)) || die "the worker took $((SECONDS - t0)) s to exit"
	expect_eq "task line" "$(sed -n 2p "$A" | unstamp)" "#sleep 2.$u; echo done-a # worker 0 # (T ... T) #ok"
	grep -q '^second-a$' "$T/a.out" && die "the worker claimed another task after Ctrl-C"
	expect_eq "next task still pending" "$(sed -n 3p "$A")" "echo second-a"
	no_running "$A"
}

# (a2) one Ctrl-C while the worker waits for work: it exits 0 at once
sec_a2() {
	W=$T/w.sh
	printf '%s\n' 'sleep 5 #@7' >"$W"	# only worker 7 may run it: nothing for us
	worker w "$W"	# no -x: it would wait forever
	# waiting: its serve session answered two requests after the first
	# one seen (the first "nothing for you", then a poll)
	local r=
	wait_for 10 eval 'r=$(claim_reads "$wpid")' || { show w; die "the worker did not start"; }
	wait_for 10 more_reads "$wpid" "$r" && r=$(claim_reads "$wpid") &&
		wait_for 10 more_reads "$wpid" "$r" || { show w; die "the worker does not poll"; }
	kill -INT -- "-$wpid"
	finish_worker w "$wpid" 3
	show w
	expect_eq "exit status" "$wrc" 0
}

# (b) Ctrl-C twice: the task's process group is stopped, the task fails back
sec_b() {
	B=$T/b.sh
	local task="if [ -e $T/flag-b ]; then echo retried-b; else touch $T/flag-b; sleep 30.1$u & sleep 30.1$u; echo never-b; fi"
	printf '%s\n' "$task" 'echo second-b' >"$B"
	worker b -x "$B"
	wait_for 10 task_runs "^sleep 30\\.1$u\$" 2 || { show b; die "the task did not start"; }
	kill -INT -- "-$wpid"
	# rtq says it got it; then, for half a second, neither rtq nor its task
	# may stop
	wait_for 5 grep -q 'Ctrl-C: finishing the task' "$T/b.err" || { show b; die "no word from rtq after one Ctrl-C"; }
	if wait_for 0.5 eval '! kill -0 "$wpid" 2>/dev/null || ! task_runs "^sleep 30\\.1$u\$" 2'; then
		kill -0 "$wpid" 2>/dev/null || die "one Ctrl-C stopped the worker before its task ended"
		die "one Ctrl-C stopped the task"
	fi
	kill -INT -- "-$wpid"
	t0=$SECONDS
	wait_for 4 no_proc "^sleep 30\\.1$u\$" || { pgrep -af "sleep 30\\.1$u"; die "the task's processes are still there 4 s after the second Ctrl-C"; }
	finish_worker b "$wpid" 8
	show b
	no_leak b
	cat "$B"
	[ "$wrc" != 0 ] || die "the worker exited 0 after stopping a task"
	grep -q '^never-b$' "$T/b.out" && die "the task went on after being stopped"
	grep -q '^second-b$' "$T/b.out" && die "the worker claimed another task"
	expect_eq "task line" "$(sed -n 2p "$B" | unstamp | sed -E 's/#error[0-9]+$/#errorN/')" \
		"$task # worker 0 # (T ... T) #errorN"
	no_running "$B"
	say "another worker takes it"
	timeout -k 5 20 "$RTQ" -x --poll 0.2 "$B" </dev/null >"$T/b2.out" 2>&1 || { cat "$T/b2.out"; die "the second worker failed"; }
	cat "$T/b2.out" "$B"
	grep -q '^retried-b$' "$T/b2.out" || die "the second worker did not run the failed task"
	expect_eq "task line after the retry" "$(sed -n 2p "$B" | unstamp | sed -E 's/#error[0-9]+ /#errorN /')" \
		"#$task # worker 0 # (T ... T) #errorN # worker 1 # (T ... T) #ok"
}

# (c) SIGTERM: the same, at once
sec_c() {
	C=$T/c.sh
	printf '%s\n' "sleep 30.4$u; echo never-c" >"$C"
	worker c -x "$C"
	wait_for 10 task_runs "^sleep 30\\.4$u\$" || { show c; die "the task did not start"; }
	kill -TERM "$wpid"		# to rtq alone, as kill(1) or a scheduler does
	wait_for 4 no_proc "^sleep 30\\.4$u\$" || die "the task is still there 4 s after SIGTERM"
	finish_worker c "$wpid" 8
	show c
	no_leak c
	cat "$C"
	[ "$wrc" != 0 ] || die "the worker exited 0 after SIGTERM"
	grep -q '^never-c$' "$T/c.out" && die "the task went on after SIGTERM"
	sed -n 2p "$C" | grep -qE "^sleep 30\\.4$u; echo never-c # worker 0 # \\([^)]*\\) #error[0-9]+\$" ||
		die "the task is not reported failed: $(sed -n 2p "$C")"
	no_running "$C"
}

# (d) a task that ignores TERM is KILLed after the grace period
sec_d() {
	D=$T/d.sh
	printf '%s\n' "trap '' TERM; sleep 30.7$u; echo never-d" >"$D"
	worker d -x "$D"
	wait_for 10 task_runs "^sleep 30\\.7$u\$" || { show d; die "the task did not start"; }
	kill -TERM "$wpid"
	t0=$SECONDS
	wait_for 15 no_proc "^sleep 30\\.7$u\$" || die "a task ignoring TERM is still there 15 s after SIGTERM"
	finish_worker d "$wpid" 5
	show d
	no_leak d
	cat "$D"
	echo "(stopped after $((SECONDS - t0)) s)"
	[ "$wrc" != 0 ] || die "the worker exited 0 after SIGTERM"
	grep -q '^never-d$' "$T/d.out" && die "the task went on"
	sed -n 2p "$D" | grep -qE ' # worker 0 # \([^)]*\) #error[0-9]+$' ||
		die "the task is not reported failed: $(sed -n 2p "$D")"
	no_running "$D"
}

# (e) one Ctrl-C during an init line: no further task is claimed, exit 0
sec_e() {
	E=$T/e.sh
	printf '%s\n' "sleep 2.$u #!" 'echo after-init-e' 'echo second-e' >"$E"
	worker e -x "$E"
	wait_for 10 task_runs "^sleep 2\\.$u\$" || { show e; die "the init line did not start"; }
	kill -INT -- "-$wpid"
	finish_worker e "$wpid" 10
	show e
	no_leak e
	cat "$E"
	expect_eq "exit status" "$wrc" 0
	grep -q '^after-init-e$' "$T/e.out" && die "after Ctrl-C during an init line, the worker claimed and ran a task"
	expect_eq "the task after the init line" "$(sed -n 3p "$E")" "echo after-init-e"
	no_running "$E"
}

# (f) SIGTERM during a long init line: the worker stops it and exits; no task is claimed or failed
sec_f() {
	G=$T/f.sh
	printf '%s\n' "sleep 30.3$u #!" 'echo after-init-f' >"$G"
	worker f -x "$G"
	wait_for 10 task_runs "^sleep 30\\.3$u\$" || { show f; die "the init line did not start"; }
	kill -TERM "$wpid"
	wait_for 10 gone "$wpid" || { show f; pkill -9 -s "$wpid"; die "the worker did not exit within 10 s of SIGTERM during an init line"; }
	finish_worker f "$wpid" 1
	show f
	no_leak f
	cat "$G"
	[ "$wrc" != 0 ] || die "the worker exited 0 after SIGTERM"
	no_proc "^sleep 30\\.3$u\$" || die "the init line's process is still there"
	expect_eq "the task after the init line" "$(sed -n 3p "$G")" "echo after-init-f"
	no_running "$G"
}

# (g) one Ctrl-C while rtq retries an unreachable master: it stops promptly, without a burst of ssh attempts
sec_g() {
	cat >"$T/down-ssh" <<EOF
#!/bin/sh
for a; do [ "\$a" = -G ] && exit 255; done
echo x >>"$T/g.count"
echo "ssh: connect to host nohost port 22: Connection refused" >&2
exit 255
EOF
	chmod +x "$T/down-ssh"
	printf '%s\n' 'echo never-g' >"$T/g.sh"
	RTQ_SSH=$T/down-ssh worker g -x "nohost:$T/g.sh"
	ssh_calls() { cat "$T/g.count" 2>/dev/null | wc -l; }
	wait_for 10 eval '[ "$(ssh_calls)" -ge 2 ]' ||
		{ show g; die "rtq did not retry"; }
	c0=$(ssh_calls)
	kill -INT -- "-$wpid"
	if ! wait_for 5 gone "$wpid"; then
		c1=$(ssh_calls)
		pkill -9 -s "$wpid"
		die "one Ctrl-C did not stop a worker that retries an unreachable master (5 s later; $((c1 - c0)) more ssh attempts)"
	fi
	finish_worker g "$wpid" 1
	c1=$(ssh_calls)
	show g | tail -5
	((c1 - c0 <= 2)) || die "after Ctrl-C, rtq ran ssh $((c1 - c0)) more times before exiting"
}

section a "one Ctrl-C: the task finishes, is #ok, the worker exits 0" sec_a
section a2 "one Ctrl-C while the worker waits for work: it exits 0 at once" sec_a2
section b "Ctrl-C twice: the task's process group is stopped, the task fails back" sec_b
section c "SIGTERM: the same, at once" sec_c
section d "a task that ignores TERM is KILLed after the grace period" sec_d
section e "one Ctrl-C during an init line: no further task is claimed, exit 0" sec_e
section f "SIGTERM during a long init line: the worker stops it and exits; no task is claimed or failed" sec_f
section g "one Ctrl-C while rtq retries an unreachable master: it stops promptly, without a burst of ssh attempts" sec_g

if [ ${#failed[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	die "${#failed[@]} section(s) failed"
fi
say "ok"
