#!/usr/bin/env bash
# make bench: rtq's figures next to references measured in the same run, on
# a master reached over a loopback sshd as an unprivileged user, with a light
# login (Debian's default ~/.bashrc) and a heavy one (~/.bashrc takes 100 ms,
# as with `conda init`).  tests/bench/README lists each row and how it is
# measured; tests/bench/logins.sh how the master is set up.
#
# Prints figures, a ratio and PASS or MISS against the target of each row
# that has one; a missed target is not a failure.  Exits 1 only when
# something could not be measured (its cell says FAILED).
#
# usage: tests/bench.sh [BUILD_DIR]     (make bench O=BUILD_DIR)
#   BENCH_QUICK=1     small sizes, a smoke run of about a minute
#   BENCH_BATCH=K     the K of `rtq --batch K` in the drain row (auto)
#   BENCH_ONLY=LIST   only these of claim,tasks,latency,drain,memory
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${1:-build}/bin
quick=${BENCH_QUICK:-0}
batch_k=${BENCH_BATCH:-auto}
export LC_ALL=C
unset RTQ_CLAIM RTQ_NOSYNC RTQ_NOSERVE MASTER_SERVER TASK_FILE
if [ ! -x "$bin/rtq" ] || [ ! -x "$bin/rtq-claim" ]; then
	echo "bench: no $bin/rtq or rtq-claim; build first (make)" >&2
	exit 1
fi

if [ "$quick" = 1 ]; then
	ntask=40 rtt_n=10 lat_n=3 sizes="1000 100000"
	drain_n=100000 drain_s=5 mem_counts="8 32"
else
	ntask=200 rtt_n=50 lat_n=10 sizes="1000 100000 1000000"
	drain_n=1000000 drain_s=30 mem_counts="64 256"
fi

say() { printf 'bench: [%3ds] %s\n' "$SECONDS" "$*" >&2; }
calc() { awk "BEGIN { printf \"%.6f\", ($1) }" </dev/null; }
median() {	# of the numbers on standard input; with -r: "MEDIAN MIN MAX"
	sort -g | awk -v r="${1:-}" '{ a[NR] = $1 } END { if (NR == 0) exit
	    if (NR % 2) m = a[(NR + 1) / 2]
	    else m = (a[NR / 2] + a[NR / 2 + 1]) / 2
	    if (r == "-r") printf "%.6f %.6f %.6f\n", m, a[1], a[NR]
	    else printf "%.6f\n", m }'
}
want() {	# SECTION: measured (BENCH_ONLY, a comma-separated list, unset: all)
	[ -z "${BENCH_ONLY:-}" ] || [[ ,$BENCH_ONLY, == *,$1,* ]]
}
human() {	# N: 1000 -> 1k
	case $1 in
	*000000) echo "$(($1 / 1000000))M" ;;
	*000) echo "$(($1 / 1000))k" ;;
	*) echo "$1" ;;
	esac
}

# --- dependencies -----------------------------------------------------------
need=()
command -v parallel >/dev/null || need+=(parallel)
command -v ssh >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/bin/python3 ] || command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
	say "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${need[@]}" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
		  apt-get install -y -q "${need[@]}" >/dev/null 2>&1; } ||
		say "could not install ${need[*]}"
fi
py=/usr/bin/python3
[ -x $py ] || py=python3

B=$(mktemp -d "${TMPDIR:-/tmp}/rtq-bench.XXXXXX")
chmod 755 "$B"
# rtq's own ssh connection sharing goes under $B/xdg/rtq, so that the bench
# can end it; GNU parallel's under $B/parallel
export XDG_RUNTIME_DIR=$B/xdg PARALLEL_HOME=$B/parallel
mkdir -m 700 "$XDG_RUNTIME_DIR" && mkdir -p "$PARALLEL_HOME" &&
	touch "$PARALLEL_HOME/will-cite"
PIDS=()		# every process the bench starts in the background

