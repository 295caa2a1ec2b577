#!/usr/bin/env bash
# rtq-claim serve HOLD_MS (issue 14, item 1): a "wait" is held on the
# master, without the lock, and answered anew as soon as the task file
# changes: a task freed by another worker's finish is handed over at once
# instead of after the worker's poll.  An empty line from the worker ends
# the hold (it is stopping) with no reply of its own, and the bound gives
# a plain "wait".  The request keeps its SEQ, so nothing is applied twice.
# Then rtq itself, with a poll of a minute: a line appended to an idle
# queue starts at once, a -x worker leaves as soon as the task it waited
# for is done, Ctrl-C ends a held wait; locally and over ssh.  A connection
# dropped during a held wait, at either end, is opened again.
. "$RTQ_TOP/tests/e2e/lib.sh"
F=$T/h.sh
printf 'echo a #:g\necho b #:g\n' >"$F"
c register "$F" - w0
c register "$F" - w1
c next "$F" 1/1 0				# worker 1 runs "echo a"
mkfifo "$T/in"
"$CLAIM" serve "$F" 20000 <"$T/in" >"$T/out" 2>"$T/err" &
sp=$!
exec 9>"$T/in"
printf 'hello 1\nnext 0/5 0\n' >&9
wait_for 10 grep -q "RTQ1 ok rtq-claim" "$T/out" || die "no hello"
say "held: no reply while nothing changes"
! wait_for 1 grep -q "^RTQ1 w" "$T/out" || die "replied at once: $(cat "$T/out")"
say "another worker's finish frees 'echo b': handed over at once"
t0=$(_usecs)
c finish "$F" 1/2 task 2 0 "echo a #:g"
wait_for 10 grep -q "^task 3 echo b #:g" "$T/out" || die "not handed over: $(cat "$T/out")"
ms=$((($(_usecs) - t0) / 1000))
[ "$ms" -lt 5000 ] || die "handed over after $ms ms (the hold is 20 s)"
grep -q "^#echo b #:g # worker 0 # (" "$F" || die "not claimed in the file"
say "an empty line ends a hold, without a reply of its own"
printf 'next 0/6 3 task 3 0 echo b #:g\n' >&9	# b done: nothing left for 0
wait_for 10 grep -q "^RTQ1 none 3 done 0" "$T/out" || die "no none: $(cat "$T/out")"
c register "$F" - w2
printf 'echo c #:h\necho d #:h\n' >>"$F"
c next "$F" 2/1 0				# worker 2 runs "echo c"
printf 'next 0/7 3\n' >&9
! wait_for 1 grep -q "^RTQ1 wait" "$T/out" || die "a wait was not held"
printf '\n' >&9
wait_for 10 grep -q "^RTQ1 wait" "$T/out" || die "the empty line did not end the hold"
exec 9>&-
wait_for 10 gone "$sp" || die "serve did not end with its input"
grep -q "unknown request" "$T/out" && die "the empty line got a reply"
say "the bound: a plain wait"
mkfifo "$T/in2"
"$CLAIM" serve "$F" 300 <"$T/in2" >"$T/out2" &
exec 9>"$T/in2"
printf 'hello 1\nnext 0/8 3\n' >&9
wait_for 10 grep -q "^RTQ1 wait" "$T/out2" || die "no wait after the bound"
exec 9>&-
expect_eq "annotations of b" "$(grep -c '^#echo b #:g # worker 0 # (.*) #ok$' "$F")" 1

