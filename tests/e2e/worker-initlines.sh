#!/usr/bin/env bash
# Init lines and the worker's shell (SPEC 3.2, 3.3): init lines run in the
# worker's long-lived shell (cd, variables, functions carry over), tasks run
# in a subshell of it (they cannot change it), WORKERID and TASKFILE are
# exported, a task's stdin is /dev/null.  A task claimed out of order runs
# in the environment of the init line above it (its snapshot), not in the
# worker's current one, and a relative `cd` init is not re-run from the
# wrong place.  A failing init line stops the worker, naming the line.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones


# The sections are independent: each runs in a subshell (die ends only
# it), and all are run; the test fails if any did.

# Where a task of worker 1 must fail while worker 0 runs a 3 s task
# ("sleep 3; ..."), it waits for that claim instead of failing after a
# fixed second, which on a loaded machine may come before worker 0 got
# there.  await FILE TEXT: until a line of FILE is TEXT... claimed (20 s)
cat >"$T/await" <<'EOF'
#!/bin/bash
for ((i = 0; i < 400; i++)); do
	awk -v t="#$2" 'index($0, t) == 1 { f = 1 } END { exit !f }' "$1" && exit 0
	sleep 0.05
done
exit 1
EOF
chmod +x "$T/await"
failed=()
section() {	# KEY TITLE FUNCTION
	say "$1. $2"
	("$3") || failed+=("$1. $2")
}

# 1. the environment of init lines and tasks
sec_1() {
	mkdir -p "$T/w/sub"
	F=$T/env.sh
	cat >"$F" <<EOF
cd $T/w #!
x=init1; myf() { echo "myf x=\$x"; } #!
echo "T1 pwd=\$PWD x=\$x \$(myf)"
cd /; x=changed; export y=leak; myf() { echo hacked; }; unset WORKERID; echo T2
echo "T3 pwd=\$PWD x=\$x y=\${y-unset} \$(myf)"
echo "T4 id=\$WORKERID file=\$TASKFILE"; bash -c 'echo "T4env id=\$WORKERID file=\$TASKFILE"'
cat; echo "T5 cat done"
read -r l; echo "T6 read status \$? [\${l-}]"
cd sub #!
echo "T7 pwd=\$PWD x=\$x"
EOF
	# The worker's own stdin has data: a task that read it would show it.
	printf 'LEAKED-STDIN\nLEAKED-2\n' >"$T/stdin"
	(cd / && timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 4 "$F" \
		<"$T/stdin" >"$T/out" 2>"$T/err") || { cat "$T/out" "$T/err"; die "worker failed"; }
	cat "$T/out" "$T/err"
	cat "$F"
	grep -q LEAKED "$T/out" && die "a task read the worker's stdin (not /dev/null)"
	expect_eq T1 "$(grep '^T1 ' "$T/out")" "T1 pwd=$T/w x=init1 myf x=init1"
	expect_eq T2 "$(grep -c '^T2$' "$T/out")" 1
	expect_eq T3 "$(grep '^T3 ' "$T/out")" "T3 pwd=$T/w x=init1 y=unset myf x=init1"
	expect_eq T4 "$(grep '^T4 ' "$T/out")" "T4 id=4 file=$F"
	expect_eq T4env "$(grep '^T4env ' "$T/out")" "T4env id=4 file=$F"
	expect_eq T5 "$(grep '^T5 ' "$T/out")" "T5 cat done"
	expect_eq T6 "$(grep '^T6 ' "$T/out")" "T6 read status 1 []"
	expect_eq T7 "$(grep '^T7 ' "$T/out")" "T7 pwd=$T/w/sub x=init1"
	expect_eq "tasks ok" "$(grep -cE '^#.* # worker 4 # \([^)]*\) #ok$' "$F")" 7
	expect_eq "init lines untouched" "$(grep -c '#!$' "$F")" 3
	no_running "$F"
}

