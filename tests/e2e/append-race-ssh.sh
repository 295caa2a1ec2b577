#!/usr/bin/env bash
# Unlocked appends to a live queue, over the loopback sshd: 6 rounds (sync,
# nosync, exec).  The design is in lib-race.sh; append-race.sh has the
# rounds in local mode.
. "$RTQ_TOP/tests/e2e/lib.sh"
. "$RTQ_TOP/tests/e2e/lib-race.sh"

say "over the loopback sshd: $NAPP appends per round ($NAPP_EXEC in exec rounds) while 4 workers claim"
with_sshd
# RTQ_NOSYNC does not travel over ssh: a wrapper sets it on the master
printf '#!/bin/sh\nRTQ_NOSYNC=1 exec %s "$@"\n' "$RTQ_BIN/rtq-claim" >"$T/claim-nosync"
chmod +x "$T/claim-nosync"
header
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
for r in 1 2; do round "s-sync$r" sync "$SSHD_HOST:"; done
export RTQ_CLAIM=$T/claim-nosync
for r in 1 2 3; do round "s-nosync$r" nosync "$SSHD_HOST:"; done
round s-exec1 exec "$SSHD_HOST:"
race_end
