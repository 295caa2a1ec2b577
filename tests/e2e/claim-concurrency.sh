#!/usr/bin/env bash
# Exactly-once under contention: 16 processes, each registered as its own
# worker, loop "next" (reporting the previous task as ok) on one 1,000-task
# file until rtq-claim answers "none".  Every task must be claimed once and
# finished #ok once, by the worker that claimed it, and the file must stay
# well-formed: the tasks in order, the header, 16 registrations.
. "$RTQ_TOP/tests/e2e/lib.sh"

NPROC=16
NTASK=1000	# 16 processes contend for each of them all the same
F=$T/tasks.sh

say "$NTASK tasks, $NPROC processes"
for ((i = 1; i <= NTASK; i++)); do
	echo "echo task $i"
done >"$F"

# worker P: register, then claim and finish until nothing is left.  Logs
# "LINE TEXT" per claim to $T/claims.P and each reply's FIN to $T/fins.P.
worker() {
	local p=$1 out id pos=0 head item magic kind npos fin n line text
	local report=()
	out=$("$CLAIM" register "$F" - "proc $p") || {
		echo "proc $p: register failed" >&2
		return 1
	}
	id=${out#RTQ1 id }
	echo "$id" >"$T/id.$p"
	while :; do
		out=$("$CLAIM" next "$F" "$id" "$pos" "${report[@]}") || {
			echo "proc $p: next failed: $out" >&2
			return 1
		}
		head=${out%%$'\n'*}
		read -r magic kind npos fin n <<<"$head"
		[ "$magic" = RTQ1 ] || { echo "proc $p: reply [$out]" >&2; return 1; }
		[ ${#report[@]} -eq 0 ] || echo "$fin" >>"$T/fins.$p"
		report=()
		case $kind in
		work)
			[ "$n" = 1 ] || { echo "proc $p: $n items" >&2; return 1; }
			item=${out#*$'\n'}
			item=${item#task }
			line=${item%% *}
			text=${item#* }
			echo "$line $text" >>"$T/claims.$p"
			pos=$npos
			report=(task "$line" 0 "$text")
			;;
		wait)	sleep 0.05 ;;
		none)	return 0 ;;
		*)	echo "proc $p: reply [$out]" >&2; return 1 ;;
		esac
	done
}

start=$(date +%s)
pids=()
for ((p = 0; p < NPROC; p++)); do
	: >"$T/claims.$p"
	: >"$T/fins.$p"
	worker $p &
	pids+=($!)
done
# bounded: a worker loop that never ends is a failure, not a hang
( sleep 120 & s=$!; trap 'kill $s; exit' TERM; wait $s
  echo "timed out: killing the workers" >&2; kill "${pids[@]}" ) &
watchdog=$!
LIB_CLEANUP+=("kill $watchdog 2>/dev/null")
failed=0
for pid in "${pids[@]}"; do
	wait "$pid" || failed=$((failed + 1))
done
kill $watchdog 2>/dev/null
wait $watchdog 2>/dev/null
unset 'LIB_CLEANUP[-1]'
say "(all $NPROC processes done in $(($(date +%s) - start))s)"
[ $failed -eq 0 ] || die "$failed worker processes failed"

say "each process got its own worker id, 0..$((NPROC - 1))"
[ "$(cat "$T"/id.* | sort -n | tr '\n' ' ')" = \
    "$(seq 0 $((NPROC - 1)) | tr '\n' ' ')" ] ||
	die "worker ids: $(cat "$T"/id.* | sort -n | tr '\n' ' ')"

say "the claim logs: $NTASK claims in all, no line or task twice"
[ "$(cat "$T"/claims.* | wc -l)" -eq $NTASK ] ||
	die "$(cat "$T"/claims.* | wc -l) claims, want $NTASK"
dups=$(cat "$T"/claims.* | sort | uniq -d | head -n 5)
[ -z "$dups" ] || die "claimed more than once: $dups"
dups=$(cat "$T"/claims.* | cut -d ' ' -f 1 | sort | uniq -d | head -n 5)
[ -z "$dups" ] || die "lines claimed more than once: $dups"
for ((p = 0; p < NPROC; p++)); do
	# each claimed line held the task its line number says (header first)
	bad=$(awk '$0 != $1 " echo task " ($1 - 1)' "$T/claims.$p" | head -n 3)
	[ -z "$bad" ] || die "proc $p got a wrong line/text pair: $bad"
done
say "(claims per process: $(wc -l "$T"/claims.* | awk '$2 != "total" {printf "%s ", $1}'))"
fins=$(cat "$T"/fins.* | sort | uniq -c | tr -s ' ' | tr '\n' ';')
[ "$fins" = " $NTASK done;" ] ||
	die "every report must be finished (FIN done) once: $fins"

say "the file: header, $NTASK tasks each #ok once, $NPROC registrations"
expect_eq "line count" "$(wc -l <"$F")" $((1 + NTASK + NPROC))
expect_eq "header" "$(head -n 1 "$F")" "#LASTWORKER $((NPROC - 1))"
unstamp "$F" | sed -n "2,$((NTASK + 1))p" | awk -v n=$NTASK '
	{
		want = "^#echo task " NR " # worker [0-9]+ # \\(T \\.\\.\\. T\\) #ok$"
		if ($0 !~ want) { print "line " NR + 1 ": " $0; bad++ }
		if (gsub(/ # worker /, "&") != 1) { print "line " NR + 1 ": annotations"; bad++ }
	}
	END { exit bad > 0 }' >"$T/bad" || die "malformed task lines: $(head -n 5 "$T/bad")"
regs=$(unstamp "$F" | tail -n $NPROC)
grep -vxE '# worker [0-9]+: proc [0-9]+ \(T\)' <<<"$regs" &&
	die "malformed registration lines (above)"
for ((p = 0; p < NPROC; p++)); do
	grep -qx "# worker $(cat "$T/id.$p"): proc $p (T)" <<<"$regs" ||
		die "no registration of proc $p as worker $(cat "$T/id.$p")"
done

say "every task recorded by the worker that claimed it"
for ((p = 0; p < NPROC; p++)); do
	id=$(cat "$T/id.$p")
	# lines whose annotation names this worker, against its claim log
	diff <(grep -n " # worker $id # " "$F" | cut -d : -f 1) \
	    <(cut -d ' ' -f 1 "$T/claims.$p" | sort -n) >&2 ||
		die "proc $p (worker $id): file and claim log disagree"
done
"$CLAIM" status "$F" --json | sed 1d | python3 -c "
import json, sys
d = json.load(sys.stdin)['tasks']
assert d['done'] == $NTASK and d['total'] == $NTASK, d
" || die "status: not all done"

say "exactly once, under contention"
