#!/usr/bin/env bash
# Fault injection (SPEC 4, 5): the master's side is SIGKILLed.
#
# (1) Deterministically (with strace's fault injection): one request that reports a task and claims the next is killed at
# each of its system calls that write, lock, open or close anything, in
# turn.  After each kill the file is the old or the new version, and the
# same request sent again (same WORKER/SEQ: the worker never got a reply)
# must leave the file as one uninterrupted request does and reply with the
# next task, not hand the reported task back to be run again.
#
# (2) Under real workers: three rtq workers (two with serve sessions, one
# with one ssh call per request) claim a few hundred tasks from a task file
# of 20000+ lines over the loopback sshd, while a killer loop SIGKILLs,
# every 50-300 ms, a random rtq-claim process working on that file or a
# random ssh client of the workers (sometimes the remote shell about to
# exec rtq-claim; a serve session is spared its first 0.4 s, else rtq's
# backoff grows long).  Only those are killed, never a task, so every task
# must run exactly once.  After every kill the task file must be complete
# (its line count never drops) and sound (every line a pending, running or
# finished task of ours, an old finished line, the header or a
# registration).  At the end every task is #ok exactly once (one
# annotation), its side effect is in the log exactly once, all workers exit
# 0 and no rtq-claim or ssh of ours is left.
#
# RTQ_KILL_SECONDS: how long the killer runs (15); RTQ_KILL_TASKS (300).
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones

say "(1) every crash point of one request"
nsweep=0 nsweep_bad=0
need strace
strace -qq -o /dev/null true ||
	die "strace cannot trace here (ptrace not permitted?): the crash points cannot be tested"
{
	D=$T/sweep S=$T/sweep/s.sh
	req=(next "$S" 0/2 2 task 2 0 'echo a')
	fresh() {	# the state before the request: task 2 claimed by worker 0
		rm -rf "$D"
		mkdir "$D"
		printf 'echo a\necho b\necho c\n' >"$S"
		"$CLAIM" register "$S" - w >/dev/null &&
			"$CLAIM" next "$S" 0/1 0 >/dev/null || die "sweep: setup failed"
	}
	points=open,openat,creat,write,writev,pwrite64,pwritev,ftruncate,fsync,fdatasync
	points+=,fchmod,fchown,link,linkat,rename,renameat,renameat2,unlink,unlinkat
	points+=,flock,close,exit_group
	fresh
	unstamp "$S" >"$T/sweep.old"
	strace -qq -o "$T/sweep.trace" -e trace="$points" "$CLAIM" "${req[@]}" >"$T/sweep.reply" ||
		die "sweep: the request fails"
	unstamp "$S" >"$T/sweep.new"
	grep -qx 'task 3 echo b' "$T/sweep.reply" || die "sweep: reply [$(cat "$T/sweep.reply")]"
	while read -r cnt name; do
		for ((k = 1; k <= cnt; k++)); do
			fresh
			nsweep=$((nsweep + 1))
			# (in a subshell whose stderr takes bash's "Killed")
			rc=$( {
				strace -qq -o /dev/null -e trace="$points" \
					-e inject="$name":signal=SIGKILL:when=$k \
					"$CLAIM" "${req[@]}" >/dev/null 2>&1
				echo $?
			} 2>/dev/null)
			what="killed at $name #$k (exit $rc)"
			if ! cmp -s <(unstamp "$S") "$T/sweep.old" &&
			    ! cmp -s <(unstamp "$S") "$T/sweep.new"; then
				echo "$what: the file is neither the old nor the new version"
				nsweep_bad=$((nsweep_bad + 1))
				continue
			fi
			reply=$("$CLAIM" "${req[@]}" 2>&1)
			if ! grep -qx 'task 3 echo b' <<<"$reply" ||
			    ! cmp -s <(unstamp "$S") "$T/sweep.new"; then
				echo "$what, then the same request again: reply [$(tr '\n' '|' <<<"$reply")]," \
					"line 2 [$(sed -n 2p "$S")]"
				nsweep_bad=$((nsweep_bad + 1))
			fi
		done
	done < <(awk -F'(' '/^[a-z_0-9]+\(/ {print $1}' "$T/sweep.trace" | sort | uniq -c)
	echo "($nsweep crash points; after $nsweep_bad of them the retried request went wrong)"
	[ "$nsweep" -ge 10 ] || die "sweep: only $nsweep crash points: strace did not trace"
}

with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
H=$SSHD_HOST
NTASKS=${RTQ_KILL_TASKS:-300}
KILL_SECONDS=${RTQ_KILL_SECONDS:-15}
OLD_PER_TASK=70		# finished lines of an earlier run around each task

