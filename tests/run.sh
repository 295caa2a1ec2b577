#!/usr/bin/env bash
# Run the tests: the Check unit tests named on the command line and the fuzz
# replay, then (without -u) every end-to-end script tests/e2e/*.sh.
#
#   tests/run.sh [-u] BUILDDIR UNIT...
#
# -u: the unit tests and the fuzz replay only (make check-unit): seconds,
# no sshd, nothing installed beyond the compiler and Check.
#
# An e2e script passes by exiting 0; any other exit fails it.  There is no
# "skipped": a test that cannot run (a tool missing) is a failure, and
# tests/deps.sh installs what the tests need.
#
# The e2e scripts run RTQ_JOBS at a time (default 4), the slowest of the
# last run first (their seconds are kept in BUILDDIR/e2e-seconds); each
# one's result is printed when it ends, with its seconds on the clock and
# of CPU, and its output too if it failed.
# RTQ_TESTS=pattern runs only the e2e scripts whose names match.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
unit_only=
if [ "${1:-}" = -u ]; then
	unit_only=1
	shift
fi
[ $# -ge 1 ] || { echo "usage: tests/run.sh [-u] BUILDDIR UNIT..." >&2; exit 2; }
case $1 in
/*) B=$1 ;;
*) B=$top/$1 ;;
esac
shift
export RTQ_BIN="$B/bin" RTQ_TOP="$top"
pass=0 fail=0 failed=()
for u in "$@"; do
	if CK_FORK=yes "$B/tests/$u"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)) failed+=("$u")
	fi
done
# End-to-end: under SANITIZE=1, ASan and UBSan stop a program at the
# first error; memory still held at exit by a program about to end is not
# reported (the unit tests keep leak detection).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# the fuzz corpus and every crash the fuzzer found, replayed
if "$B/tests/fuzz_replay" "$top"/tests/fuzz/corpus/* \
    "$top"/tests/fuzz/crashes/*; then
	pass=$((pass + 1))
else
	fail=$((fail + 1)) failed+=(fuzz_replay)
fi

summary() {
	echo "tests: $pass passed, $fail failed"
	[ $fail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
	exit 0
}
[ -z "$unit_only" ] || summary

# The e2e scripts to run, the slowest of the last run first (a script
# without a time yet counts as slow).
secs_file=$B/e2e-seconds
declare -A last=()
if [ -r "$secs_file" ]; then
	while read -r s n; do last[$n]=$s; done <"$secs_file"
fi
names=()
for t in "$top"/tests/e2e/*.sh; do
	name=$(basename "$t" .sh)
	case $name in lib | lib-*) continue ;; esac	# sourced by the tests
	case "$name" in ${RTQ_TESTS:-*}) ;; *) continue ;; esac
	names+=("$name")
done
mapfile -t names < <(for n in "${names[@]}"; do
	echo "${last[$n]:-9999} $n"
done | sort -k1,1nr -k2 | cut -d' ' -f2)

jobs_max=${RTQ_JOBS:-4}
logs=$(mktemp -d "${TMPDIR:-/tmp}/rtq-run.XXXXXX")
trap 'rm -rf "$logs"' EXIT
declare -A pid_name=() started=()
running=0
# cpu_secs FILE: user + system seconds of the children in the output of
# bash's times (its second line: "0m1.250s 0m0.750s")
cpu_secs() {
	sed -n 2p "$1" 2>/dev/null | awk '{ t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] }
		printf "%.0f", t }'
}
# finish PID RC: report the test that PID ran
finish() {
	local name=${pid_name[$1]} rc=$2 secs
	secs=$((SECONDS - started[$name]))
	unset "pid_name[$1]"
	running=$((running - 1))
	last[$name]=$secs
	cpu=$(cpu_secs "$logs/$name.times")
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		echo "PASS: $name (${secs}s, CPU ${cpu}s)"
	else
		fail=$((fail + 1)) failed+=("$name")
		case $rc in
		77) rc="$rc: it could not run, which is a failure" ;;
		esac
		echo "FAIL: $name (exit $rc, ${secs}s, CPU ${cpu}s); its output:"
		sed 's/^/    /' "$logs/$name" | tail -n 60
	fi
}
e2e_start=$SECONDS
for name in "${names[@]}"; do
	while [ $running -ge "$jobs_max" ]; do
		wait -n -p done_pid
		rc=$?
		finish "$done_pid" "$rc"
	done
	started[$name]=$SECONDS
	# (bash's times: the CPU time of the test and all it waited for)
	bash -c 'bash "$1"; rc=$?; times >"$2"; exit $rc' run \
		"$top/tests/e2e/$name.sh" "$logs/$name.times" >"$logs/$name" 2>&1 </dev/null &
	pid_name[$!]=$name
	running=$((running + 1))
done
while [ $running -gt 0 ]; do
	wait -n -p done_pid
	rc=$?
	finish "$done_pid" "$rc"
done
echo "end-to-end: ${#names[@]} scripts, $jobs_max at a time, in $((SECONDS - e2e_start))s"
for n in "${!last[@]}"; do echo "${last[$n]} $n"; done >"$secs_file"
summary
