#!/usr/bin/env bash
# Fault injection, liveness (SPEC 5): workers that die or stall mid-task.
# (1) Worker A (--lease 4) is SIGKILLed together with its task's process
#     group while the task runs.  Worker B (-x) must get that task within
#     ~10 s (A's lease runs out, the master releases it as #lost) and run
#     it to #ok; nothing of A is left running; the line reads
#     "#TASK # worker A # (...) #lost # worker B # (...) #ok".
# (2) A comes back under the same id (-i): it just works on (its pinned
#     tasks), and exits 0.
# (3) Worker C is SIGSTOPped for longer than its lease while its task
#     sleeps, then SIGCONTed: the master has given the task to D meanwhile;
#     C is told it was declared lost, kills its task (whose side effect,
#     written after the sleep, must never appear), does not report it, and
#     D's result stands: "#TASK # worker C # (...) #lost # worker D # (...)
#     #ok", no orphan report.
# (4) The same, but C's task ends while C is stopped: C has a status 0 in
#     hand when it wakes; it must not be reported over D's retry either.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones

LEASE=4
M=$$$RANDOM	# a marker for our processes' command lines
ts='[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'
ann="# worker %s # \\($ts \\.\\.\\. $ts\\) #%s"

# worker NAME ARGS...: start_worker with our poll, lease and NAME
worker() {
	local name=$1
	shift
	start_worker "$name" --poll 0.2 --lease $LEASE -n "$name" "$@"
}
# count FILE LINE: how many times LINE is in FILE
count() { grep -cxF -- "$2" "$1" || true; }
ntasks=0 nfaults=0 nlost=0 ntwice=0

say "(1) worker A is SIGKILLed with its task; B takes the task over"
F=$T/tasks.sh L=$T/log
slow="[ \"\$WORKERID\" != 1 ] || sleep 60.$M; echo slow \$WORKERID >> $L"
{
	echo "$slow"
	for i in 2 3 4; do echo "echo quick $i \$WORKERID >> $L"; done
	for i in 5 6; do echo "echo pinned $i \$WORKERID >> $L #@1"; done
} >"$F"
ntasks=$((ntasks + 6))
: >"$L"
worker A -i 1 "$F"
apid=$wpid
wait_for 10 pgrep -f "sleep 60.$M" >/dev/null ||
	{ show A; cat "$F"; die "A did not start the slow task"; }
tpid=$(pgrep -f "sleep 60.$M")
tpgid=$(ps -o pgid= -p "$tpid" | tr -d ' ')
[ -n "$tpgid" ] && [ "$tpgid" != "$apid" ] || die "the task's process group: [$tpgid]"
cp "$F" "$T/before-kill"
grep -qE "^#\\[ .* # worker 1 # \\($ts \\.\\.\\.\$" "$F" || { cat "$F"; die "A's task is not marked running"; }
kill -KILL "$apid"
kill -KILL -- "-$tpgid"
nfaults=$((nfaults + 1))
t_kill=$(date +%s%N)
{ wait "$apid"; } 2>/dev/null	# (no "Killed" notice)
worker B -i 2 -x "$F"
bpid=$wpid
# what A left (its shell, its session with rtq-claim) must go by itself
wait_for 3 session_gone "$apid" || {
	ps -o pid,pgid,sid,args -s "$apid" >&2
	die "processes of the killed worker A are left running"
}
no_proc "sleep 60.$M" || die "A's task is still running"
wait_for 15 has_line "$L" "slow 2" || { show B; cat "$F"; die "B did not run A's task within 15 s of the kill"; }
secs=$((($(date +%s%N) - t_kill) / 1000000))
say "(B ran A's task $((secs / 1000)).$((secs % 1000 / 100)) s after the kill)"
[ "$secs" -le 10000 ] || { cat "$F"; die "B ran A's task only ${secs} ms after the kill (lease $LEASE s)"; }
finish_worker B "$bpid" 10
[ "$wrc" = 0 ] || { show B; die "B exited $wrc"; }
show B
cat "$F"
grep -qE "^#\\[ .* $(printf "$ann" 1 lost) $(printf "$ann" 2 ok)\$" "$F" ||
	die "A's task is not annotated '#lost # worker 2 # (...) #ok'"

say "(2) A comes back with the same id and works on"
worker A2 -i 1 -x "$F"
finish_worker A2 "$wpid" 15
show A2
[ "$wrc" = 0 ] || die "A, back with -i 1, exited $wrc"
cat "$F"
for i in 5 6; do
	grep -qE "^#echo pinned $i .* #@1 $(printf "$ann" 1 ok)\$" "$F" ||
		die "pinned task $i is not #ok by worker 1"
done
for i in 2 3 4; do
	grep -qE "^#echo quick $i .* $(printf "$ann" 2 ok)\$" "$F" ||
		die "quick task $i is not #ok by worker 2"
done
expect_eq "the header" "$(sed -n 1p "$F")" "#LASTWORKER 2"
expect_eq "registrations" "$(grep -cE '^# worker [0-9]+: ' "$F")" 3
expect_eq "lines" "$(wc -l <"$F")" $((6 + 4))
grep -n '#?line:' "$F" && die "an orphan report"

