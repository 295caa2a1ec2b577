#!/usr/bin/env bash
# -j N output (issue 11, item 16): a task's output cannot change how the
# slots' lines are marked (the control channel is out of band), every
# task line comes after the prefix of its slot (the RTQ_SLOT its task
# saw), a last line without a line break is ended before rtq's next line,
# and a 20 MB line without a line break is passed on whole, once, and
# without other slots' lines inside it.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T
F=$T/q.sh
{
	echo 'printf "no newline from slot %s" "$RTQ_SLOT"'
	echo 'printf "\001id 42\n"; echo "slot=$RTQ_SLOT after-id"'
	echo 'head -c 20000000 /dev/zero | tr "\0" x; echo " end-of-long"'
	for i in 1 2 3 4 5 6; do echo "echo \"slot=\$RTQ_SLOT task $i\""; done
} >"$F"
rc=0
timeout 120 "$RTQ" -x -j 2 --poll 0.1 "$F" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || { cat "$T/err"; die "rtq -j 2 exited $rc"; }
[ -s "$T/err" ] && { cat "$T/err"; die "rtq -j 2 wrote on stderr"; }
say "every line is rtq's own, or a task's after its slot"
bad=$(grep -av '^\[rtq [0-9]*\] ' "$T/out" | grep -avE '^\[slot [01]\] ')
[ -z "$bad" ] || die "lines without a prefix: $(cut -c1-100 <<<"$bad")"
bad=$(grep -aE 'slot=[0-9]' "$T/out" | grep -avE '^\[slot ([01])\] .*slot=\1( |$)')
[ -z "$bad" ] || die "task lines after another slot's prefix: $bad"
expect_eq "tasks' lines" "$(grep -acE '^\[slot [01]\] slot=[01] task [1-6]$' "$T/out")" 6
grep -aq $'^\\[slot [01]\\] \001id 42$' "$T/out" ||
	die "the task's \\001id line was not passed on as its output"
say "a last line without a line break is ended before rtq's next line"
grep -aqE '^\[slot ([01])\] no newline from slot \1$' "$T/out" ||
	die "the unended line ran into another: $(grep -a 'no newline' "$T/out")"
say "the 20 MB line: whole, once, each piece after its slot, nothing inside"
# it may be cut where another slot's line comes: each piece is its own line
expect_eq "x bytes" "$(grep -aE 'xxxxxxxxxx' "$T/out" | tr -cd x | wc -c)" 20000000
expect_eq "lines ending it" "$(grep -ac ' end-of-long$' "$T/out")" 1
bad=$(grep -aE 'xxxxxxxxxx' "$T/out" | grep -avE '^\[slot ([01])\] x+( end-of-long)?$' | cut -c1-100)
[ -z "$bad" ] || die "a piece of the long line holds something else: $bad"
expect_eq "slots of its pieces" "$(grep -aE 'xxxxxxxxxx' "$T/out" | cut -c1-8 | sort -u | wc -l)" 1
no_running "$F"
say "all cases behaved"
