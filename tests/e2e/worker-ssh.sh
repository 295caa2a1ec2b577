#!/usr/bin/env bash
# rtq over ssh (SPEC 3.1, 4) against the private loopback sshd: the seed
# example with two workers, the master given as host:path, with -m and
# with MASTER_SERVER; task text full of shell syntax is never run on the
# master; a task file path with blanks and quotes; clear errors for a
# missing rtq-claim and a missing task file; ssh failures (before the
# remote command ran, or after it ran with the reply lost) are retried
# without losing or doubling a claim.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T	# the workers' shell directories, even of killed ones

with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
H=$SSHD_HOST
uid=$(id -u)


F=$T/list.sh
printf '%s\n' 'echo task1; sleep 0.5' 'echo task2; sleep 0.5' 'echo task3; sleep 0.5' \
	'echo task4; sleep 0.5' 'echo task5; sleep 0.5' >"$F"
cp "$F" "$T/orig"

# check_seed NAME: the two workers' outputs $T/NAME.[01].out and the file
check_seed() {
	local i n
	cat "$T/$1".?.out "$T/$1".?.err
	cat "$F"
	expect_eq "$1: header" "$(sed -n 1p "$F")" "#LASTWORKER 1"
	cat "$T/$1".?.out >"$T/$1.all"
	for i in 1 2 3 4 5; do
		expect_eq "$1: task$i output" "$(grep -cx "task$i" "$T/$1.all")" 1
		n=$(grep -cE "^#echo task$i; sleep 0\\.5 # worker [01] # \\([^)]*\\) #ok\$" "$F")
		expect_eq "$1: task$i done" "$n" 1
	done
	expect_eq "$1: registrations" "$(grep -E '^# worker [0-9]+: ' "$F" | sed -E 's/ \(.*//' | sort)" \
		"$(printf '# worker 0: %s\n# worker 1: %s' "$1" "$1" | sort)"
	no_running "$F"
}
# run2 NAME ARGS...: two workers at once, each must exit 0
run2() {
	local name=$1 k p rc
	shift
	local pids=()
	for k in 0 1; do
		timeout -k 5 40 "$RTQ" -x --poll 0.2 -n "$name" "$@" </dev/null \
			>"$T/$name.$k.out" 2>"$T/$name.$k.err" &
		pids+=($!)
	done
	for k in 0 1; do
		rc=0
		wait "${pids[$k]}" || rc=$?
		[ "$rc" = 0 ] || { cat "$T/$name.$k.out" "$T/$name.$k.err"; die "$name: worker $k exited $rc"; }
	done
}

say "the seed example, two workers, $H:FILE"
run2 hostpath "$H:$F"
check_seed hostpath
say "--reset over ssh"
"$RTQ" --reset "$H:$F" || die "--reset over ssh failed"
cmp "$F" "$T/orig" || die "--reset over ssh did not restore the file"

say "the same with -m $H"
run2 dashm -m "$H" "$F"
check_seed dashm
"$RTQ" -m "$H" --reset "$F" || die "--reset -m failed"
cmp "$F" "$T/orig" || die "--reset -m did not restore the file"

say "the same with MASTER_SERVER=$H"
MASTER_SERVER=$H run2 envmaster "$F"
check_seed envmaster
MASTER_SERVER=$H "$RTQ" --reset "$F" || die "--reset with MASTER_SERVER failed"
cmp "$F" "$T/orig" || die "--reset with MASTER_SERVER did not restore the file"

