#!/usr/bin/env bash
# Failures handled like a scheduler (issue 12), locally and over ssh: a
# failing task runs exactly 1 + N times (--retries N, #retries=N), never
# twice on one machine while another machine could take it; rtq -x and
# rtq --wait exit 3 while a task is failed for good and 0 once
# --reset --failed and a fix made it pass; a #: line behind a failed task
# does not hold -x workers; --kill stops a running task within seconds,
# with nothing left running and no retry, and cancels a pending one;
# --pause stops new claims (a -x worker stays) until --resume;
# --exit-when-idle leaves while another worker's long task runs;
# --wait --timeout gives up with 124.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T

# runs FILE: how many lines FILE has (0 when it does not exist)
runs() { [ -e "$1" ] && wc -l <"$1" || echo 0; }

# cases WHERE TARGETPREFIX: TARGETPREFIX is "" (local) or "host:"
cases() {
	local where=$1 at=$2 f rc w w2 t0 ms

	say "$where: --retries N and #retries=N: exactly 1 + N runs"
	f=$T/$where-retry.sh
	printf 'echo x >>%s/%s-a.runs; false\necho x >>%s/%s-b.runs; false #retries=1\n' \
	    "$T" "$where" "$T" "$where" >"$f"
	rc=0
	"$RTQ" -j 4 -x --retries 2 "$at$f" >"$T/$where-retry.out" 2>&1 || rc=$?
	expect_eq "$where: -x exit status with failed tasks" "$rc" 3
	expect_eq "$where: runs with --retries 2" "$(runs "$T/$where-a.runs")" 3
	expect_eq "$where: runs with #retries=1" "$(runs "$T/$where-b.runs")" 2
	grep -q '^#echo x.*#error1 # worker .*#error1 # worker .*#error1$' "$f" ||
		die "$where: the failed-for-good line does not keep its attempts: $(cat "$f")"
	"$RTQ" --status "$at$f" >"$T/st" || die "$where: --status"
	grep -q "failed for good after 3 attempts" "$T/st" || die "$where: status: $(cat "$T/st")"
	"$RTQ" --status --json "$at$f" >"$T/st.json" || die "$where: --status --json"
	python3 - "$T/st.json" <<'EOF' || die "$where: JSON: $(cat "$T/st.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tasks"]["failed"] == 2, d["tasks"]
assert d["tasks"]["total"] == 2, d["tasks"]
f = {x["line"]: x for x in d["failed"]}
one = [x for x in d["failed"] if "#retries=1" in x["text"]][0]
assert one["final"] and one["attempts"] == 2 and one["retries_left"] == 0, one
assert d["paused"] is None
EOF

	say "$where: -x and --wait exit 3 while a task failed for good, 0 once fixed"
	f=$T/$where-fix.sh
	printf 'test -e %s/%s-fixed #:g\necho after >>%s/%s-after.runs #:g\n' \
	    "$T" "$where" "$T" "$where" >"$f"
	rc=0
	"$RTQ" -x --retries 0 "$at$f" >"$T/$where-fix1.out" 2>&1 || rc=$?
	expect_eq "$where: -x exit status" "$rc" 3
	grep -q "nothing left to run .*1 failed, 1 blocked by failed tasks" "$T/$where-fix1.out" ||
		die "$where: -x did not say what it left: $(cat "$T/$where-fix1.out")"
	rc=0
	"$RTQ" --wait "$at$f" >"$T/wait.out" 2>&1 || rc=$?
	expect_eq "$where: --wait exit status" "$rc" 3
	grep -q "finished: 0 done, 1 failed, 1 blocked by failed tasks" "$T/wait.out" ||
		die "$where: --wait said: $(cat "$T/wait.out")"
	"$RTQ" --status "$at$f" >"$T/st" || die "$where: --status"
	grep -q "line 3  blocked by failed line 2" "$T/st" || die "$where: status: $(cat "$T/st")"
	touch "$T/$where-fixed"
	"$RTQ" --reset --failed "$at$f" >/dev/null || die "$where: --reset --failed"
	rc=0
	"$RTQ" -x --retries 0 "$at$f" >"$T/$where-fix2.out" 2>&1 || rc=$?
	expect_eq "$where: -x exit status once fixed" "$rc" 0
	rc=0
	"$RTQ" --wait "$at$f" >"$T/wait.out" 2>&1 || rc=$?
	expect_eq "$where: --wait exit status once fixed" "$rc" 0
	expect_eq "$where: the line behind it ran" "$(runs "$T/$where-after.runs")" 1

	say "$where: --kill stops a running task within 5 s; no retry"
	f=$T/$where-kill.sh
	printf 'sleep 300 #:k\necho never >>%s/%s-never.runs #:k\necho other\n' \
	    "$T" "$where" >"$f"
	start_worker "$where-k1" --poll 60 "$at$f"
	w=$wpid
	wait_for 20 grep -q '^#sleep 300 #:k # worker 0 # (.* \.\.\.$' "$f" ||
		{ show "$where-k1"; die "$where: sleep 300 did not start"; }
	start_worker "$where-k2" --poll 60 "$at$f"
	w2=$wpid
	wait_for 20 grep -q '^#echo other # worker 1 .*#ok$' "$f" ||
		{ show "$where-k2"; die "$where: the second worker did not run 'echo other'"; }
	# a pause moves the lines down by one: the kill still reaches it
	"$RTQ" --pause "$at$f" >/dev/null || die "$where: --pause"
	t0=$(_usecs)
	"$RTQ" --kill "$at$f" 3,4 >"$T/kill.out" 2>&1 || { cat "$T/kill.out"; die "$where: --kill refused"; }
	grep -q "line 3: asked worker 0 to stop it" "$T/kill.out" &&
		grep -q "line 4: cancelled (it was pending)" "$T/kill.out" ||
		die "$where: --kill said: $(cat "$T/kill.out")"
	wait_for 10 grep -q '^#sleep 300 #:k # worker 0 # (.* \.\.\. kill .*) #killed$' "$f" ||
		{ show "$where-k1"; cat "$f"; die "$where: not killed"; }
	ms=$((($(_usecs) - t0) / 1000))
	[ "$ms" -le 5000 ] || die "$where: killed after $ms ms"
	wait_for 5 eval "! pgrep -s $w -f 'sleep 300' >/dev/null" || die "$where: sleep 300 is left running"
	grep -q '^#echo never.* # worker - # (.*) #killed$' "$f" || die "$where: pending line not cancelled: $(cat "$f")"
	rc=0
	"$RTQ" --kill "$at$f" 1 >"$T/kill.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q "line 1 is a comment, not a task; nothing killed" "$T/kill.out" ||
		die "$where: --kill of the header: $rc $(cat "$T/kill.out")"
	"$RTQ" --resume "$at$f" >/dev/null || die "$where: --resume"
	cp "$f" "$T/before"
	rc=0
	"$RTQ" --kill "$at$f" 4 x 2>"$T/kill.out" || rc=$?
	expect_eq "$where: --kill with two files: usage" "$rc" 2
	cmp -s "$f" "$T/before" || die "$where: a refused --kill changed the file"
	say "$where: neither worker retries the killed task"
	"$RTQ" --wait --timeout 20 "$at$f" >"$T/wait.out" 2>&1 || die "$where: --wait: $(cat "$T/wait.out")"
	grep -q "finished: 1 done, 2 killed" "$T/wait.out" || die "$where: --wait said: $(cat "$T/wait.out")"
	kill -INT "$w" "$w2"
	finish_worker "$where-k1" "$w" 20
	finish_worker "$where-k2" "$w2" 20
	expect_eq "$where: lines run" "$(grep -c '# worker [01] # (' "$f")" 2
	[ -e "$T/$where-never.runs" ] && die "$where: a cancelled line ran"

	say "$where: --pause: nothing new starts, a -x worker stays; --resume"
	f=$T/$where-pause.sh
	printf 'while [ ! -e %s/%s-go ]; do sleep 0.05; done\necho b\n' "$T" "$where" >"$f"
	start_worker "$where-p1" -x --poll 60 "$at$f"
	w=$wpid
	wait_for 20 grep -q '^#while .*# worker 0 # (.* \.\.\.$' "$f" ||
		{ show "$where-p1"; die "$where: the first task did not start"; }
	"$RTQ" --pause "$at$f" >"$T/pause.out" || die "$where: --pause"
	grep -q "^#PAUSED since " "$f" || die "$where: no #PAUSED line: $(cat "$f")"
	"$RTQ" --status --json "$at$f" | grep -q '"paused":[0-9]' || die "$where: JSON does not say paused"
	touch "$T/$where-go"
	wait_for 20 grep -q '^#while .*#ok$' "$f" || { show "$where-p1"; die "$where: the running task was not reported"; }
	! wait_for 1.5 grep -q '^#echo b' "$f" || die "$where: a task started while paused"
	gone "$w" && { show "$where-p1"; die "$where: the -x worker left because of the pause"; }
	"$RTQ" --resume "$at$f" >/dev/null || die "$where: --resume"
	grep -q "^#PAUSED" "$f" && die "$where: --resume left the #PAUSED line"
	finish_worker "$where-p1" "$w" 20
	expect_eq "$where: -x exit after --resume" "$wrc" 0
	grep -q '^#echo b # worker 0 .*#ok$' "$f" || die "$where: 'echo b' did not run after --resume"

	say "$where: --exit-when-idle leaves while another worker's long task runs"
	f=$T/$where-idle.sh
	printf 'sleep 300\n' >"$f"
	start_worker "$where-i1" --poll 60 "$at$f"
	w=$wpid
	wait_for 20 grep -q '^#sleep 300 # worker 0 # (.* \.\.\.$' "$f" ||
		{ show "$where-i1"; die "$where: sleep 300 did not start"; }
	start_worker "$where-i2" --exit-when-idle "$at$f"
	w2=$wpid
	finish_worker "$where-i2" "$w2" 20
	expect_eq "$where: --exit-when-idle exit status" "$wrc" 0
	grep -q "nothing now to run .*1 running" "$T/$where-i2.out" || { show "$where-i2"; die "$where: no summary"; }
	say "$where: --wait --timeout gives up with 124"
	t0=$(_usecs)
	rc=0
	"$RTQ" --wait --timeout 1 "$at$f" >"$T/wait.out" 2>&1 || rc=$?
	expect_eq "$where: --wait --timeout exit status" "$rc" 124
	ms=$((($(_usecs) - t0) / 1000))
	[ "$ms" -lt 10000 ] || die "$where: --wait --timeout 1 took $ms ms"
	grep -q "gave up waiting: 0 done, 1 running" "$T/wait.out" || die "$where: --wait said: $(cat "$T/wait.out")"
	kill -TERM "$w"
	finish_worker "$where-i1" "$w" 20
}