# 2. a task retried out of order runs in the environment of its init line
sec_2() {
	# (Line numbers below count the header that registration inserts.)
	# Worker 1 claims the task on line 5 and fails it after a while, then
	# leaves (line 6).  Worker 0, started once line 5 is taken, runs section
	# a, goes on to section b (its shell now in $T/b with v=B) and, when line
	# 5 comes back failed, gets it above its position with init line 4: it
	# must run in $T/a/sub with v=A and fa defined, without re-running "cd
	# sub" (from $T/b that would land in $T/b/sub, which exists).  Its own
	# shell stays in b.
	mkdir -p "$T/a/sub" "$T/b/sub"
	G=$T/ooo.sh
	cat >"$G" <<EOF
cd $T/a #!
v=A; fa() { echo "fa v=\$v"; } #!
cd sub; echo x >>$T/count-cd-sub #!
if [ "\$WORKERID" = 1 ]; then $T/await $G 'sleep 3'; exit 3; fi; echo "OOO pwd=\$PWD v=\$v \$(fa)"
exit #!#@1
echo "SA pwd=\$PWD v=\$v"
cd $T/b #!
v=B; fa() { echo "fb v=\$v"; } #!
sleep 3; echo "SB pwd=\$PWD v=\$v \$(fa)"
echo "AFTER pwd=\$PWD v=\$v \$(fa)"
EOF
	timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 1 "$G" </dev/null >"$T/out1" 2>"$T/err1" &
	p1=$!
	wait_for 30 grep -qE '^#if .* # worker 1 # \(' "$G" || { cat "$G" "$T/out1" "$T/err1"; die "worker 1 did not claim line 5"; }
	timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 0 "$G" </dev/null >"$T/out0" 2>"$T/err0" &
	p0=$!
	rc1=0; wait "$p1" || rc1=$?
	rc0=0; wait "$p0" || rc0=$?
	cat "$T/out1" "$T/err1" "$T/out0" "$T/err0"
	cat "$G"
	expect_eq "worker 1 (exit #!#@1) status" "$rc1" 0
	expect_eq "worker 0 status" "$rc0" 0
	expect_eq "line 5 not run by worker 1" "$(grep -c "^OOO " "$T/out1")" 0
	expect_eq "OOO" "$(grep '^OOO ' "$T/out0")" "OOO pwd=$T/a/sub v=A fa v=A"
	expect_eq "SA" "$(grep '^SA ' "$T/out0")" "SA pwd=$T/a/sub v=A"
	expect_eq "SB" "$(grep '^SB ' "$T/out0")" "SB pwd=$T/b v=B fb v=B"
	expect_eq "AFTER (the worker's shell did not move)" "$(grep '^AFTER ' "$T/out0")" \
		"AFTER pwd=$T/b v=B fb v=B"
	# SB ran before the retried line 5, AFTER after it: it was out of order
	order=$(grep -E '^(SB|OOO|AFTER) ' "$T/out0" | cut -d' ' -f1 | tr '\n' ' ')
	expect_eq "order in worker 0" "$order" "SB OOO AFTER "
	expect_eq "cd sub ran once per worker" "$(wc -l <"$T/count-cd-sub")" 2
	# (registration put the header above it: it is line 5 now)
	expect_eq "line 5" "$(sed -n 5p "$G" | unstamp)" \
		"#if [ \"\$WORKERID\" = 1 ]; then $T/await $G 'sleep 3'; exit 3; fi; echo \"OOO pwd=\$PWD v=\$v \$(fa)\" # worker 1 # (T ... T) #error3 # worker 0 # (T ... T) #ok"
	no_running "$G"
}

# 2b. no snapshot (the file was edited): the init line runs first; failing, the task is released
sec_2b() {
	# As in 2, but a line is inserted at the top while worker 0 is in section
	# d, so the init line returned with the retried task has a new number that
	# worker 0 has no snapshot for: it runs "cd sub" in the task's subshell,
	# from $T/d, where there is no sub: the init fails, the task is given back
	# unrun, worker 0 stops.  A new worker then runs it properly.
	mkdir -p "$T/c/sub" "$T/d"
	K=$T/edited.sh
	cat >"$K" <<EOF
cd $T/c #!
cd sub #!
if [ "\$WORKERID" = 1 ]; then $T/await $K 'sleep 3'; exit 3; fi; echo "REL pwd=\$PWD"
exit #!#@1
cd $T/d #!
sleep 3; echo SD
echo AFTER2
EOF
	timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 1 "$K" </dev/null >"$T/k1" 2>&1 &
	p1=$!
	wait_for 30 grep -qE '^#if .* # worker 1 # \(' "$K" || { cat "$K" "$T/k1"; die "worker 1 did not claim the task"; }
	timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 0 "$K" </dev/null >"$T/k0" 2>"$T/k0err" &
	p0=$!
	wait "$p1" || die "worker 1 failed"
	wait_for 30 grep -qE '^#sleep 3; echo SD # worker 0 # \(' "$K" || { cat "$K" "$T/k0" "$T/k0err"; die "worker 0 did not reach section d"; }
	flock "$K.lock" sed -i '2i # a remark inserted while the queue runs' "$K"
	rc0=0; wait "$p0" || rc0=$?
	cat "$T/k1" "$T/k0" "$T/k0err" "$K"
	grep -q '^SD$' "$T/k0" || die "worker 0 did not run SD"
	grep -q '^REL ' "$T/k0" && die "the task ran although its init line failed: $(grep '^REL ' "$T/k0")"
	[ "$rc0" != 0 ] || die "worker 0 exited 0 after the init line for the retried task failed"
	grep -qw 'line 4' "$T/k0err" || die "worker 0 did not name init line 4"
	grep -q '^AFTER2$' "$T/k0" && die "worker 0 went on after a failing init line"
	expect_eq "the released task" "$(grep -E '^#?if ' "$K" | unstamp)" \
		"if [ \"\$WORKERID\" = 1 ]; then $T/await $K 'sleep 3'; exit 3; fi; echo \"REL pwd=\$PWD\" # worker 1 # (T ... T) #error3"
	no_running "$K"
	timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 2 "$K" </dev/null >"$T/k2" 2>&1 || { cat "$T/k2"; die "worker 2 failed"; }
	cat "$T/k2"
	expect_eq "REL by worker 2" "$(grep '^REL ' "$T/k2")" "REL pwd=$T/c/sub"
	grep -q '^AFTER2$' "$T/k2" || die "worker 2 did not run AFTER2"
}