say "task text is never run on the master"
# On the worker WORKERID is set; in the ssh session on the master it is
# not, so anything the master's shell ran would create an INJ file.
N=$T/nasty.sh
lines=(
	"echo \"\$(id -u)\" '\$HOME' \\; ; echo a|cat #x"
	"echo 'it'\\''s'; echo \"q'; [ -n \\\"\\\${WORKERID-}\\\" ] || touch $T/INJ1; '\""
	"echo \`[ -n \"\${WORKERID-}\" ] || touch $T/INJ2\`\$([ -n \"\${WORKERID-}\" ] || touch $T/INJ3)L3 \"*\" 100%s %n %d; echo ok3"
	"echo 'a\"; [ -n \"\${WORKERID-}\" ] || touch $T/INJ4; \"b' >/dev/null; echo ok4"
	"-x 2>/dev/null; echo dash-ok"
	"echo back\\\\"
	"printf '%s|%s\\n' \"a  b\" \$'c\\td'"
	"echo '#!/bin/sh' >$T/shebang; echo sb-ok \"w=\$WORKERID\""
)
nasty() {
	rm -f "$T"/INJ* "$T/shebang"
	printf '%s\n' "${lines[@]}" >"$N"
	cat "$N"
	env "$@" timeout -k 5 40 "$RTQ" -x --poll 0.2 "$H:$N" </dev/null >"$T/nasty.out" 2>"$T/nasty.err" ||
		{ cat "$T/nasty.out" "$T/nasty.err"; die "$1: the worker failed"; }
	cat "$T/nasty.out" "$T/nasty.err" "$N"
	ls "$T"/INJ* 2>/dev/null && die "$1: task text was run on the master"
	# what the worker's shell printed, without rtq's own lines
	grep -v '^\[rtq ' "$T/nasty.out" >"$T/nasty.task-out"
	expect_file "$T/nasty.task-out" <<-EOF
	$uid \$HOME ;
	a
	it's
	q'; [ -n "\${WORKERID-}" ] || touch $T/INJ1; '
	L3 * 100%s %n %d
	ok3
	ok4
	dash-ok
	back\\
	a  b|c	d
	sb-ok w=0
	EOF
	expect_eq "shebang file" "$(cat "$T/shebang")" "#!/bin/sh"
	{
		echo "#LASTWORKER 0"
		for l in "${lines[@]}"; do
			printf '#%s # worker 0 # (T ... T) #ok\n' "$l"
		done
		echo "# worker 0: NAME (T)"
	} >"$T/nasty.want"
	unstamp "$N" | sed -E 's/^(# worker 0: ).*/\1NAME (T)/' >"$T/nasty.got"
	diff -u "$T/nasty.want" "$T/nasty.got" || die "$1: the nasty task file is not annotated as expected"
}
nasty RTQ_SERVE=default
say "the same, one call per request (task text on the ssh command line)"
nasty RTQ_NOSERVE=1

say "a task file path with blanks and quotes"
mkdir "$T/my dir"
Q="$T/my dir/it's \$x;.sh"
printf '%s\n' 'echo "q1 $TASKFILE"' >"$Q"
timeout -k 5 20 "$RTQ" -x --poll 0.2 "$H:$Q" </dev/null >"$T/q.out" 2>&1 ||
	{ cat "$T/q.out"; die "the worker failed on an odd path"; }
cat "$T/q.out" "$Q"
expect_eq "TASKFILE" "$(grep '^q1 ' "$T/q.out")" "q1 $Q"
grep -qE '^#echo "q1 \$TASKFILE" # worker 0 # \([^)]*\) #ok$' "$Q" || die "the odd path was not annotated"

