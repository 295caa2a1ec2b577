# Sourced (after lib.sh, with CRASH_FIRST and CRASH_ROUNDS set) by
# claim-crash.sh (rounds 0-99, then a full disk) and claim-crash-more.sh
# (rounds 100-199), two tests so that they run side by side: each round
# waits on its own requests (and their fsyncs) and keeps a CPU busy only
# part of the time.
#
# Crash safety of the rewrite (SPEC 5): rtq-claim is SIGKILLed at random
# moments while it rewrites a large task file, a few hundred times in all;
# after every kill the file must be byte for byte either the old version or
# the complete new one, never a part.  The survivor is sound and takes
# another claim.

# CRASH_FIRST, CRASH_ROUNDS: the rounds this test runs (request A of round
# A: even ones claim for worker A, odd ones finish a running line)
ROUNDS=${RTQ_CRASH_ROUNDS:-$CRASH_ROUNDS}
LINES=20000	# 1 MB: the write of the new version still takes most of a request
F=$T/tasks.sh
calc=$T/calc/tasks.sh		# where the expected new version is computed
mkdir "$T/calc"

say "a task file of $LINES lines"
for ((i = 1; i <= LINES; i++)); do
	echo "echo task $i; sleep 0 # padding padding padding"
done >"$F"
size=$(stat -c %s "$F")
say "($size bytes)"
cp "$F" "$T/pristine"

now_ns() { date +%s%N; }

# The request of attempt a: even attempts claim for a new worker, odd ones
# finish the first running line (as #ok or #errorN), so both claims and
# finishes (and, with errors, uncommented lines) get rewritten.
request() {	# A FILE: sets req (an array of words)
	local a=$1 l w text
	req=(next "$2" "$a" 0)
	if ((a % 2 == 1)) &&
	    l=$(grep -n -m 1 -E '# worker [0-9]+ # \([^)]* \.\.\.$' "$F"); then
		w=$(sed -E 's/.* # worker ([0-9]+) # .*/\1/' <<<"$l")
		# the task text: what precedes the FIRST annotation
		text=$(sed -E 's/^[0-9]+:#//; s/ # worker .*//' <<<"$l")
		req=(finish "$2" "$w" task "${l%%:*}" $((a % 3)) "$text")
	fi
}

say "calibrating: how long one rewrite takes"
cp "$F" "$calc"
t0=$(now_ns)
for a in 0 2 4 6 8 10; do
	"$CLAIM" next "$calc" $((1000000 + a)) 0 >/dev/null &
	wait $!
done
run_ns=$((($(now_ns) - t0) / 6))
# kill anywhere from at once to 1.2 times a whole run (some requests end
# before the kill; most are cut short somewhere)
maxdelay=$((run_ns * 6 / 5 / 1000 + 1))
say "(a rewrite takes ~$((run_ns / 1000)) us; killing after 0..$maxdelay us)"
# The delay: read -t on a fifo that nobody writes to (we hold it open for
# writing too, so no end of file comes) waits without a process to start
# and without spinning on a CPU the request needs.
mkfifo "$T/nap"
exec {nap}<>"$T/nap"

say "$ROUNDS rounds: start a request, SIGKILL it after a random delay"
# rtq-claim's clock stands still (RTQ_NOW) while the rounds run: the new
# version computed on a copy then equals what the real request writes,
# stamps included, and no lease (120 s) runs out between the two on a
# slow machine (which made the copy and the file differ by a #lost)
export RTQ_NOW=$(date +%s)
n_old=0 n_new=0 n_done=0 n_tmp=0 n_killed=0
t0=$(now_ns)
for ((a = CRASH_FIRST; a < CRASH_FIRST + ROUNDS; a++)); do
	cp "$F" "$T/old"
	# what the request makes of the file, computed on a copy
	cp "$F" "$calc"
	request "$a" "$calc"
	# (no fsync for the copy: only its bytes count)
	RTQ_NOSYNC=1 "$CLAIM" "${req[@]}" >/dev/null 2>&1 ||
		die "round $a: the request itself fails: ${req[*]:0:5}"
	req[1]=$F	# the same request (the copy had the same lines)
	delay=$(((RANDOM * 32768 + RANDOM) % maxdelay))
	"$CLAIM" "${req[@]}" >/dev/null 2>&1 &
	pid=$!
	read -r -t "$((delay / 1000000)).$(printf '%06d' $((delay % 1000000)))" -u "$nap"
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	rc=$?
	case $rc in
	0) ;;
	137) n_killed=$((n_killed + 1)) ;;
	*) die "round $a: the request failed by itself (exit $rc): ${req[*]:0:5}" ;;
	esac
	# the survivor: the old bytes, or the new ones (time stamps may differ)
	if cmp -s "$F" "$T/old"; then
		n_old=$((n_old + 1))
	elif [ "$(stat -c %s "$F")" = "$(stat -c %s "$calc")" ] &&
	    { cmp -s "$F" "$calc" ||
	      cmp -s <(unstamp "$F") <(unstamp "$calc"); }; then
		n_new=$((n_new + 1))
	else
		diff <(unstamp "$T/old") <(unstamp "$F") | head -n 10 >&2
		die "round $a (killed after $delay us, exit $rc):" \
		    "$F is neither the old nor the new version" \
		    "($(wc -l <"$F") lines, $(stat -c %s "$F") bytes)"
	fi
	[ $rc -eq 0 ] && n_done=$((n_done + 1))
	[ "$(wc -l <"$F")" -eq "$LINES" ] ||
		die "round $a: $(wc -l <"$F") lines, want $LINES"
	# A kill between creating and renaming the temp file leaves it behind
	# (nothing can clean up after SIGKILL): at most one per killed request.
	left=0
	for tmp in "$T"/.tasks.sh.rtq-*; do
		[ -e "$tmp" ] || continue
		left=$((left + 1))
		rm -f "$tmp"
	done
	[ $left -eq 0 ] || { [ $left -eq 1 ] && [ $rc -eq 137 ]; } ||
		die "round $a: $left temporary files left (exit $rc)"
	n_tmp=$((n_tmp + left))
done
secs=$((($(now_ns) - t0) / 1000000000))
unset RTQ_NOW
say "($ROUNDS rounds in ${secs}s: $n_killed killed, $n_done finished" \
    "before the kill; the file was the old version $n_old times, the new" \
    "one $n_new times; $n_tmp temporary files were left by kills (removed)"
[ $n_killed -gt 0 ] || die "no request was ever killed: the test tested nothing"
[ $((n_old + n_new)) -eq "$ROUNDS" ] || die "outcomes do not add up"
# The file is still sound: every line a task, pending, running or finished.
re='^#?echo task [0-9]+; sleep 0 # padding padding padding( # worker [0-9]+ # \([0-9: -]+ \.\.\.( [0-9: -]+\) #(ok|error[0-9]+))?)*$'
bad=$(grep -cvE "$re" "$F")
if [ "$bad" -ne 0 ]; then
	grep -vE "$re" "$F" | head -n 5 >&2
	die "$bad malformed lines after the rounds (first ones above)"
fi
"$CLAIM" status "$F" >/dev/null || die "status fails on the survivor"
"$CLAIM" next "$F" 999998 0 >/dev/null ||
	die "a claim fails on the survivor (or its lock file)"

