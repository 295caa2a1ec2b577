#!/usr/bin/env bash
# Tasks' output kept on the master (issue 13), over the loopback sshd:
# --follow from another process shows a marker within 2 s of the task
# printing it and exits with the task's status; --log prints a finished
# and a failed task's output after the worker that ran them has exited
# and its own files are gone; a task printing more than --log-cap leaves
# a log with its head, the mark and its tail; the order of a task's
# output, stderr in a file of its own; a planted symlink in the log
# directory is not written through; --follow FILE follows every running
# task; local mode uses the same directory.
. "$RTQ_TOP/tests/e2e/lib.sh"
with_sshd
export TMPDIR=$T/wtmp	# the worker's own files, removed below
mkdir -p "$TMPDIR"
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
H=$SSHD_HOST
F=$T/q.sh
L=$F.logs

say "--follow shows a marker within 2 s and exits with the task's status"
cat >"$F" <<EOF
echo start; sleep 0.3; echo MARK-\$(date +%s%N); while [ ! -e $T/go ]; do sleep 0.05; done; echo bye; exit 7
echo out1; echo err1 >&2; echo out2
seq 1 200000
EOF
start_worker w -x --poll 0.1 "$H:$F"
w1=$wpid
wait_for 10 grep -q ' # worker 0 # ' "$F" || { show w; die "line 2 never started"; }
"$RTQ" --follow "$H:$F" 2 >"$T/follow" 2>"$T/follow.err" &
fpid=$!
wait_for 10 grep -q '^MARK-' "$T/follow" || { cat "$T/follow.err"; show w; die "--follow did not show the marker"; }
seen=$(date +%s%N)
printed=$(grep -o '^MARK-[0-9]*' "$T/follow" | cut -d- -f2)
lag=$(( (seen - printed) / 1000000 ))
echo "marker seen ${lag} ms after it was printed"
[ "$lag" -lt 2000 ] || die "--follow showed the marker after $lag ms"
gone "$fpid" || true
touch "$T/go"
wait_for 10 gone "$fpid" || die "--follow did not end with the task"
frc=0; wait "$fpid" || frc=$?
expect_eq "--follow's exit status" "$frc" 7
grep -qx bye "$T/follow" || die "--follow missed the task's last line: $(cat "$T/follow")"
finish_worker w "$w1" 30
show w