say "RTQ_CLAIM=/nonexistent: a clear error"
rc=0
RTQ_CLAIM=/nonexistent timeout -k 5 20 "$RTQ" -x --poll 0.2 "$H:$F" </dev/null >"$T/nc.out" 2>"$T/nc.err" || rc=$?
cat "$T/nc.out" "$T/nc.err"
[ "$rc" != 0 ] || die "exit 0 without rtq-claim"
[ "$rc" != 124 ] && [ "$rc" != 137 ] || die "rtq hung (retrying?) when rtq-claim is missing"
grep -q 'rtq-claim not found' "$T/nc.err" || die "no 'rtq-claim not found' message"
cmp "$F" "$T/orig" || die "the task file changed"
say "rtq-claim not on the master's PATH (no RTQ_CLAIM): says how to install it"
# A master without rtq-claim whatever is installed here: the remote
# command runs with an empty home and PATH=/usr/bin:/bin (make install
# puts rtq-claim in /usr/local/bin, --install-master in ~/.local/bin).
mkdir "$T/nohome"
cat >"$T/bare-ssh" <<EOF
#!/bin/bash
for a; do [ "\$a" = -G ] && exec ssh -F "$SSH_CONFIG" "\$@"; done
args=("\$@")
last=\${args[-1]}
unset 'args[-1]'
exec ssh -F "$SSH_CONFIG" "\${args[@]}" "HOME=$T/nohome PATH=/usr/bin:/bin; export HOME PATH; \$last"
EOF
chmod +x "$T/bare-ssh"
if "$T/bare-ssh" "$H" 'PATH="$PATH:$HOME/.local/bin:$HOME/bin"; command -v rtq-claim'; then
	die "rtq-claim is installed in /usr/bin or /bin here: a master without it cannot be tested"
fi
rc=0
env -u RTQ_CLAIM RTQ_SSH="$T/bare-ssh" timeout -k 5 20 "$RTQ" -x --poll 0.2 "$H:$F" \
	</dev/null >"$T/nc2.out" 2>"$T/nc2.err" || rc=$?
cat "$T/nc2.out" "$T/nc2.err"
[ "$rc" != 0 ] || die "exit 0 without rtq-claim"
[ "$rc" != 124 ] && [ "$rc" != 137 ] || die "rtq hung when rtq-claim is missing"
grep -q 'rtq-claim not found' "$T/nc2.err" || die "no 'rtq-claim not found' message"
grep -q 'RTQ_CLAIM' "$T/nc2.err" || die "the message does not say how to point to rtq-claim"
say "RTQ_CLAIM=/nonexistent in local mode"
rc=0
RTQ_CLAIM=/nonexistent timeout -k 5 20 "$RTQ" -x --poll 0.2 "$F" </dev/null >"$T/nc3.out" 2>"$T/nc3.err" || rc=$?
cat "$T/nc3.out" "$T/nc3.err"
[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] || die "local mode: exit $rc without rtq-claim"
grep -q 'rtq-claim not found' "$T/nc3.err" || die "local mode: no 'rtq-claim not found' message"

say "a missing remote task file: a clear error, nothing created"
rc=0
timeout -k 5 20 "$RTQ" -x --poll 0.2 "$H:$T/missing.sh" </dev/null >"$T/m.out" 2>"$T/m.err" || rc=$?
cat "$T/m.out" "$T/m.err"
[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] || die "exit $rc for a missing task file"
grep -q "$T/missing.sh" "$T/m.err" || die "the message does not name the file"
grep -qi 'no such' "$T/m.err" || die "the message does not say the file is missing"
[ -e "$T/missing.sh" ] && die "the missing task file was created"

