#!/usr/bin/env bash
# Make sure what the tests need is installed.  Run by `make check` and by
# .ci/run.  As root (or with passwordless sudo) it installs the missing
# Debian packages; otherwise it prints the one apt-get line to run.  A test
# whose tool is missing fails (none is skipped), so every tool a test runs
# is listed here, with its Debian package.
set -u
need=()
# want PACKAGE COMMAND...: PACKAGE is needed unless every COMMAND is found
want() {
	local pkg=$1 c
	shift
	for c; do
		if ! command -v "$c" >/dev/null; then
			need+=("$pkg")
			return
		fi
	done
}
pkg-config --exists check 2>/dev/null || need+=(check)
want pkg-config pkg-config
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
want openssh-client ssh ssh-keygen
want musl-tools musl-gcc
want file file
want mandoc mandoc
want bash bash
want python3 python3		# the JSON of --status
want strace strace		# fault-kill-claim: every crash point of a request
want bsdutils script		# status-text: a terminal, for the colours
want util-linux prlimit setpriv flock setsid	# full disk, dropping root, locks, sessions
want e2fsprogs chattr		# claim-badinput: an immutable directory
want procps pgrep pkill ps
want coreutils timeout stat
want libxml2-utils xmllint	# timeline: the SVG is well-formed XML
# slurm: a private one-node cluster (tests/slurm-harness.sh)
want slurm-wlm slurmctld slurmd sbatch srun scancel squeue scontrol sinfo
want munge munged
[ ${#need[@]} -eq 0 ] && exit 0

line="apt-get install -y ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	echo "tests need Debian packages that are missing; run as root:" >&2
	echo "  $line" >&2
	exit 1
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null &&
	"${sudo[@]}" apt-get install -y -q "${need[@]}" >/dev/null || {
	echo "deps: could not install; run as root: $line" >&2
	exit 1
}
