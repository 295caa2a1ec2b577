# Sourced (after lib.sh) by append-race.sh (the rounds in local mode) and
# append-race-ssh.sh (over the loopback sshd), two tests so that they run
# side by side; what follows is their design.
#
# Unlocked appends to a live queue (SPEC 5): people add tasks with plain
# `echo ... >> tasks.sh`, which takes no lock, while rtq-claim rewrites the
# file (read, write a copy, rename over it).  rtq-claim redoes its work when
# the file changed between its read and its rename, and copies bytes that
# reached the old inode after the rename.  No appended line may be lost or
# doubled.
#
# Each round: a file with a gate task and 50 quick seed tasks; four workers
# (-x) claim from it; once they are registered, a writer appends 300 lines
# (200 in exec rounds) "echo N >>log" as fast as it can; then the gate opens
# and the workers finish.  Every appended line must be in the file exactly
# once, whole, and ended #ok, and the log must hold each N exactly once
# (every seed too).
# Rounds are repeated so that a window of a few microseconds shows:
#   sync     rtq-claim as shipped (fsync before the rename and after it)
#   nosync   RTQ_NOSYNC=1: no fsync, as cheap as on a fast disk or tmpfs,
#            which narrows the gap between the rename and the copy of late
#            appends to microseconds
#   exec     nosync, and the writer appends with /bin/echo: the shell opens
#            the file (>>) before it runs the command that writes, as with
#            any program whose output is appended (cmd >> tasks.sh).  That
#            write comes a millisecond or more after the open, when
#            rtq-claim may have replaced the file several times: the
#            replaced versions stay watched (16 of them, for 5 s), so
#            these lines too must all arrive.
# in local mode and over the loopback sshd.  A summary table gives, per
# round, the writer's time, the lines found, lost and doubled, and how many
# appended lines ended up out of their order in the file (lines copied from
# the old inode after the rename land after later appends).  Whether an
# append landed during a rewrite cannot be seen from outside.
export TMPDIR=$T	# the workers' shell directories, even of killed ones
export LC_ALL=C

# The seeds keep the workers rewriting the file when the writer starts;
# from then on the appended tasks do (they are claimable as they come).
# 50 outlast a writer at shell speed; the 200 of before only added to what
# every round must run to its end.  What the rounds cost is running every
# task to its end, so a round appends 300 lines (exec rounds 200, each a
# process of its own, which took 25 to 65 s for 500 here): the 17 rounds
# with 500 and 200 seeds cost 180 to 230 s of CPU, most of a make check.
NSEED=50 NAPP=300 NAPP_EXEC=200
SUMMARY=$T/summary
failures=

