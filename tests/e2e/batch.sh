#!/usr/bin/env bash
# Batched claims (issue 14): rtq --batch K claims up to K tasks at once,
# locally and over ssh.  Every task runs exactly once, with -j and with
# --batch auto; the tasks not started are marked "queued" in the file and
# in --status; a Ctrl-C gives them back at once while the task running
# finishes; a worker killed with kill -9 gives them back when its lease
# runs out, and another worker runs them; #@ affinity, #: groups and init
# lines hold inside a batch as they do one task at a time.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T

# runs FILE: how many lines FILE has (0 when it does not exist)
runs() { [ -e "$1" ] && wc -l <"$1" || echo 0; }

# once DIR N: DIR/1 .. DIR/N each hold exactly one line
once() {
	local k
	for ((k = 1; k <= $2; k++)); do
		expect_eq "runs of task $k" "$(runs "$1/$k")" 1
	done
}

# queue NAME FIRST N: f=$T/NAME.sh and d=$T/NAME.d; the tasks of lines
# FIRST..N of f each add a line to d/LINE (FIRST 2: the caller writes
# line 1, given as the rest of the arguments)
queue() {
	local name=$1 first=$2 n=$3 k
	shift 3
	f=$T/$name.sh
	d=$T/$name.d
	mkdir "$d"
	{
		[ "$#" -gt 0 ] && echo "$*"
		for ((k = first; k <= n; k++)); do echo "echo x >>$d/$k"; done
	} >"$f"
}

# queued FILE: how many lines of FILE are claimed in a batch, not started
queued() { grep -c ' \.\.\. queued$' "$1"; }

