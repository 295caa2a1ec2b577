#!/usr/bin/env bash
# rtq-claim on bad input (SPEC 5): a clear message on stderr, an "RTQ1 error"
# reply, the documented exit status (1 cannot write, 2 usage, 3 bad task
# file, 4 bad content), the task file byte-identical afterwards and no stray
# files.  Also what must NOT be an error: a 4 MB line, invalid UTF-8.
. "$RTQ_TOP/tests/e2e/lib.sh"
# rtq-claim's clock stands still (RTQ_NOW): the previous versions it keeps
# beside a task file for 5 s would otherwise age out between the listings
# before and after a request on a slow run ("files vanished")
export RTQ_NOW=$(date +%s)

# run CMD...: sets $out (stdout), $err (stderr) and $rc
run() {
	out=$("$@" 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
}

# expect_error WHAT RC REGEX: the last run failed with exit RC, a message
# matching REGEX on stderr and the matching error reply on stdout
expect_error() {
	[ "$rc" -eq "$2" ] || die "$1: exit $rc, want $2 (stderr: $err)"
	[ -n "$err" ] || die "$1: nothing on stderr"
	grep -Eq -- "$3" <<<"$err" ||
		die "$1: stderr [$err] does not match /$3/"
	case $out in
	"RTQ1 error $2 "*) ;;
	*) die "$1: reply [$out], want 'RTQ1 error $2 ...'" ;;
	esac
}

# listing DIR: the names in DIR, one per line, hidden ones included
listing() { (cd "$1" && ls -A); }

# same_dir WHAT DIR BEFORE [ALLOWED]: DIR holds what it held (BEFORE, from
# listing) plus at most the name ALLOWED (the sidecar lock file)
same_dir() {
	local now extra
	now=$(listing "$2")
	extra=$(comm -13 <(printf '%s\n' "$3" | sort) <(printf '%s\n' "$now" |
	    sort) | grep -vxF -- "${4:-/}")
	[ -z "$extra" ] || die "$1: stray files left in $2: $extra"
	[ "$(comm -23 <(printf '%s\n' "$3" | sort) <(printf '%s\n' "$now" |
	    sort))" = "" ] || die "$1: files vanished from $2"
}

# unchanged WHAT FILE COPY: FILE is byte-identical to COPY
unchanged() {
	cmp -s "$2" "$3" || die "$1: $2 changed"
}

# Dropping privileges when root: chmod 000 and a read-only directory stop
# everyone but root, so those cases run rtq-claim as user nobody.
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	chmod 755 "$T"
	need setpriv
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	"${as_user[@]}" "$CLAIM" version >/dev/null ||
		die "setpriv cannot run rtq-claim as user nobody: the permission cases cannot be tested as root"
fi
is_root() { [ "$(id -u)" -eq 0 ]; }

say "a missing task file: error 3, and neither it nor its .lock is created"
mkdir "$T/missing"
for cmd in "next F 0 0" "register F" "register F - name" "finish F 0 task 1 0 x" \
    "reset F" "reset F 3" "lock F" "status F"; do
	# shellcheck disable=SC2086
	set -- ${cmd/F/$T/missing/tasks.sh}
	run "$CLAIM" "$@" </dev/null
	expect_error "missing file ($cmd)" 3 \
	    "$T/missing/tasks.sh: no such task file"
	same_dir "missing file ($cmd)" "$T/missing" ""
done

say "a directory: error 3, no .lock next to it"
mkdir -p "$T/dir/tasks.sh"
before=$(listing "$T/dir")
for cmd in "next F 0 0" "register F" "reset F" "lock F"; do
	# shellcheck disable=SC2086
	set -- ${cmd/F/$T/dir/tasks.sh}
	run "$CLAIM" "$@" </dev/null
	expect_error "directory ($cmd)" 3 "is a directory"
	same_dir "directory ($cmd)" "$T/dir" "$before"
done