# A wrapper around ssh that fails some connections with exit 255, as ssh
# does when the network goes.  FLAKY_DROP lists which ones (counted from 1
# in $FLAKY_COUNT).  FLAKY_MODE=before: connections fail before the remote
# command runs.  FLAKY_MODE=after: the master does the work but its reply
# to a "next" is lost: in a serve session the connection drops instead of
# passing on a "work" reply; a one-shot "next" runs and its output is
# thrown away.  ssh -G (rtq reading the configuration) and heartbeats
# (sent on their own schedule) always work and are not counted.
cat >"$T/flaky-ssh" <<'EOF'
#!/bin/bash
for a; do [ "$a" = -G ] && exec ssh "$@"; done
case ${*: -1} in *" heartbeat "*) exec ssh "$@" ;; esac	# not counted
count() {
	local n=$(($(cat "$FLAKY_COUNT" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$FLAKY_COUNT"
	case " $FLAKY_DROP " in *" $n "*) return 0 ;; esac
	return 1
}
cmd=${*: -1}
if [ "$FLAKY_MODE" = before ]; then
	count || exec ssh "$@"
	echo "ssh: connect to host rtqtest port 22: Connection refused" >&2
	exit 255
fi
case $cmd in
*serve*)
	coproc ssh "$@"
	exec {to}>&"${COPROC[1]}" {from}<&"${COPROC[0]}"
	while IFS= read -r req; do
		printf '%s\n' "$req" >&$to
		# a log request's bytes follow its line (SIZE, its 7th word)
		if [ "${req%% *}" = log ]; then
			read -r -a rw <<<"$req"
			if [ "${rw[6]}" -gt 0 ]; then
				LC_ALL=C IFS= read -r -d '' -N "${rw[6]}" body
				printf '%s' "$body" >&$to
			fi
		fi
		IFS= read -r head <&$from || exit 255
		read -r -a hw <<<"$head"
		items=0
		case ${hw[1]} in work | wait | none) items=${hw[4]} ;; esac
		reply=$head$'\n'
		for ((i = 0; i < items; i++)); do
			IFS= read -r l <&$from || exit 255
			reply+=$l$'\n'
		done
		if [ "${req%% *}" = next ] && [ "${hw[1]}" = work ] && count; then
			kill "$COPROC_PID"
			echo "Connection to rtqtest closed by remote host." >&2
			exit 255
		fi
		printf '%s' "$reply"
	done
	exec {to}>&-
	wait
	exit 0
	;;
*"'next'"* | *" next "*)
	count || exec ssh "$@"
	ssh "$@" >/dev/null 2>&1
	echo "Connection to rtqtest closed by remote host." >&2
	exit 255
	;;
esac
exec ssh "$@"
EOF
chmod +x "$T/flaky-ssh"

# flaky NAME MODE DROP [ENV...]: one worker through the wrapper on five
# quick tasks; it must finish everything exactly once
FQ=$T/quick.sh
flaky() {
	local name=$1 mode=$2 drop=$3 i
	shift 3
	printf 'echo ftask%s\n' 1 2 3 4 5 >"$FQ"
	env "$@" FLAKY_MODE="$mode" FLAKY_DROP="$drop" FLAKY_COUNT="$T/$name.count" \
		RTQ_SSH="$T/flaky-ssh -F $SSH_CONFIG" \
		timeout -k 5 40 "$RTQ" -x --poll 0.2 "$H:$FQ" </dev/null >"$T/$name.out" 2>"$T/$name.err" ||
		{ cat "$T/$name.out" "$T/$name.err"; die "$name: the worker did not survive"; }
	cat "$T/$name.out" "$T/$name.err" "$FQ"
	local max=${drop##* }
	[ "$(cat "$T/$name.count")" -gt "$max" ] || die "$name: the wrapper was not used as planned"
	for i in 1 2 3 4 5; do
		expect_eq "$name: ftask$i output" "$(grep -cx "ftask$i" "$T/$name.out")" 1
		expect_eq "$name: ftask$i done" \
			"$(grep -cE "^#echo ftask$i # worker 0 # \\([^)]*\\) #ok\$" "$FQ")" 1
	done
	expect_eq "$name: header" "$(sed -n 1p "$FQ")" "#LASTWORKER 0"
	expect_eq "$name: registrations" "$(grep -c '^# worker ' "$FQ")" 1
	no_running "$FQ"
}

say "ssh fails twice before reaching the master: rtq retries (and says so) and finishes"
flaky before before "1 2"
expect_eq "retry messages" "$(grep -ci 'retry' "$T/before.err")" 2
say "the same, one call per request"
flaky before1 before "1 2" RTQ_NOSERVE=1
expect_eq "retry messages" "$(grep -ci 'retry' "$T/before1.err")" 2

say "the reply to a claim is lost (twice) after the master made it: no claim lost or doubled"
flaky after after "1 3"
grep -qi 'retry' "$T/after.err" || die "rtq did not say it was retrying"
say "the same, one call per request"
flaky after1 after "1 3" RTQ_NOSERVE=1
grep -qi 'retry' "$T/after1.err" || die "rtq did not say it was retrying"
say "ok"
