#!/usr/bin/env bash
# Fault injection (SPEC 4): four workers claim a few hundred tasks over the
# loopback sshd through an RTQ_SSH wrapper that breaks ssh the ways a bad
# network does, driven by a seed:
#   - a call fails before reaching the master (exit 255, nothing ran);
#   - a one-shot call runs on the master but its reply is thrown away;
#   - a serve session is cut after a number of reply lines: the master
#     committed the next request but its reply never arrives;
#   - a serve session is cut in the middle of a request line: the master
#     gets part of a line and then end of file, and no reply comes back.
# Once with serve sessions and once with RTQ_NOSERVE=1 (one ssh call per
# request).  Every task must end #ok exactly once (one annotation, no
# orphan report), its side effect must be in the log exactly once, and
# every worker must exit 0.  Finally one deterministic case: a request
# cut right after its position word (what is left is a valid request that
# lacks the report of the previous task).
#
# RTQ_FLAKY_SEED picks the fault schedule (default 1).  RTQ_FLAKY_TASKS
# (150) and RTQ_FLAKY_TASKS1 (50) give the number of tasks of the two runs;
# one ssh call per request costs ~0.3 s on the loopback sshd (a session
# start, even over a shared connection), hence fewer tasks there.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones

with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
H=$SSHD_HOST
SEED=${RTQ_FLAKY_SEED:-1}
NTASKS=${RTQ_FLAKY_TASKS:-150}
NTASKS1=${RTQ_FLAKY_TASKS1:-50}
NWORKERS=4

# The wrapper.  FLAKY_DIR holds its call counter (under flock), the fault
# log (one line per fault: CALL KIND DETAIL) and scratch files.  Call n
# draws its fault from RANDOM seeded with FLAKY_SEED and n, so a seed gives
# the same schedule of faults by call number (which worker makes which
# call still depends on timing).  Percentages: FLAKY_BEFORE (fail before
# contacting), FLAKY_AFTER (one-shot: run, lose the reply), FLAKY_RCUT
# (serve: cut after 1-25 reply lines), FLAKY_QCUT (serve: cut a request
# line, at a random byte of it, within the first 10 requests); other serve
# sessions are cut after 10-40 reply lines, so that no worker settles on a
# good session for the rest of the run.  After 3 faults in a row for one
# worker (its rtq is our parent) without a reply getting through, the next
# call is left alone: rtq's backoff doubles per failure (to 60 s), and a
# long streak would only make the test slow.  FLAKY_CUTPOS=1 instead cuts
# the first request of the run that reports a task right after its
# position word ("next W/SEQ POS"), for the deterministic case.  ssh -G
# (rtq reading the configuration) is passed through uncounted.
cat >"$T/flaky-ssh" <<'EOF'
#!/bin/bash
D=$FLAKY_DIR
for a; do [ "$a" = -G ] && exec ssh "$@"; done
exec 9>>"$D/lock"
flock 9
n=$(($(cat "$D/count" 2>/dev/null || echo 0) + 1))
echo "$n" >"$D/count"
exec 9>&-
RANDOM=$((FLAKY_SEED * 100003 + n))
r=$((RANDOM % 100))
streakf=$D/streak.$PPID
streak=$(cat "$streakf" 2>/dev/null || echo 0)
log() {
	echo "$n $*" >>"$D/faults"
	echo $(($(cat "$streakf" 2>/dev/null || echo 0) + 1)) >"$streakf"
}
cmd=${*: -1}
case $cmd in *" serve "*) serve=1 ;; *) serve=0 ;; esac
if [ "${FLAKY_CUTPOS:-0}" = 1 ] || [ "$streak" -ge 3 ]; then
	r=100	# no fault at the start of this call
fi

if ((r < FLAKY_BEFORE)); then
	log before
	echo "ssh: connect to host rtqtest port 22: Connection timed out" >&2
	exit 255
fi
if [ $serve = 0 ]; then
	if ((r < FLAKY_BEFORE + FLAKY_AFTER)); then
		ssh "$@" >/dev/null 2>&1
		log after "exit $?"
		echo "Connection to rtqtest closed by remote host." >&2
		exit 255
	fi
	echo 0 >"$streakf"
	exec ssh "$@"
fi

# A serve session: a proxy in both directions, line by line.
rcut=-1 qcut=-1 qoff=-1
if [ "${FLAKY_CUTPOS:-0}" = 1 ]; then
	qcut=pos
elif [ "$streak" -ge 3 ]; then
	rcut=$((10 + RANDOM % 31))
elif ((r < FLAKY_BEFORE + FLAKY_RCUT)); then
	rcut=$((1 + RANDOM % 25))
