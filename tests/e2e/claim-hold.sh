#!/usr/bin/env bash
# rtq-claim serve HOLD_MS (issue 14, item 1): a "wait" is held on the
# master, without the lock, and answered anew as soon as the task file
# changes: a task freed by another worker's finish is handed over at once
# instead of after the worker's poll.  An empty line from the worker ends
# the hold (it is stopping) with no reply of its own, and the bound gives
# a plain "wait".  The request keeps its SEQ, so nothing is applied twice.
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
say "all cases behaved"