F=$T/big.sh L=$T/log
say "a task file of $((NTASKS * (OLD_PER_TASK + 1))) lines, $NTASKS of them pending"
for ((i = 1; i <= NTASKS; i++)); do
	for ((k = 0; k < OLD_PER_TASK; k++)); do
		echo "#echo old $i.$k # worker 9 # (11-23 10:00:00 ... 11-23 10:00:01) #ok"
	done
	echo "echo $i >> $L"
done >"$F"
: >"$L"
nlines0=$(wc -l <"$F")
grep '^#echo old ' "$F" >"$T/old.want"

# The line forms that may be in the file at any moment.
ts='[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'
l_re=$(sed 's/[.]/\\./g' <<<"$L")
sound_re="^(#LASTWORKER [0-9]+|# worker [0-9]+: .* \\($ts\\)"
sound_re+="|#echo old [0-9]+\\.[0-9]+ # worker 9 # \\(11-23 10:00:00 \\.\\.\\. 11-23 10:00:01\\) #ok"
sound_re+="|echo [0-9]+ >> $l_re"
sound_re+="|#echo [0-9]+ >> $l_re # worker [0-9]+ # \\($ts \\.\\.\\.( $ts\\) #ok)?)\$"

hz=$(getconf CLK_TCK)
age_ms() {	# PID: how long it has run, in ms (9999999 if gone)
	local up f
	read -r up _ </proc/uptime
	read -r -a f <"/proc/$1/stat" 2>/dev/null || { echo 9999999; return; }
	echo $(((${up%.*} * 100 + 10#${up#*.}) * 10 - f[21] * 1000 / hz))
}
ours="rtq-claim [a-z]+ $F( |\$)"	# pgrep -f: our rtq-claim and ssh processes
# The killer: every 50-300 ms, SIGKILL a random rtq-claim (the remote
# command runs as "rtq-claim SUBCOMMAND FILE ...") or ssh client (whose
# command line holds the same words) of ours, until the workers are done or
# RTQ_KILL_SECONDS have passed; after each kill, check the file.
# Its findings go to files: kills (one line per kill: the process's name,
# the time, its command line), bad (what was wrong with the file).
killer() {
	local end=$((SECONDS + KILL_SECONDS)) prev=$nlines0 n pids pid comm cmd want victims others k
	RANDOM=${RTQ_KILL_SEED:-7}
	while ((SECONDS < end)) && [ ! -e "$T/done" ]; do
		sleep "$(printf '0.%03d' $((50 + RANDOM % 251)))"
		# a victim: rtq-claim or ssh (one of them at random), any of ours
		if ((RANDOM % 2)); then want=rtq-claim; else want=ssh; fi
		mapfile -t pids < <(pgrep -f -- "$ours")
		victims=() others=()
		for pid in "${pids[@]}"; do
			# spare a serve session (its ssh, its rtq-claim) in its
			# first 0.4 s: killing every new session as it opens only
			# makes rtq back off longer and longer
			if [ "$(age_ms "$pid")" -lt 400 ] && grep -q ' serve ' "/proc/$pid/cmdline" 2>/dev/null; then
				continue
			fi
			if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$want" ]; then
				victims+=("$pid")
			else
				others+=("$pid")
			fi
		done
		[ ${#victims[@]} -gt 0 ] || victims=("${others[@]}")
		if [ ${#victims[@]} -gt 0 ]; then
			pid=${victims[RANDOM % ${#victims[@]}]}
			comm=$(cat "/proc/$pid/comm" 2>/dev/null)
			cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)
			kill -KILL "$pid" 2>/dev/null &&
				echo "$comm $SECONDS $cmd" >>"$T/kills"
		else
			echo "$SECONDS" >>"$T/idle"
		fi
		# the file, after the kill
		cp "$F" "$T/snap" 2>/dev/null || { echo "cannot read the file" >>"$T/bad"; continue; }
		n=$(wc -l <"$T/snap")
		if [ "$n" -lt "$prev" ]; then
			echo "the file went from $prev to $n lines" >>"$T/bad"
			cp "$T/snap" "$T/bad.snap.$n"
		fi
		prev=$n
		if grep -vqE "$sound_re" "$T/snap"; then
			{ echo "unsound lines:"; grep -nvE "$sound_re" "$T/snap" | head -n 5; } >>"$T/bad"
		fi
		echo "$n" >>"$T/checks"
	done
}
: >"$T/kills"
: >"$T/checks"
: >"$T/idle"

say "(2) 3 workers (2 serve sessions, 1 one-shot), killer for $KILL_SECONDS s"
t0=$SECONDS
pids=()
for k in 0 1 2; do
	env $([ $k = 2 ] && echo RTQ_NOSERVE=1) \
		timeout -k 5 240 "$RTQ" -x --poll 0.1 -n "w$k" "$H:$F" </dev/null \
		>"$T/w$k.out" 2>"$T/w$k.err" &
	pids+=($!)
done
killer &
kpid=$!
LIB_CLEANUP+=("kill $kpid 2>/dev/null")
rcs=()
for k in 0 1 2; do
	rc=0
	wait "${pids[$k]}" || rc=$?
	rcs+=($rc)
done
secs=$((SECONDS - t0))
: >"$T/done"
wait "$kpid"
nkill=$(wc -l <"$T/kills")
nkill_claim=$(grep -c '^rtq-claim ' "$T/kills" || true)
nkill_ssh=$(grep -c '^ssh ' "$T/kills" || true)
nkill_other=$((nkill - nkill_claim - nkill_ssh))
nchecks=$(wc -l <"$T/checks")
nidle=$(wc -l <"$T/idle")
nretry=$(cat "$T"/w?.err | grep -c 'retrying' || true)

# the tally
nlost=0 ntwice=0
declare -A seen=()
while read -r c a; do seen[$a]=$c; done < <(sort "$L" | uniq -c)
for ((i = 1; i <= NTASKS; i++)); do
	c=${seen[$i]:-0}
	if [ "$c" = 0 ]; then
		nlost=$((nlost + 1))
		echo "task $i: no side effect"
	elif [ "$c" != 1 ]; then
		ntwice=$((ntwice + 1))
		echo "task $i: ran $c times"
	fi
done
ok_re="^#echo ([0-9]+) >> $l_re # worker [0-9]+ # \\($ts \\.\\.\\. $ts\\) #ok\$"
nok=$(grep -cE "$ok_re" "$F" || true)
ntmp=$(compgen -G "$T/.big.sh.rtq-*" | wc -l)
nreg=$(grep -cE '^# worker [0-9]+: ' "$F" || true)
echo "SUMMARY fault-kill-claim: crash points $nsweep (retry went wrong after" \
	"$nsweep_bad); tasks $NTASKS in $(wc -l <"$F") lines," \
	"faults injected $nkill ($nkill_claim rtq-claim, $nkill_ssh ssh," \
	"$nkill_other other; $nidle times nothing to kill), file checks $nchecks," \
	"retries $nretry," \
	"tasks lost $nlost, tasks run twice $ntwice, tasks #ok $nok," \
	"registrations $nreg, temporary files left $ntmp, ${secs}s;" \
	"worker exits ${rcs[*]}"

fail=()
[ "$nsweep_bad" = 0 ] || fail+=("a request killed at $nsweep_bad of $nsweep crash points went wrong when retried")
for k in 0 1 2; do
	if [ "${rcs[$k]}" != 0 ]; then
		echo "--- worker $k exited ${rcs[$k]}:"
		tail -n 20 "$T/w$k.err"
		fail+=("worker $k exited ${rcs[$k]}")
	fi
done
if [ -s "$T/bad" ]; then
	head -n 30 "$T/bad"
	fail+=("the task file was unsound or shorter after a kill")
fi
[ "$nkill_claim" -gt 0 ] && [ "$nkill_ssh" -gt 0 ] ||
	fail+=("the killer did not kill both rtq-claim and ssh: the test tested too little")
[ "$nlost" = 0 ] || fail+=("$nlost tasks lost")
[ "$ntwice" = 0 ] || fail+=("$ntwice tasks run twice")
[ "$nok" = "$NTASKS" ] || fail+=("$nok of $NTASKS tasks end #ok once")
grep -vE "$sound_re" "$F" | head -n 5 | grep . && fail+=("unsound lines at the end")
grep -nE " # worker [0-9]+ # \\($ts \\.\\.\\.\$" "$F" | head -n 5 | grep . && fail+=("tasks left running")
cmp -s <(grep '^#echo old ' "$F") "$T/old.want" || fail+=("the old lines changed")
# one line per task, in place; the header; the registrations at the end
[ "$(wc -l <"$F")" = $((nlines0 + 1 + nreg)) ] || fail+=("$(wc -l <"$F") lines, want $((nlines0 + 1 + nreg))")
[ "$(sed -n 1p "$F")" = "#LASTWORKER $((nreg - 1))" ] || fail+=("header $(sed -n 1p "$F") for $nreg registrations")
st=$("$CLAIM" status "$F" --json) || fail+=("status fails on the file")
grep -q "\"pending\":0,\"blocked\":0,\"running\":0,\"queued\":0,\"done\":$((NTASKS * (OLD_PER_TASK + 1))),\"failed\":0" <<<"$st" ||
	fail+=("status --json: $(grep -o '"tasks":{[^}]*}' <<<"$st")")
# (a remote rtq-claim whose ssh was killed may take a moment)
if ! wait_for 5 no_proc "$ours"; then
	pgrep -af -- "$ours"
	fail+=("rtq-claim or ssh processes of ours are left")
fi
if [ ${#fail[@]} -gt 0 ]; then
	for k in 0 1 2; do
		echo "--- worker $k stderr (tail):"
		tail -n 15 "$T/w$k.err"
	done
	printf '%s\n' "${fail[@]}" >&2
	die "${fail[0]}"
fi
say ok
