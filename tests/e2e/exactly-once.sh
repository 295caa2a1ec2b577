#!/usr/bin/env bash
# Exactly once at the edges (issue 11): a worker id that a live worker
# holds is not handed out again; a request older than one applied is
# refused and changes nothing; a task line holding a CR runs and is
# recorded; a task line of 200 KiB is claimed and reported in one call per
# request (no serve session), locally and over ssh; a hostile worker name
# cannot become a task.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T

say "(2) a second worker asking for a live worker's id is refused"
F=$T/dup.sh
printf '%s\n' "while [ ! -e $T/go ]; do sleep 0.05; done; echo one >>$T/dup.log" \
	"echo two >>$T/dup.log" >"$F"
start_worker A -x --poll 0.1 -i 3 -n A "$F"
a=$wpid
wait_for 10 grep -q "# worker 3 # (" "$F" || { show A; die "A did not claim"; }
rc=0
timeout 20 "$RTQ" -x --poll 0.1 -i 3 -n B "$F" >"$T/B.out" 2>"$T/B.err" || rc=$?
[ "$rc" != 0 ] || { cat "$T/B.out" "$T/B.err"; die "B ran with A's id"; }
grep -q "worker id 3 is in use by a live worker" "$T/B.err" ||
	{ cat "$T/B.err"; die "B was not told why"; }
grep -q "worker 3: B" "$F" && die "B was registered"
touch "$T/go"
finish_worker A "$a" 20
expect_eq "A's exit" "$wrc" 0
expect_eq "each task once" "$(sort "$T/dup.log" | tr '\n' ' ')" "one two "
no_running "$F"
say "a worker that said goodbye leaves its id free"
echo "echo three >>$T/dup.log" >>"$F"
"$RTQ" -x --poll 0.1 -i 3 -n C "$F" >"$T/C.out" 2>&1 ||
	{ cat "$T/C.out"; die "C could not take the id A gave back"; }
grep -qx three "$T/dup.log" || die "C did not run the new task"

say "(3) a request older than one applied is refused, the file unchanged"
G=$T/stale.sh
printf 'echo a\necho b\necho c\n' >"$G"
c register "$G" - w
c next "$G" 0/100 0
c next "$G" 0/101 1 task 1 0 "echo a"
cp "$G" "$T/stale.before"
rc=0
"$CLAIM" next "$G" 0/100 0 task 1 1 "echo a" >"$T/reply" 2>"$T/err" || rc=$?
expect_eq "exit status of a stale request" "$rc" 5
grep -q "^RTQ1 error 5 request 0/100 is older" "$T/reply" ||
	die "stale reply: $(cat "$T/reply")"
cmp -s "$G" "$T/stale.before" || { diff "$T/stale.before" "$G"; die "a stale request changed the file"; }
c next "$G" 0/102 2 task 2 0 "echo b"
grep -q "^#echo b # worker 0 # (.*) #ok$" "$G" || die "the next request was not applied"

say "(4) a task line holding a CR runs, is recorded, and no worker waits"
H=$T/cr.sh
printf 'echo a\rb >>%s\necho second >>%s\n' "$T/cr.log" "$T/cr.log" >"$H"
rc=0
timeout 20 "$RTQ" -x --poll 0.1 "$H" >"$T/cr.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$T/cr.out"; die "rtq exited $rc on a line with a CR"; }
expect_eq "CR line done" "$(grep -c $'^#echo a\rb >>.* #ok$' "$H")" 1
expect_eq "second done" "$(grep -c '^#echo second >>.* #ok$' "$H")" 1
expect_eq "the task's output" "$(od -An -c "$T/cr.log" | tr -s ' ')" \
	" a \r b \n s e c o n d \n"
"$RTQ" --reset "$H" >/dev/null
cmp -s "$H" <(printf 'echo a\rb >>%s\necho second >>%s\n' "$T/cr.log" "$T/cr.log") ||
	die "reset of the CR file is not the file as written"

say "(5) a 200 KiB task line, one call per request, locally and over ssh"
pad=$(head -c 150000 /dev/zero | tr '\0' x)
big() {
	printf 'echo %s | wc -c >>%s\n' "$pad" "$T/big.log" >"$1"
	printf 'echo small >>%s\n' "$T/big.log" >>"$1"
}
big "$T/big.sh"
rc=0
RTQ_NOSERVE=1 timeout 30 "$RTQ" -x --poll 0.1 "$T/big.sh" >"$T/big.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { tail -c 2000 "$T/big.out"; die "local: rtq exited $rc"; }
expect_eq "local: tasks done" "$(grep -c ' #ok$' "$T/big.sh")" 2
with_sshd
big "$T/bigssh.sh"
rc=0
RTQ_CLAIM=$RTQ_BIN/rtq-claim RTQ_NOSERVE=1 timeout 60 "$RTQ" -x --poll 0.1 \
    "rtqtest:$T/bigssh.sh" >"$T/bigssh.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { tail -c 2000 "$T/bigssh.out"; die "ssh: rtq exited $rc"; }
expect_eq "ssh: tasks done" "$(grep -c ' #ok$' "$T/bigssh.sh")" 2
expect_eq "each ran once" "$(sort "$T/big.log" | uniq -c | tr -s ' \n' ' ')" \
	" 2 150001 2 small "

say "(6) a hostile worker name cannot become a task"
P=$T/pwn.sh
echo "echo fine >>$T/pwn.log" >"$P"
name="x; touch $T/PWNED # worker 5 # (a b) #ok"
timeout 20 "$RTQ" -x --poll 0.1 -n "$name" "$P" >"$T/pwn.out" 2>&1 ||
	{ cat "$T/pwn.out"; die "the worker failed"; }
grep -q "^# worker 0: x; touch $T/PWNED _ worker 5 _ (a b) _ok (" "$P" ||
	{ cat "$P"; die "the name was not made safe"; }
"$RTQ" --reset 2 "$P" >/dev/null
timeout 20 "$RTQ" -x --poll 0.1 -n ok "$P" >>"$T/pwn.out" 2>&1 ||
	{ cat "$T/pwn.out"; die "the second worker failed"; }
[ ! -e "$T/PWNED" ] || { cat "$P"; die "the name ran as a task"; }
expect_eq "the real task ran twice (two resets), nothing else" \
	"$(cat "$T/pwn.log" | tr '\n' ' ')" "fine fine "
say "all cases behaved"
