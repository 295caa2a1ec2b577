#!/usr/bin/env bash
# Runtime variables (SPEC 3.4), the seed README's tasklist1/2/3 example
# with absolute paths: four workers with ids 0-3; after task1-4, worker 1
# exits (status 0, "exit" with no N), worker 2 moves to tasklist2 with a
# new id, workers 0 and 3 move to tasklist3 keeping theirs; task5 never
# runs.  Then "exit 7 #!" ends a worker with status 7, and "jumpto=FILE #!"
# is "newtask=FILE; newid=$WORKERID".
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones


L1=$T/tasklist1.sh L2=$T/tasklist2.sh L3=$T/tasklist3.sh
cat >"$L1" <<EOF
echo task1; sleep 1
echo task2; sleep 1
echo task3; sleep 1
echo task4; sleep 1
exit #!#@1
newtask="$L2" #!#@2
newtask="$L3"; newid=\$WORKERID #!
echo task5; sleep 1
EOF
# tasklist2 has handed out ids up to 4 already, so the newcomer gets 5
cat >"$L2" <<EOF
#LASTWORKER 4
echo "l2 id=\$WORKERID file=\$TASKFILE"
EOF
cat >"$L3" <<EOF
echo "l3a id=\$WORKERID file=\$TASKFILE"; sleep 0.5
echo "l3b id=\$WORKERID"; sleep 0.5
echo "l3c id=\$WORKERID"; sleep 0.5
echo "l3d id=\$WORKERID"; sleep 0.5
EOF

say "four workers, ids 0-3"
pids=()
for k in 0 1 2 3; do
	timeout -k 5 40 "$RTQ" -x --poll 0.2 -i "$k" -n "w$k" "$L1" \
		</dev/null >"$T/out$k" 2>"$T/err$k" &
	pids+=($!)
done
rcs=()
for k in 0 1 2 3; do
	rc=0
	wait "${pids[$k]}" || rc=$?
	rcs+=("$rc")
done
for k in 0 1 2 3; do echo "== worker $k: exit ${rcs[$k]}"; cat "$T/out$k" "$T/err$k"; done
for f in "$L1" "$L2" "$L3"; do echo "== $f"; cat "$f"; done

for k in 0 1 2 3; do
	expect_eq "exit status of worker $k" "${rcs[$k]}" 0
done
cat "$T"/out? >"$T/all"
for i in 1 2 3 4; do
	expect_eq "task$i output" "$(grep -cx "task$i" "$T/all")" 1
	expect_eq "task$i done" "$(grep -cE "^#echo task$i; sleep 1 # worker [0-3] # \([^)]*\) #ok\$" "$L1")" 1
done
grep -q '^task5$' "$T/all" && die "task5 ran"
expect_eq "task5 untouched" "$(grep 'task5' "$L1")" "echo task5; sleep 1"
expect_eq "tasklist1 header" "$(sed -n 1p "$L1")" "#LASTWORKER 3"

say "worker 1 exited at 'exit #!#@1', ran nothing from the other lists"
grep -qE '^l[23]' "$T/out1" && die "worker 1 ran a task after 'exit'"

say "worker 2 went to tasklist2 as worker 5"
expect_eq "l2 output" "$(grep '^l2 ' "$T/all")" "l2 id=5 file=$L2"
grep -q '^l2 ' "$T/out2" || die "l2 ran, but not in worker 2"
expect_eq "tasklist2" "$(unstamp "$L2" | sed -E 's/^(# worker 5: w2) .*/\1/')" \
"#LASTWORKER 5
#echo \"l2 id=\$WORKERID file=\$TASKFILE\" # worker 5 # (T ... T) #ok
# worker 5: w2"
grep -qE '^l3' "$T/out2" && die "worker 2 also ran tasklist3 tasks"

say "workers 0 and 3 went to tasklist3 with their ids"
for t in l3a l3b l3c l3d; do
	expect_eq "$t output" "$(grep -c "^$t " "$T/all")" 1
done
expect_eq "l3a file" "$(grep '^l3a ' "$T/all" | sed 's/.* file=//')" "$L3"
# each l3 line printed by worker k shows id k, and only 0 and 3 ran any
for k in 0 3; do
	if grep -E '^l3' "$T/out$k" | grep -vE "id=$k( |\$)"; then
		die "worker $k ran a tasklist3 task with another WORKERID"
	fi
