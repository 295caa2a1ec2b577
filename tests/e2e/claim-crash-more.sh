#!/usr/bin/env bash
# Crash safety of the rewrite (SPEC 5): rounds 100-199 of rtq-claim
# SIGKILLed while it rewrites a large task file (lib-crash.sh; rounds 0-99
# and the full disk are claim-crash.sh).
. "$RTQ_TOP/tests/e2e/lib.sh"
CRASH_FIRST=100 CRASH_ROUNDS=100
. "$RTQ_TOP/tests/e2e/lib-crash.sh"
say ok
