#!/usr/bin/env bash
# rtq's command line (SPEC 3.1): usage errors exit 2 with a one-line
# message and the usage on stderr; --help and --version exit 0 on stdout;
# TASK_FILE and WORKER_NAME from the environment; -i; --status.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones
unset TASK_FILE MASTER_SERVER WORKER_NAME

# usage_error NAME ARGS...: exit 2, nothing on stdout, a message line and
# then the usage on stderr; sets msg to the message line
usage_error() {
	local name=$1 rc=0
	shift
	timeout -k 2 10 "$RTQ" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	cat "$T/$name.err"
	expect_eq "$name: exit status" "$rc" 2
	[ -s "$T/$name.out" ] && die "$name: printed on stdout: $(cat "$T/$name.out")"
	msg=$(sed -n 1p "$T/$name.err")
	[ -n "$msg" ] || die "$name: no message"
	case $msg in usage:*) die "$name: the usage, but no message saying what is wrong" ;; esac
	sed -n 2p "$T/$name.err" | grep -q '^usage: rtq ' || die "$name: the usage does not follow the message"
	return 0
}

F=$T/tasks.sh
printf '%s\n' 'echo "hello from $WORKERID"' >"$F"

say "an unknown option"
usage_error bogus --bogus "$F"
case $msg in *bogus*) ;; *) die "the message does not name the option: $msg" ;; esac
usage_error bogus2 -Z "$F"
case $msg in *Z*) ;; *) die "the message does not name the option: $msg" ;; esac

say "--id abc"
usage_error badid --id abc "$F"
case $msg in *-id*|*-i*) ;; *) die "the message does not name --id: $msg" ;; esac
usage_error badid2 -i -3 "$F"
usage_error badid3 -i 12x "$F"

say "no task file"
usage_error nofile
case $msg in *TASK_FILE*|*task\ file*|*TASKFILE*) ;; *) die "the message does not say the task file is missing: $msg" ;; esac
usage_error nofile2 -x --poll 0.2

say "other bad uses"
usage_error badpoll --poll abc "$F"
usage_error toomany "$F" "$F"
usage_error lockreset --lock --reset "$F"
usage_error noarg --id

say "--help and -h"
for h in --help -h; do
	rc=0
	"$RTQ" "$h" >"$T/help.out" 2>"$T/help.err" || rc=$?
	expect_eq "$h: exit status" "$rc" 0
	[ -s "$T/help.err" ] && die "$h: printed on stderr"
	grep -q '^usage: rtq ' "$T/help.out" || die "$h: no usage line"
	for o in --master --name --id --exit-when-done --poll --lock --reset --status --help TASK_FILE; do
		grep -qe "$o" "$T/help.out" || die "$h: the usage does not mention $o"
	done
done

say "--version"
rc=0
out=$("$RTQ" --version 2>"$T/v.err") || rc=$?
expect_eq "--version: exit status" "$rc" 0
echo "$out"
[[ $out =~ ^rtq\ [0-9]+\.[0-9]+ ]] || die "--version printed: $out"

say "TASK_FILE from the environment, WORKER_NAME, -i"
(cd "$T" && TASK_FILE=$F WORKER_NAME="env-named worker" timeout -k 2 20 "$RTQ" -x --poll 0.2 -i 6 \
	</dev/null >"$T/env.out" 2>&1) || { cat "$T/env.out"; die "TASK_FILE: the worker failed"; }
cat "$T/env.out" "$F"
grep -q '^hello from 6$' "$T/env.out" || die "TASK_FILE: the task did not run as worker 6"
grep -qE '^#echo "hello from \$WORKERID" # worker 6 # \([^)]*\) #ok$' "$F" || die "TASK_FILE: the file is not annotated"
grep -qE '^# worker 6: env-named worker \(' "$F" || die "WORKER_NAME was not used"

say "a positional TASKFILE wins over TASK_FILE"
G=$T/other.sh
printf '%s\n' 'echo from-other' >"$G"
"$RTQ" --reset "$F" >/dev/null || die "--reset failed"
TASK_FILE=$F timeout -k 2 20 "$RTQ" -x --poll 0.2 "$G" </dev/null >"$T/pos.out" 2>&1 ||
	{ cat "$T/pos.out"; die "the worker failed"; }
grep -q '^from-other$' "$T/pos.out" || die "the positional task file was not used"
grep -q 'hello from' "$T/pos.out" && die "TASK_FILE was used although a file was given"

say "a relative TASKFILE in local mode is relative to the current directory"
mkdir "$T/rel"
printf '%s\n' 'echo from-relative' >"$T/rel/r.sh"
(cd "$T/rel" && timeout -k 2 20 "$RTQ" -x --poll 0.2 r.sh </dev/null >"$T/rel.out" 2>&1) ||
	{ cat "$T/rel.out"; die "the worker failed on a relative path"; }
grep -q '^from-relative$' "$T/rel.out" || die "the relative task file was not used"
grep -q '^#echo from-relative # worker 0 ' "$T/rel/r.sh" || die "the relative task file was not annotated"

say "--status"
printf '%s\n' 'echo s1' 'echo s2' >"$T/st.sh"
"$CLAIM" register "$T/st.sh" - st >/dev/null && "$CLAIM" next "$T/st.sh" 0 0 >/dev/null || die "claim failed"
rc=0
"$RTQ" --status "$T/st.sh" >"$T/st.out" 2>&1 || rc=$?
cat "$T/st.out"
expect_eq "--status: exit status" "$rc" 0
grep -q 'echo s1' "$T/st.out" || die "--status does not show the running task"
rc=0
"$RTQ" --status "$T/nonexistent.sh" >"$T/st2.out" 2>&1 || rc=$?
cat "$T/st2.out"
[ "$rc" != 0 ] || die "--status of a missing file exited 0"
say "ok"
