#!/usr/bin/env bash
# rtq --edit while a worker runs: the editor (a script here) reorders
# pending lines and deletes one while the worker claims and finishes
# tasks; the write-back keeps every claim made meanwhile.  An edit that
# un-comments a running line is refused without a terminal, file unchanged.
. "$RTQ_TOP/tests/e2e/lib.sh"
F=$T/q.sh
for i in $(seq 1 12); do echo "echo t$i >>$T/log; sleep 0.3"; done >"$F"
"$RTQ" -x --poll 0.1 "$F" >"$T/worker.out" 2>&1 &
wpid=$!
claimed() { [ "$(grep -c ' # worker 0 # ' "$F")" -ge "$1" ]; }
wait_for 10 claimed 1 || die "the worker claimed nothing"

cat >"$T/editor" <<EOF2
#!/bin/bash
# while this "editor" is open the worker goes on claiming: it waits (up
# to 10 s) until two more tasks were claimed
n=\$((\$(grep -c ' # worker 0 # ' "$F") + 2))
for ((i = 0; i < 200; i++)); do
	[ "\$(grep -c ' # worker 0 # ' "$F")" -ge "\$n" ] && break
	sleep 0.05
done
# move t12 to the top of the tasks, delete t11
awk '/echo t12 / { next } /echo t11 / { next } { print } NR == 1 { print "echo t12 >>$T/log; sleep 0.3" }' "\$1" >"\$1.new"
mv "\$1.new" "\$1"
EOF2
chmod +x "$T/editor"
say "edit while the worker runs"
claimed_before=$(grep -c ' # worker 0 # ' "$F")
EDITOR=$T/editor "$RTQ" --edit "$F" || die "--edit failed"
wait $wpid || die "worker failed: $(cat "$T/worker.out")"
cat "$F"
claimed_after_edit=$(grep -c '#ok$' "$F")
grep -q 'echo t11 ' "$F" && die "the deleted line is back"
expect_eq "tasks run" "$(sort -u "$T/log" | wc -l)" 11
expect_eq "tasks run twice" "$(sort "$T/log" | uniq -d | wc -l)" 0
expect_eq "lines ended #ok" "$claimed_after_edit" 11
[ "$claimed_before" -ge 1 ] || die "nothing was claimed before the edit"
# t12 was moved up: it ran before t10
t12=$(grep -n '^t12$' "$T/log" | cut -d: -f1)
t10=$(grep -n '^t10$' "$T/log" | cut -d: -f1)
[ "$t12" -lt "$t10" ] || die "t12 did not move up (ran after t10)"

say "un-commenting a running line is refused without a terminal"
printf 'sleep 5; echo slow\necho other\n' >"$T/r.sh"
"$CLAIM" register "$T/r.sh" 0 w >/dev/null
"$CLAIM" next "$T/r.sh" 0 0 >/dev/null
cp "$T/r.sh" "$T/r.before"
printf '#!/bin/sh\nsed -i "s/^#sleep 5; echo slow # worker.*/sleep 5; echo slow/" "$1"\n' \
    >"$T/editor2"
chmod +x "$T/editor2"
if EDITOR=$T/editor2 "$RTQ" --edit "$T/r.sh" </dev/null 2>"$T/err"; then
	die "a dangerous edit was written back without a terminal"
fi
cat "$T/err"
grep -q "back into a pending one" "$T/err" || die "no warning"
grep -q "refusing" "$T/err" || die "no refusal"
cmp "$T/r.sh" "$T/r.before" || die "the file changed"
