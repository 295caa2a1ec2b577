#!/usr/bin/env bash
# rtq --add [host:]FILE [COMMAND...] (SPEC 5: the locked way to add to a
# live queue).  A command given as words is appended as one task (the words
# joined by blanks), standard input as one task per line, blank lines
# skipped, and rtq says "WHERE: added N tasks".  A file that does not end in
# a newline keeps its last line whole.  A NUL byte anywhere in the input is
# refused: non-zero exit, the file unchanged byte for byte.  1,500 lines
# (140 KB) added at once while four local workers claim from the same file:
# each is in the file once, in their order, and each is run exactly once.
# The same over the loopback sshd (host:FILE) with 1,000 lines.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones
export LC_ALL=C

# add_ok WANT_OUTPUT ARGS... : rtq --add ARGS must succeed and say WANT
add_ok() {
	local want=$1 out
	shift
	out=$("$RTQ" --add "$@" 2>&1) || die "rtq --add $* failed: $out"
	expect_eq "rtq --add $* says" "$out" "$want"
}

F=$T/tasks.sh
say "a command as one word, and as several words"
printf 'echo first\n' >"$F"
add_ok "$F: added 1 task" "$F" 'echo "hi there"; echo $HOME | tr a b'
add_ok "$F: added 1 task" "$F" echo a "b  c" 'd;e'
expect_file "$F" <<'EOF'
echo first
echo "hi there"; echo $HOME | tr a b
echo a b  c d;e
EOF

say "standard input: one task a line, blank lines skipped, CR LF taken as LF"
printf 'x1\n\n   \n\t\nx2 # with a comment\r\nx3 no newline at the end' |
	add_ok "$F: added 3 tasks" "$F"
expect_eq "after stdin" "$(tail -n 3 "$F")" $'x1\nx2 # with a comment\nx3 no newline at the end'
expect_eq "line count" "$(wc -l <"$F")" 6
: | add_ok "$F: added 0 tasks" "$F"
expect_eq "empty stdin: line count" "$(wc -l <"$F")" 6

say "a relative path is relative to the current directory (local mode)"
(cd "$T" && "$RTQ" --add tasks.sh 'echo rel') >"$T/out" 2>&1 || { cat "$T/out"; die "--add tasks.sh failed"; }
expect_eq "relative: output" "$(cat "$T/out")" "$F: added 1 task"
expect_eq "relative: last line" "$(tail -n 1 "$F")" "echo rel"

say "a file without a final newline keeps its last line whole"
printf 'echo last-without-newline' >"$T/nonl.sh"
add_ok "$T/nonl.sh: added 1 task" "$T/nonl.sh" 'echo added'
expect_file "$T/nonl.sh" <<'EOF'
echo last-without-newline
echo added
EOF

say "a NUL byte is refused and nothing changes"
cp "$F" "$T/before"
for input in 'y1\ny\0z\ny3\n' '\0' 'y1\ny2\n\0' 'y1\0'; do
	rc=0
	printf "$input" | "$RTQ" --add "$F" >"$T/out" 2>&1 || rc=$?
	cat "$T/out"
	[ "$rc" != 0 ] || die "a NUL byte in $input was accepted"
	cmp "$F" "$T/before" || die "the file changed although the input ($input) was refused"
	grep -qi 'NUL' "$T/out" || die "the message for $input does not mention the NUL byte"
done
if ls "$T"/.tasks.sh.rtq-* >/dev/null 2>&1; then die "a temporary file was left behind"; fi

say "an empty command adds nothing"
"$RTQ" --add "$F" '' </dev/null >"$T/out" 2>&1 || true
"$RTQ" --add "$F" '   ' </dev/null >>"$T/out" 2>&1 || true
cat "$T/out"
cmp "$F" "$T/before" || die "an empty or blank command changed the file"

say "a missing file is an error and is not created"
rc=0
"$RTQ" --add "$T/missing.sh" 'echo x' >"$T/out" 2>&1 || rc=$?
cat "$T/out"
[ "$rc" != 0 ] || die "--add to a missing file succeeded"
[ ! -e "$T/missing.sh" ] || die "--add created the missing file"

# run_workers NAME TARGET N: start N workers (-x) on TARGET, set wpids;
# (the timeout only ends a hang: on a loaded machine a run takes its time)
run_workers() {
	local name=$1 target=$2 n=$3 k
	wpids=()
	for ((k = 0; k < n; k++)); do
		(cd "$T" && RTQ_NOSYNC=1 exec timeout -k 5 300 "$RTQ" -x --poll 0.1 -n "$name$k" "$target") \
			</dev/null >"$T/$name.$k.out" 2>"$T/$name.$k.err" &
		wpids+=($!)
	done
}
# registered FILE N: N workers have registered in FILE
registered() { [ "$(grep -cE '^# worker [0-9]+: ' "$1")" -ge "$2" ]; }
wait_workers() {
	local name=$1 k rc
	for k in "${!wpids[@]}"; do
		rc=0
		wait "${wpids[$k]}" || rc=$?
		[ "$rc" = 0 ] || { tail -n 20 "$T/$name.$k.out" "$T/$name.$k.err"; die "$name: worker $k exited $rc"; }
	done
}

