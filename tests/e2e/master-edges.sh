#!/usr/bin/env bash
# rtq-claim at the edges of its own files (issue 11, items 7-11, 17, 21):
#  7  names beside the task file are never followed as links: a lock file
#     that is a symlink (to a private file, to /dev/zero), a fifo or a huge
#     file is refused with a clear error (exit 3) and nothing is written
#     through it; a ring entry swapped for a link to a private file, with a
#     forged record, is not copied; a symlinked task file still works
#  8  a rewrite by a member of the file's group keeps the group, and a lock
#     file it creates has the task file's group and mode: the owner can
#     still serve the queue
#  9  a read-only lock file is refused at once (exit 3), said once, and a
#     worker does not retry for ever; "lock" still works
# 10  a full disk (a file size limit) while late appends are carried: the
#     file is exactly as it was after the failed request, and the next one
#     copies the late line once, whole (before the rename, and after it)
# 11  reset gives back a file without a final line break byte for byte
# 17  leftovers: a killed rtq-claim's temporary file and ring names without
#     a record are removed under the lock (a minute old, regular, ours);
#     expired ring versions go on every request, bye included
# 21  reset 1 keeps the header and the registrations
# Real files and processes; rtq-claim's clock is moved with RTQ_NOW, and
# the rename of a rewrite is held up with strace to let a line in late.
. "$RTQ_TOP/tests/e2e/lib.sh"
need prlimit strace setpriv timeout

is_root() { [ "$(id -u)" -eq 0 ]; }
chmod 711 "$T"		# other users may pass through to the directories below
NOBODY=65534

# fresh NAME [N]: a directory $T/NAME with a task file F of N tasks
fresh() {
	rm -rf "${T:?}/$1"
	mkdir "$T/$1"
	F=$T/$1/tasks.sh
	for ((i = 1; i <= ${2:-5}; i++)); do echo "echo task $i"; done >"$F"
}
# run CMD...: run it, its exit status in $rc, its output in $T/out and $T/err
run() {
	rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
}
expect_rc() {	# WHAT WANT
	[ "$rc" = "$2" ] || { cat "$T/out" "$T/err"; die "$1: exit $rc, want $2"; }
}
expect_err() {	# WHAT ERE: stderr matches
	grep -qE -- "$2" "$T/err" || { cat "$T/err"; die "$1: no /$2/ in the error"; }
}
same() {	# WHAT FILE COPY
	cmp -s "$2" "$3" || { diff "$3" "$2" | head; die "$1: $2 changed"; }
}
# each task of F (echo task 1..N) is in it exactly once
tasks_once() {	# WHAT N
	local i c
	for ((i = 1; i <= $2; i++)); do
		c=$(grep -cE "^#?echo task $i( # worker .*)?\$" "$F" || true)
		[ "$c" = 1 ] || { cat "$F"; die "$1: task $i is in the file $c times"; }
	done
}

# ---- 7 ------------------------------------------------------------------

say "7: a lock file that is a symlink: refused, its target untouched"
fresh s7
printf 'private: not for the table\n' >"$T/victim"
chmod 600 "$T/victim"
cp "$T/victim" "$T/victim.orig"
cp "$F" "$T/f.orig"
ln -s "$T/victim" "$F.lock"
for req in "next $F 0 0" "register $F - w" "reset $F" "add $F x" \
    "heartbeat $F 0" "bye $F 0"; do
	# shellcheck disable=SC2086
	run timeout 20 "$CLAIM" $req
	expect_rc "symlinked lock ($req)" 3
	expect_err "symlinked lock ($req)" \
	    "tasks.sh.lock: the lock file is a symbolic link.*remove the link"
	same "symlinked lock ($req)" "$T/victim" "$T/victim.orig"
	same "symlinked lock ($req)" "$F" "$T/f.orig"
done
[ -L "$F.lock" ] || die "the symlinked lock file is no longer a link"
say "7: a worker is told once, and stops"
run timeout 60 "$RTQ" -x --poll 0.2 "$F"
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$T/err"; die "worker on a symlinked lock: exit $rc"; }
expect_eq "times the worker said it" "$(grep -c 'is a symbolic link' "$T/err")" 1
same "worker on a symlinked lock" "$F" "$T/f.orig"

