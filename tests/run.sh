#!/usr/bin/env bash
# Run every test: the Check unit tests named on the command line, then each
# end-to-end script tests/e2e/*.sh.  Usage: tests/run.sh BUILDDIR UNIT...
# An e2e script exits 0 (pass), 77 (skipped, with a reason) or else (fail).
# RTQ_TESTS=pattern runs only the e2e scripts whose names match.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
O=$1
shift
export RTQ_BIN="$top/$O/bin" RTQ_TOP="$top"
pass=0 fail=0 skip=0 failed=()
for u in "$@"; do
	if CK_FORK=yes "$top/$O/tests/$u"; then
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
if "$top/$O/tests/fuzz_replay" "$top"/tests/fuzz/corpus/* \
    "$top"/tests/fuzz/crashes/*; then
	pass=$((pass + 1))
else
	fail=$((fail + 1)) failed+=(fuzz_replay)
fi
for t in "$top"/tests/e2e/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue	# sourced by the tests, not one
	case "$name" in ${RTQ_TESTS:-*}) ;; *) continue ;; esac
	log=$(mktemp)
	start=$(date +%s)
	bash "$t" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS: $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "SKIP: $name: $(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)) failed+=("$name")
	   echo "FAIL: $name (exit $rc, ${secs}s); its output:"
	   sed 's/^/    /' "$log" | tail -n 60 ;;
	esac
	rm -f "$log"
done
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
