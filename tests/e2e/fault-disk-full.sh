#!/usr/bin/env bash
# Fault injection (SPEC 5): the master's disk is full.  A full disk is a
# file size limit (ulimit -f) below the task file's size on rtq-claim:
# RTQ_CLAIM names a wrapper that sets the limit while a flag file exists,
# then execs rtq-claim.  The test toggles the disk with "$T/disk full|free",
# which makes or removes the flag and also sets the limit of the rtq-claim
# processes already running (prlimit), since a serve session outlives the
# toggle, as a process outlives a disk filling up.
#
# Two workers start on a full disk: they print a clear error (naming the
# task file and saying "File too large"), retry, and the task file stays
# byte for byte the same; once the disk is freed they run the tasks.  Then
# a task fills the disk itself, once (so its report and the other worker's
# requests fail), and the disk is freed 3 s later.  In the end
# every task is #ok exactly once and its side effect is there exactly once,
# and both workers exit 0.  Over ssh with serve sessions (RTQ_CLAIM is the
# remote command), over ssh with one call per request, and locally.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones

need prlimit
with_sshd
H=$SSHD_HOST

NTASKS=20
FULL_KB=4		# the limit while full; the task file is larger
FLAG=$T/disk-is-full
F=$T/tasks.sh L=$T/log
ts='[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'

cat >"$T/fullclaim" <<EOF
#!/bin/bash
# rtq-claim on a full disk while $FLAG exists
[ -e $FLAG ] && ulimit -S -f $FULL_KB
exec $RTQ_BIN/rtq-claim "\$@"
EOF
cat >"$T/disk" <<EOF
#!/bin/bash
# disk full|free: the master's disk fills up, or gets room again
case \$1 in
full) : >$FLAG; lim=$((FULL_KB * 1024)) ;;
free) rm -f $FLAG; lim=unlimited ;;
esac
for pid in \$(pgrep -f -- "rtq-claim [a-z]+ $F( |\\\$)"); do
	prlimit --pid "\$pid" --fsize="\$lim:" 2>/dev/null
done
exit 0
EOF
chmod +x "$T/fullclaim" "$T/disk"

nerrors() { cat "$T"/w?.err 2>/dev/null | grep -c 'File too large' || true; }
more_errors() { [ "$(nerrors)" -ge "$1" ]; }
werrors() { grep -c 'File too large' "$T/w$1.err" 2>/dev/null || true; }
# each_errors N0 N1: worker 0 has reported N0 errors at least, worker 1 N1
each_errors() { [ "$(werrors 0)" -ge "$1" ] && [ "$(werrors 1)" -ge "$2" ]; }
no_tmp() { ! compgen -G "$T/.tasks.sh.rtq-*" >/dev/null; }

