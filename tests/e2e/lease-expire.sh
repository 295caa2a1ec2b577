#!/usr/bin/env bash
# A task whose worker vanished (killed with its Slurm job, say) is shown
# as lost by status and taken back by reset --failed as soon as its lease
# has run out, with no request of any worker in between (rtq-claim(1),
# "Liveness"); rtq --wait's tally no longer counts it running.  Status
# writes nothing; reset and tally release it under the lock.  The lease runs out on
# the test clock (RTQ_NOW=+N), without sleeping through it.
. "$RTQ_TOP/tests/e2e/lib.sh"

F=$T/tasks.sh
L=$T/tasks.sh.lock
printf 'sleep 300\necho b\n' >"$F"
c register "$F" - gone
c next "$F" 0 0
c heartbeat "$F" 0 60
grep -qE '^#sleep 300 # worker 0 # \([^)]* \.\.\.$' "$F" ||
	die "line 2 is not worker 0's: $(sed -n 2p "$F")"

say "within the lease: running, and reset --failed leaves it alone"
export RTQ_NOW=+30
"$RTQ" --status --json "$F" >"$T/s.json" || die "status failed"
python3 - "$T/s.json" <<'PY' || die "status within the lease: $(cat "$T/s.json")"
import json, sys
s = json.load(open(sys.argv[1]))
t = s["tasks"]
assert t["running"] == 1 and t["failed"] + t.get("to_retry", 0) == 0, t
assert s["workers"][0]["lost"] is False
assert s["workers"][0]["task"]["line"] == 2
PY
"$RTQ" --reset --failed "$F" >/dev/null || die "reset --failed failed"
grep -qE '^#sleep 300 # worker 0 # \([^)]* \.\.\.$' "$F" ||
	die "reset --failed within the lease changed line 2: $(sed -n 2p "$F")"

say "past the lease: status shows the task lost, and writes nothing"
export RTQ_NOW=+61
cp "$F" "$T/before"
cp "$L" "$T/lock-before"
"$RTQ" --status --json "$F" >"$T/s.json" || die "status failed"
python3 - "$T/s.json" <<'PY' || die "status past the lease: $(cat "$T/s.json")"
import json, sys
s = json.load(open(sys.argv[1]))
t = s["tasks"]
assert t["running"] == 0, t
assert t["failed"] + t.get("to_retry", 0) == 1, t
assert s["workers"][0]["lost"] is True
assert s["workers"][0]["task"] is None
assert [(f["line"], f["status"], f["worker"]) for f in s["failed"]] == \
    [(2, "lost", 0)], s["failed"]
PY
"$RTQ" --status "$F" >"$T/s.txt" || die "status failed"
grep -qE '^ +0 +gone .*LOST' "$T/s.txt" || { cat "$T/s.txt"; die "no LOST worker"; }
grep -qE '^  line 2  #lost  worker 0  sleep 300$' "$T/s.txt" ||
	{ cat "$T/s.txt"; die "line 2 not listed as lost"; }
cmp -s "$F" "$T/before" || die "status changed the task file"
cmp -s "$L" "$T/lock-before" || die "status changed the lock file"

say "reset --failed takes it back at once, with no worker's request"
"$RTQ" --reset --failed "$F" >/dev/null || die "reset --failed failed"
unstamp "$F" >"$T/after"
expect_file "$T/after" <<'EOF2'
#LASTWORKER 0
sleep 300
echo b
# worker 0: gone (T)
EOF2

say "and the worker, heard from again, is told it was declared lost"
out=$("$CLAIM" next "$F" 0 2) || die "next failed: $out"
expect_eq "reply to worker 0" "$out" "RTQ1 lost"

say "rtq --wait's tally: running within the lease, to retry past it"
W=$T/wait.sh
printf 'sleep 300\n' >"$W"
unset RTQ_NOW
c register "$W" - gone
c next "$W" 0 0
out=$("$CLAIM" tally "$W") || die "tally failed: $out"
#                          done failed killed blocked retry pending running
expect_eq "tally within the lease" "$out" "RTQ1 ok tally 0 0 0 0 0 0 1 0"
out=$(RTQ_NOW=+121 "$CLAIM" tally "$W") || die "tally failed: $out"
# no longer running: failed, or to retry (were another worker alive)
read -r _ _ _ _ failed _ _ retry _ running _ <<<"$out"
expect_eq "tally past the lease ($out): running, failed or to retry" \
    "$running $((failed + retry))" "0 1"
grep -qE '^sleep 300 # worker 0 # .*\) #lost$' "$W" ||
	die "tally did not release the task: $(sed -n 2p "$W")"

say "a worker that said goodbye is never declared lost"
printf 'echo c\n' >"$T/bye.sh"
c register "$T/bye.sh" - w
c bye "$T/bye.sh" 0
RTQ_NOW=+1000 "$RTQ" --status --json "$T/bye.sh" >"$T/b.json" ||
	die "status failed"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert not s["workers"][0]["lost"], s' \
    "$T/b.json" || die "a worker gone with a bye shown lost"
exit 0
