#!/usr/bin/env bash
# make bench: speed and memory figures, each table measured side by side in
# one run.  Prints figures; asserts nothing (the tests do that).
#
#   1. one claim's cost against task-file size, with and without fsync
#   2. 200 trivial tasks over ssh: rtq (serve session), rtq (one ssh call
#      per request), a loop of multiplexed `ssh host true` (the floor of any
#      one-call-per-task design), GNU parallel -S host -M -j N if installed
#   3. claims per second with 1..64 workers on one master; failed claims
#   4. peak memory of rtq (per worker) and of rtq-claim serve
#
# BENCH_QUICK=1 shrinks the sizes for a smoke run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${1:-build}/bin
B=$(mktemp -d "${TMPDIR:-/tmp}/rtq-bench.XXXXXX")
trap 'sshd_stop 2>/dev/null; rm -rf "$B"' EXIT
quick=${BENCH_QUICK:-0}
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
command -v bc >/dev/null || { echo "bench needs bc (apt-get install bc)"; exit 1; }

echo "rtq bench, $(date -u +%FT%TZ), $(nproc) cores, $(uname -sr)"
echo

# --- 1. claim cost -------------------------------------------------------
echo "1. one claim (finish + claim) against file size; median of N rounds"
printf '%10s %9s %11s %11s %11s %11s %9s\n' lines size \
    "proc fsync" "proc nosync" "serve fsync" "serve nosync" "peak RSS"
sizes="1000 100000 1000000"
[ "$quick" = 1 ] && sizes="1000 10000"
for n in $sizes; do
	f=$B/claim$n.sh
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
	    printf "echo task %d; true\n", i }' >"$f"
	rounds=41
	[ "$n" -ge 1000000 ] && rounds=11
	read -r p1 s1 rss size < <(python3 "$top/tests/bench/claimcost.py" \
	    "$bin/rtq-claim" "$f" $rounds)
	read -r p2 s2 _ _ < <(RTQ_NOSYNC=1 python3 \
	    "$top/tests/bench/claimcost.py" "$bin/rtq-claim" "$f" $rounds)
	printf '%10d %8dK %9.2fms %9.2fms %9.2fms %10.2fms %7dK (%.2fx file)\n' \
	    "$n" $((size / 1024)) "$p1" "$p2" "$s1" "$s2" "$rss" \
	    "$(echo "$rss * 1024 / $size" | bc -l)"
	rm -f "$f" "$f.lock"
done
echo

# --- 2. trivial tasks over ssh ---------------------------------------------
# shellcheck source=sshd-harness.sh
. "$top/tests/sshd-harness.sh"
sshd_start >/dev/null || exit 1
export RTQ_SSH RTQ_CLAIM=$bin/rtq-claim
ntask=200
[ "$quick" = 1 ] && ntask=40
mux=(-o ControlMaster=auto -o "ControlPath=$B/mux-%C" -o ControlPersist=60)
ssh -F "$SSH_CONFIG" "${mux[@]}" "$SSHD_HOST" true	# start the master
tasks() { for ((i = 0; i < ntask; i++)); do echo true; done >"$1"; }
run_rtq() {	# WORKERS [env...]: seconds for $ntask tasks
	local w=$1 t0 i
	shift
	tasks "$B/t.sh"
	t0=$(now)
	for ((i = 0; i < w; i++)); do
		env "$@" "$bin/rtq" -x --poll 0.05 "$SSHD_HOST:$B/t.sh" \
		    >/dev/null 2>>"$B/err" &
	done
	wait
	elapsed "$t0" "$(now)"
	[ "$(grep -c '#ok$' "$B/t.sh")" -eq "$ntask" ] ||
		echo "bench: not every task ended #ok" >&2
}
run_ssh_loop() {	# WORKERS
	local w=$1 t0 i
	t0=$(now)
	for ((i = 0; i < w; i++)); do
		(for ((k = 0; k < ntask / w; k++)); do
			ssh -F "$SSH_CONFIG" "${mux[@]}" "$SSHD_HOST" true
		done) &
	done
	wait
	elapsed "$t0" "$(now)"
}
run_parallel() {	# WORKERS
	local w=$1 t0
	export PARALLEL_HOME=$B/parallel
	mkdir -p "$PARALLEL_HOME"
	touch "$PARALLEL_HOME/will-cite"
	tasks "$B/p.sh"
	t0=$(now)
	parallel --ssh "ssh -F $SSH_CONFIG" -S "$SSHD_HOST" -M -j "$w" \
	    <"$B/p.sh" >/dev/null 2>>"$B/err"
	elapsed "$t0" "$(now)"
}
echo "2. $ntask trivial tasks (true) over ssh on loopback; seconds, tasks/s"
printf '%-34s %8s %9s %8s %9s\n' "" "1 worker" "" "4 workers" ""
declare -A res
ntask_saved=$ntask
ntask=0
res[start]=$(run_rtq 1)		# a worker's start and end, no task
ntask=$ntask_saved
for w in 1 4; do
	res[serve$w]=$(run_rtq $w)
	res[oneshot$w]=$(run_rtq $w RTQ_NOSERVE=1)
	res[ssh$w]=$(run_ssh_loop $w)
	if command -v parallel >/dev/null; then
		res[par$w]=$(run_parallel $w)
	fi