# round NAME MODE TARGETPREFIX CLAIMCMD
#   MODE: sync, nosync or exec; TARGETPREFIX: "" (local) or "host:"
round() {
	local name=$1 mode=$2 prefix=$3 D=$T/$1 F k i rc t0 t1 pids=() bad= napp=$NAPP
	[ "$mode" = exec ] && napp=$NAPP_EXEC
	mkdir "$D"
	F=$D/tasks.sh
	{
		echo "while [ ! -e $D/wdone ]; do sleep 0.02; done"
		for ((i = 1; i <= NSEED; i++)); do echo "echo s$i >>seedlog"; done
	} >"$F"
	local nosync=
	[ "$mode" = sync ] || nosync=1
	for k in 0 1 2 3; do
		(cd "$D" && RTQ_NOSYNC=$nosync exec timeout -k 5 240 "$RTQ" -x --poll 0.05 \
			-n "$name-$k" "$prefix$F") </dev/null >"$D/w$k.out" 2>"$D/w$k.err" &
		pids+=($!)
	done
	# the writer starts once all four claim (the seeds keep them busy)
	wait_for 10 eval '[ "$(grep -c "^# worker [0-9]*: " "$F")" -ge 4 ]'
	t0=$(date +%s%N)
	if [ "$mode" = exec ]; then
		for ((i = 1; i <= napp; i++)); do /bin/echo "echo $i >>log" >>"$F"; done
	else
		for ((i = 1; i <= napp; i++)); do echo "echo $i >>log" >>"$F"; done
	fi
	t1=$(date +%s%N)
	touch "$D/wdone"
	for k in 0 1 2 3; do
		rc=0
		wait "${pids[$k]}" || rc=$?
		[ "$rc" = 0 ] || { tail -n 20 "$D/w$k.out" "$D/w$k.err"; die "$name: worker $k exited $rc"; }
	done
	# every line of the file is one of ours, whole
	if grep -vnE '^(#LASTWORKER 3|# worker [0-3]: '"$name"'-[0-3] \(.*\)|#?(while \[ ! -e .* done|echo s?[0-9]+ >>(seed)?log)( # worker [0-3] # \(.*\) #ok)?)$' "$F" >"$D/odd"; then
		head -n 5 "$D/odd"
		bad+="lines that are not whole tasks; "
	fi
	if grep -nE ' # worker [0-9]+ # \([^)]* \.\.\.$' "$F"; then
		bad+="a task left running; "
	fi
	# the appended lines, in the order of the file
	grep -E '^#?echo [0-9]+ >>log' "$F" | sed -E 's/^#?echo ([0-9]+) .*/\1/' >"$D/nums"
	local found lost dup ooo notok ran ranonce seeds
	found=$(sort -un "$D/nums" | wc -l)
	lost=$(comm -23 <(seq 1 "$napp" | sort) <(sort -u "$D/nums") | wc -l)
	dup=$(sort -n "$D/nums" | uniq -d | wc -l)
	ooo=$(awk '$1 < m { c++ } $1 > m { m = $1 } END { print c + 0 }' "$D/nums")
	notok=$(grep -cE '^#?echo [0-9]+ >>log' "$F" | awk -v ok="$(grep -cE '^#echo [0-9]+ >>log # worker [0-3] # \(.*\) #ok$' "$F")" '{ print $1 - ok }')
	ran=$(sort -un "$D/log" 2>/dev/null | wc -l)
	ranonce=$( (sort -n "$D/log" 2>/dev/null | uniq -d) | wc -l)
	seeds=$(sort -u "$D/seedlog" | wc -l):$(wc -l <"$D/seedlog")
	printf '%-10s %-6s %6s %6s %5s %5s %5s %5s %5s %9s\n' "$name" "$mode" \
		"$(((t1 - t0) / 1000000))ms" "$found" "$lost" "$dup" "$ooo" "$ran" "$ranonce" "$seeds" | tee -a "$SUMMARY"
	[ "$lost" = 0 ] || {
		bad+="$lost appended lines lost ($(comm -23 <(seq 1 "$napp" | sort) <(sort -u "$D/nums") | sort -n | head -n 5 | tr '\n' ' ')...); "
	}
	[ "$dup" = 0 ] || bad+="$dup appended lines doubled; "
	[ "$notok" = 0 ] || bad+="$notok appended lines not #ok; "
	[ "$ran" = "$found" ] || bad+="$ran appended tasks run, $found in the file; "
	[ "$ranonce" = 0 ] || bad+="$ranonce tasks run twice; "
	[ "$seeds" = "$NSEED:$NSEED" ] || bad+="seed tasks run: $seeds (distinct:all); "
	[ -z "$bad" ] || failures+="$name ($mode): $bad"$'\n'
	rm -rf "$D"	# keep $T small across rounds
}

header() {
	printf '%-10s %-6s %6s %6s %5s %5s %5s %5s %5s %9s\n' round mode writer \
		found lost dup ooo ran twice seeds | tee -a "$SUMMARY"
}

# race_end: the summary; fail if any round lost or doubled a line
race_end() {
	say "summary"
	cat "$SUMMARY"
	echo "(writer: time for the appends; found: distinct appended lines in the file;"
	echo " ooo: appended lines after a later one in the file (copied late from the old inode);"
	echo " ran: distinct appended tasks in the log; twice: run more than once;"
	echo " seeds: distinct:total seed tasks run)"
	[ -z "$failures" ] || die $'appended lines were not each run exactly once:\n'"$failures"
	say "ok"
}
