#!/usr/bin/env bash
# A worker whose job ended never lingers (rtq(1), SIGNALS).  Inside a
# Slurm job (SLURM_JOB_ID set), the end of the process that started rtq
# (the batch script's shell, killed by scancel) stops it as SIGTERM does:
# its task is stopped and reported #error143 at once, and nothing of it is
# left; -j N passes that on to its slots.  Outside Slurm the worker goes
# on.  Its default name says which job, array task and rank it is.  And a
# worker told to stop that cannot report its task tries for no longer than
# its lease, after which the master releases the task anyway.
. "$RTQ_TOP/tests/e2e/lib.sh"
export RTQ_CLAIM=$CLAIM

# parent NAME ENV... -- RTQ ARGS: "sh -c 'rtq ARGS'" as Slurm's batch
# script would run it (not exec'ed), in a session of its own, with ENV;
# sets ppid (the shell) and wpid (the session)
parent() {
	local name=$1 env=()
	shift
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	setsid env "${env[@]}" sh -c '"$@"; echo "rtq exit $?"' sh \
	    "$RTQ" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err" &
	wpid=$!
	disown
	echo "$wpid" >>"$T/sessions"
	ppid=$wpid
}
# rtq_of SID: the pid of the worker's rtq (the shell's child)
rtq_of() { pgrep -P "$1" -x rtq; }

SL=(SLURM_JOB_ID=41 SLURM_ARRAY_JOB_ID=40 SLURM_ARRAY_TASK_ID=1 SLURM_PROCID=0)

say "inside a Slurm job: the shell killed, the task is reported at once"
F=$T/a.sh
printf 'sleep 300\necho next >>%s/a.log\n' "$T" >"$F"
parent a "${SL[@]}" -- "$F"
wait_for 10 grep -q '^#sleep 300 # worker 0 #' "$F" || { show a; die "no claim"; }
grep -qx '# worker 0: [^ ]* slurm job 40_1 rank 0 .*' "$F" ||
	die "the worker's name: $(grep '^# worker 0:' "$F")"
r=$(rtq_of "$ppid") || die "no rtq under the shell"
kill -KILL "$ppid"
wait_for 10 gone "$r" || { show a; die "rtq outlived the shell that started it"; }
grep -qE '^sleep 300 # worker 0 # \(.* \.\.\. .*\) #error143$' "$F" ||
	{ show a; cat "$F"; die "the task was not reported #error143"; }
grep -q 'the process that started rtq (pid [0-9]*) ended: stopping' \
    "$T/a.err" || { show a; die "not said"; }
[ ! -e "$T/a.log" ] || die "it took another task after its shell ended"
wait_for 5 session_gone "$wpid" || { ps -s "$wpid"; die "processes left"; }

say "-j 2: both slots stop"
F=$T/j.sh
printf 'sleep 300\nsleep 301\n' >"$F"
parent j "${SL[@]}" -- -j 2 "$F"
wait_for 10 eval '[ "$(grep -c "^#sleep 30[01] # worker" "$F")" = 2 ]' ||
	{ show j; die "the two slots did not start"; }
r=$(rtq_of "$ppid") || die "no rtq under the shell"
kill -KILL "$ppid"
wait_for 15 session_gone "$wpid" || { show j; ps -s "$wpid"; die "slots left"; }
expect_eq "tasks reported #error143" "$(grep -cE '^sleep 30[01] # .*#error143$' "$F")" 2

say "outside Slurm the worker goes on"
F=$T/n.sh
printf 'sleep 1\necho next >>%s/n.log\n' "$T" >"$F"
parent n -u SLURM_JOB_ID -- -x "$F"
wait_for 10 grep -q '^#sleep 1 # worker 0 #' "$F" || { show n; die "no claim"; }
grep -qE '^# worker 0: [^ ]+( [0-9.]+)* \(' "$F" ||
	die "a name outside Slurm: $(grep '^# worker 0:' "$F")"
r=$(rtq_of "$ppid") || die "no rtq under the shell"
kill -KILL "$ppid"
wait_for 15 gone "$r" || { show n; die "the worker did not finish"; }
expect_eq "the next task ran" "$(cat "$T/n.log" 2>/dev/null)" next
grep -qE '^#sleep 1 # worker 0 # .*#ok$' "$F" || die "sleep 1 not #ok"

say "srun's ranks are told apart"
printf 'true\n' >"$T/r.sh"
for k in 0 1; do
	SLURM_JOB_ID=42 SLURM_PROCID=$k "$RTQ" -x "$T/r.sh" >/dev/null 2>&1 ||
		die "rank $k failed"
done
grep -c '^# worker [01]: [^ ]* slurm job 42 rank [01]\( [0-9.]*\)* (' "$T/r.sh" |
	grep -qx 2 || { cat "$T/r.sh"; die "ranks' names"; }

say "a stop whose report cannot get through is given up after the lease"
F=$T/d.sh
printf 'sleep 300\n' >"$F"
# rtq-claim refused once $T/down exists (a master gone)
cat >"$T/claim" <<EOS
#!/bin/sh
[ -e "$T/down" ] && exit 255
exec "$CLAIM" "\$@"
EOS
chmod +x "$T/claim"
RTQ_CLAIM=$T/claim start_worker d --lease 4 "$F"
wait_for 10 grep -q '^#sleep 300 # worker 0 #' "$F" || { show d; die "no claim"; }
touch "$T/down"
pkill -KILL -f "^$CLAIM serve $F" || die "no serve session to cut"
t0=$(_usecs)
kill -TERM "$wpid"
finish_worker d "$wpid" 20
secs=$((($(_usecs) - t0) / 1000000))
expect_eq "exit status" "$wrc" 1
# retries back off with jitter (0.5-1.5 s, then 1-3 s, ...) and stop
# before a wait that would end past the lease: between 1 and 4 s
((secs >= 1 && secs <= 12)) || die "gave up after $secs s, not within the lease (4 s)"
grep -q 'giving up after 4 s (the lease)' "$T/d.err" || { show d; die "not said"; }
grep -q 'line 2 of .* was not reported' "$T/d.err" || { show d; die "not said"; }
exit 0
