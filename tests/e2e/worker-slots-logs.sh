#!/usr/bin/env bash
# -j N: N workers in one process, each with its own id and shell, each task
# seeing RTQ_SLOT; output lines carry the worker id.  --log-dir: each
# task's output also in DIR/<file>.<line>.<id>.log, exactly that output;
# a failed task's log is named in the file and in --status.
. "$RTQ_TOP/tests/e2e/lib.sh"
F=$T/gpu.sh
for i in $(seq 1 8); do
	echo "echo \"task $i slot=\$RTQ_SLOT id=\$WORKERID\"; sleep 0.3"
done >"$F"
echo 'echo "to stdout"; echo "to stderr" >&2; exit 5' >>"$F"

say "rtq -j 3 -x --log-dir"
rc=0
timeout 60 "$RTQ" -j 3 -x --poll 0.1 --log-dir "$T/logs" "$F" >"$T/out" 2>&1 || rc=$?
# the last task fails on two slots (one more attempt): failed for good
[ "$rc" = 3 ] || die "rtq -j 3 exited $rc, not 3: $(cat "$T/out")"
cat "$T/out"
[ "$(grep -c '#ok$' "$F")" -eq 8 ] || die "not every task ended #ok"
grep -q '#error5 log=' "$F" || die "the failed task does not name its log"
regs=$(grep -c '^# worker [0-9]*: ' "$F")
expect_eq "registrations" "$regs" 3
# each task saw a slot 0..2 and its own worker's id, consistently
slots=$(grep -o 'slot=[0-9]* id=[0-9]*' "$T/out" | sort -u)
nslots=$(cut -d' ' -f1 <<<"$slots" | sort -u | wc -l)
expect_eq "distinct RTQ_SLOT values" "$nslots" 3
pairs=$(wc -l <<<"$slots")
expect_eq "slot/id pairs (one id per slot)" "$pairs" 3
# each task's output line after its slot, the one its RTQ_SLOT says
bad=$(grep -E 'task [0-9]+ slot=' "$T/out" | grep -v '^\[rtq ' |
	grep -vE '^\[slot ([0-9])\] task [0-9]+ slot=\1 ')
[ -z "$bad" ] || die "task output lines not after their slot: $bad"

say "each log holds exactly its task's output"
for i in $(seq 1 8); do
	line=$((i + 1))		# the header went in above
	log=$(ls "$T/logs/gpu.sh.$line."*.log 2>/dev/null | head -1)
	[ -n "$log" ] || die "no log for line $line"
	id=${log%.log}
	id=${id##*.}
	want=$(grep -o "task $i slot=[0-9]* id=$id\$" "$T/out" | head -1)
	[ -n "$want" ] || die "task $i of worker $id is not in the output"
	expect_eq "log of line $line" "$(cat "$log")" "$want"
done
# the last attempt's log, as the file names it
flog=$(grep -o 'log=[^ ]*$' "$F" | tail -1 | sed 's/^log=//')
[ -f "$flog" ] || die "the log named in the file is missing: $flog"
expect_eq "log of the failed task" "$(sort "$flog")" "$(printf 'to stderr\nto stdout')"
"$RTQ" --status "$F" >"$T/status"
grep -q "log (on worker [0-9]*): $flog" "$T/status" ||
	die "--status does not name the failed task's log: $(cat "$T/status")"
"$RTQ" --status --json "$F" | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = d["failed"]
assert len(f) == 1 and f[0]["status"] == "error5", f
assert f[0]["log"].endswith(".log"), f
' || die "--status --json lacks the log of the failed task"
