#!/usr/bin/env bash
# rtq --timeout DURATION and the per-line #timeout=DURATION: a task running
# longer is stopped (TERM to its process group, KILL after 5 s) and reported
# as failed with status 124 (#error124), uncommented, so that another worker
# retries it.
#  a) "sleep 30" under --timeout 3s ends within seconds as #error124, the
#     worker (-x) then exits 0; a second worker without --timeout, started
#     while the task runs, retries it (the task checks $WORKERID and ends at
#     once there) and it ends #ok; nothing of the task's process group is left.
#  b) #timeout=1s on a line overrides --timeout 1h; #timeout=20s overrides
#     --timeout 1s (a 2 s task ends #ok).
#  c) a task that ignores TERM is killed 5 s later, still status 124.
#  d) a background process of the task that ignores TERM is killed too (the
#     whole process group is gone, 5 s after the TERM at the latest).
#  e) the forms 90, 90s, 15m, 2h, 1d, 0.5s are accepted; a malformed
#     --timeout is a usage error (exit 2) that changes nothing.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones

u=$$$RANDOM	# makes the sleeps' arguments unique to this run
late=
# worker NAME ARGS...: start_worker (lib.sh) with our poll
worker() { start_worker "$1" --poll 0.1 "${@:2}"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# holds EXPR: an awk condition on numbers
holds() { awk "BEGIN { exit !($1) }"; }
line2() { sed -n 2p "$F" | unstamp; }

F=$T/tasks.sh
say "a) sleep 30 under --timeout 3s: #error124 within seconds, retried elsewhere"
# Worker 0's task waits for worker 1 to register (within its 3 s), so that
# worker 0 leaves the failure to a live worker: exit 0, not 3.  (A marker,
# not pgrep, says it started: on a loaded machine a pgrep can outlast it.)
TASK="if [ \"\$WORKERID\" = 1 ]; then echo retried; else touch $T/a.started; until grep -q '^# worker 1:' $F; do sleep 0.05; done; sleep 30.$u; fi"
printf '%s\n' "$TASK" >"$F"
t0=$(now)
worker a0 -x -i 0 -n a0 --timeout 3s "$F"
a0=$wpid
wait_for 10 test -e "$T/a.started" || { show a0; die "a) the task did not start"; }
worker a1 -x -i 1 -n a1 "$F"	# no --timeout; waits: the task may fail back
a1=$wpid
finish_worker a0 "$a0" 15
secs=$(since "$t0")
show a0
expect_eq "a) the timed-out worker's exit status" "$wrc" 0
echo "a) worker 0 ended after $secs s"
holds "$secs < 20" || die "a) the task under --timeout 3s took $secs s (its sleep is 30 s)"
grep -qE "^\[rtq 0\] line 2: failed, status 124 after [0-9.]+s$" "$T/a0.out" ||
	die "a) worker 0 did not say the task failed with status 124"
wait_for 3 no_proc "^sleep 30\\.$u\$" || { pgrep -af "sleep 30\\.$u"; die "a) the sleep of the timed-out task is still running"; }
finish_worker a1 "$a1" 15
show a1
expect_eq "a) the retrying worker's exit status" "$wrc" 0
grep -qx retried "$T/a1.out" || die "a) worker 1 did not run the task"
cat "$F"
expect_eq "a) line 2" "$(line2)" \
	"#$TASK # worker 0 # (T ... T) #error124 # worker 1 # (T ... T) #ok"

say "b) #timeout= on a line overrides --timeout, both ways"
printf '%s\n' "sleep 31.$u #timeout=1s" "sleep 2 #timeout=20s" >"$F"
t0=$(now)
worker b -x -n b --timeout 1h "$F" 	# line 2 under 1 s
b=$wpid
finish_worker b "$b" 15
show b
cat "$F"
expect_eq "b) exit status" "$wrc" 3	# a task failed, none may retry it
expect_eq "b) line 2" "$(line2)" "sleep 31.$u #timeout=1s # worker 0 # (T ... T) #error124"
# line 3 (sleep 2 with #timeout=20s) ran under "--timeout 1h" here; again
# under --timeout 1s, where its own 20 s must win
expect_eq "b) line 3" "$(sed -n 3p "$F" | unstamp)" "#sleep 2 #timeout=20s # worker 0 # (T ... T) #ok"
no_proc "^sleep 31\\.$u\$" || die "b) the sleep of the timed-out task is still running"
printf '%s\n' "sleep 2 #timeout=20s" >"$F"
worker b2 -x -n b2 --timeout 1s "$F"
finish_worker b2 "$wpid" 15
show b2
expect_eq "b) --timeout 1s, #timeout=20s: exit status" "$wrc" 0
expect_eq "b) --timeout 1s, #timeout=20s: line 2" "$(line2)" "#sleep 2 #timeout=20s # worker 0 # (T ... T) #ok"
secs=$(since "$t0")
echo "b) took $secs s"

say "c) a task that ignores TERM is killed 5 s later, status 124"
printf '%s\n' "trap '' TERM; sleep 32.$u; sleep 33.$u" >"$F"
t0=$(now)
worker c -x -n c --timeout 1 "$F"
c=$wpid
finish_worker c "$c" 20
secs=$(since "$t0")
show c
echo "c) took $secs s"
expect_eq "c) exit status" "$wrc" 3	# a task failed, none may retry it
holds "$secs >= 5.5 && $secs < 10" || die "c) took $secs s, not 1 s + the 5 s grace"
expect_eq "c) line 2" "$(line2)" "trap '' TERM; sleep 32.$u; sleep 33.$u # worker 0 # (T ... T) #error124"
no_proc "^sleep 3[23]\\.$u\$" || { pgrep -af "sleep 3[23]\\.$u"; die "c) the task's sleep is still running"; }

say "d) a background process of the task that ignores TERM goes too"
printf '%s\n' "sh -c 'trap \"\" TERM; sleep 34.$u' & sleep 35.$u; wait" >"$F"
t0=$(now)
worker d -x -n d --timeout 1s "$F"
d=$wpid
wait_for 10 pgrep -f "^sleep 34\\.$u\$" >/dev/null || { show d; die "d) the task did not start"; }
# (what is left of the task is looked at below, with a message of its own)
FINISH_LEFT_OK=1 finish_worker d "$d" 20
show d
expect_eq "d) exit status" "$wrc" 3	# a task failed, none may retry it
expect_eq "d) line 2" "$(line2)" \
	"sh -c 'trap \"\" TERM; sleep 34.$u' & sleep 35.$u; wait # worker 0 # (T ... T) #error124"
# TERM at 1 s, KILL 5 s later: by 1 + 5 + 2 s nothing may be left
left=$(awk -v e="$(since "$t0")" 'BEGIN { l = int(8 - e); print (l > 0 ? l : 1) }')
if ! wait_for "$left" no_proc "^sleep 3[45]\\.$u\$"; then
	pgrep -af "sleep 3[45]\\.$u"
	ps -o pid,pgid,sid,args -s "$d" >&2
	late+="d) a process of the timed-out task that ignores TERM is still running 8 s after the task started (no KILL to the process group after the grace period); "
	pkill -9 -s "$d"	# the worker's session (setsid), by its id
fi

say "e) duration forms; a malformed --timeout is a usage error (exit 2)"
printf '%s\n' 'echo x' >"$F"
cp "$F" "$T/orig"
for d in 90 90s 15m 2h 1d 0.5s 1.5m; do
	"$RTQ" --timeout "$d" --status "$F" >"$T/out" 2>&1 || { cat "$T/out"; die "e) --timeout $d refused"; }
done
for d in '' abc 0 0s -1 -5s 5x 15mm 1h30m 1.2.3 s ' 5' '5 ' 1e3 0x10 inf nan; do
	rc=0
	"$RTQ" --timeout "$d" -x "$F" </dev/null >"$T/out" 2>&1 || rc=$?
	[ "$rc" = 2 ] || { cat "$T/out"; die "e) --timeout '$d': exit $rc, want 2 (usage)"; }
	grep -q -- '--timeout' "$T/out" || { cat "$T/out"; die "e) --timeout '$d': the message does not name --timeout"; }
	cmp -s "$F" "$T/orig" || die "e) --timeout '$d' changed the file"
done
rc=0
"$RTQ" -x "$F" --timeout </dev/null >"$T/out" 2>&1 || rc=$?
expect_eq "e) --timeout without its argument: exit status" "$rc" 2
cmp -s "$F" "$T/orig" || die "e) --timeout without an argument changed the file"

[ -z "$late" ] || die "$late"
say "ok"
