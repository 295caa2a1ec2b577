#!/usr/bin/env bash
# Unlocked appends to a live queue, in local mode: 11 rounds (sync,
# nosync, exec).  The design is in lib-race.sh; append-race-ssh.sh has the
# rounds over ssh.
. "$RTQ_TOP/tests/e2e/lib.sh"
. "$RTQ_TOP/tests/e2e/lib-race.sh"

say "local mode: $NAPP appends per round ($NAPP_EXEC in exec rounds) while 4 workers claim"
header
for r in 1 2 3; do round "l-sync$r" sync ""; done
for r in 1 2 3 4 5 6; do round "l-nosync$r" nosync ""; done
for r in 1 2; do round "l-exec$r" exec ""; done
race_end