say "7: a lock file linked to /dev/zero, a fifo, a huge file: refused at once"
rm "$F.lock"
ln -s /dev/zero "$F.lock"
run timeout 20 "$CLAIM" next "$F" 0 0
expect_rc "lock linked to /dev/zero" 3
expect_err "lock linked to /dev/zero" "is a symbolic link"
run timeout 20 "$CLAIM" status "$F"
expect_rc "status, lock linked to /dev/zero" 0
rm "$F.lock"
mkfifo "$F.lock"
run timeout 20 "$CLAIM" next "$F" 0 0
expect_rc "fifo lock" 3
expect_err "fifo lock" "tasks.sh.lock: the lock file is not a regular file \\(a fifo\\)"
run timeout 20 "$CLAIM" status "$F"
expect_rc "status, fifo lock" 0
run timeout 20 "$CLAIM" cat "$F"
expect_rc "cat, fifo lock" 0
rm "$F.lock"
truncate -s 5M "$F.lock"
run timeout 20 "$CLAIM" next "$F" 0 0
expect_rc "a 5 MB lock file" 3
expect_err "a 5 MB lock file" "holds more than [0-9]+ bytes"
same "refused lock files" "$F" "$T/f.orig"
rm "$F.lock"
run "$CLAIM" next "$F" 0 0
expect_rc "the lock file removed" 0
[ -f "$F.lock" ] && [ ! -L "$F.lock" ] || die "no new lock file"

say "7: a ring entry swapped for a link to a private file is not copied"
fresh p7
"$CLAIM" register "$F" - w >/dev/null || die "register"
ls "$T/p7/.tasks.sh.prev.rtq.0" >/dev/null || die "no ring entry after a rewrite"
printf 'SECRET-KEY-MATERIAL\n' >"$T/secret"
chmod 600 "$T/secret"
rm "$T/p7/.tasks.sh.prev.rtq.0"
ln -s "$T/secret" "$T/p7/.tasks.sh.prev.rtq.0"
# the record forged too (the lock file may be writable by a group)
read -r ino dev < <(stat -L -c '%i %d' "$T/secret")
sed -i -E "s/^prev 0 .*/prev 0 $ino 0 $(date +%s) $dev/" "$F.lock"
grep -q "^prev 0 $ino " "$F.lock" || die "could not forge the record"
run "$CLAIM" next "$F" 0 0
expect_rc "forged ring entry" 0
grep -q SECRET "$F" && die "the private file was copied into the task file"
[ -f "$T/secret" ] || die "the private file is gone"

say "7: a symlinked task file is still served, its lock files regular"
fresh l7
mkdir "$T/l7/real"
mv "$F" "$T/l7/real/tasks.sh"
ln -s real/tasks.sh "$F"
run "$CLAIM" next "$F" 0 0
expect_rc "symlinked task file" 0
grep -q '^#echo task 1 # worker 0' "$T/l7/real/tasks.sh" || die "the target was not claimed from"
[ -L "$F" ] || die "the task file's link is gone"
for l in "$F.lock" "$T/l7/real/tasks.sh.lock"; do
	[ -f "$l" ] && [ ! -L "$l" ] || die "$l is not a regular file"
done

# ---- 8 ------------------------------------------------------------------

G=4242 OWNER=4243
if is_root; then
	say "8: a group member's rewrite keeps the group; the owner still serves"
	mkdir "$T/g8"
	chown 0:$G "$T/g8"
	chmod 770 "$T/g8"
	F=$T/g8/tasks.sh
	printf 'echo a\necho b\necho c\n' >"$F"
	chown $OWNER:$G "$F"
	chmod 660 "$F"
	as_owner=(setpriv --reuid=$OWNER --regid=$OWNER --groups=$G)
	as_member=(setpriv --reuid=$NOBODY --regid=$NOBODY --groups=$G)
	run "${as_member[@]}" "$CLAIM" register "$F" - member
	expect_rc "member's registration" 0
	expect_eq "the lock file the member made (group, mode)" \
	    "$(stat -c '%g %a' "$F.lock")" "$G 660"
	expect_eq "the task file after the member's rewrite (owner, group, mode)" \
	    "$(stat -c '%u %g %a' "$F")" "$NOBODY $G 660"
	run "${as_owner[@]}" "$CLAIM" next "$F" 0 0
	expect_rc "the owner's claim after the member's rewrite" 0
	expect_eq "the task file after the owner's rewrite" \
	    "$(stat -c '%u %g %a' "$F")" "$OWNER $G 660"
	run "${as_member[@]}" "$CLAIM" next "$F" 0 2 task 2 0 'echo a'
	expect_rc "the member's report" 0
	grep -q '^#echo a # worker 0 # (.*) #ok$' "$F" || { cat "$F"; die "the report is not in"; }
