#!/usr/bin/env bash
# The test clock (RTQ_NOW, rtq-claim(1) ENVIRONMENT): a lease runs out
# without sleeping through it (RTQ_NOW=+N), the stamps written to the file
# and the time status reports are the test clock's (RTQ_NOW=SECONDS), the
# previous versions kept for late appends age by it, and a malformed
# RTQ_NOW is refused (exit 2) with the file and the lock file unchanged.
. "$RTQ_TOP/tests/e2e/lib.sh"

F=$T/tasks.sh
# step WANT WORDS...: rtq-claim WORDS (RTQ_NOW as exported), reply WANT
step() {
	local want=$1 out
	shift
	out=$("$CLAIM" "$@") || die "rtq-claim $* failed: $out"
	expect_eq "reply to $* (RTQ_NOW=${RTQ_NOW-})" "$out" "$want"
}
# prevs FILE: how many previous versions are kept beside FILE
prevs() {
	local d=${1%/*} b=${1##*/}
	find "$d" -maxdepth 1 -name ".$b.prev.rtq.*" | wc -l
}

printf 'echo a\necho b\necho c\n' >"$F"
step "RTQ1 id 0" register "$F" - w0
step "RTQ1 id 1" register "$F" - w1

say "worker 0 takes a task with a lease of 60 s (the real clock)"
step $'RTQ1 work 2 none 1\ntask 2 echo a' next "$F" 0 0
step "RTQ1 ok" heartbeat "$F" 0 60

say "30 s later (RTQ_NOW=+30) its lease still holds"
export RTQ_NOW=+30
step $'RTQ1 work 3 none 1\ntask 3 echo b' next "$F" 1 0
grep -qE '^#echo a # worker 0 # \([^)]* \.\.\.$' "$F" ||
	die "line 2 is no longer worker 0's: $(sed -n 2p "$F")"

say "61 s later (RTQ_NOW=+61) it ran out: the task goes to worker 1"
export RTQ_NOW=+61
step $'RTQ1 work 3 done 1\ntask 2 echo a' next "$F" 1 3 task 3 0 'echo b'
unstamp "$F" | sed -n 2,3p >"$T/lines"
expect_file "$T/lines" <<'EOF'
#echo a # worker 0 # (T ... T) #lost # worker 1 # (T ...
#echo b # worker 1 # (T ... T) #ok
EOF

say "worker 0, heard from again, is told it was declared lost"
export RTQ_NOW=+62
step "RTQ1 lost" next "$F" 0 2
unset RTQ_NOW

say "RTQ_NOW=SECONDS: the stamps written and the time of status"
G=$T/stamps.sh
printf 'echo x\n' >"$G"
export RTQ_NOW=1700000000 TZ=UTC	# 2023-11-14 22:13:20 UTC
step "RTQ1 id 0" register "$G" - w
step $'RTQ1 work 2 none 1\ntask 2 echo x' next "$G" 0 0
expect_file "$G" <<'EOF'
#LASTWORKER 0
#echo x # worker 0 # (11-14 22:13:20 ...
# worker 0: w (11-14 22:13:20)
EOF
out=$("$CLAIM" status "$G" --json) || die "status: $out"
[[ $out == *'"time":1700000000,'* ]] || die "status --json: $out"
unset RTQ_NOW TZ

# (the last rewrite of $F was at +61, and they are kept for 5 s)
say "previous versions age by the test clock: at +70 none is kept"
[ "$(prevs "$F")" -gt 0 ] || die "no previous version beside $F"
RTQ_NOW=+70 step "RTQ1 ok" heartbeat "$F" 1
expect_eq "previous versions kept" "$(prevs "$F")" 0

say "an empty RTQ_NOW is the real clock"
RTQ_NOW= step "RTQ1 ok" heartbeat "$F" 1

say "a malformed RTQ_NOW: exit 2, a message naming it, nothing changed"
cp "$F" "$T/before"
cp "$F.lock" "$T/before.lock"
for v in abc + - 1.5 ' 5' '5 ' +-3 ++3 0x10 1e9 99999999999999999999 \
    -99999999999; do
	for req in "next $F 1 3" "heartbeat $F 1" "status $F" "register $F"; do
		# shellcheck disable=SC2086
		out=$(RTQ_NOW=$v "$CLAIM" $req 2>"$T/err")
		rc=$?
		expect_eq "exit status of $req with RTQ_NOW=[$v]" "$rc" 2
		grep -q 'RTQ_NOW=' "$T/err" ||
			die "RTQ_NOW=[$v] $req: the message: $(cat "$T/err")"
		[[ $out == "RTQ1 error 2 RTQ_NOW="* ]] ||
			die "RTQ_NOW=[$v] $req: reply [$out]"
		cmp -s "$F" "$T/before" || die "RTQ_NOW=[$v] $req changed $F"
		cmp -s "$F.lock" "$T/before.lock" ||
			die "RTQ_NOW=[$v] $req changed $F.lock"
	done
done
exit 0