done
row() {	# LABEL KEY
	local a=${res[${2}1]:-} b=${res[${2}4]:-}
	[ -n "$a" ] || { printf '%-34s %8s\n' "$1" "(not installed)"; return; }
	printf '%-34s %7.2fs %7.0f/s %7.2fs %7.0f/s\n' "$1" "$a" \
	    "$(echo "$ntask / $a" | bc -l)" "$b" "$(echo "$ntask / $b" | bc -l)"
}
row "rtq, serve session" serve
row "rtq, one ssh call per request" oneshot
row "ssh mux 'true' loop (floor/call)" ssh
row "GNU parallel -S host -M -j N" par
rt=$(echo "${res[ssh1]} / $ntask * 1000" | bc -l)
per=$(echo "(${res[serve1]} - ${res[start]}) / $ntask * 1000" | bc -l)
printf 'a worker with no task starts and ends in %.2fs (ssh login, register)\n' \
    "${res[start]}"
printf 'per task, 1 worker, start excluded: rtq serve %.2f ms; one multiplexed ssh round trip %.2f ms; ratio %.1fx\n' \
    "$per" "$rt" "$(echo "$rt / $per" | bc -l)"
if [ -n "${res[par4]:-}" ]; then
	printf '4 workers: rtq serve is %.1fx faster than GNU parallel -M -j4\n' \
	    "$(echo "${res[par4]} / ${res[serve4]}" | bc -l)"
fi
echo

# --- 3. many workers --------------------------------------------------------
echo "3. claims per second, N workers on one master (each its own ssh login)"
printf '%8s %7s %9s %10s %12s %8s\n' workers tasks seconds "claims/s" \
    "failed" "twice"
counts="1 4 16 64"
[ "$quick" = 1 ] && counts="1 4"
for w in $counts; do
	n=$((w * 30))
	[ $n -lt 300 ] && n=300
	f=$B/many.sh
	for ((i = 0; i < n; i++)); do echo "echo $i >>$B/many.log"; done >"$f"
	: >"$B/many.log"
	: >"$B/err"
	t0=$(now)
	for ((i = 0; i < w; i++)); do
		"$bin/rtq" -x --poll 0.1 "$SSHD_HOST:$f" >/dev/null \
		    2>>"$B/err" &
	done
	wait
	secs=$(elapsed "$t0" "$(now)")
	ok=$(grep -c '#ok$' "$f")
	twice=$(sort "$B/many.log" | uniq -d | wc -l)
	printf '%8d %7d %8.2fs %10.0f %12d %8d\n' "$w" "$n" "$secs" \
	    "$(echo "$n / $secs" | bc -l)" $((n - ok)) "$twice"
	retries=$(grep -c retrying "$B/err")
	[ "$retries" -gt 0 ] && echo "         ($retries ssh retries said on stderr)"
done
echo

# --- 4. memory ----------------------------------------------------------------
echo "4. peak memory (VmHWM), 4 workers on a 2,000-task file"
for ((i = 0; i < 2000; i++)); do echo "sleep 0.001"; done >"$B/mem.sh"
for ((i = 0; i < 4; i++)); do
	"$bin/rtq" -x --poll 0.1 "$SSHD_HOST:$B/mem.sh" >/dev/null 2>&1 &
done
peak_rtq=0 peak_claim=0
while [ -n "$(jobs -r)" ]; do
	for p in $(pgrep -x rtq); do
		h=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)
		[ "${h:-0}" -gt $peak_rtq ] && peak_rtq=$h
	done
	for p in $(pgrep -x rtq-claim); do
		h=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)
		[ "${h:-0}" -gt $peak_claim ] && peak_claim=$h
	done
	sleep 0.2
done
wait
echo "rtq worker (one slot, its bash excluded): ${peak_rtq} KiB"
echo "rtq-claim serve:                          ${peak_claim} KiB"