else
	say "8: (not root: no second user; the lock file's mode is tested)"
fi
say "8: a new lock file: read and write for who may change the task file"
# task file mode, directory mode, the lock file's mode
for m in "664 755 664" "660 755 660" "644 755 644" "600 755 600" \
    "666 755 666" "444 755 644" "640 770 660" "604 757 606" "640 750 640"; do
	set -- $m
	fresh m8
	chmod "$1" "$F"
	chmod "$2" "$T/m8"
	run "$CLAIM" next "$F" 0 0
	expect_rc "mode $1" 0
	expect_eq "lock file of a task file of mode $1 in a directory of mode $2" \
	    "$(stat -c %a "$F.lock")" "$3"
done

# ---- 9 ------------------------------------------------------------------

say "9: a read-only lock file: refused at once, said once, no endless retry"
fresh r9
chmod 777 "$T/r9"
chmod 666 "$F"
"$CLAIM" register "$F" - w >/dev/null || die "register"
cp "$F" "$T/f.orig"
if is_root; then
	chmod 644 "$F.lock"
	as=(env HOME="$T/r9" setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)
else
	chmod 444 "$F.lock"
	as=(env HOME="$T/r9")
fi
for req in "next $F 0 0" "register $F - w" "reset $F" "heartbeat $F 0"; do
	# shellcheck disable=SC2086
	run "${as[@]}" timeout 20 "$CLAIM" $req
	expect_rc "read-only lock file ($req)" 3
	expect_err "read-only lock file ($req)" \
	    "tasks.sh.lock: rtq-claim cannot write the lock file \\(Permission denied\\).*make it writable"
	same "read-only lock file ($req)" "$F" "$T/f.orig"
done
run "${as[@]}" timeout 20 "$CLAIM" lock "$F" </dev/null
expect_rc "lock with a read-only lock file" 0
expect_eq "lock's reply" "$(cat "$T/out")" "RTQ1 locked"
start=$(_usecs)
run "${as[@]}" timeout 40 "$RTQ" -x --poll 0.2 "$F"
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$T/err"; die "worker on a read-only lock file: exit $rc (124: still retrying after 40 s)"; }
(($(_usecs) - start < 20000000)) || die "the worker took more than 20 s to give up"
expect_eq "times the worker said it" "$(grep -c 'cannot write the lock file' "$T/err")" 1
same "worker on a read-only lock file" "$F" "$T/f.orig"

# ---- 10 -----------------------------------------------------------------

say "10: a file size limit while a late line is carried from the ring"
fresh d10 20
exec 3>>"$F"		# a writer that opened the file before a rewrite
"$CLAIM" register "$F" - w >/dev/null || die "register"
echo 'echo late-line-xx' >&3	# reaches the version the rewrite replaced
exec 3>&-
cp "$F" "$T/snap"
size=$(stat -c %s "$F")
# room for 6 bytes of the 18 to carry: "echo l", then EFBIG
run prlimit --fsize=$((size + 6)) "$CLAIM" next "$F" 0 0
[ "$rc" != 0 ] || die "the request on a full disk did not fail"
expect_err "full disk, carry" "tasks.sh.*File too large"
same "a failed request (full disk while carrying)" "$F" "$T/snap"
run "$CLAIM" next "$F" 0 0
expect_rc "the request with room again" 0
grep -q 'lecho' "$F" && { cat "$F"; die "a late line was garbled"; }
expect_eq "late lines" "$(grep -c '^echo late-line-xx$' "$F")" 1
tasks_once "carry after a full disk" 20

say "10: a file size limit while a late line is copied after the rename"
fresh e10 20
"$CLAIM" register "$F" - w >/dev/null || die "register"
cp "$F" "$T/e10/dry.sh"		# the size the claim will give, learnt on a copy
"$CLAIM" next "$T/e10/dry.sh" 0 0 >/dev/null || die "dry run"
limit=$(($(stat -c %s "$T/e10/dry.sh") + 6))
# rename held up 1.5 s: the late line comes after the last look at the file
strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
    -e inject=rename,renameat,renameat2:delay_enter=1500000 \
    prlimit --fsize=$limit "$CLAIM" next "$F" 0 0 >"$T/out" 2>"$T/err" &