say "a fifo (not a regular file): error 3 at once, no hang"
mkdir "$T/fifo"
mkfifo "$T/fifo/tasks.sh"
before=$(listing "$T/fifo")
run timeout 10 "$CLAIM" next "$T/fifo/tasks.sh" 0 0
expect_error "fifo" 3 "not a regular file"
same_dir "fifo" "$T/fifo" "$before"

say "an unreadable file (chmod 000): error 3, unchanged"
mkdir "$T/unread"
printf 'echo a\necho b\n' >"$T/unread/tasks.sh"
cp "$T/unread/tasks.sh" "$T/unread.orig"
chmod 000 "$T/unread/tasks.sh"
before=$(listing "$T/unread")
{
	prefix=()
	if is_root; then
		say "(running as root: this case runs rtq-claim as user nobody)"
		chmod 777 "$T/unread"	# so only the file's mode can stop it
		prefix=("${as_user[@]}")
	fi
	run "${prefix[@]}" "$CLAIM" next "$T/unread/tasks.sh" 0 0
	expect_error "unreadable file" 3 "tasks.sh: Permission denied"
	same_dir "unreadable file" "$T/unread" "$before"
}
chmod 644 "$T/unread/tasks.sh"
unchanged "unreadable file" "$T/unread/tasks.sh" "$T/unread.orig"

say "an unwritable directory: error 1, the file as it was, no temp file"
# The lock file exists (created by an earlier call), so the lock is taken
# and the write of the temporary file is what fails.
unwritable_case() {	# WHAT [PREFIX...]: the directory is $T/ro
	local what=$1
	shift
	before=$(listing "$T/ro")
	run "$@" "$CLAIM" next "$T/ro/tasks.sh" 0 0
	expect_error "$what" 1 \
	    "cannot create a temporary file there: (Permission denied|Operation not permitted); the task file is unchanged"
	same_dir "$what" "$T/ro" "$before"
	unchanged "$what" "$T/ro/tasks.sh" "$T/ro.orig"
	run "$@" "$CLAIM" register "$T/ro/tasks.sh" - name
	expect_error "$what, register" 1 "cannot create a temporary file"
	unchanged "$what, register" "$T/ro/tasks.sh" "$T/ro.orig"
	same_dir "$what, register" "$T/ro" "$before"
}
mkdir "$T/ro"
printf 'echo a\necho b\n' >"$T/ro/tasks.sh"
cp "$T/ro/tasks.sh" "$T/ro.orig"
# a request that takes the lock creates the lock file (status only looks)
"$CLAIM" reset "$T/ro/tasks.sh" >/dev/null || die "reset failed"
chmod 666 "$T/ro/tasks.sh" "$T/ro/tasks.sh.lock"
chmod 555 "$T/ro"
if ! is_root; then
	unwritable_case "read-only directory (chmod 555)"
else
	say "(running as root: chmod 555 case as user nobody)"
	unwritable_case "read-only directory (chmod 555), as nobody" \
	    "${as_user[@]}"
fi
chmod 755 "$T/ro"
# An immutable directory stops root as well (needs chattr, root, and a
# file system with the attribute: a root that cannot set it fails the
# test; as another user, the chmod 555 case above is the test).
if is_root; then
	need chattr
	chattr +i "$T/ro" ||
		die "chattr +i fails on $T (a file system without the immutable attribute?): set TMPDIR to one that has it"
	LIB_CLEANUP+=("chattr -i '$T/ro' 2>/dev/null")
	say "immutable directory (chattr +i): fails even for root"
	unwritable_case "immutable directory"
	say "immutable directory without a lock file: error 1 naming the lock file"
	chattr -i "$T/ro"
	rm "$T/ro/tasks.sh.lock"
	chattr +i "$T/ro"
	before=$(listing "$T/ro")
	run "$CLAIM" next "$T/ro/tasks.sh" 0 0
	expect_error "immutable directory, no lock file" 1 \
	    "tasks.sh.lock: cannot open the lock file: Operation not permitted"
	same_dir "immutable directory, no lock file" "$T/ro" "$before"
	unchanged "immutable directory, no lock file" "$T/ro/tasks.sh" \
	    "$T/ro.orig"
	chattr -i "$T/ro"
