#!/usr/bin/env bash
# Golden test: the first example of the seed README (five "echo taskN;
# sleep 3" lines, four of them with a trailing blank), driven by two
# registrations and next/finish calls as two workers would, compared line
# for line (time stamps replaced by T) with the README's example output;
# then to the end, with a failure and a retry by the other worker and an
# orphan report; then "reset K" and "reset", which give back the bytes.
. "$RTQ_TOP/tests/e2e/lib.sh"

F=$T/examplelist.sh
# Expected texts below end each line with "|" so that trailing blanks
# survive editors; golden FILE strips it and compares FILE with stdin.
golden() {
	unstamp "$1" >"$T/got"
	sed 's/|$//' | expect_file "$T/got"
}
# step WANT WORDS...: run rtq-claim WORDS, expect the reply WANT
step() {
	local want=$1 out
	shift
	out=$("$CLAIM" "$@") || die "rtq-claim $1 ${*:3} failed: $out"
	expect_eq "reply to $1 ${*:3}" "$out" "$want"
}

# the seed's lines, byte for byte: four of them end with a blank
printf '%s\n' 'echo task1; sleep 3 ' 'echo task2; sleep 3 ' \
    'echo task3; sleep 3' 'echo task4; sleep 3 ' 'echo task5; sleep 3 ' >"$F"
cp "$F" "$T/orig"
W0='myspace-g46kh-25239-worker-0 100.122.27.103 '	# hostname -I ends
W1='myspace-khg46-39252-worker-0 100.121.27.101 '	# with a blank

say "worker 0 registers, runs task1 and starts task2; worker 1 joins, takes task3"
# A task is handed out and reported back with its trailing blank.
step "RTQ1 id 0" register "$F" - "$W0"
step $'RTQ1 work 2 none 1\ntask 2 echo task1; sleep 3 ' next "$F" 0 0
step $'RTQ1 work 3 done 1\ntask 3 echo task2; sleep 3 ' \
    next "$F" 0 2 task 2 0 "echo task1; sleep 3 "
step "RTQ1 id 1" register "$F" - "$W1"
step $'RTQ1 work 4 none 1\ntask 4 echo task3; sleep 3' next "$F" 1 0

