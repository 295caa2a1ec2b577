#!/usr/bin/env bash
# Crash safety of the rewrite (SPEC 5): rounds 0-99 of rtq-claim SIGKILLed
# while it rewrites a large task file (lib-crash.sh; rounds 100-199 are
# claim-crash-more.sh); then a full disk (a file size limit): an error, the
# old file intact, no temporary file left.
. "$RTQ_TOP/tests/e2e/lib.sh"
CRASH_FIRST=0 CRASH_ROUNDS=100
. "$RTQ_TOP/tests/e2e/lib-crash.sh"

say "full disk: a file size limit below the file's size"
# bash's ulimit -f counts 1024-byte blocks (512 only in POSIX mode)
limited() {	# BLOCKS WORDS...: run rtq-claim under ulimit -f BLOCKS
	local blocks=$1
	shift
	out=$( ulimit -f "$blocks" && exec "$CLAIM" "$@" 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
}
full_disk_case() {	# WHAT BLOCKS WORDS...
	local what=$1 blocks=$2
	shift 2
	cp "$F" "$T/old"
	limited "$blocks" "$@"
	[ $rc -eq 1 ] || die "$what: exit $rc, want 1 (stderr: $err)"
	grep -q "writing the new version failed: File too large; the task file is unchanged" <<<"$err" ||
		die "$what: message [$err]"
	case $out in "RTQ1 error 1 "*) ;; *) die "$what: reply [$out]" ;; esac
	cmp -s "$F" "$T/old" || die "$what: the task file changed"
	compgen -G "$T/.*.rtq-*" >/dev/null && die "$what: a temporary file was left"
	:
}
size=$(stat -c %s "$F")
half=$((size / 1024 / 2))
say "(limit $half KiB, the file is $((size / 1024)) KiB): claim, register, reset"
full_disk_case "claim, limit $half KiB" "$half" next "$F" 999999 0
full_disk_case "register, limit $half KiB" "$half" register "$F" - name
full_disk_case "reset, limit $half KiB" "$half" reset "$F"
# The tightest case: the old file fits under the limit, the new one (a
# claim adds ~35 bytes) does not, so the write fails on its last bytes.
pad=$((((size + 1023) / 1024 + 1) * 1024 - 10 - size - 1))
printf '#%*s\n' "$pad" '' >>"$F"
size=$(stat -c %s "$F")
blocks=$(((size + 1023) / 1024))
say "(limit $blocks KiB, the file is $size bytes, the new one just over)"
full_disk_case "claim, limit just above the old size" "$blocks" \
    next "$F" 999999 0
"$CLAIM" next "$F" 999999 0 >/dev/null ||
	die "the same claim fails without the limit"
[ "$(stat -c %s "$F")" -gt $((blocks * 1024)) ] ||
	die "the new version would have fit: the case tested nothing"

say "reset after all that gives back the file as it was written"
sed -i '$d' "$F"	# the padding line of the last case
"$CLAIM" reset "$F" >/dev/null || die "reset fails on the survivor"
cmp "$F" "$T/pristine" || die "reset does not give back the original"

say "no request ever left a truncated file"