spid=$!
linked() { compgen -G "$T/e10/.tasks.sh.prev.rtq.*.new" >/dev/null; }
wait_for 20 linked || { kill $spid; die "the rewrite did not link the old version"; }
echo 'echo late-line-xx' >>"$F"	# F is still the old version
rc=0
wait $spid || rc=$?
grep -q 'lecho\|^echo l$' "$F" && { cat "$F"; die "a partial late line was left"; }
[ "$(tail -c 1 "$F" | od -An -c | tr -d ' ')" = '\n' ] || { cat "$F"; die "the file ends in a partial line"; }
grep -q '^#echo task 1 # worker 0 # (' "$F" || { cat "$T/err" "$F"; die "the claim is not in the file"; }
run "$CLAIM" next "$F" 0 3 task 3 0 'echo task 1'
expect_rc "the next request" 0
grep -q 'lecho' "$F" && { cat "$F"; die "a late line was garbled"; }
expect_eq "late lines after the rename" "$(grep -c '^echo late-line-xx$' "$F")" 1
tasks_once "carry after the rename on a full disk" 20

# ---- 11 -----------------------------------------------------------------

say "11: reset gives back a file without a final line break"
for content in 'echo a' 'echo a\r\necho b' 'echo a\necho b\n'; do
	fresh n11
	printf "$content" >"$F"
	cp "$F" "$T/f.orig"
	"$CLAIM" register "$F" - w >/dev/null || die "register"
	"$CLAIM" next "$F" 0 0 >/dev/null || die "next"
	"$CLAIM" register "$F" - v >/dev/null || die "register 2"
	"$CLAIM" reset "$F" >/dev/null || die "reset"
	cmp -s "$F" "$T/f.orig" || { od -c "$F"; die "reset of '$content' is not byte for byte"; }
done
say "11: an unlocked append after rtq's line still starts a line of its own"
fresh a11
printf 'echo a' >"$F"
"$CLAIM" register "$F" - w >/dev/null || die "register"
echo 'echo b' >>"$F"
grep -qx 'echo b' "$F" || { cat -A "$F"; die "the appended line ran into another"; }
"$CLAIM" reset "$F" >/dev/null || die "reset"
expect_eq "reset after an append" "$(cat -A "$F")" $'echo a$\necho b$'

# ---- 17 -----------------------------------------------------------------

say "17: leftovers of a killed rtq-claim are removed under the lock"
fresh k17
D=$T/k17
run "$CLAIM" next "$F" 0 0
now=$(date +%s)
: >"$D/.tasks.sh.rtq-AbC123"		# a killed rewrite's temporary file
: >"$D/.tasks.sh.rtq-young1"
touch -d "@$((now + 90))" "$D/.tasks.sh.rtq-young1"	# 10 s old at +100
: >"$D/.tasks.sh.rtq-12345"		# not a name rtq-claim makes
: >"$D/.other.sh.rtq-AbC123"		# another file's
: >"$T/keep"
ln -s "$T/keep" "$D/.tasks.sh.rtq-Lnk999"	# a link: never followed
: >"$D/.tasks.sh.prev.rtq.7"		# a ring name without a record
: >"$D/.tasks.sh.prev.rtq.3.new"		# an unfinished link
: >"$D/.tasks.sh.prev.rtq.16"		# not a slot
if is_root; then
	: >"$D/.tasks.sh.rtq-Nob0dy"
	chown $NOBODY "$D/.tasks.sh.rtq-Nob0dy"	# not ours
fi
cp "$F" "$T/f.orig"
run env RTQ_NOW=+30 "$CLAIM" reset "$F" --failed
expect_rc "a request half a minute later" 0
[ -e "$D/.tasks.sh.rtq-AbC123" ] || die "a temporary file was removed before it was a minute old"
# (+100, not more: past worker 0's lease of 120 s a reset releases its
# task as lost, and the file would change for that reason)
run env RTQ_NOW=+100 "$CLAIM" reset "$F" --failed
expect_rc "a request 100 s later" 0
for gone in .tasks.sh.rtq-AbC123 .tasks.sh.prev.rtq.7 .tasks.sh.prev.rtq.3.new; do
	[ -e "$D/$gone" ] && die "$gone was not removed"