done
ann=$(grep -oE ' # worker [0-9]+ # ' "$L3" | grep -oE '[0-9]+' | sort -u | tr '\n' ' ')
ran=$(for k in 0 1 2 3; do grep -qE '^l3' "$T/out$k" && echo $k; done | tr '\n' ' ')
expect_eq "tasklist3: annotated workers vs workers that printed l3 lines" "$ann" "$ran"
expect_eq "tasklist3 registrations" "$(grep -E '^# worker [0-9]+: ' "$L3" | sed -E 's/ \(.*//' | sort)" \
"# worker 0: w0
# worker 3: w3"
expect_eq "tasklist3 header" "$(sed -n 1p "$L3")" "#LASTWORKER 3"
expect_eq "tasklist3 all ok" "$(grep -cE '\) #ok$' "$L3")" 4
for f in "$L1" "$L2" "$L3"; do no_running "$f"; done

say "exit 7 #! ends the worker with status 7"
E=$T/exit7.sh
printf '%s\n' 'echo before-exit' 'exit 7 #!' 'echo after-exit' >"$E"
rc=0
timeout -k 5 20 "$RTQ" -x --poll 0.2 "$E" </dev/null >"$T/oute" 2>&1 || rc=$?
cat "$T/oute" "$E"
expect_eq "exit status" "$rc" 7
grep -q '^before-exit$' "$T/oute" || die "the task before 'exit 7' did not run"
grep -q '^after-exit$' "$T/oute" && die "a task after 'exit 7' ran"
expect_eq "task after exit untouched" "$(grep after-exit "$E")" "echo after-exit"

say "jumpto=FILE #! keeps the id"
J1=$T/j1.sh J2=$T/j2.sh
printf '%s\n' 'echo "j1 id=$WORKERID"' "jumpto=$J2 #!" 'echo never-j1' >"$J1"
printf '%s\n' '#LASTWORKER 20' 'echo "j2 id=$WORKERID file=$TASKFILE"' >"$J2"
timeout -k 5 20 "$RTQ" -x --poll 0.2 -i 9 -n jw "$J1" </dev/null >"$T/outj" 2>&1 ||
	{ cat "$T/outj"; die "jumpto worker failed"; }
cat "$T/outj" "$J1" "$J2"
expect_eq j1 "$(grep '^j1 ' "$T/outj")" "j1 id=9"
expect_eq j2 "$(grep '^j2 ' "$T/outj")" "j2 id=9 file=$J2"
grep -q '^never-j1$' "$T/outj" && die "the task after jumpto ran"
expect_eq "j2 registration" "$(grep -E '^# worker' "$J2" | sed -E 's/ \(.*//')" "# worker 9: jw"
# the header keeps the largest id handed out (SPEC 2.4)
expect_eq "j2 header" "$(sed -n 1p "$J2")" "#LASTWORKER 20"

say 'jumpto="~/FILE" (as the README writes it) is in the home directory'
mkdir "$T/home"
printf '%s\n' 'jumpto="~/j3.sh" #!' >"$T/j0.sh"
printf '%s\n' 'echo "j3 id=$WORKERID"' >"$T/home/j3.sh"
HOME=$T/home timeout -k 5 20 "$RTQ" -x --poll 0.2 -i 4 "$T/j0.sh" </dev/null >"$T/outt" 2>&1 ||
	{ cat "$T/outt"; die "jumpto=~/... worker failed"; }
cat "$T/outt"
expect_eq j3 "$(grep '^j3 ' "$T/outt")" "j3 id=4"

say "newtask without newid, newid alone does nothing"
N1=$T/n1.sh N2=$T/n2.sh
printf '%s\n' 'newid=77 #!' 'echo "n1 id=$WORKERID"' "newtask=$N2 #!" >"$N1"
printf '%s\n' 'echo "n2 id=$WORKERID"' >"$N2"
timeout -k 5 20 "$RTQ" -x --poll 0.2 -i 3 "$N1" </dev/null >"$T/outn" 2>&1 ||
	{ cat "$T/outn"; die "newtask worker failed"; }
cat "$T/outn" "$N1" "$N2"
expect_eq n1 "$(grep '^n1 ' "$T/outn")" "n1 id=3"
# newid was read and cleared after its own init line: n2 gets a fresh id
expect_eq n2 "$(grep '^n2 ' "$T/outn")" "n2 id=0"
say "ok"
