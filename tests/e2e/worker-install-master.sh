#!/usr/bin/env bash
# rtq --install-master HOST[:DIR] over the loopback sshd: installs a
# working rtq-claim and says where and which version; refuses a master of
# another machine type (a fake uname first on the master's PATH), leaving
# nothing installed.
. "$RTQ_TOP/tests/e2e/lib.sh"
with_sshd

say "install into a fresh directory"
out=$("$RTQ" --install-master "$SSHD_HOST:$T/inst/bin" 2>&1) ||
	die "install failed: $out"
echo "$out"
grep -q "installed $SSHD_HOST:$T/inst/bin/rtq-claim (rtq-claim .* protocol 1)" \
    <<<"$out" || die "no path and version in: $out"
cmp "$T/inst/bin/rtq-claim" "$CLAIM" || die "installed file differs"
[ -x "$T/inst/bin/rtq-claim" ] || die "not executable"

say "a worker uses it"
printf 'echo one\necho two\n' >"$T/q.sh"
RTQ_CLAIM=$T/inst/bin/rtq-claim timeout 30 "$RTQ" -x "$SSHD_HOST:$T/q.sh" \
    >/dev/null || die "worker with the installed rtq-claim failed"
expect_eq "tasks done" "$(grep -c '#ok$' "$T/q.sh")" 2

say "installing again replaces it in one step"
"$RTQ" --install-master "$SSHD_HOST:$T/inst/bin" >/dev/null || die "reinstall"
expect_eq "files in the directory" "$(ls -A "$T/inst/bin")" rtq-claim

say "a master of another machine type is refused"
mkdir -p "$T/fake"
printf '#!/bin/sh\necho sparc64\n' >"$T/fake/uname"
chmod +x "$T/fake/uname"
cat >"$T/ssh-wrap" <<WRAP
#!/usr/bin/env bash
# the remote command runs with the fake uname first on PATH
args=("\$@")
last=\${args[-1]}
unset 'args[-1]'
exec ssh -F "$SSH_CONFIG" "\${args[@]}" "PATH=$T/fake:\\\$PATH; \$last"
WRAP
chmod +x "$T/ssh-wrap"
if out=$(RTQ_SSH=$T/ssh-wrap "$RTQ" --install-master "$SSHD_HOST:$T/inst2" 2>&1); then
	die "installed on a sparc64 master: $out"
fi
echo "$out"
grep -q "sparc64" <<<"$out" || die "the message does not name the machine type"
[ ! -e "$T/inst2" ] || die "something was installed anyway"

say "an unreachable host is a clear error"
if out=$(RTQ_SSH="ssh -F $SSH_CONFIG -o ConnectTimeout=2" "$RTQ" \
    --install-master nosuchhost.invalid 2>&1); then
	die "install to nosuchhost succeeded"
fi
grep -q "nosuchhost" <<<"$out" || die "unclear error: $out"
