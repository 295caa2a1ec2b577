#!/usr/bin/env bash
# rtq --reset --failed FILE: only failed (#errorN) and lost (#lost) tasks go
# back to pending, each exactly as the user wrote it (trailing blanks, tags
# and quotes kept); done and running tasks, tasks that failed and were then
# claimed again (running or done), init lines, comments, blank lines, the
# header, registrations and orphan reports are kept byte for byte.  The
# worker that failed a task may claim it again.  Also with CRLF line ends,
# on a #lost written by rtq-claim itself (a lease running out), and nothing
# changes on a file without failures.
. "$RTQ_TOP/tests/e2e/lib.sh"
export LC_ALL=C

F=$T/tasks.sh
S='(11-24 09:14:23'
E='11-24 09:14:25)'
# The file as the user wrote it ...
cat >"$T/orig" <<'EOF'
# a comment
export A=1 #!
echo done1
echo run1
echo fail2  
echo lost1 #:grp
echo failthendone
echo failthenrun
echo failtwice
echo lostthenfail
echo pending1

echo "q" $x 's' \ #@1 #+g
	echo tab-indented
EOF
# ... and annotated by workers (the formats rtq-claim writes).  The lines
# that --reset --failed must give back are marked with R at the start of
# the expectation below.
cat >"$F" <<EOF
#LASTWORKER 3
# a comment
export A=1 #!
#echo done1 # worker 0 # $S ... $E #ok
#echo run1 # worker 0 # $S ...
echo fail2   # worker 1 # $S ... $E #error2
echo lost1 #:grp # worker 2 # $S ... $E #lost
#echo failthendone # worker 3 # $S ... $E #error1 # worker 0 # $S ... $E #ok
#echo failthenrun # worker 3 # $S ... $E #error1 # worker 1 # $S ...
echo failtwice # worker 1 # $S ... $E #error1 # worker 2 # $S ... $E #error127
echo lostthenfail # worker 2 # $S ... $E #lost # worker 3 # $S ... $E #error2
echo pending1

echo "q" \$x 's' \ #@1 #+g # worker 1 # $S ... $E #error255
	echo tab-indented # worker 3 # $S ... $E #error1
# worker 0: a (11-24 09:14:20)
# worker 1: b (11-24 09:14:20)
# worker 2: c (11-24 09:14:21)
# worker 3: d (11-24 09:14:21)
#?line:5# echo gone # worker 1 # ... $E #ok
EOF
cp "$F" "$T/annotated"
# the expected result: R lines are the original task text, the rest as is
want() {
	local l
	while IFS= read -r l; do
		case $l in
		"echo fail2   # worker"*) echo 'echo fail2  ' ;;
		"echo lost1 #:grp # worker"*) echo 'echo lost1 #:grp' ;;
		"echo failtwice # worker"*) echo 'echo failtwice' ;;
		"echo lostthenfail # worker"*) echo 'echo lostthenfail' ;;
		"echo \"q\" \$x 's' \\ #@1 #+g # worker"*) echo "echo \"q\" \$x 's' \\ #@1 #+g" ;;
		$'\techo tab-indented # worker'*) printf '\techo tab-indented\n' ;;
		*) printf '%s\n' "$l" ;;
		esac
	done
}
want <"$T/annotated" >"$T/want"
expect_eq "lines that change" "$(diff "$T/annotated" "$T/want" | grep -c '^>')" 6

say "rtq --reset --failed"
"$RTQ" --reset --failed "$F" >"$T/out" 2>&1 || { cat "$T/out"; die "--reset --failed failed"; }
cat "$T/out"
expect_eq "the message" "$(cat "$T/out")" "$F reset (failed tasks)"
cat -A "$F"
if ! cmp "$F" "$T/want"; then
	diff <(cat -A "$T/want") <(cat -A "$F") >&2
	die "--reset --failed: not the expected file (diff above: want, got)"