# The worker holds its waits on the master for up to --poll: with a poll
# of 60 s, each of these would take a minute if it slept instead.
export TMPDIR=$T
idle() {	# WHERE TARGET FILE
	local where=$1 target=$2 file=$3 w
	: >"$file"
	start_worker "idle-$where" --poll 60 "$target"
	w=$wpid
	wait_for 20 grep -q "^# worker" "$file" || { show "idle-$where"; die "$where: no registration"; }
	say "$where: a line appended to an idle queue starts without waiting for the poll"
	echo "echo appended-$where >>$T/hold.log" >>"$file"
	wait_for 20 grep -qsx "appended-$where" "$T/hold.log" ||
		{ show "idle-$where"; die "$where: the appended line waited for the poll"; }
	say "$where: Ctrl-C ends a held wait"
	kill -INT "$w"
	finish_worker "idle-$where" "$w" 20
	expect_eq "$where: exit status" "$wrc" 0
	no_running "$file"
}
idle local "$T/idle.sh" "$T/idle.sh"
say "local: a -x worker leaves as soon as what it waited for is done"
G=$T/x.sh
printf 'while [ ! -e %s/go ]; do sleep 0.05; done
' "$T" >"$G"
start_worker X1 -x --poll 60 "$G"
x1=$wpid
wait_for 20 grep -q "# worker 0 # (" "$G" || { show X1; die "X1 did not claim"; }
start_worker X2 -x --poll 60 "$G"
x2=$wpid
wait_for 20 grep -q "^# worker 1:" "$G" || { show X2; die "X2 did not register"; }
touch "$T/go"
finish_worker X1 "$x1" 20
finish_worker X2 "$x2" 20
expect_eq "X2's exit" "$wrc" 0
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
idle ssh "rtqtest:$T/idle2.sh" "$T/idle2.sh"

# A connection that drops while a wait is held: the master's end goes
# away (its rtq-claim serve is killed), then the worker's (its ssh): each
# time the worker opens a new session, nothing is left behind on the
# master, and a line appended afterwards still starts at once.
say "ssh: a connection dropped during a held wait: reconnected, nothing left"
D=$T/drop.sh
: >"$D"
serve_of() { pgrep -f "^$RTQ_BIN/rtq-claim serve $D" | head -1; }
one_serve() { [ "$(pgrep -fc "^$RTQ_BIN/rtq-claim serve $D")" = 1 ]; }
start_worker drop --poll 60 "rtqtest:$D"
dw=$wpid
wait_for 20 grep -q "^# worker" "$D" || { show drop; die "drop: no registration"; }
wait_for 20 one_serve || { show drop; die "drop: no serve session"; }
sp=$(serve_of)
kill -9 "$sp"
wait_for 20 eval '[ -n "$(serve_of)" ] && [ "$(serve_of)" != "$sp" ]' ||
	{ show drop; die "drop: no new session after the master's end went away"; }
echo "echo after-master-drop >>$T/drop.log" >>"$D"
wait_for 20 grep -qsx after-master-drop "$T/drop.log" ||
	{ show drop; die "drop: the appended line did not start"; }
sp=$(serve_of)
# the worker's end: its ssh to the serve session
cp=$(pgrep -s "$dw" -f "rtq-claim.* serve" | head -1)
[ -n "$cp" ] || { ps -o pid,args -s "$dw"; die "drop: no ssh of the session"; }
kill -9 "$cp"
wait_for 20 eval '! kill -0 "$sp" 2>/dev/null' ||
	die "drop: the master's rtq-claim serve outlived its connection"
wait_for 20 eval '[ -n "$(serve_of)" ]' || { show drop; die "drop: no new session after ssh died"; }
echo "echo after-ssh-drop >>$T/drop.log" >>"$D"
wait_for 20 grep -qsx after-ssh-drop "$T/drop.log" ||
	{ show drop; die "drop: the appended line did not start after ssh died"; }
kill -INT "$dw"
finish_worker drop "$dw" 20
expect_eq "drop: exit status" "$wrc" 0
wait_for 10 eval '[ -z "$(serve_of)" ]' || die "drop: a serve session is left on the master"
expect_eq "drop: each line once" "$(sort "$T/drop.log" | tr '\n' ' ')" \
    "after-master-drop after-ssh-drop "
say "all cases behaved"