cases() {
	local where=$1 at=$2 f d k rc a b

	say "$where: 60 tasks, -j 2 --batch 8: each runs once"
	queue "$where-many" 1 60
	rc=0
	"$RTQ" -x -j 2 --batch 8 "$at$f" >"$T/$where-many.out" 2>&1 || rc=$?
	expect_eq "$where: -x exit status" "$rc" 0
	once "$d" 60
	no_running "$f"
	expect_eq "$where: lines done" "$(grep -c ') #ok$' "$f")" 60

	say "$where: --batch auto: each runs once"
	queue "$where-auto" 1 80
	rc=0
	"$RTQ" -x --batch auto "$at$f" >"$T/$where-auto.out" 2>&1 || rc=$?
	expect_eq "$where: -x --batch auto exit status" "$rc" 0
	once "$d" 80
	expect_eq "$where: lines done (auto)" "$(grep -c ') #ok$' "$f")" 80

	say "$where: an rtq-claim without serve sessions: one task at a time"
	queue "$where-noserve" 1 6
	rc=0
	RTQ_NOSERVE=1 "$RTQ" -x --batch auto "$at$f" >"$T/$where-noserve.out" 2>&1 || rc=$?
	expect_eq "$where: exit status without serve" "$rc" 0
	once "$d" 6
	grep -q "has no serve session: claims go one task at a time" "$T/$where-noserve.out" ||
		die "$where: not said: $(cat "$T/$where-noserve.out")"

	say "$where: Ctrl-C gives the tasks not started back at once"
	queue "$where-int" 2 6 "touch $T/$where-int.started; sleep 300"
	cp "$f" "$T/$where-int.orig"
	start_worker "$where-int" --batch 6 --poll 60 "$at$f"
	a=$wpid
	wait_for 20 test -e "$T/$where-int.started" ||
		{ show "$where-int"; die "$where: the first task did not start"; }
	expect_eq "$where: queued lines" "$(queued "$f")" 5
	"$RTQ" --status "$at$f" >"$T/st" || die "$where: --status"
	grep -q "1 running, 5 queued in batches" "$T/st" ||
		die "$where: --status: $(cat "$T/st")"
	grep -q "and 5 more of its batch, not started" "$T/st" ||
		die "$where: --status: $(cat "$T/st")"
	"$RTQ" --status --json "$at$f" >"$T/st.json" || die "$where: --json"
	python3 - "$T/st.json" <<'EOF' || die "$where: JSON: $(cat "$T/st.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tasks"]["running"] == 1 and d["tasks"]["queued"] == 5, d["tasks"]
w = [x for x in d["workers"] if x["task"]]
assert len(w) == 1 and w[0]["queued"] == 5 and w[0]["task"]["line"] == 2, w
EOF
	kill -INT "$a"
	# its 5 tasks are as they were written (after the #LASTWORKER line
	# and the running one), while the first still runs
	wait_for 5 eval '[ "$(sed -n 3,7p "$f")" = "$(tail -n +2 "$T/$where-int.orig")" ]' ||
		{ show "$where-int"; cat "$f"; die "$where: not given back within 5 s"; }
	grep -q '^#touch .*sleep 300 # worker 0 # (.* \.\.\.$' "$f" ||
		die "$where: the running task is no longer running: $(cat "$f")"
	grep -q "gave back the 5 tasks of the batch not started" "$T/$where-int.err" ||
		{ show "$where-int"; die "$where: the worker did not say so"; }
	rc=0
	"$RTQ" --exit-when-idle --batch 4 "$at$f" >"$T/$where-int2.out" 2>&1 || rc=$?
	expect_eq "$where: second worker's exit status" "$rc" 0
	for ((k = 2; k <= 6; k++)); do
		expect_eq "$where: runs of line $k" "$(runs "$d/$k")" 1
	done
	kill -INT "$a"		# the second Ctrl-C stops the sleep now
	finish_worker "$where-int" "$a" 20

	say "$where: kill -9: the batch goes back when the lease runs out"
	queue "$where-k9" 2 6 \
	    "test -e $T/$where-k9.1 || { touch $T/$where-k9.1; sleep 300; }"
	start_worker "$where-k9" --batch 6 --lease 4 --poll 60 "$at$f"
	a=$wpid
	wait_for 20 test -e "$T/$where-k9.1" ||
		{ show "$where-k9"; die "$where: the first task did not start"; }
	expect_eq "$where: queued lines (k9)" "$(queued "$f")" 5
	pkill -9 -s "$a"
	finish_worker "$where-k9" "$a" 10
	rc=0
	"$RTQ" -x --batch 4 "$at$f" >"$T/$where-k9b.out" 2>&1 || rc=$?
	expect_eq "$where: the next worker's exit status" "$rc" 0
	for ((k = 2; k <= 6; k++)); do
		expect_eq "$where: runs of line $k (k9)" "$(runs "$d/$k")" 1
	done
	expect_eq "$where: lines lost by worker 0, then done by worker 1" \
	    "$(grep -c '^#echo .* # worker 0 # (.* \.\.\. queued .*) #lost # worker 1 # (.*) #ok$' "$f")" 5
	no_running "$f"

	say "$where: #@ affinity inside a batch"
	f=$T/$where-aff.sh
	for ((k = 1; k <= 9; k++)); do
		if ((k % 3 == 0)); then echo "echo $k #@1"; else echo "echo $k"; fi
	done >"$f"
	rc=0
	"$RTQ" --exit-when-idle --id 0 --batch 8 "$at$f" >"$T/$where-aff0.out" 2>&1 || rc=$?
	expect_eq "$where: worker 0's exit status" "$rc" 0
	expect_eq "$where: lines worker 0 may not run, left pending" \
	    "$(grep -c '^echo [369] #@1$' "$f")" 3
	rc=0
	"$RTQ" -x --id 1 --batch 8 "$at$f" >"$T/$where-aff1.out" 2>&1 || rc=$?
	expect_eq "$where: worker 1's exit status" "$rc" 0
	expect_eq "$where: #@1 lines run by worker 1" \
	    "$(grep -c '^#echo [369] #@1 # worker 1 # (.*) #ok$' "$f")" 3
	expect_eq "$where: others by worker 0" \
	    "$(grep -c '^#echo [124578] # worker 0 # (.*) #ok$' "$f")" 6

	say "$where: #: groups and init lines inside a batch"
	f=$T/$where-grp.sh
	{
		echo "sleep 0.3; echo 1 >>$T/$where-order #:g"
		echo "echo plain"
		# as it starts, the line above in its group has ended #ok
		echo "grep -q '^#sleep 0.3; echo 1 .*) #ok\$' $f || echo early >>$T/$where-bad; echo 2 >>$T/$where-order #:g"
		echo "test -z \"\${X:-}\" || echo X-set >>$T/$where-bad"
		echo "export X=1 #!"
		echo "test \"\${X:-}\" = 1 || echo X-unset >>$T/$where-bad"
		echo "test \"\${X:-}\" = 1 || echo X-unset >>$T/$where-bad"
	} >"$f"
	rc=0
	"$RTQ" -x -j 2 --batch 8 "$at$f" >"$T/$where-grp.out" 2>&1 || rc=$?
	expect_eq "$where: groups: exit status" "$rc" 0
	[ ! -e "$T/$where-bad" ] || die "$where: $(cat "$T/$where-bad"): $(cat "$f")"
	expect_eq "$where: group order" "$(tr '\n' ' ' <"$T/$where-order")" "1 2 "
	expect_eq "$where: tasks done" "$(grep -c ') #ok$' "$f")" 6
}

cases local ""
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
cases ssh "rtqtest:"
say "all cases behaved"