else
	say "(not root: no immutable directory, the chmod 555 case stands for it)"
fi

say "NUL bytes: error 4 naming the line, unchanged, no temp file"
mkdir "$T/nul"
printf 'echo a\necho b\necho c\0d\necho e\n' >"$T/nul/tasks.sh"
cp "$T/nul/tasks.sh" "$T/nul.orig"
before=$(listing "$T/nul")
for cmd in "next F 0 0" "register F" "reset F" "finish F 0 task 1 0 x"; do
	# shellcheck disable=SC2086
	set -- ${cmd/F/$T/nul/tasks.sh}
	run "$CLAIM" "$@"
	expect_error "NUL bytes ($cmd)" 4 "line 3 holds a NUL byte"
	unchanged "NUL bytes ($cmd)" "$T/nul/tasks.sh" "$T/nul.orig"
	same_dir "NUL bytes ($cmd)" "$T/nul" "$before" tasks.sh.lock
done

say "malformed #@ tags: error 4 naming line and tag, unchanged"
mkdir "$T/tag"
for tag in '#@x' '#@' '#@12a' '#@1234567890' '#@-1'; do
	printf '#LASTWORKER 0\necho ok # comment\necho bad %s\necho c\n# worker 0: w (11-24 08:00:00)\n' \
	    "$tag" >"$T/tag/tasks.sh"
	"$CLAIM" next "$T/tag/tasks.sh" 0 0 >/dev/null || die "first claim"
	cp "$T/tag/tasks.sh" "$T/tag.orig"
	before=$(listing "$T/tag")
	run "$CLAIM" next "$T/tag/tasks.sh" 0 2 task 2 0 "echo ok # comment"
	expect_error "malformed tag $tag" 4 \
	    "tasks.sh: line 3: malformed worker tag \"$tag\""
	unchanged "malformed tag $tag" "$T/tag/tasks.sh" "$T/tag.orig"
	same_dir "malformed tag $tag" "$T/tag" "$before"
done
say "(a '#@x' inside quotes or mid-word is no tag and no error)"
printf "echo '#@x' a#@y\n" >"$T/tag/quoted.sh"
run "$CLAIM" next "$T/tag/quoted.sh" 0 0
[ $rc -eq 0 ] || die "quoted #@x: exit $rc: $err"

say "usage errors: exit 2 with the usage text, the file untouched, no lock"
mkdir "$T/usage"
printf 'echo a\necho b\n' >"$T/usage/tasks.sh"
cp "$T/usage/tasks.sh" "$T/usage.orig"
F=$T/usage/tasks.sh
before=$(listing "$T/usage")
usage_case() {	# WHAT REGEX WORDS...
	local what=$1 re=$2
	shift 2
	run "$CLAIM" "$@"
	expect_error "$what" 2 "$re"
	grep -q '^usage: rtq-claim register' <<<"$err" ||
		die "$what: no usage text on stderr"
	unchanged "$what" "$F" "$T/usage.orig"
	same_dir "$what" "$T/usage" "$before"
}
usage_case "no words" "usage:"
usage_case "unknown subcommand" "unknown subcommand" frobnicate "$F"
usage_case "subcommand without file" "missing TASKFILE" next
usage_case "worker id not a number" "WORKER must be a number" next "$F" x 0
usage_case "negative worker id" "WORKER must be a number" next "$F" -1 0
usage_case "worker id too large" "WORKER must be a number" \
    next "$F" 1234567890 0
usage_case "worker id with junk" "WORKER must be a number" next "$F" 1x 0
usage_case "empty worker id" "WORKER must be a number" next "$F" "" 0
usage_case "position not a number" "POS must be a line number" \
    next "$F" 0 abc
usage_case "negative position" "POS must be a line number" next "$F" 0 -3
usage_case "missing position" "next: expected WORKER.* POS" next "$F" 0
usage_case "unknown worker word option" "WORKER must be a number" \
    next "$F" 0,x=1 0