cases local ""

say "local: never twice on one machine while another could take it"
f=$T/machines.sh
: >"$f"
start_worker A -n A -j 2 --poll 60 "$f"
a=$wpid
start_worker B -n B -j 2 --poll 60 "$f"
b=$wpid
wait_for 20 eval '[ "$(grep -c "^# worker" "$f")" = 4 ]' || { show A; show B; die "not 4 workers"; }
# the failing task ends while the three other slots are busy; the slot of
# its machine that is free first must leave it to the other machine
printf '%s\n' "sleep 1; false" "sleep 3" "sleep 3" "sleep 3" >>"$f"
wait_for 30 grep -q '^#sleep 1; false # worker [0-9]* # (.*#error1 # worker [0-9]* # (.*#error1$' "$f" ||
	{ show A; show B; cat "$f"; die "the failing task did not run twice"; }
kill -INT "$a" "$b"
finish_worker A "$a" 30
finish_worker B "$b" 30
python3 - "$f" <<'EOF' || die "ran twice on one machine: $(cat "$f")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
name = {}
for l in lines:
    m = re.match(r"# worker (\d+): (\S+)", l)
    if m:
        name[m.group(1)] = m.group(2)
fail = [l for l in lines if l.startswith("#sleep 1; false")][0]
ws = re.findall(r" # worker (\d+) # \(", fail)
assert len(ws) == 2, ws
assert name[ws[0]] != name[ws[1]], (ws, name)
EOF

with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
cases ssh "rtqtest:"
say "all cases behaved"
