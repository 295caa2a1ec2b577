#!/usr/bin/env bash
# A request sent again with the same WORKER/SEQ (its reply was lost) is not
# applied twice: the finish is not repeated, and the task claimed by the
# lost reply comes back, still running -- even when the finished line was
# deleted meanwhile (which once made the retry close the new claim #ok).
. "$RTQ_TOP/tests/e2e/lib.sh"
F=$T/tasks.sh
printf 'echo a\necho b\necho c\n' >"$F"
"$CLAIM" register "$F" 0 w >/dev/null || die register
out=$("$CLAIM" next "$F" 0/1 0)
expect_eq "first claim" "$out" $'RTQ1 work 2 none 1\ntask 2 echo a'

say "the running line is deleted; the report becomes an orphan"
flock "$F.lock" sed -i 2d "$F"
out=$("$CLAIM" next "$F" 0/2 2 task 2 0 'echo a')
expect_eq "claim after orphan" "$out" $'RTQ1 work 2 orphan 1\ntask 2 echo b'
before=$(cat "$F")

say "the same request again, as after a lost reply"
out=$("$CLAIM" next "$F" 0/2 2 task 2 0 'echo a')
expect_eq "retried claim" "$out" $'RTQ1 work 2 none 1\ntask 2 echo b'
expect_eq "file after the retry" "$(cat "$F")" "$before"
[ "$(grep -c '^#?line:' "$F")" -eq 1 ] || die "orphan report written twice"
grep -q '^#echo b # worker 0 # (.* \.\.\.$' "$F" || die "echo b not running"

say "a finish sent twice (finish only) is applied once"
out=$("$CLAIM" finish "$F" 0/3 task 2 1 'echo b')
expect_eq "finish" "$out" "RTQ1 ok"
after=$(cat "$F")
out=$("$CLAIM" finish "$F" 0/3 task 2 1 'echo b')
expect_eq "finish again" "$(cat "$F")" "$after"
grep -q '^echo b # worker 0 # (.*) #error1$' "$F" || die "echo b not failed"

say "a new request goes on"
out=$("$CLAIM" next "$F" 0/4 2)
expect_eq "next claim" "$out" $'RTQ1 work 3 none 1\ntask 3 echo c'