usage_case "retry limit too large" "WORKER must be a number" \
    next "$F" 0,r=1001 0
usage_case "kill of line 0" "kill: expected LINE" kill "$F" 0
usage_case "kill without lines" "kill: expected LINE" kill "$F"
usage_case "pause with words" "pause: extra words" pause "$F" now
usage_case "reported line 0" "the reported item must be" \
    next "$F" 0 1 task 0 0 "echo a"
usage_case "reported line not a number" "the reported item must be" \
    next "$F" 0 1 task one 0 "echo a"
usage_case "reported line negative" "the reported item must be" \
    next "$F" 0 1 task -1 0 "echo a"
usage_case "status out of range" "the reported item must be" \
    next "$F" 0 1 task 1 256 "echo a"
usage_case "status not a number" "the reported item must be" \
    next "$F" 0 1 task 1 okay "echo a"
usage_case "item kind unknown" "the reported item must be" \
    next "$F" 0 1 job 1 0 "echo a"
usage_case "text with a line break" "the reported item must be" \
    next "$F" 0 1 task 1 0 $'echo a\necho b'
usage_case "finish without text" "finish: expected" finish "$F" 0 task 1 0
usage_case "finish with extra words" "finish: expected" \
    finish "$F" 0 task 1 0 "echo a" extra
usage_case "register id not a number" "register: ID must be a number" \
    register "$F" abc
usage_case "register name with a line break" "NAME holds a line break" \
    register "$F" - $'two\nlines'
usage_case "reset K not a number" "reset: K must be a line number" \
    reset "$F" x
usage_case "lock with extra words" "lock: extra words" lock "$F" x

say "a 4 MB line is no error: claimed and annotated byte for byte"
mkdir "$T/big"
{
	echo "echo small one"
	printf 'echo '
	printf '%*s' $((4 * 1024 * 1024)) '' | tr ' ' x
	printf ' # a comment\n'
	echo "echo small two"
} >"$T/big/tasks.sh"
cp "$T/big/tasks.sh" "$T/big.orig"
F=$T/big/tasks.sh
run "$CLAIM" next "$F" 0 0
[ $rc -eq 0 ] || die "4 MB: first claim failed: $err"
run "$CLAIM" next "$F" 1 0
[ $rc -eq 0 ] || die "4 MB: claim of the big line failed: $err"
[ "$(head -n 1 <<<"$out")" = "RTQ1 work 2 none 1" ] ||
	die "4 MB: reply head [$(head -n 1 <<<"$out" | cut -c1-80)]"
# the reply carries the whole line
sed -n 2p "$T/big.orig" | sed 's/^/task 2 /' >"$T/big.want"
tail -n +2 <<<"$out" | cmp -s - "$T/big.want" ||
	die "4 MB: the reply does not carry the line intact"
# the file: line 2 commented and annotated, lines 1 and 3 as claimed/kept
{ printf '#'; sed -n 2p "$T/big.orig" | tr -d '\n'
  printf ' # worker 1 # (T ...\n'; } >"$T/big.want"
sed -n 2p "$F" | unstamp | cmp -s - "$T/big.want" ||
	die "4 MB: line 2 is not the annotated big line"
[ "$(sed -n 3p "$F")" = "echo small two" ] || die "4 MB: line 3 changed"
[ "$(wc -l <"$F")" -eq 3 ] || die "4 MB: line count changed"
run "$CLAIM" finish "$F" 0 task 1 0 "echo small one"
[ $rc -eq 0 ] || die "4 MB: finish of line 1 failed: $err"
unstamp "$F" | sed -n 1p | grep -qx '#echo small one # worker 0 # (T ... T) #ok' ||
	die "4 MB: line 1 not finished"
say "(its finish goes through 'rtq-claim serve': as an argument the text" \
    "would pass the kernel's 128 KiB limit for one argument)"
{
	echo "hello 1"
	printf 'finish 1 task 2 0 %s\n' "$(sed -n 2p "$T/big.orig")"
} | "$CLAIM" serve "$F" >"$T/big.reply" 2>"$T/stderr" ||
	die "4 MB: serve failed: $(cat "$T/stderr")"
