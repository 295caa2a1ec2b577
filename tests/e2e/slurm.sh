#!/usr/bin/env bash
# Slurm, for real: the README's recipes ("Workers launched by Slurm") on a
# private one-node cluster (tests/slurm-harness.sh: munged, slurmctld and
# slurmd as root; proctrack/cgroup where this machine allows it, else
# linuxproc, said at the start), with the task file on the loopback sshd's
# "master":
#   - a job array draining a queue with -x: every task run once, each
#     worker named after its job, array task and rank, `rtq --wait` 0;
#   - srun -n 3: three workers told apart by their rank;
#   - scancel of `--wrap 'exec rtq ...'`: the task is reported #error143
#     and another worker (a second job) runs it at once;
#   - a time limit, with `--signal=B:TERM@50` so that rtq stops before it:
#     the same, from Slurm's own timer (its first check comes about 30 s
#     after slurmctld started: the rest runs meanwhile);
#   - scancel of the old `--wrap 'rtq ...'` (not exec'ed): no rtq is left
#     behind; the task is reported, or (proctrack/cgroup kills rtq along
#     with the shell) shown as lost by --status once its lease has run out
#     and taken back by --reset --failed, with no worker's request;
#   - --exit-when-idle gives the allocation back while a task another
#     worker runs still blocks the rest, where -x keeps it.
. "$RTQ_TOP/tests/e2e/lib.sh"
need sbatch srun scancel squeue scontrol slurmctld slurmd munged

with_sshd
# shellcheck source=../slurm-harness.sh
. "$RTQ_TOP/tests/slurm-harness.sh"
LIB_CLEANUP=(slurm_stop "${LIB_CLEANUP[@]}")
# a signal ends the test through its EXIT trap: the daemons are stopped
trap 'exit 143' TERM HUP
trap 'exit 130' INT
t0=$(_usecs)
slurm_start || die "cannot start the private Slurm cluster"
echo "--- Slurm $(sinfo -V | cut -d' ' -f2), proctrack/$RTQ_PROCTRACK" \
    "(up in $((($(_usecs) - t0) / 1000)) ms)"
# what the jobs get from sbatch and srun (they pass the environment on)
export PATH=$RTQ_BIN:$PATH RTQ_CLAIM=$RTQ_BIN/rtq-claim
M=$SSHD_HOST

