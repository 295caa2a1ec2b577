# Sourced by the end-to-end tests.  Gives: $CLAIM and $RTQ (the programs
# under test), $T (a private temp dir, removed at exit), and small helpers.
# Each test is a bash script that exits 0 on success; `die` fails it.
set -u
: "${RTQ_BIN:?run the tests through make check}"
CLAIM=$RTQ_BIN/rtq-claim
RTQ=$RTQ_BIN/rtq
T=$(mktemp -d "${TMPDIR:-/tmp}/rtq-test.XXXXXX")
export HOME_ORIG=$HOME
lib_cleanup() {
	local f
	for f in "${LIB_CLEANUP[@]}"; do eval "$f"; done
	rm -rf "$T"
}
LIB_CLEANUP=()
trap lib_cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
say() { echo "--- $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" == "$3" ] || die "$1: got [$2], want [$3]"
}

# expect_file FILE <<'EOF' ... EOF   (compare a file with stdin)
expect_file() {
	local want
	want=$(cat)
	diff -u <(printf '%s\n' "$want") "$1" >&2 ||
		die "$1 differs from what was expected (diff above)"
}

# Replace the time stamps of a task file with "T" for golden comparisons.
unstamp() {
	sed -E 's/[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/T/g' "$@"
}

# Start the private loopback sshd (tests/sshd-harness.sh); skip if none.
with_sshd() {
	# shellcheck source=../sshd-harness.sh
	. "$RTQ_TOP/tests/sshd-harness.sh"
	sshd_start || die "cannot start the test sshd"
	LIB_CLEANUP+=(sshd_stop)
}