# check_big FILE LOG N [PAD]: the N added lines "echo I >>LOG[PAD]" are in
# FILE once each, in order, each done (#ok); $T/LOG holds each I exactly once.
check_big() {
	local file=$1 log=$2 n=$3 pad=${4:-}
	no_running "$file"
	grep -E '^#?echo [0-9]+ >>' "$file" | sed -E 's/^#//; s/ # worker .*//' >"$T/added-lines"
	seq 1 "$n" | sed "s|.*|echo & >>$log$pad|" >"$T/want-lines"
	cmp -s "$T/added-lines" "$T/want-lines" || {
		diff "$T/want-lines" "$T/added-lines" | head -n 20
		die "$file: the $n added lines are not each there once, in order"
	}
	n_ok=$(grep -cE '^#echo [0-9]+ >>.* #ok$' "$file")
	expect_eq "$file: added lines done" "$n_ok" "$n"
	expect_eq "$log: lines" "$(wc -l <"$T/$log")" "$n"
	cmp -s <(sort -n "$T/$log") <(seq 1 "$n") || {
		sort -n "$T/$log" | uniq -d | head
		die "$log: the tasks did not run exactly once each"
	}
}

say "1,500 lines (140 KB) from stdin while 4 local workers claim from the file"
# (the workers' rtq-claim skips fsync, RTQ_NOSYNC=1: 1,500 claims of a
# growing file take too long otherwise; locking is the same)
B=$T/big.sh
# The workers have work when the add comes in (200 quick tasks), and a
# gate task keeps them from exiting before the add is done.
{
	echo "while [ ! -e $T/added ]; do sleep 0.05; done"
	for i in $(seq 1 200); do echo "echo s$i >>$T/seedlog"; done
} >"$B"
# As much input as 10,000 short lines, in 1,500 (a claim costs in the
# file's size, and the claims are what takes the time; the workers run in
# $T): the add still reads 140 KB of input, in many reads.
PAD=" # $(printf '%080d' 0)"
seq 1 1500 | sed "s|.*|echo & >>log$PAD|" >"$T/lines"
[ "$(wc -c <"$T/lines")" -ge 140000 ] || die "test bug: the input is too small"
start=$SECONDS
run_workers big "$B" 4
# the add comes once the four claim (the seed tasks keep them busy)
wait_for 30 registered "$B" 4 || die "the 4 workers did not register"
"$RTQ" --add "$B" <"$T/lines" >"$T/add.out" 2>&1 || { cat "$T/add.out"; die "--add of 1,500 lines failed"; }
touch "$T/added"
expect_eq "--add of 1,500 lines says" "$(cat "$T/add.out")" "$B: added 1500 tasks"
wait_workers big
echo "1,500 tasks run by 4 workers in $((SECONDS - start)) s"
check_big "$B" log 1500 "$PAD"
expect_eq "seed tasks run" "$(sort -u "$T/seedlog" | wc -l)" 200
expect_eq "seed tasks run once" "$(wc -l <"$T/seedlog")" 200

say "over the loopback sshd: --add rtqtest:FILE"
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
H=$SSHD_HOST
S=$T/remote.sh
printf 'echo remote-first\n' >"$S"
add_ok "$H:$S: added 1 task" "$H:$S" 'echo "a b" $HOME; rm -rf /nonexistent-rtq-test'
add_ok "$H:$S: added 1 task" "$H:$S" echo two words
printf 'r1\n\nr2 # c\n' | add_ok "$H:$S: added 2 tasks" "$H:$S"
expect_file "$S" <<'EOF'
echo remote-first
echo "a b" $HOME; rm -rf /nonexistent-rtq-test
echo two words
r1
r2 # c
EOF
cp "$S" "$T/rbefore"
rc=0
printf 'z1\n\0\n' | "$RTQ" --add "$H:$S" >"$T/out" 2>&1 || rc=$?
cat "$T/out"
[ "$rc" != 0 ] || die "over ssh: a NUL byte was accepted"
cmp "$S" "$T/rbefore" || die "over ssh: the file changed although the input was refused"

say "over ssh: 1,000 lines while 4 workers claim over ssh"
R=$T/rbig.sh
{
	echo "while [ ! -e $T/radded ]; do sleep 0.05; done"
	for i in $(seq 1 50); do echo "echo s$i >>$T/rseedlog"; done
} >"$R"
seq 1 1000 | sed "s|.*|echo & >>rlog|" >"$T/rlines"
start=$SECONDS
run_workers rbig "$H:$R" 4
wait_for 30 registered "$R" 4 || die "the 4 ssh workers did not register"
"$RTQ" --add "$H:$R" <"$T/rlines" >"$T/radd.out" 2>&1 || { cat "$T/radd.out"; die "--add of 1,000 lines over ssh failed"; }
touch "$T/radded"
expect_eq "--add of 1,000 lines over ssh says" "$(cat "$T/radd.out")" "$H:$R: added 1000 tasks"
wait_workers rbig
echo "1,000 tasks run by 4 ssh workers in $((SECONDS - start)) s"
check_big "$R" rlog 1000
say "ok"