fi
# the same, line by line, for a precise statement: every line that was not
# failed or lost is byte for byte what it was
expect_eq "line count" "$(wc -l <"$F")" "$(wc -l <"$T/annotated")"
# the reset lines are the original task text, byte for byte
for t in 'echo fail2  ' 'echo lost1 #:grp' 'echo failtwice' 'echo lostthenfail' \
    "echo \"q\" \$x 's' \\ #@1 #+g" $'\techo tab-indented'; do
	grep -qxF -- "$t" "$T/orig" || die "test bug: [$t] is not in the original"
	grep -qxF -- "$t" "$F" || die "[$t] is not back as written"
done

say "the worker that failed a task may claim it again"
# worker 1 failed "echo fail2  " (line 6); after the init line it gets it
expect_eq "next for worker 1" "$("$CLAIM" next "$F" 1 3)" $'RTQ1 work 6 none 1\ntask 6 echo fail2  '

say "the order --failed --reset, and a second run, which changes nothing"
cp "$T/want" "$F"
"$RTQ" --failed --reset "$F" >"$T/out" 2>&1 || { cat "$T/out"; die "--failed --reset failed"; }
cmp "$F" "$T/want" || die "a second --reset --failed changed the file"
rc=0
"$RTQ" --failed "$F" >"$T/out" 2>&1 || rc=$?
expect_eq "--failed without --reset: exit status" "$rc" 2
cmp "$F" "$T/want" || die "--failed without --reset changed the file"

say "the same file with CRLF line ends: CRLF kept"
sed 's/$/\r/' "$T/annotated" >"$F"
"$RTQ" --reset --failed "$F" >"$T/out" 2>&1 || { cat "$T/out"; die "--reset --failed (CRLF) failed"; }
if ! cmp "$F" <(sed 's/$/\r/' "$T/want"); then
	diff <(sed 's/$/\r/' "$T/want" | cat -A) <(cat -A "$F") >&2
	die "--reset --failed on a CRLF file: not the expected file"
fi

say "a #lost written by rtq-claim (a lease ran out) and a real #error2"
G=$T/real.sh
printf '%s\n' 'echo ok-task' 'echo will-fail ' 'echo will-be-lost #:x' 'echo runs' >"$G"
cp "$G" "$T/real-orig"
c register "$G" - w0
c register "$G" - w1
c register "$G" - w2
c next "$G" 0 0					# ok-task (2)
c next "$G" 0 2 task 2 0 'echo ok-task'		# ok; will-fail (3)
c next "$G" 1 0					# will-be-lost (4)
c next "$G" 2 0					# runs (5)
c finish "$G" 0 task 3 2 'echo will-fail '	# #error2
c heartbeat "$G" 1 1				# w1: a lease of 1 s
# 3 s later on rtq-claim's clock (RTQ_NOW) w1's lease has run out: line 4 #lost
RTQ_NOW=+3 c heartbeat "$G" 2
cat "$G"
unstamp "$G" >"$T/real-state"
expect_file "$T/real-state" <<'EOF'
#LASTWORKER 2
#echo ok-task # worker 0 # (T ... T) #ok
echo will-fail  # worker 0 # (T ... T) #error2
echo will-be-lost #:x # worker 1 # (T ... T) #lost
#echo runs # worker 2 # (T ...
# worker 0: w0 (T)
# worker 1: w1 (T)
# worker 2: w2 (T)
EOF
cp "$G" "$T/real-before"
"$RTQ" --reset --failed "$G" >"$T/out" 2>&1 || { cat "$T/out"; die "--reset --failed (real) failed"; }
cat "$G"
cmp <(sed -n 3p "$G") <(sed -n 2p "$T/real-orig") || die "the #error2 line is not back as written"
cmp <(sed -n 4p "$G") <(sed -n 3p "$T/real-orig") || die "the #lost line is not back as written"
for n in 1 2 5 6 7 8; do
	cmp <(sed -n ${n}p "$G") <(sed -n ${n}p "$T/real-before") || die "line $n changed"
done
expect_eq "line count" "$(wc -l <"$G")" 8
say "ok"