# job_state JOB: its state (RUNNING, COMPLETED, CANCELLED, ...)
job_state() {
	scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' |
	    cut -d= -f2
}
job_over() { case $(job_state "$1") in PENDING | RUNNING | CONFIGURING | COMPLETING | "") return 1 ;; esac; }
# stamp_secs "MM-DD HH:MM:SS": seconds since the epoch (this year)
stamp_secs() { date -d "$(date +%Y)-${1% *} ${1#* }" +%s; }
# retried_at_once FILE: line 2 failed #error143 on worker 0, then ran #ok
# on worker 1, which started it at most 2 s (stamps are to the second)
# after the failure was reported
retried_at_once() {
	local l end start
	l=$(sed -n 2p "$1")
	[[ $l =~ \#\ worker\ 0\ \#\ \([^\)]*\ \.\.\.\ ([0-9-]+\ [0-9:]+)\)\ \#error143\ \#\ worker\ 1\ \#\ \(([0-9-]+\ [0-9:]+)\ \.\.\.\ [^\)]*\)\ \#ok$ ]] ||
		{ cat "$1"; die "$1: line 2 is not #error143 on worker 0, then #ok on worker 1"; }
	end=$(stamp_secs "${BASH_REMATCH[1]}")
	start=$(stamp_secs "${BASH_REMATCH[2]}")
	((start - end <= 2)) || die "$1: retried $((start - end)) s after it failed"
}
# A task that sleeps the first time it runs, and is done the second time.
once() { echo "[ -e $T/$1.ran ] || { touch $T/$1.ran; sleep 300; }; echo done >>$T/$1.log"; }
# claimed FILE W: line 2 is running on worker W
claimed() { grep -qE "^#.* # worker $2 # \([^)]* \.\.\.\$" <(sed -n 2p "$1"); }

say "a time limit: --time=1 --signal=B:TERM@50, exec rtq"
TL=$T/tl.sh
once tl >"$TL"
jtl=$(sbatch --parsable -t 1 --signal=B:TERM@50 -o "$T/tl-%j.out" \
    --wrap "exec rtq $M:$TL") || die "sbatch failed"
wait_for 20 claimed "$TL" 0 || { cat "$TL" "$T"/tl-*.out; die "the time-limited job did not claim"; }
# the worker that takes it over: a job with no time limit
jtl2=$(sbatch --parsable -o "$T/tl2-%j.out" --wrap "exec rtq -x $M:$TL") ||
	die "sbatch failed"

say "a job array drains a queue with -x"
Q=$T/q.sh
for i in $(seq 1 12); do
	echo "echo $i \$SLURM_ARRAY_TASK_ID >>$T/q.log; sleep 0.2"
done >"$Q"
ja=$(sbatch --parsable --array=0-3 -o "$T/q-%A_%a.out" \
    --wrap "exec rtq -x $M:$Q") || die "sbatch failed"
wait_for 60 eval '[ -z "$(squeue -h -j "$ja" 2>/dev/null)" ]' ||
	{ squeue; cat "$T"/q-*.out; die "the array did not end"; }
expect_eq "tasks #ok" "$(grep -cE '^#echo .* #ok$' "$Q")" 12
no_running "$Q"
expect_eq "tasks run (once each)" "$(cut -d' ' -f1 "$T/q.log" | sort -n | uniq | wc -l) $(wc -l <"$T/q.log")" "12 12"
for a in 0 1 2 3; do
	grep -qE "^# worker [0-9]+: [^ ]+ slurm job ${ja}_$a rank 0( [0-9.]+)* \(" "$Q" ||
		{ cat "$Q"; die "no worker named for array task ${ja}_$a"; }
	expect_eq "array task $a state" "$(job_state "${ja}_$a")" COMPLETED
done
out=$(timeout 20 rtq --wait "$M:$Q" 2>&1) || die "rtq --wait: status $?: $out"
echo "$out"

say "srun -n 3: three workers told apart"
N=$T/n.sh
for i in $(seq 1 6); do echo "echo $i \$SLURM_PROCID >>$T/n.log; sleep 0.2"; done >"$N"
timeout 60 srun -n 3 rtq -x "$M:$N" >"$T/srun.out" 2>&1 ||
	{ cat "$T/srun.out"; die "srun -n 3 rtq -x failed"; }
expect_eq "tasks #ok" "$(grep -cE '^#echo .* #ok$' "$N")" 6
expect_eq "workers named by rank" "$(grep -oE '^# worker [0-9]+: [^ ]+ slurm job [0-9]+ rank [0-9]+' "$N" |
    sed 's/.*rank //' | sort | tr '\n' ' ')" "0 1 2 "
expect_eq "one job" "$(grep -oE 'slurm job [0-9]+' "$N" | sort -u | wc -l)" 1

say "scancel of 'exec rtq': reported #error143 and retried at once"
S=$T/s.sh
once s >"$S"
js=$(sbatch --parsable -o "$T/s-%j.out" --wrap "exec rtq $M:$S") ||
	die "sbatch failed"
wait_for 20 claimed "$S" 0 || { cat "$S"; die "the job did not claim"; }
js2=$(sbatch --parsable -o "$T/s2-%j.out" --wrap "exec rtq -x $M:$S") ||
	die "sbatch failed"
wait_for 20 grep -q '^# worker 1: ' "$S" || { cat "$S"; die "no second worker"; }
scancel "$js"
wait_for 20 job_over "$js2" || { cat "$S" "$T"/s*-*.out; die "the second worker did not finish"; }
retried_at_once "$S"
expect_eq "second worker's job" "$(job_state "$js2")" COMPLETED
expect_eq "task's output" "$(cat "$T/s.log")" done
# linuxproc: Slurm TERMs every process of the job, rtq's shell too
grep -qE 'stopping the task on line 2|the shell died while running line 2' \
    "$T/s-$js.out" || { cat "$T/s-$js.out"; die "not said"; }

say "scancel of the old 'rtq' (not exec'ed): no rtq lingers"
P=$T/p.sh
echo 'sleep 300' >"$P"
jp=$(sbatch --parsable -o "$T/p-%j.out" --wrap "rtq $M:$P") || die "sbatch failed"
wait_for 20 claimed "$P" 0 || { cat "$P"; die "the job did not claim"; }
scancel "$jp"
wait_for 20 job_over "$jp" || die "job $jp did not end"
wait_for 10 no_proc "rtq $M:$P" || { pgrep -af "rtq $M:$P"; die "an rtq of job $jp lingers"; }
if claimed "$P" 0; then
	echo "--- killed before it could report (proctrack/$RTQ_PROCTRACK)"
	RTQ_NOW=+60 rtq --status --json "$P" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["tasks"]["running"] == 1 and not s["workers"][0]["lost"], s' ||
		die "within its lease the task is not running"
	RTQ_NOW=+121 rtq --status "$P" >"$T/p.status" || die "status failed"
	grep -qE '^  line 2  #lost  worker 0  sleep 300$' "$T/p.status" ||
		{ cat "$T/p.status"; die "status does not show the task lost"; }
	RTQ_NOW=+121 rtq --reset --failed "$P" >/dev/null || die "reset failed"
	unstamp "$P" | sed -n 2p >"$T/p.line"
	expect_file "$T/p.line" <<<'sleep 300'
else
	grep -qE '^sleep 300 # worker 0 # .*\) #error143$' "$P" ||
		{ cat "$P"; die "neither reported nor left running"; }
	echo "--- reported: $(sed -n 2p "$P")"
fi

say "--exit-when-idle gives the allocation back; -x keeps it"
E=$T/e.sh
cat >"$E" <<EOF
while [ ! -e $T/e.stop ]; do sleep 0.1; done #:g
echo two >>$T/e.log #:g
EOF
start_worker e -x "$E"
wait_for 10 claimed "$E" 0 || { show e; die "the local worker did not claim"; }
ji=$(sbatch --parsable -o "$T/i-%j.out" --wrap "exec rtq --exit-when-idle $M:$E") ||
	die "sbatch failed"
jx=$(sbatch --parsable -o "$T/x-%j.out" --wrap "exec rtq -x $M:$E") ||
	die "sbatch failed"
wait_for 20 job_over "$ji" || die "the --exit-when-idle job did not end"
# the -x job's worker registered, and waits
wait_for 20 eval '[ "$(grep -c "^# worker [0-9]*: " "$E")" = 3 ]' ||
	{ cat "$E"; die "the -x job's worker did not register"; }
expect_eq "--exit-when-idle job" "$(job_state "$ji")" COMPLETED
expect_eq "-x job meanwhile" "$(job_state "$jx")" RUNNING
touch "$T/e.stop"
wait_for 20 job_over "$jx" || die "the -x job did not end"
expect_eq "-x job" "$(job_state "$jx")" COMPLETED
finish_worker e "$wpid" 20
expect_eq "the dependent task" "$(cat "$T/e.log")" two

say "the time limit's TERM came: reported #error143 and retried at once"
wait_for 60 job_over "$jtl2" || { cat "$TL" "$T"/tl*.out; die "the time-limited task was not taken over"; }
echo "--- $(sed -n 2p "$TL")"
retried_at_once "$TL"
expect_eq "task's output" "$(cat "$T/tl.log")" done
grep -q 'stopping the task on line 2' "$T/tl-$jtl.out" || { cat "$T/tl-$jtl.out"; die "not said"; }
out=$(timeout 20 rtq --wait "$M:$TL" 2>&1) || die "rtq --wait: status $?: $out"
exit 0