say "the worker's own files are gone; --log reads the master's copy"
rm -rf "$TMPDIR"/*
ls "$L"
"$RTQ" --log "$H:$F" 2 >"$T/l1" || die "--log of the failed task failed"
grep -qx start "$T/l1" && grep -qx bye "$T/l1" || die "--log of line 2: $(cat "$T/l1")"
"$RTQ" --log "$H:$F" 3 >"$T/l2" || die "--log of line 3 failed"
expect_eq "--log of line 3 (lines)" "$(sort "$T/l2")" "$(printf 'err1\nout1\nout2')"
expect_eq "stderr alone" "$(cat "$L/L3.w0.err")" "err1"
"$RTQ" --log "$H:$F" 4 | cmp - <(seq 1 200000) || die "--log of line 4 differs from its output"
# the worker printed the same output as today
grep -qx 200000 "$T/w.out" || die "the worker did not print the task's output"

say "a second attempt: --attempt, --all"
rc=0; "$RTQ" -x --poll 0.1 "$H:$F" >"$T/w2.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || die "the second worker failed ($rc): $(cat "$T/w2.out")"
"$RTQ" --log "$H:$F" 2 >"$T/l1b" || die "--log of the second attempt failed"
grep -qx bye "$T/l1b" || die "the second attempt's log: $(cat "$T/l1b")"
"$RTQ" --log --attempt 1 "$H:$F" 2 | grep -qx start || die "--attempt 1"
expect_eq "--all headers" "$("$RTQ" --log --all "$H:$F" 2 | grep -c '^== line 2, attempt ')" 2
"$RTQ" --log --attempt 3 "$H:$F" 2 2>"$T/e" && die "--attempt 3 of a line run twice succeeded"
grep -q "no attempt 3" "$T/e" || die "--attempt 3: $(cat "$T/e")"

say "a task printing more than the cap: head, mark, tail"
F=$T/cap.sh L=$F.logs
echo 'seq 1 300000' >"$F"
"$RTQ" -x --poll 0.1 --log-cap 64k "$H:$F" >/dev/null 2>&1 || die "the capped worker failed"
"$RTQ" --log "$H:$F" 2 >"$T/capped"
size=$(stat -c %s "$T/capped")
echo "capped log: $size bytes"
[ "$size" -le 70000 ] || die "the capped log has $size bytes"
head -1 "$T/capped" | grep -qx 1 || die "the head is missing"
tail -1 "$T/capped" | grep -qx 300000 || { grep -n rtq "$T/capped"; tail -3 "$T/capped"; die "the tail is missing"; }
grep -qE '^\[rtq: [0-9]+ bytes of output cut here\]$' "$T/capped" || die "no mark of the cut"
cmp "$T/capped" "$(ls -t "$L"/L2.w*.log | head -1)" || die "the folded file on the master differs from --log"
ls "$L" | grep -q '@' && die "tail segments were left: $(ls "$L")"

say "a planted symlink in the log directory is not written through"
F=$T/sym.sh L=$F.logs
mkdir -m 700 "$L"
echo 'echo secret-output' >"$F"
echo precious >"$T/victim"
ln -s "$T/victim" "$L/L2.w3.log"
"$RTQ" -x -i 3 --poll 0.1 "$H:$F" >"$T/w3.out" 2>&1
expect_eq "the symlink's target" "$(cat "$T/victim")" precious
grep -q "did not keep the output" "$T/w3.out" || die "the refusal was not said: $(cat "$T/w3.out")"
grep -qx secret-output "$T/w3.out" || die "the task's output did not reach the worker's terminal"

say "--follow FILE: every running task, lines after their line number"
F=$T/all.sh L=$F.logs
printf '%s\n' "echo a1; while [ ! -e $T/go2 ]; do sleep 0.05; done; echo a2" \
	"echo b1; while [ ! -e $T/go2 ]; do sleep 0.05; done; echo b2" >"$F"
start_worker j -x -j 2 --poll 0.1 "$H:$F"
wj=$wpid
"$RTQ" --follow "$H:$F" >"$T/fall" 2>&1 &
fpid=$!
wait_for 10 grep -qx '\[2\] a1' "$T/fall" || die "--follow FILE: $(cat "$T/fall")"
wait_for 10 grep -qx '\[3\] b1' "$T/fall" || die "--follow FILE: $(cat "$T/fall")"
touch "$T/go2"
wait_for 10 gone "$fpid" || die "--follow FILE did not end when the queue was done"
grep -qx '\[2\] a2' "$T/fall" && grep -qx '\[3\] b2' "$T/fall" || die "--follow FILE: $(cat "$T/fall")"
finish_worker j "$wj" 20

say "local mode: the same directory"
F=$T/local.sh L=$F.logs
echo 'echo local-run' >"$F"
"$RTQ" -x --poll 0.1 "$F" >/dev/null 2>&1 || die "local worker failed"
expect_eq "local --log" "$("$RTQ" --log "$F" 2)" local-run
G=$T/n.sh
echo 'echo not-kept' >"$G"
"$RTQ" -x --no-logs --poll 0.1 "$G" >"$T/nl.out" 2>&1 || die "--no-logs worker failed"
grep -qx not-kept "$T/nl.out" || die "--no-logs: the output was not printed"
[ -e "$G.logs" ] && die "--no-logs kept a log: $(ls "$G.logs")"
"$RTQ" --log "$G" 2 2>"$T/e" && die "--log of a --no-logs task succeeded"
grep -q "no output of line 2" "$T/e" || die "--log without a log: $(cat "$T/e")"

say "rtq ~/x.sh -m HOST: a path under the local home is taken as under the home there"
mkdir -p "$T/lh"
HOME=$T/lh "$RTQ" --status -m "$H" "$T/lh/nosuch-$$.sh" >/dev/null 2>"$T/e" && die "--status of a missing file succeeded"
grep -qF "taking $T/lh/nosuch-$$.sh as ~/nosuch-$$.sh on $H" "$T/e" || die "the home was not taken as the master's: $(cat "$T/e")"
grep -qF "$HOME_ORIG/nosuch-$$.sh: no such task file" "$T/e" || die "the master did not look in its home: $(cat "$T/e")"
echo PASS