# stop SIG PID...: send SIG, wait up to 20 s for them to end, then SIGKILL
stop() {
	local sig=$1 p i left
	shift
	[ $# -gt 0 ] || return 0
	kill -"$sig" "$@" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		left=0
		for p; do kill -0 "$p" 2>/dev/null && { left=1; break; }; done
		[ $left = 0 ] && break
		sleep 0.1
	done
	[ $left = 1 ] && kill -KILL "$@" 2>/dev/null
	wait "$@" 2>/dev/null
	return 0
}

# mux_exit: end the ssh connection masters of the bench and of rtq
mux_exit() {
	local s
	for s in "$B"/mux-* "$XDG_RUNTIME_DIR"/rtq/*; do
		[ -S "$s" ] && ssh -F "${LOGIN_CFG:-/dev/null}" -S "$s" -O exit \
		    dummy >/dev/null 2>&1
	done
	return 0
}

cleanup() {
	local alive=() p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
	stop TERM "${alive[@]}"
	mux_exit
	logins_stop
	rm -rf "$B"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=bench/logins.sh
. "$top/tests/bench/logins.sh"

declare -A R	# results: R[what.column]; empty or missing: not measured

# mkq COL NAME: the path of a task file NAME in COL's master directory,
# owned by COL's user, holding standard input
mkq() {
	local f=${LOGIN_DIR[$1]}/$2
	cat >"$f" && chown "${LOGIN_USER[$1]}" "$f" && echo "$f"
}
oks() { grep -c '#ok$' "$1"; }
regs() { grep -c '^# worker [0-9]*:' "$1"; }
rtq_bg() {	# rtq in the background; its pid in $last
	"$bin/rtq" "$@" >/dev/null 2>>"$B/err" &
	last=$!
	PIDS+=("$last")
}
waitfor() {	# SECONDS COMMAND...: poll COMMAND every 10 ms; 1 on timeout
	local end
	end=$(calc "$EPOCHREALTIME + $1")
	shift
	until "$@"; do
		[ "$(calc "$EPOCHREALTIME > $end")" = 1.000000 ] && return 1
		sleep 0.01
	done
}
hasline() { [ "$(regs "$1")" -ge "$2" ]; }
nonempty() { [ -s "$1" ]; }
firstok() { grep -q -m1 '#ok$' "$1"; }

echo "rtq bench, $(date -u +%FT%TZ), $(nproc) cores, $(uname -sr)," \
    "$("$bin/rtq" --version 2>&1 | head -1)"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$quick" = 1 ] && echo "BENCH_QUICK=1: smaller sizes than the targets are set for"

# --- the master --------------------------------------------------------------
logins_start "$B/login" "$bin/rtq-claim" || { say "no master to log in to"; exit 1; }
echo "light login: ${LOGIN_WHAT[light]}"
echo "heavy login: ${LOGIN_WHAT[heavy]:-none (needs root to create a user)}"
echo
cols=light
[ -n "${LOGIN_HOST[heavy]:-}" ] && cols="light heavy"

# --- claim cost against the file-write limit (local, no ssh) ----------------
# On the master's disk: the light user's directory, where its queues live.

wl=$B/writelimit
if want claim && ! ${CC:-cc} -O2 -o "$wl" "$top/tests/bench/writelimit.c"; then
	say "cannot build tests/bench/writelimit.c"
	wl=/nonexistent
fi
if want claim; then for n in $sizes; do
	say "one claim, $(human "$n") lines"
	f=$(awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
	    printf "echo task %d; true\n", i }' </dev/null | mkq light "claim$n.sh")
	# 41 at every size: rtq-claim keeps up to 16 earlier versions, and
	# frees one a claim only once it has them, while the limit frees
	# one every round: at 1M lines, with 21 rounds the claim read 0.45x
	# the limit, with 41 rounds 1.14x
	rounds=41
	read -r R[claim.$n] R[lim.$n] _ < <($py \
	    "$top/tests/bench/claimcost.py" "$bin/rtq-claim" "$f" $rounds "$wl")
	R[size.$n]=$(stat -c %s "$f")
	last_n=$n
	rm -f "$f" "$f.lock"
done
n=$last_n
say "one claim, $(human "$n") lines, without fsync"
f=$(awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
    printf "echo task %d; true\n", i }' </dev/null | mkq light "claimns.sh")
read -r R[claimns.$n] R[limns.$n] _ < <(RTQ_NOSYNC=1 $py \
    "$top/tests/bench/claimcost.py" "$bin/rtq-claim" "$f" $rounds "$wl")
rm -f "$f" "$f.lock"; fi

# --- trivial tasks: rtq, an ssh round trip, GNU parallel -M -----------------
export RTQ_SSH="ssh -F $LOGIN_CFG"
run_rtq() {	# COL N SLOTS: seconds for N trivial tasks with rtq -x -j SLOTS
	local col=$1 n=$2 j=$3 f t0 i
	f=$(for ((i = 0; i < n; i++)); do echo true; done | mkq "$col" "t$n.$j.sh")
	t0=$EPOCHREALTIME
	timeout 600 "$bin/rtq" -x -j "$j" "${LOGIN_HOST[$col]}:$f" \
	    >/dev/null 2>>"$B/err"
	t0=$(calc "$EPOCHREALTIME - $t0")
	[ "$(oks "$f")" -eq "$n" ] || { say "rtq: not every task ended #ok"; return 1; }
	echo "$t0"
}
ssh_rtt() {	# COL: median ms of one multiplexed `ssh host true`
	local col=$1 i t0 mux
	mux=(-o ControlMaster=auto -o "ControlPath=$B/mux-%C" -o ControlPersist=600)
	ssh -F "$LOGIN_CFG" "${mux[@]}" "${LOGIN_HOST[$col]}" true || return 1
	for ((i = 0; i < rtt_n; i++)); do
		t0=$EPOCHREALTIME
		ssh -F "$LOGIN_CFG" "${mux[@]}" "${LOGIN_HOST[$col]}" true ||
			return 1
		calc "($EPOCHREALTIME - $t0) * 1000"
		echo
	done | median
}
run_parallel() {	# COL SLOTS: seconds for $ntask trivial tasks
	local col=$1 j=$2 t0 i
	for ((i = 0; i < ntask; i++)); do echo true; done >"$B/p.sh"
	t0=$EPOCHREALTIME
	timeout 600 parallel --ssh "ssh -F $LOGIN_CFG" -S "${LOGIN_HOST[$col]}" \
	    -M -j "$j" <"$B/p.sh" >/dev/null 2>>"$B/err" || return 1
	calc "$EPOCHREALTIME - $t0"
}
if want tasks; then for col in $cols; do
	say "$ntask trivial tasks, $col login"
	R[t0.$col]=$(run_rtq "$col" 0 1)
	R[t1.$col]=$(run_rtq "$col" "$ntask" 1)
	R[t4.$col]=$(run_rtq "$col" "$ntask" 4)
	R[rtt.$col]=$(ssh_rtt "$col")
	if command -v parallel >/dev/null; then
		R[par4.$col]=$(run_parallel "$col" 4)
	else
		R[par4.$col]=nopar
	fi
done
mux_exit; fi

# --- latencies ----------------------------------------------------------------
append_latency() {	# COL: median ms from an append to the task's start
	local col=$1 f i m
	f=$(mkq "$col" idle.sh </dev/null)
	rtq_bg "${LOGIN_HOST[$col]}:$f"
	waitfor 30 hasline "$f" 1 || return 1
	sleep 1.5			# its wait is held on the master
	for ((i = 0; i < lat_n; i++)); do
		m=$B/append.$col.$i
		t0=$EPOCHREALTIME
		echo "date +%s.%N >$m" >>"$f"
		waitfor 30 nonempty "$m" || return 1
		calc "($(cat "$m") - $t0) * 1000"
		echo
		sleep "0.$((300 + RANDOM % 300))"
	done >"$B/append.$col"
	stop INT "$last"
	median -r <"$B/append.$col"
}
exit_latency() {	# COL: median ms from the last task's end to the last -x exit
	local col=$1 f i m k t s=()
	for ((i = 0; i < lat_n; i++)); do
		m=$B/exit.$col.$i
		f=${LOGIN_DIR[$col]}/exit$i.sh
		# the task ends a second after the second worker registered, so
		# that one is waiting (held on the master) for it by then
		echo "until grep -q '^# worker 1:' $f; do sleep 0.01; done;" \
		    "sleep 1; date +%s.%N >$m" | mkq "$col" "exit$i.sh" >/dev/null
		s=()
		for k in 0 1; do
			# the subshell notes the time rtq exits, as it exits
			(timeout 120 "$bin/rtq" -x "${LOGIN_HOST[$col]}:$f" \
			    >/dev/null 2>>"$B/err" &&
			 echo "$EPOCHREALTIME" >"$m.gone$k") &
			s+=("$!")
			PIDS+=("$!")
		done
		wait "${s[@]}"
		[ -s "$m" ] && [ -s "$m.gone0" ] && [ -s "$m.gone1" ] || return 1
		t=$(sort -g "$m.gone0" "$m.gone1" | tail -n 1)
		calc "($t - $(cat "$m")) * 1000"
		echo
	done >"$B/exit.$col"
	median -r <"$B/exit.$col"
}
if want latency; then for col in $cols; do
	say "append-to-start and -x exit latency, $col login"
	R[append.$col]=$(append_latency "$col")
	R[exit.$col]=$(exit_latency "$col")
done; fi

# --- a long queue drained by 8 slots ------------------------------------------
has_batch=0
"$bin/rtq" --help 2>&1 | grep -q -- --batch && has_batch=1
drain() {	# COL [RTQ OPTIONS]: tasks a second over $drain_s s
	local col=$1 f n0 t0 n1 t1
	shift
	f=$(awk -v n="$drain_n" 'BEGIN { for (i = 1; i <= n; i++)
	    printf "echo task %d; true\n", i }' </dev/null | mkq "$col" drain.sh)
	rtq_bg -j 8 "$@" "${LOGIN_HOST[$col]}:$f"
	waitfor 60 firstok "$f" || { stop TERM "$last"; return 1; }
	t0=$EPOCHREALTIME n0=$(oks "$f")
	sleep "$drain_s"
	t1=$EPOCHREALTIME n1=$(oks "$f")
	stop INT "$last"
	rm -f "$f" "$f.lock"
	calc "($n1 - $n0) / ($t1 - $t0)"
}
# The floor: 8 bash loops that each run `echo task N; true` in a subshell
# and wait for it, as a worker runs a task, with no queue at all: the most
# tasks a second any design that gives each task a process of its own gets
# here (a fork costs milliseconds on some machines).
fork_floor() {	# SECONDS: tasks a second
	local d=$B/floor k n=0 t0 t1
	mkdir -p "$d"
	t0=$EPOCHREALTIME
	for k in 0 1 2 3 4 5 6 7; do
		bash -c 'n=0 end=$((SECONDS + $1))
			while ((SECONDS < end)); do
				(echo task $n; true) </dev/null >/dev/null & wait $!
				n=$((n + 1))
			done
			echo $n' floor "$1" >"$d/$k" &
	done
	wait
	t1=$EPOCHREALTIME
	for k in 0 1 2 3 4 5 6 7; do n=$((n + $(cat "$d/$k"))); done
	calc "$n / ($t1 - $t0)"
}
if want drain; then
	say "the floor: 8 bash loops, a subshell a task, ${drain_s} s"
	R[floor]=$(fork_floor "$drain_s")
fi
if want drain; then for col in $cols; do
	say "$(human $drain_n)-line queue, 8 slots, ${drain_s} s, $col login"
	R[drain.$col]=$(drain "$col")
	if [ $has_batch = 1 ]; then
		R[drainb.$col]=$(drain "$col" --batch "$batch_k")
	else
		R[drainb.$col]=nobatch
	fi
done; fi

# --- master memory per worker ---------------------------------------------------
# pss_rss PID...: summed PSS and RSS in KiB, and how many were read
pss_rss() {
	local p
	for p; do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
	    awk '/^Pss:/ { p += $2 } /^Rss:/ { r += $2; n++ }
		 END { print p + 0, r + 0, n + 0 }'
}
claims() {	# the number of rtq-claim processes under the sshd
	local t
	t=$(login_tree | paste -sd,)
	ps -o comm= -p "$t" 2>/dev/null | grep -c '^rtq-claim'
}
hasclaims() { [ "$(claims)" -ge "$1" ]; }
# memory N...: start idle workers until there are N (for each N, ascending),
# and set R[mem.N] to the master's KiB per worker: "PSS RSS processes"
memory() {
	local n f i=0 bp br bn p r c pids=()
	f=$(mkq light mem.sh </dev/null)
	mux_exit
	sleep 0.5
	read -r bp br bn < <(pss_rss $(login_tree))
	for n; do
		say "master memory, $n idle workers"
		for (( ; i < n; i++)); do
			rtq_bg "${LOGIN_HOST[light]}:$f"
			pids+=("$last")
			# 8 logins at a time: sshd's MaxStartups drops some
			# beyond 10.  (Waiting instead for serve sessions, a
			# ps and a walk of the process tree every 10 ms, made
			# the start twice as slow on a loaded machine.)
			if (((i + 1) % 8 == 0)); then
				waitfor 60 hasline "$f" $((i + 1)) || break 2
			fi
		done
		waitfor 120 hasline "$f" "$n" && waitfor 60 hasclaims "$n" ||
			break
		say "$n workers registered and waiting"
		sleep 2
		read -r p r c < <(pss_rss $(login_tree))
		R[mem.$n]="$(calc "($p - $bp) / $n") $(calc "($r - $br) / $n")"
		R[mem.$n]+=" $(calc "($c - $bn) / $n")"
	done
	stop INT "${pids[@]}"
	say "${#pids[@]} workers stopped"
	mux_exit
}
# memory_slots N J: N idle workers as N/J rtq -j J, which share one ssh
# connection each; R[memj.N] as R[mem.N]
memory_slots() {
	local n=$1 j=$2 f k bp br bn p r c pids=()
	f=$(mkq light memj.sh </dev/null)
	mux_exit
	sleep 0.5
	read -r bp br bn < <(pss_rss $(login_tree))
	say "master memory, $n idle workers as $((n / j)) rtq -j $j"
	for ((k = 0; k < n / j; k++)); do
		rtq_bg -j "$j" "${LOGIN_HOST[light]}:$f"
		pids+=("$last")
		# one login an rtq: 8 at a time, as above
		# (64 logins and registrations: minutes on a busy machine
		# where a process takes 10 ms to start)
		if (((k + 1) % 8 == 0)); then
			waitfor 300 hasline "$f" $(((k + 1) * j)) || break
		fi
	done
	if waitfor 300 hasline "$f" "$n" && waitfor 120 hasclaims "$n"; then
		say "$n workers registered and waiting"
		sleep 2
		read -r p r c < <(pss_rss $(login_tree))
		R[memj.$n]="$(calc "($p - $bp) / $n") $(calc "($r - $br) / $n")"
		R[memj.$n]+=" $(calc "($c - $bn) / $n")"
	fi
	stop INT "${pids[@]}"
	say "${#pids[@]} rtq -j $j stopped"
	mux_exit
}
mem_j=8
mem_top=${mem_counts##* }
if want memory; then
	memory $mem_counts
	memory_slots "$mem_top" $mem_j
fi

# --- the table ----------------------------------------------------------------
# Each cells_* function prints the four cells of one column (rtq, reference,
# ratio, mark), one a line; FAILED where a figure is missing.
ok() { [ -n "$1" ] && [ "$1" != nopar ] && [ "$1" != nobatch ]; }
f() { printf "$2" "$1"; }
mark() {	# VALUE OP TARGET: PASS or MISS
	if [ "$(calc "$1 $2 $3")" = 1.000000 ]; then echo PASS; else echo MISS; fi
}
W='%-34s| %-18s %-17s %-6s %-4s | %-18s %-17s %-6s %-4s | %s\n'
cells_t1() {	# COL
	local t0=${R[t0.$1]:-} t1=${R[t1.$1]:-} rt=${R[rtt.$1]:-} per a b
	b=FAILED
	ok "$rt" && b=$(f "$rt" 'ssh RT %.1fms')
	if ! ok "$t1" || ! ok "$t0"; then
		printf '%s\n' FAILED "$b" - ''
		return
	fi
	per=$(calc "($t1 - $t0) / $ntask * 1000")
	a="$(f "$t1" %.2fs) $(f "$per" '%.1fms/t')"
	if ok "$rt"; then
		printf '%s\n' "$a" "$b" "$(f "$(calc "$rt / $per")" %.1fx)" ''
	else
		printf '%s\n' "$a" "$b" - ''
	fi
}
cells_t4() {	# COL
	local t=${R[t4.$1]:-} p=${R[par4.$1]:-} a=FAILED b=FAILED x
	ok "$t" && a=$(f "$t" %.2fs)
	[ "$p" = nopar ] && b="FAILED: no parallel"
	ok "$p" && b=$(f "$p" 'parallel %.2fs')
	if ok "$t" && ok "$p"; then
		x=$(calc "$p / $t")
		printf '%s\n' "$a" "$b" "$(f "$x" %.1fx)" "$(mark "$x" '>=' 5)"
	else
		printf '%s\n' "$a" "$b" - ''
	fi
}
cells_ms() {	# COL KEY TARGET_MS: R[KEY.COL] is "MEDIAN MIN MAX"
	local v lo hi
	read -r v lo hi <<<"${R[$2.$1]:-}"
	ok "${v:-}" || { printf '%s\n' FAILED - - ''; return; }
	printf '%s\n' "$(f "$v" %.0fms)" "$(printf 'range %.0f-%.0fms' "$lo" "$hi")" \
	    - "$(mark "$v" '<=' "$3")"
}
cells_drain() {	# COL KEY [TARGET]: the floor (fork_floor) as reference
	local v=${R[$2.$1]:-} m= fl=${R[floor]:-} ref=- ratio=-
	[ "$v" = nobatch ] && { printf '%s\n' "n/a (no --batch)" - - ''; return; }
	ok "$v" || { printf '%s\n' FAILED - - ''; return; }
	[ -n "${3:-}" ] && m=$(mark "$v" '>=' "$3")
	if ok "$fl"; then
		ref="$(f "$fl" '%.0f/s floor')"
		ratio=$(f "$(calc "$v / $fl")" '%.2fx')
	fi
	printf '%s\n' "$(f "$v" '%.0f tasks/s')" "$ref" "$ratio" "$m"
}
emit() {	# WHAT TARGET FUNCTION ARGS...: FUNCTION COL ARGS, for each column
	local what=$1 target=$2 fn=$3 light heavy
	shift 3
	mapfile -t light < <($fn light "$@")
	if [ -n "${LOGIN_HOST[heavy]:-}" ]; then
		mapfile -t heavy < <($fn heavy "$@")
	else
		heavy=("n/a (not root)" - - '')
	fi
	printf "$W" "$what" "${light[@]}" "${heavy[@]}" "$target"
}
claimrow() {	# WHAT TARGET CLAIM_MS LIMIT_MS
	local x m=
	if ok "$3" && ok "$4"; then
		x=$(calc "$3 / $4")
		[ "$2" != - ] && m=$(mark "$x" '<=' "${2#<=}")
		printf "$W" "$1" "$(f "$3" %.2fms)" "$(f "$4" 'write %.2fms')" \
		    "$(f "$x" %.2fx)" "$m" "(no login)" "" "" "" "$2"
	else
		printf "$W" "$1" FAILED - - '' "(no login)" "" "" "" "$2"
	fi
}
memrow() {	# N TARGET [KEY WHAT]
	local p r c m= what=${4:-"master memory/worker, $1 workers"}
	read -r p r c <<<"${R[${3:-mem}.$1]:-}"
	if ok "${p:-}"; then
		[ "$2" != - ] && m=$(mark "$p" '<=' 8192)
		printf "$W" "$what" \
		    "$(f "$(calc "$p / 1024")" '%.2fMB PSS')" \
		    "$(f "$(calc "$r / 1024")" 'RSS %.2fMB')" \
		    "$(f "$c" '%.1fp')" "$m" "(light only)" "" "" "" "$2"
	else
		printf "$W" "$what" FAILED - - '' \
		    "(light only)" "" "" "" "$2"
	fi
}
{
	printf "$W" "" "light login: rtq" reference ratio "" \
	    "heavy login: rtq" reference ratio "" target
	printf "$W" "" "" "" "" "" "" "" "" "" "" | tr ' |' '-+'
	want tasks && emit "$ntask tasks, 1 worker, -x" - cells_t1
	want tasks && emit "$ntask tasks, 4 workers (-j4), -x" ">=5x" cells_t4
	want claim && for n in $sizes; do
		t='<=1.3x'
		[ "$n" -lt 100000 ] && t='<=2x'
		claimrow "one claim, $(human "$n") lines ($((${R[size.$n]:-0} / 1024))K)" \
		    "$t" "${R[claim.$n]:-}" "${R[lim.$n]:-}"
	done
	want claim && claimrow "one claim, $(human "$last_n") lines, no fsync" - \
	    "${R[claimns.$last_n]:-}" "${R[limns.$last_n]:-}"
	want latency && emit "append-to-start (median $lat_n)" "<=100ms" cells_ms append 100
	want latency && emit "-x exit latency (median $lat_n)" "<=100ms" cells_ms exit 100
	want drain && emit "$(human $drain_n) lines, 8 slots, ${drain_s}s" - cells_drain drain
	want drain && emit "$(human $drain_n) lines, 8 slots, --batch $batch_k" ">=500/s" \
	    cells_drain drainb 500
	want memory && for n in $mem_counts; do
		t=-
		[ "$n" = 256 ] && t="<=8MB"
		memrow "$n" "$t"
	done
	want memory && memrow "$mem_top" - memj \
	    "master memory/worker, $mem_top as -j $mem_j"
} >"$B/table"
echo
cat "$B/table"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); the bench took ${SECONDS} s"
cat <<EOF

ratio: 1 worker: one ssh round trip over rtq's time a task (start excluded);
4 workers: GNU parallel's time over rtq's; one claim: rtq-claim's claim
(serve session) over the file-write limit of the same file (read, write,
fsync, rename, directory fsync; no fsyncs in the no-fsync row).  Memory: the
sshd and everything under it (the master user's processes) with N idle
workers, less the same with none, over N; p: processes per worker; "as
-j 8": N workers as N/8 rtq -j 8, one ssh connection an rtq.
How each row is measured: tests/bench/README.
EOF
if grep -q FAILED "$B/table"; then
	echo
	echo "bench: some figures could not be measured (FAILED); last errors:"
	tail -n 20 "$B/err" 2>/dev/null
	exit 1
fi
exit 0