[ "$(sed -n 2p "$T/big.reply")" = "RTQ1 ok" ] ||
	die "4 MB: finish through serve: $(cut -c1-200 "$T/big.reply")"
{ printf '#'; sed -n 2p "$T/big.orig" | tr -d '\n'
  printf ' # worker 1 # (T ... T) #ok\n'; } >"$T/big.want"
sed -n 2p "$F" | unstamp | cmp -s - "$T/big.want" ||
	die "4 MB: line 2 is not the finished big line"
grep -q '^#?line' "$F" && die "4 MB: the finish made an orphan report"
run "$CLAIM" reset "$F"
[ $rc -eq 0 ] || die "4 MB: reset failed: $err"
unchanged "4 MB: reset" "$F" "$T/big.orig"
say "a 100 KB line finished with its text as an argument"
{ printf 'echo '; printf '%*s' 100000 '' | tr ' ' y; echo; } >"$T/big/mid.sh"
cp "$T/big/mid.sh" "$T/mid.orig"
line=$(cat "$T/big/mid.sh")
run "$CLAIM" next "$T/big/mid.sh" 0 0
[ $rc -eq 0 ] || die "100 KB: claim failed"
run "$CLAIM" finish "$T/big/mid.sh" 0 task 1 0 "$line"
[ "$out" = "RTQ1 ok" ] || die "100 KB: finish failed: $err"
grep -q ' #ok$' "$T/big/mid.sh" || die "100 KB: not finished #ok"
grep -q '#?line' "$T/big/mid.sh" && die "100 KB: finish made an orphan"
"$CLAIM" reset "$T/big/mid.sh" >/dev/null
unchanged "100 KB: reset" "$T/big/mid.sh" "$T/mid.orig"

say "invalid UTF-8 passes through untouched: claim, finish, reset"
mkdir "$T/utf"
printf 'echo \xff\xfe caf\xc3\xa9 \xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80 end\necho \xc0\xaf second # \xfe tag-less comment\r\n' \
    >"$T/utf/tasks.sh"
cp "$T/utf/tasks.sh" "$T/utf.orig"
F=$T/utf/tasks.sh
for w in 0 1; do
	out=$("$CLAIM" next "$F" $w 0) || die "utf-8: claim of worker $w failed"
	l=$((w + 1))
	# the reply's text is the line's bytes (minus the CR of a CRLF line)
	[ "$(sed -n 2p <<<"$out" | od -An -tx1)" = \
	    "$(sed -n "${l}p" "$T/utf.orig" | tr -d '\r' | sed "s/^/task $l /" |
	    od -An -tx1)" ] || die "utf-8: reply to worker $w is not the bytes"
	text=$(sed -n "2s/^task $l //p" <<<"$out")
	"$CLAIM" finish "$F" $w task $l $((w * 7)) "$text" >/dev/null ||
		die "utf-8: finish failed"
done
grep -q '#?line' "$F" && die "utf-8: finish made an orphan"
[ "$(unstamp "$F" | sed -n 1p | od -An -tx1)" = \
    "$(printf '#echo \xff\xfe caf\xc3\xa9 \xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80 end # worker 0 # (T ... T) #ok\n' |
    od -An -tx1)" ] || die "utf-8: line 1 not annotated byte for byte"
[ "$(unstamp "$F" | sed -n 2p | od -An -tx1)" = \
    "$(printf 'echo \xc0\xaf second # \xfe tag-less comment # worker 1 # (T ... T) #error7\r\n' |
    od -An -tx1)" ] || die "utf-8: line 2 not annotated byte for byte"
"$CLAIM" reset "$F" >/dev/null || die "utf-8: reset failed"
unchanged "utf-8: claim, finish, reset" "$F" "$T/utf.orig"

say "all bad-input cases behaved"