# 2c. an edit that moves init lines up does not give a task another init line's environment
sec_2c() {
	# As in 2b, but a line above is deleted: "cd sub" moves from line 4 to 3,
	# the number worker 0's snapshot of "cd $T/e" has.  The retried task must
	# not run in $T/e: either in the snapshot of "cd sub" ($T/e/sub), or,
	# without a snapshot that matches, after running "cd sub" first (which
	# fails from $T/f: the task is released and the worker stops).
	mkdir -p "$T/e/sub" "$T/f"
	M=$T/moved.sh
	cat >"$M" <<EOF
# a remark of the user's
cd $T/e #!
cd sub #!
if [ "\$WORKERID" = 1 ]; then $T/await $M 'sleep 3'; exit 3; fi; echo "RUN pwd=\$PWD"
exit #!#@1
cd $T/f #!
sleep 3; echo SF
echo AFTER3
EOF
	timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 1 "$M" </dev/null >"$T/m1" 2>&1 &
	p1=$!
	wait_for 30 grep -qE '^#if .* # worker 1 # \(' "$M" || { cat "$M" "$T/m1"; die "worker 1 did not claim the task"; }
	timeout -k 5 30 "$RTQ" -x --poll 0.2 -i 0 "$M" </dev/null >"$T/m0" 2>"$T/m0err" &
	p0=$!
	wait "$p1" || die "worker 1 failed"
	wait_for 30 grep -qE '^#sleep 3; echo SF # worker 0 # \(' "$M" || { cat "$M" "$T/m0" "$T/m0err"; die "worker 0 did not reach section f"; }
	flock "$M.lock" sed -i '2d' "$M"
	rc0=0; wait "$p0" || rc0=$?
	cat "$T/m1" "$T/m0" "$T/m0err" "$M"
	if grep -q '^RUN ' "$T/m0"; then
		expect_eq "the retried task's directory" "$(grep '^RUN ' "$T/m0")" "RUN pwd=$T/e/sub"
	else
		[ "$rc0" != 0 ] || die "worker 0 neither ran the task nor stopped"
		grep -qE '^if .* # worker 1 # \([^)]*\) #error3$' "$M" || die "the task was not given back"
	fi
	no_running "$M"
}

# 3. a failing init line stops the worker and names the line
sec_3() {
	H=$T/badinit.sh
	cat >"$H" <<EOF
echo first #!
echo "ok-task-1"
false; echo never >/dev/null; (exit 5) #!
echo "after-bad-init"
EOF
	rc=0
	timeout -k 5 30 "$RTQ" -x --poll 0.2 "$H" </dev/null >"$T/outb" 2>"$T/errb" || rc=$?
	cat "$T/outb" "$T/errb" "$H"
	[ "$rc" != 0 ] || die "a failing init line did not stop the worker with a non-zero status"
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || die "the worker hung after a failing init line"
	# line 4 once the header is in
	grep -qw 'line 4' "$T/errb" || die "the message does not name line 4"
	grep -qF '(exit 5)' "$T/errb" || die "the message does not show the failing init line"
	grep -q 'after-bad-init' "$T/outb" && die "a task below the failing init line ran"
	expect_eq "task after it still pending" "$(sed -n 5p "$H")" 'echo "after-bad-init"'
	no_running "$H"
}

section 1 "the environment of init lines and tasks" sec_1
section 2 "a task retried out of order runs in the environment of its init line" sec_2
section 2b "no snapshot (the file was edited): the init line runs first; failing, the task is released" sec_2b
section 2c "an edit that moves init lines up does not give a task another init line's environment" sec_2c
section 3 "a failing init line stops the worker and names the line" sec_3

if [ ${#failed[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	die "${#failed[@]} section(s) failed"
fi
say "ok"