fails=()
tot_tasks=0 tot_writes=0 tot_lost=0 tot_twice=0
# run MODE TARGET [ENV...]
run() {
	local mode=$1 target=$2 k rc e0 pids=()
	shift 2
	say "$mode"
	"$T/disk" free
	for ((i = 1; i <= NTASKS; i++)); do
		if [ $i = 8 ]; then
			echo "echo $i >> $L; [ -e $T/filled ] || { : >$T/filled; $T/disk full; } # fills the disk once"
		else
			echo "echo $i >> $L # padding padding padding padding padding padding padding padding"
		fi
	done >"$F"
	printf '# %s\n' "a comment line to make the file larger than ${FULL_KB} KiB: $(printf '%0300d' 0)" >>"$F"
	for ((i = 0; i < 10; i++)); do
		printf '# %s\n' "$(printf '%0300d' $i)"
	done >>"$F"
	[ "$(stat -c %s "$F")" -gt $((FULL_KB * 1024 + 400)) ] || die "the task file is too small"
	: >"$L"
	rm -f "$F.lock" "$T"/w?.err "$T"/w?.out "$T/filled"
	cp "$F" "$T/orig"

	say "($mode) the disk is full when the workers start"
	"$T/disk" full
	for k in 0 1; do
		env "$@" timeout -k 5 240 "$RTQ" -x --poll 0.2 -n "w$k" "$target" \
			</dev/null >"$T/w$k.out" 2>"$T/w$k.err" &
		pids+=($!)
	done
	# each worker fails and retries (1 s, then 2 s: about 3 s for two)
	wait_for 20 each_errors 2 2 || { cat "$T"/w?.err; die "$mode: not two 'File too large' errors from each worker"; }
	local err
	err=$(grep -m 1 'File too large' "$T/w0.err")
	echo "($mode) worker 0 says: $err"
	case $err in *"$F"*) ;; *) fails+=("$mode: the error does not name the task file: $err") ;; esac
	grep -q 'retrying' <<<"$err" || fails+=("$mode: the error does not say it is retried: $err")
	cmp -s "$F" "$T/orig" || { diff "$T/orig" "$F" | head; fails+=("$mode: the task file changed while the disk was full"); }
	no_tmp || fails+=("$mode: temporary files left while the disk was full")
	[ -s "$L" ] && fails+=("$mode: tasks ran before a worker was registered")
	for k in 0 1; do
		kill -0 "${pids[$k]}" 2>/dev/null || fails+=("$mode: worker $k gave up on a full disk")
	done
	full1=$(nerrors)

	say "($mode) the disk has room again; task 8 fills it up once more"
	"$T/disk" free
	wait_for 20 grep -qx 8 "$L" || { cat "$T"/w?.err "$F"; die "$mode: task 8 did not run"; }
	e0=$(nerrors)
	wait_for 10 more_errors $((e0 + 1)) || { cat "$T"/w?.err; die "$mode: no error after task 8 filled the disk"; }
	# A request under way when the disk filled may still have got
	# through: the file is looked at once each worker has failed after
	# that, and again after each has failed once more.
	local e0_0=$(werrors 0) e0_1=$(werrors 1)
	wait_for 20 each_errors $((e0_0 + 1)) $((e0_1 + 1)) || { cat "$T"/w?.err; die "$mode: a worker did not fail on the full disk"; }
	cp "$F" "$T/snap"
	no_tmp || fails+=("$mode: temporary files left while the disk was full")
	wait_for 30 each_errors $((e0_0 + 2)) $((e0_1 + 2)) || { cat "$T"/w?.err; die "$mode: a worker stopped retrying on a full disk"; }
	cmp -s "$F" "$T/snap" || { diff "$T/snap" "$F" | head; fails+=("$mode: the task file changed while the disk was full (2)"); }
	[ "$(stat -c %s "$F")" -gt $((FULL_KB * 1024)) ] || fails+=("$mode: the task file shrank")
	grep -qE "^#echo 8 >> .* # worker [01] # \\($ts \\.\\.\\.\$" "$F" ||
		fails+=("$mode: task 8 is not marked running while its report cannot be written")
	full2=$(($(nerrors) - e0))
	"$T/disk" free
	for k in 0 1; do
		rc=0
		wait "${pids[$k]}" || rc=$?
		if [ "$rc" != 0 ]; then
			tail -n 20 "$T/w$k.err"
			fails+=("$mode: worker $k exited $rc")
		fi
	done

	# the tally
	local c nlost=0 ntwice=0 nok
	for ((i = 1; i <= NTASKS; i++)); do
		c=$(grep -cx "$i" "$L" || true)
		[ "$c" = 0 ] && nlost=$((nlost + 1))
		[ "$c" -gt 1 ] && { echo "task $i ran $c times"; ntwice=$((ntwice + 1)); }
	done
	nok=$(grep -cE "^#echo [0-9]+ >> $L.* # worker [01] # \\($ts \\.\\.\\. $ts\\) #ok\$" "$F" || true)
	echo "SUMMARY $mode: tasks $NTASKS, faults injected 2 full-disk periods" \
		"($full1 + $full2 failed writes reported), tasks lost $nlost," \
		"tasks run twice $ntwice, tasks #ok $nok"
	tot_tasks=$((tot_tasks + NTASKS)) tot_writes=$((tot_writes + full1 + full2))
	tot_lost=$((tot_lost + nlost)) tot_twice=$((tot_twice + ntwice))
	[ "$nlost" = 0 ] || fails+=("$mode: $nlost tasks lost")
	[ "$ntwice" = 0 ] || fails+=("$mode: $ntwice tasks run twice")
	[ "$nok" = "$NTASKS" ] || { cat "$F"; fails+=("$mode: $nok of $NTASKS tasks #ok once"); }
	grep -n '#?line:' "$F" && fails+=("$mode: orphan reports")
	# each task line: one annotation, #ok; the rest as it was
	diff <(sed -E '/ # worker [01] # \('"$ts"' \.\.\. '"$ts"'\) #ok$/{s/ # worker .*//; s/^#//;}' "$F" |
		grep -vE '^(#LASTWORKER 1|# worker [01]: w[01] \('"$ts"'\))$') "$T/orig" >/dev/null ||
		fails+=("$mode: the task file is not the original with one #ok annotation per task")
	no_tmp || fails+=("$mode: temporary files left")
	"$RTQ_BIN/rtq-claim" status "$F" >/dev/null || fails+=("$mode: status fails on the file")
}

export RTQ_CLAIM=$T/fullclaim	# the remote command; locally, the program
run "over ssh, serve sessions" "$H:$F"
run "over ssh, one call per request" "$H:$F" RTQ_NOSERVE=1
run "local mode" "$F"

echo "SUMMARY fault-disk-full: tasks $tot_tasks, faults injected 6 full-disk" \
	"periods ($tot_writes failed writes reported), tasks lost $tot_lost," \
	"tasks run twice $tot_twice"
if [ ${#fails[@]} -gt 0 ]; then
	printf '%s\n' "${fails[@]}" >&2
	die "${#fails[@]} checks failed (above)"
fi
say ok
