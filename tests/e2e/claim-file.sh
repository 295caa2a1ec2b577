#!/usr/bin/env bash
# How rtq-claim treats the task file itself (SPEC 2, 5): mode and owner
# kept, a symlink kept and its target rewritten, CRLF and a missing final
# newline kept, "~" and relative paths resolved against $HOME, and the lock
# of "rtq-claim lock" holding off every other request until it is released.
# shellcheck disable=SC2088 # "~/..." is passed to rtq-claim unexpanded
. "$RTQ_TOP/tests/e2e/lib.sh"

# claim WORKER FILE: claim the next task for WORKER, print the reply
claim() { "$CLAIM" next "$2" "$1" 0 || die "claim on $2 failed"; }

say "the mode is kept: 640, 600, 755, 444 stay what they were"
for mode in 640 600 755 444; do
	printf 'echo a\necho b\n' >"$T/mode.sh"
	chmod $mode "$T/mode.sh"
	claim 0 "$T/mode.sh" >/dev/null
	grep -q '^#echo a # worker 0' "$T/mode.sh" || die "mode $mode: no claim"
	expect_eq "mode after a claim" "$(stat -c %a "$T/mode.sh")" $mode
	rm -f "$T/mode.sh"
done
if [ "$(id -u)" -eq 0 ]; then
	say "the owner is kept (running as root: a file of nobody:$(id -gn 65534 2>/dev/null || echo 65534))"
	printf 'echo a\n' >"$T/owner.sh"
	chown 65534:65534 "$T/owner.sh"
	claim 0 "$T/owner.sh" >/dev/null
	expect_eq "owner after a claim" "$(stat -c %u:%g "$T/owner.sh")" \
	    65534:65534
else
	say "(not root: the owner is ours anyway; owner case skipped)"
fi

say "a symlinked task file: the link stays a link, the target is rewritten"
mkdir -p "$T/real/sub" "$T/links"
printf 'echo a\necho b\necho c\n' >"$T/real/sub/tasks.sh"
chmod 640 "$T/real/sub/tasks.sh"
ln -s ../real/sub/tasks.sh "$T/links/tasks.sh"		# relative link
ln -s "$T/links/tasks.sh" "$T/links/chain.sh"		# a link to a link
claim 0 "$T/links/tasks.sh" >/dev/null
claim 1 "$T/links/chain.sh" >/dev/null
"$CLAIM" finish "$T/links/tasks.sh" 0 task 1 0 "echo a" >/dev/null ||
	die "finish through the link failed"
[ -L "$T/links/tasks.sh" ] || die "tasks.sh is no longer a symlink"
[ -L "$T/links/chain.sh" ] || die "chain.sh is no longer a symlink"
expect_eq "link target" "$(readlink "$T/links/tasks.sh")" ../real/sub/tasks.sh
expect_eq "chain target" "$(readlink "$T/links/chain.sh")" "$T/links/tasks.sh"
unstamp "$T/real/sub/tasks.sh" >"$T/got"
expect_file "$T/got" <<'EOF'
#echo a # worker 0 # (T ... T) #ok
#echo b # worker 1 # (T ...
echo c
EOF
expect_eq "mode of the target" "$(stat -c %a "$T/real/sub/tasks.sh")" 640
# the target is locked by its own name too, and its previous versions kept
# for late appends (.NAME.prev.rtq.N, as many as rewrites, up to 16); no
# temporary file is left
expect_eq "files next to the target" "$(ls -A "$T/real/sub" |
    grep -v '^\.tasks\.sh\.prev\.rtq\.[0-9]*$' | tr '\n' ' ')" \
    "tasks.sh tasks.sh.lock "
[ -e "$T/real/sub/.tasks.sh.prev.rtq.0" ] ||
	die "no previous version kept beside the target"
expect_eq "files next to the links" "$(ls -A "$T/links" | tr '\n' ' ')" \
    "chain.sh chain.sh.lock tasks.sh tasks.sh.lock "

say "CRLF: every line keeps CRLF through register, claim, finish, reset"
printf 'echo a\r\necho b\r\n\r\n# a comment\r\necho c\r\n' >"$T/crlf.sh"
cp "$T/crlf.sh" "$T/crlf.orig"
F=$T/crlf.sh
"$CLAIM" register "$F" - "host one" >/dev/null || die "register"
"$CLAIM" register "$F" 7 "host two" >/dev/null || die "register 7"
out=$(claim 0 "$F")
expect_eq "reply (no CR in it)" "$out" $'RTQ1 work 2 none 1\ntask 2 echo a'
claim 7 "$F" >/dev/null
"$CLAIM" next "$F" 0 2 task 2 0 "echo a" >/dev/null || die "finish ok"
"$CLAIM" finish "$F" 7 task 3 2 "echo b" >/dev/null || die "finish error"
cr=$'\r'
unstamp "$F" >"$T/got"
expect_file "$T/got" <<EOF
#LASTWORKER 7$cr
#echo a # worker 0 # (T ... T) #ok$cr
echo b # worker 7 # (T ... T) #error2$cr
$cr
# a comment$cr
#echo c # worker 0 # (T ...$cr
# worker 0: host one (T)$cr
# worker 7: host two (T)$cr
EOF
grep -q "^#?line" "$F" && die "a finish made an orphan report"
[ "$(grep -c $'\r$' "$F")" -eq "$(wc -l <"$F")" ] ||
	die "a line lost its CR: $(grep -vn $'\r$' "$F")"