elif ((r < FLAKY_BEFORE + FLAKY_RCUT + FLAKY_QCUT)); then
	qcut=$((1 + RANDOM % 10))	# which request line (1: hello)
	qoff=$RANDOM			# where in it (modulo its length)
else
	rcut=$((10 + RANDOM % 31))
fi
cutmark=$D/cut.$n
coproc S { exec ssh "$@"; }
spid=$S_PID
exec {to}>&"${S[1]}" {from}<&"${S[0]}"
eval "exec ${S[1]}>&- ${S[0]}<&-"	# only our copies: ssh must see EOF
# requests: from our stdin to ssh, in the background
(
	k=0
	while IFS= read -r req; do
		k=$((k + 1))
		cut=
		if [ "$qcut" = pos ]; then
			# the first report in the run (a directory says it was done)
			case $req in next\ *\ *\ task\ *)
				if mkdir "$D/cutpos.done" 2>/dev/null; then
					read -r -a w <<<"${req:0:200}"
					cut="${w[0]} ${w[1]} ${w[2]}"
				fi ;;
			esac
		elif [ "$k" = "$qcut" ]; then
			cut=${req:0:$((qoff % (${#req} + 1)))}
		fi
		if [ -n "$cut" ] || [ "$k" = "$qcut" ]; then
			: >"$cutmark"
			log qcut "request $k cut after ${#cut} of $((${#req} + 1)) bytes: [${cut:0:60}]"
			printf '%s' "$cut" >&$to
			exit 0
		fi
		printf '%s\n' "$req" >&$to
	done
) <&0 >/dev/null &	# (without <&0, bash gives a background job /dev/null;
	# its stdout must not hold the reply pipe open)
exec {to}>&-
# replies: from ssh to our stdout
k=0
while IFS= read -r line <&$from; do
	if [ -e "$cutmark" ]; then
		kill "$spid" 2>/dev/null
		exit 255	# the connection broke: no reply
	fi
	if [ "$k" = "$rcut" ]; then
		log rcut "after $rcut reply lines, lost: [${line:0:60}]"
		kill "$spid" 2>/dev/null
		echo "Connection to rtqtest closed by remote host." >&2
		exit 255
	fi
	printf '%s\n' "$line"
	k=$((k + 1))
	[ $k = 2 ] && echo 0 >"$streakf"	# a reply after the hello got through
done
wait "$spid"
st=$?
[ -e "$cutmark" ] && exit 255
exit $st
EOF
chmod +x "$T/flaky-ssh"

# run NAME NTASKS NWORKERS [ENV...]: the workers on a fresh task file;
# sets the counts and fails on any loss, double run or stray line
run() {
	local name=$1 ntasks=$2 nworkers=$3 i k rc pids=()
	shift 3
	local F=$T/$name.sh L=$T/$name.log
	export FLAKY_DIR=$T/$name.flaky
	mkdir "$FLAKY_DIR"
	: >"$FLAKY_DIR/faults"
	: >"$L"
	for ((i = 1; i <= ntasks; i++)); do
		echo "echo task $i >> $L"
	done >"$F"
	say "$name: $ntasks tasks, $nworkers workers, seed $SEED${*:+, $*}"
	local t0=$SECONDS
	for ((k = 0; k < nworkers; k++)); do
		env "$@" FLAKY_SEED="$SEED" RTQ_SSH="$T/flaky-ssh -F $SSH_CONFIG" \
			timeout -k 5 240 "$RTQ" -x --poll 0.1 -n "$name$k" "$H:$F" \
			</dev/null >"$T/$name.$k.out" 2>"$T/$name.$k.err" &
		pids+=($!)
	done
	local bad=
	for ((k = 0; k < nworkers; k++)); do
		rc=0
		wait "${pids[$k]}" || rc=$?
		if [ "$rc" != 0 ]; then
			echo "worker $k of $name exited $rc; its stderr:"
			tail -n 20 "$T/$name.$k.err"
			bad=1
		fi
	done
	local secs=$((SECONDS - t0))
	# the faults, by kind
	nfault=$(wc -l <"$FLAKY_DIR/faults")
	local kinds
	kinds=$(awk '{print $2}' "$FLAKY_DIR/faults" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
	nretry=$(cat "$T/$name".*.err | grep -c 'retrying' || true)
	# each task: its annotation and its side effect
	nlost=0 ntwice=0 nbadann=0
	local c a
	declare -A seen=()
	while read -r c a; do seen[$a]=$c; done < <(sed -n 's/^task \([0-9]*\)$/\1/p' "$L" | sort | uniq -c)
	for ((i = 1; i <= ntasks; i++)); do
		c=${seen[$i]:-0}
		if [ "$c" = 0 ]; then
			nlost=$((nlost + 1))
			[ $nlost -le 10 ] && echo "task $i: no side effect"
		elif [ "$c" != 1 ]; then
			ntwice=$((ntwice + 1))
			[ $ntwice -le 10 ] && echo "task $i: ran $c times"
		fi
	done
	tot_tasks=$((tot_tasks + ntasks)) tot_faults=$((tot_faults + nfault))
	tot_lost=$((tot_lost + nlost)) tot_twice=$((tot_twice + ntwice))
	local re="^#echo task ([0-9]+) >> $L # worker [0-9]+ # \\([0-9: -]+ \\.\\.\\. [0-9: -]+\\) #ok\$"
	local okn
	okn=$(grep -cE "$re" "$F" || true)
	nbadann=$((ntasks - okn))
	# every line: the header, a task done once, or a registration
	local stray
	stray=$(sed 1d "$F" | grep -vE "$re" | grep -vE '^# worker [0-9]+: ' || true)
	# A register whose reply is lost is sent again and registers another
	# id (register carries no SEQ): counted, not failed.
	nreg=$(grep -cE '^# worker [0-9]+: ' "$F" || true)
	[ "$nreg" -ge "$nworkers" ] && [ "$(sed -n 1p "$F")" = "#LASTWORKER $((nreg - 1))" ] ||
		stray+=$'\n'"line 1: $(sed -n 1p "$F") with $nreg registrations"
	cmp -s <(sed 1d "$F" | head -n "$ntasks" | sed -E 's/^#echo task ([0-9]+) .*/\1/') <(seq 1 "$ntasks") ||
		stray+=$'\n'"lines 2-$((ntasks + 1)) are not tasks 1-$ntasks in order"
	echo "SUMMARY $name: tasks $ntasks, faults injected $nfault ($kinds)," \
		"retries $nretry, tasks lost $nlost, tasks run twice $ntwice," \
		"badly annotated $nbadann, registrations $nreg for $nworkers workers, ${secs}s"
	if [ -n "$stray" ]; then
		echo "$F: lines that should not be there:"
		printf '%s\n' "$stray" | head -n 20
		bad=1
	fi
	if [ -n "$bad" ] || [ "$nlost" != 0 ] || [ "$ntwice" != 0 ] || [ "$nbadann" != 0 ]; then
		echo "--- the faults injected in $name:"
		cat "$FLAKY_DIR/faults"
		for ((k = 0; k < nworkers; k++)); do
			echo "--- worker $k stderr:"
			tail -n 30 "$T/$name.$k.err"
		done
		fails+=("$name: lost $nlost, twice $ntwice, badly annotated $nbadann${bad:+, a worker failed or stray lines}")
	fi
}

fails=()
tot_tasks=0 tot_faults=0 tot_lost=0 tot_twice=0
export FLAKY_BEFORE=15 FLAKY_AFTER=15 FLAKY_RCUT=25 FLAKY_QCUT=35

run serve "$NTASKS" $NWORKERS
serve_faults=$nfault
[ "$(grep -c ' rcut ' "$T/serve.flaky/faults")" -gt 0 ] && [ "$(grep -c ' qcut ' "$T/serve.flaky/faults")" -gt 0 ] ||
	fails+=("serve: the wrapper injected too few kinds of faults to test anything")

run noserve "$NTASKS1" $NWORKERS RTQ_NOSERVE=1
noserve_faults=$nfault
[ "$(grep -c ' after ' "$T/noserve.flaky/faults")" -gt 0 ] && [ "$(grep -c ' before' "$T/noserve.flaky/faults")" -gt 0 ] ||
	fails+=("noserve: the wrapper injected too few kinds of faults to test anything")

# The deterministic case: the first request that reports a task is cut to
# "next W/SEQ POS".  The master must not act on a line that never ended
# (the connection broke in the middle of it): taken as a request, it is a
# claim without the report, and when the whole request is sent again (same
# SEQ) it looks like a repeat, so the report is dropped and the finished
# task is handed back to run again.
run cutpos 6 1 FLAKY_CUTPOS=1
[ "$nfault" -gt 0 ] || fails+=("cutpos: no request was cut")

echo "SUMMARY fault-flaky-ssh: tasks $tot_tasks, faults injected $tot_faults" \
	"(serve $serve_faults, one call per request $noserve_faults, cut" \
	"after POS $nfault), tasks lost $tot_lost, tasks run twice $tot_twice"
if [ ${#fails[@]} -gt 0 ]; then
	printf '%s\n' "${fails[@]}" >&2
	die "${#fails[@]} of the runs lost, doubled or misrecorded tasks (above)"
fi
say ok