say "the file is the README's example output (a task's own trailing blank kept)"
# runtask.sh dropped a task's trailing blank, so its README shows one blank
# before "# worker"; rtq keeps it (two blanks here) so that reset can give
# the line back byte for byte.  task3 has none: one blank, as in the README.
golden "$F" <<'EOF'
#LASTWORKER 1|
#echo task1; sleep 3  # worker 0 # (T ... T) #ok|
#echo task2; sleep 3  # worker 0 # (T ...|
#echo task3; sleep 3 # worker 1 # (T ...|
echo task4; sleep 3 |
echo task5; sleep 3 |
# worker 0: myspace-g46kh-25239-worker-0 100.122.27.103  (T)|
# worker 1: myspace-khg46-39252-worker-0 100.121.27.101  (T)|
EOF
# the stamps themselves: MM-DD HH:MM:SS, the finish no earlier than start
l2=$(sed -n 2p "$F")
[[ $l2 =~ \(([0-9]{2}-[0-9]{2}\ [0-9:]{8})\ \.\.\.\ ([0-9]{2}-[0-9]{2}\ [0-9:]{8})\)\ #ok$ ]] ||
	die "line 2 stamps: $l2"
[[ ! ${BASH_REMATCH[2]} < ${BASH_REMATCH[1]} ]] || die "finish before start: $l2"
cp "$F" "$T/readme-state"

say "to the end: task3 fails on worker 1 and worker 0 retries it"
step $'RTQ1 work 5 done 1\ntask 5 echo task4; sleep 3 ' \
    next "$F" 1 4 task 4 1 "echo task3; sleep 3"
golden "$F" <<'EOF'
#LASTWORKER 1|
#echo task1; sleep 3  # worker 0 # (T ... T) #ok|
#echo task2; sleep 3  # worker 0 # (T ...|
echo task3; sleep 3 # worker 1 # (T ... T) #error1|
#echo task4; sleep 3  # worker 1 # (T ...|
echo task5; sleep 3 |
# worker 0: myspace-g46kh-25239-worker-0 100.122.27.103  (T)|
# worker 1: myspace-khg46-39252-worker-0 100.121.27.101  (T)|
EOF
step $'RTQ1 work 4 done 1\ntask 4 echo task3; sleep 3' \
    next "$F" 0 3 task 3 0 "echo task2; sleep 3 "
step $'RTQ1 work 6 done 1\ntask 6 echo task5; sleep 3 ' \
    next "$F" 1 5 task 5 0 "echo task4; sleep 3 "
# nothing pending for worker 0, but task5 may still fail back to it
step "RTQ1 wait 4 done 0" next "$F" 0 4 task 4 0 "echo task3; sleep 3"
step "RTQ1 none 6 done 0" next "$F" 1 6 task 6 0 "echo task5; sleep 3 "
step "RTQ1 none 4 none 0" next "$F" 0 4
say "a finish for a line that is gone: an orphan report; a repeat: no change"
step "RTQ1 ok" finish "$F" 1 task 3 0 "echo task9; sleep 3"
step "RTQ1 ok" finish "$F" 1 task 6 0 "echo task5; sleep 3 "
golden "$F" <<'EOF'
#LASTWORKER 1|
#echo task1; sleep 3  # worker 0 # (T ... T) #ok|
#echo task2; sleep 3  # worker 0 # (T ... T) #ok|
#echo task3; sleep 3 # worker 1 # (T ... T) #error1 # worker 0 # (T ... T) #ok|
#echo task4; sleep 3  # worker 1 # (T ... T) #ok|
#echo task5; sleep 3  # worker 1 # (T ... T) #ok|
# worker 0: myspace-g46kh-25239-worker-0 100.122.27.103  (T)|
# worker 1: myspace-khg46-39252-worker-0 100.121.27.101  (T)|
#?line:3# echo task9; sleep 3 # worker 1 # ... T) #ok|
EOF
cp "$F" "$T/done-state"

say "reset 4: lines 4 on are reset, the orphan report dropped, the rest kept"
step "RTQ1 ok" reset "$F" 4
golden "$F" <<'EOF'
#LASTWORKER 1|
#echo task1; sleep 3  # worker 0 # (T ... T) #ok|
#echo task2; sleep 3  # worker 0 # (T ... T) #ok|
echo task3; sleep 3|
echo task4; sleep 3 |
echo task5; sleep 3 |
# worker 0: myspace-g46kh-25239-worker-0 100.122.27.103  (T)|
# worker 1: myspace-khg46-39252-worker-0 100.121.27.101  (T)|
EOF
# lines before K are byte for byte what they were, stamps included
cmp -s <(head -n 3 "$F") <(head -n 3 "$T/done-state") ||
	die "reset 4 touched lines 1-3"
cp "$F" "$T/reset4-state"
step "RTQ1 ok" reset "$F" 100
cmp -s "$F" "$T/reset4-state" || die "reset 100 (past the end) changed the file"

say "reset: the file as written, byte for byte"
step "RTQ1 ok" reset "$F"
cmp "$F" "$T/orig" || {
	diff <(cat -A "$T/orig") <(cat -A "$F") >&2
	die "reset is not the original"
}
say "reset 0 is the whole-file reset; reset 1 resets every task and orphan report, keeping the header and the registrations (91bd9aa)"
cp "$T/done-state" "$F"
step "RTQ1 ok" reset "$F" 0
cmp "$F" "$T/orig" || die "reset 0 is not the whole-file reset"
cp "$T/done-state" "$F"
step "RTQ1 ok" reset "$F" 1
golden "$F" <<'EOF'
#LASTWORKER 1|
echo task1; sleep 3 |
echo task2; sleep 3 |
echo task3; sleep 3|
echo task4; sleep 3 |
echo task5; sleep 3 |
# worker 0: myspace-g46kh-25239-worker-0 100.122.27.103  (T)|
# worker 1: myspace-khg46-39252-worker-0 100.121.27.101  (T)|
EOF
say "reset of the README state: the original bytes"
cp "$T/readme-state" "$F"
step "RTQ1 ok" reset "$F"
cmp "$F" "$T/orig" || die "reset of the README state is not the original"

say "without trailing blanks: exactly the README's lines (one blank)"
printf '%s\n' 'echo task1; sleep 3' 'echo task2; sleep 3' \
    'echo task3; sleep 3' 'echo task4; sleep 3' 'echo task5; sleep 3' >"$F"
cp "$F" "$T/orig"
step "RTQ1 id 0" register "$F" - "$W0"
step $'RTQ1 work 2 none 1\ntask 2 echo task1; sleep 3' next "$F" 0 0
step $'RTQ1 work 3 done 1\ntask 3 echo task2; sleep 3' \
    next "$F" 0 2 task 2 0 "echo task1; sleep 3"
step "RTQ1 id 1" register "$F" - "$W1"
step $'RTQ1 work 4 none 1\ntask 4 echo task3; sleep 3' next "$F" 1 0
golden "$F" <<'EOF'
#LASTWORKER 1|
#echo task1; sleep 3 # worker 0 # (T ... T) #ok|
#echo task2; sleep 3 # worker 0 # (T ...|
#echo task3; sleep 3 # worker 1 # (T ...|
echo task4; sleep 3|
echo task5; sleep 3|
# worker 0: myspace-g46kh-25239-worker-0 100.122.27.103  (T)|
# worker 1: myspace-khg46-39252-worker-0 100.121.27.101  (T)|
EOF
step "RTQ1 ok" finish "$F" 1 task 4 3 "echo task3; sleep 3"
step "RTQ1 ok" reset "$F"
cmp "$F" "$T/orig" || die "reset is not the original"

say "golden output as in the README"
