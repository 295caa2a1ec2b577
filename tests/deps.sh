#!/usr/bin/env bash
# Make sure what the tests need is installed.  Run by `make check` and by
# .ci/run.  As root (or with passwordless sudo) it installs the missing
# Debian packages; otherwise it prints the one apt-get line to run.
set -u
need=()
pkg-config --exists check 2>/dev/null || need+=(check)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
	need+=(openssh-client)
command -v musl-gcc >/dev/null || need+=(musl-tools)
command -v file >/dev/null || need+=(file)
command -v mandoc >/dev/null || need+=(mandoc)
command -v bash >/dev/null || need+=(bash)
command -v python3 >/dev/null || need+=(python3)
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