say "(3) and (4): workers C and E are SIGSTOPped past their lease"
# (3) C's task sleeps 12 s, longer than C is stopped: it must be killed.
# (4) E's task sleeps 2 s: it is over when E wakes, with status 0.
F3=$T/stop.sh L3=$T/stop.log F4=$T/stop2.sh L4=$T/stop2.log
t3="[ \"\$WORKERID\" != 3 ] || sleep 12.$M; echo side \$WORKERID >> $L3"
t4="[ \"\$WORKERID\" != 5 ] || sleep 2.$M; echo side \$WORKERID >> $L4"
echo "$t3" >"$F3"
echo "$t4" >"$F4"
ntasks=$((ntasks + 2))
: >"$L3"
: >"$L4"
worker C -i 3 -x "$F3"
cpid=$wpid
worker E -i 5 -x "$F4"
epid=$wpid
running() { grep -qE "# worker $2 # \\($ts \\.\\.\\.\$" "$1"; }
wait_for 10 running "$F3" 3 || { show C; die "C did not start its task"; }
wait_for 10 running "$F4" 5 || { show E; die "E did not start its task"; }
kill -STOP "$cpid" "$epid"
nfaults=$((nfaults + 2))
t_stop=$SECONDS
worker D -i 4 -x "$F3"
dpid=$wpid
worker G -i 6 -x "$F4"
gpid=$wpid
wait_for 15 has_line "$L3" "side 4" || { show D; cat "$F3"; die "D did not get C's task"; }
wait_for 5 has_line "$L4" "side 6" || { show G; cat "$F4"; die "G did not get E's task"; }
say "(D and G ran the tasks of the stopped workers after $((SECONDS - t_stop)) s)"
# E's task ends while E is stopped (its 2 s are over long before D and G
# could take the tasks over); wait for it rather than for a fixed time
wait_for 10 has_line "$L4" "side 5" || { cat "$F4" "$L4"; die "E's task (2 s) did not end while E was stopped"; }
kill -CONT "$cpid" "$epid"
for w in C:$cpid D:$dpid E:$epid G:$gpid; do
	finish_worker "${w%%:*}" "${w#*:}" 15
	show "${w%%:*}"
	[ "$wrc" = 0 ] || die "${w%%:*} exited $wrc"
done
cat "$F3" "$F4"
# the tally: each task's side effect by the worker that ran it to #ok
for e in "$L:slow 2" "$L:quick 2 2" "$L:quick 3 2" "$L:quick 4 2" \
    "$L:pinned 5 1" "$L:pinned 6 1" "$L3:side 4" "$L4:side 6"; do
	n=$(count "${e%%:*}" "${e#*:}")
	[ "$n" = 0 ] && { echo "lost: ${e#*:}"; nlost=$((nlost + 1)); }
	[ "$n" -gt 1 ] && { echo "$n times: ${e#*:}"; ntwice=$((ntwice + 1)); }
done
n=$(($(wc -l <"$L") + $(wc -l <"$L3") + $(wc -l <"$L4")))
c_side=$(count "$L3" "side 3")
e_side=$(count "$L4" "side 5")
ntwice=$((ntwice + c_side))
echo "SUMMARY fault-kill-worker: tasks $ntasks, faults injected $nfaults" \
	"(1 SIGKILL, 2 SIGSTOP), tasks lost $nlost, tasks run twice $ntwice" \
	"(not counting E's, whose task ended while E was stopped: its side" \
	"effect is there $e_side time(s), as it must be)"
[ "$c_side" = 0 ] || die "C's task was not stopped: its side effect is in $L3"
[ "$nlost" = 0 ] && [ "$ntwice" = 0 ] || die "tasks lost or run twice"
[ "$n" = $((8 + e_side)) ] || die "$n side effects in the logs, want $((8 + e_side))"
[ "$e_side" = 1 ] || die "E's task (2 s) did not end while E was stopped: the test tested nothing"
grep -q 'declared worker 3 lost' "$T/C.err" || die "C was not told it was declared lost"
grep -q 'declared worker 5 lost' "$T/E.err" || die "E was not told it was declared lost"
no_proc "sleep 12.$M" || die "C's task is still running"
grep -qE "^#\\[ .* $(printf "$ann" 3 lost) $(printf "$ann" 4 ok)\$" "$F3" ||
	die "C's task is not annotated '#lost # worker 4 # (...) #ok'"
grep -qE "^#\\[ .* $(printf "$ann" 5 lost) $(printf "$ann" 6 ok)\$" "$F4" ||
	die "E's task is not annotated '#lost # worker 6 # (...) #ok'"
grep -n '#?line:' "$F3" "$F4" && die "an orphan report: a lost worker reported its task"
expect_eq "lines of $F3" "$(wc -l <"$F3")" 4
expect_eq "lines of $F4" "$(wc -l <"$F4")" 4
say ok