done
for kept in .tasks.sh.rtq-young1 .tasks.sh.rtq-12345 .other.sh.rtq-AbC123 \
    .tasks.sh.rtq-Lnk999 .tasks.sh.prev.rtq.16; do
	[ -e "$D/$kept" ] || [ -L "$D/$kept" ] || die "$kept was removed"
done
is_root && { [ -e "$D/.tasks.sh.rtq-Nob0dy" ] || die "another user's temporary file was removed"; }
[ -f "$T/keep" ] || die "the target of a link was removed"
same "sweeping" "$F" "$T/f.orig"

say "17: the versions kept for late appends go on every request, bye included"
fresh b17
"$CLAIM" register "$F" - w >/dev/null || die "register"
"$CLAIM" next "$F" 0/1 0 >/dev/null || die "next"
n=$(compgen -G "$T/b17/.tasks.sh.prev.rtq.*" | wc -l)
[ "$n" = 2 ] || die "$n ring versions after two rewrites, want 2"
# (+3: the versions' times are whole seconds, and under ASan a second
# or more may pass since the next; at +4 they were let go in a CI run)
run env RTQ_NOW=+3 "$CLAIM" bye "$F" 0
[ "$(compgen -G "$T/b17/.tasks.sh.prev.rtq.*" | wc -l)" = 2 ] || die "versions let go before 5 s"
run env RTQ_NOW=+10 "$CLAIM" bye "$F" 0
expect_rc "bye" 0
compgen -G "$T/b17/.tasks.sh.prev.rtq.*" && die "bye left versions older than 5 s"
grep -q '^prev ' "$F.lock" && die "bye left records of versions let go"

# ---- late appends cut in two ------------------------------------------
# A write that crosses a page boundary shows its first part before the
# rest.  Seen on a replaced version, that part must not be carried as a
# line of its own (the rest would then run into the next line; append-race
# once saw "#echo 65 # worker 3 # (T ... >>log T) #ok"): a part is carried
# only once its line is whole, or TFIO_PART_SECS (2 s) after the version
# was replaced.
say "a late append seen in part is carried whole"
fresh cut 1
exec 7>>"$F"				# a writer holding the first version
c register "$F" - w
c next "$F" 0/1 0			# the file is replaced
printf 'echo 6' >&7			# the first part of a line, late
c next "$F" 0/2 2 task 2 0 "echo task 1"
grep -q '^echo 6$' "$F" && { cat "$F"; die "a part of a line was carried as a line"; }
printf '5 >>log\n' >&7			# the rest
c next "$F" 0/3 2
grep -q '^#\?echo 65 >>log\( # worker 0 # (.*\)\?$' "$F" ||
	{ cat "$F"; die "the late line was not carried whole"; }
exec 7>&-
say "a late part that never ends is carried after 2 s"
fresh never 1
exec 7>>"$F"
c register "$F" - w
c next "$F" 0/1 0
printf 'echo never-ends' >&7
exec 7>&-
c next "$F" 0/2 2 task 2 0 "echo task 1"
grep -q 'never-ends' "$F" && die "the part was carried at once"
RTQ_NOW=+3 c next "$F" 0/3 2
grep -q 'echo never-ends' "$F" || { cat "$F"; die "the part was never carried"; }

# ---- 21 -----------------------------------------------------------------

say "21: reset 1 resets every task and keeps the header and registrations"
fresh r21
"$CLAIM" register "$F" - w0 >/dev/null || die "register"
"$CLAIM" register "$F" - w1 >/dev/null || die "register"
"$CLAIM" next "$F" 0 0 >/dev/null || die "next"
"$CLAIM" finish "$F" 1 task 9 0 'echo gone' >/dev/null || die "finish"
run "$RTQ" --reset 1 "$F"
expect_rc "rtq --reset 1" 0
unstamp "$F" >"$T/got"
expect_file "$T/got" <<'EOF'
#LASTWORKER 1
echo task 1
echo task 2
echo task 3
echo task 4
echo task 5
# worker 0: w0 (T)
# worker 1: w1 (T)
EOF
run "$RTQ" --reset "$F"
expect_rc "rtq --reset" 0
expect_eq "the whole-file reset" "$(cat "$F")" "$(printf 'echo task %s\n' 1 2 3 4 5)"

say ok