"$CLAIM" reset "$F" >/dev/null || die "reset"
cmp "$F" "$T/crlf.orig" || die "reset of the CRLF file is not the original"

say "no final newline: the last line stays intact"
printf 'echo a\necho last' >"$T/nonl.sh"
cp "$T/nonl.sh" "$T/nonl.orig"
F=$T/nonl.sh
claim 0 "$F" >/dev/null
out=$(claim 1 "$F")
expect_eq "reply for the last line" "$out" $'RTQ1 work 2 none 1\ntask 2 echo last'
[ "$(tail -c 1 "$F" | od -An -c | tr -d ' ')" = . ] ||
	die "a newline was added to the last line"
"$CLAIM" finish "$F" 1 task 2 0 "echo last" >/dev/null || die "finish"
expect_eq "last line, finished" "$(tail -n 1 "$F" | unstamp)" \
    "#echo last # worker 1 # (T ... T) #ok"
[ "$(tail -c 1 "$F")" = k ] || die "finish added a newline"
"$CLAIM" reset "$F" >/dev/null
cmp "$F" "$T/nonl.orig" || die "reset is not the original"
# a registration must start on a line of its own; after a line break rtq
# supplied, it says so with a tab after "# worker 0:" (91bd9aa), so that
# a reset can take that line break back
"$CLAIM" register "$F" - w >/dev/null || die "register"
unstamp "$F" >"$T/got"
expect_file "$T/got" <<EOF
#LASTWORKER 0
echo a
echo last
# worker 0:	w (T)
EOF
claim 0 "$F" >/dev/null
out=$(claim 1 "$F")
expect_eq "the last task after a registration" "$out" \
    $'RTQ1 work 3 none 1\ntask 3 echo last'

say "~ and relative paths are resolved against \$HOME"
mkdir -p "$T/home/sub"
printf 'echo a\necho b\necho c\n' >"$T/home/sub/x.sh"
out=$(cd / && HOME=$T/home "$CLAIM" next '~/sub/x.sh' 0 0) || die "~/ path"
expect_eq "reply for ~/sub/x.sh" "$out" $'RTQ1 work 1 none 1\ntask 1 echo a'
out=$(cd / && HOME=$T/home "$CLAIM" next 'sub/x.sh' 1 0) || die "relative path"
expect_eq "reply for sub/x.sh" "$out" $'RTQ1 work 2 none 1\ntask 2 echo b'
out=$(cd / && HOME=$T/home/ "$CLAIM" next '~/sub/x.sh' 2 0) ||
	die "~/ with a HOME ending in /"
expect_eq "reply for ~/ with HOME=.../" "$out" $'RTQ1 work 3 none 1\ntask 3 echo c'
expect_eq "files in HOME/sub" "$(ls -A "$T/home/sub" |
    grep -v '^\.x\.sh\.prev\.rtq\.[0-9]*$' | tr '\n' ' ')" "x.sh x.sh.lock "
out=$(cd / && HOME=$T/home "$CLAIM" next '~/nope.sh' 0 0 2>&1)
grep -q "$T/home/nope.sh: no such task file" <<<"$out" ||
	die "the error for a missing ~/ file does not name the expanded path: $out"

say "the lock: 'rtq-claim lock' holds off a claim until its stdin closes"
printf 'echo a\necho b\n' >"$T/lock.sh"
F=$T/lock.sh
mkfifo "$T/lock.in" "$T/lock.out"
"$CLAIM" lock "$F" <"$T/lock.in" >"$T/lock.out" &
holder=$!
LIB_CLEANUP+=("kill $holder 2>/dev/null")
exec 7>"$T/lock.in" 8<"$T/lock.out"	# we keep the holder's stdin open
read -r -t 10 line <&8 || die "no answer from the lock holder"
expect_eq "lock holder's answer" "$line" "RTQ1 locked"
# the claim must not inherit our end of the fifo, or EOF never comes
"$CLAIM" next "$F" 0 0 >"$T/lock.reply" 7>&- 8<&- &
claimer=$!
LIB_CLEANUP+=("kill $claimer 2>/dev/null")
wait_for 10 lock_waits $claimer || die "the claim finished while the lock was held (or never asked for it)"
kill -0 $claimer 2>/dev/null || die "the claim finished while the lock was held"
[ -s "$T/lock.reply" ] && die "the claim answered while the lock was held"
cmp -s "$F" <(printf 'echo a\necho b\n') || die "the file changed under the lock"
say "(the claim waits for the lock; now close the holder's stdin)"
exec 7>&-
wait_for 10 gone $holder || die "the lock holder did not exit on EOF"
wait $holder || die "the lock holder exited with $?"
wait_for 10 gone $claimer || die "the claim did not complete after the lock went"
wait $claimer || die "the claim failed after the lock went"
unset 'LIB_CLEANUP[-1]'; unset 'LIB_CLEANUP[-1]'	# both gone: nothing to kill
exec 8<&-
expect_eq "the claim's reply" "$(cat "$T/lock.reply")" \
    $'RTQ1 work 1 none 1\ntask 1 echo a'
grep -q '^#echo a # worker 0 # (' "$F" || die "the claim did not reach the file"

say "the task file is handled as it should be"
