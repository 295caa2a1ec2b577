#!/usr/bin/env bash
# rtq --plan (issue 15): every line with what it is, its state, what a
# task waits for and the init lines before it, then the malformed tags;
# exit 0 on a clean file, 1 with a malformed tag; --json; the file is
# never changed; locally and over the loopback sshd.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T
need python3

cp "$RTQ_TOP/examples/tasklist.sh" "$T/demo.sh"
cat >"$T/mixed.sh" <<'EOF'
echo setup #!
#echo a #+g # worker 0 # (12-31 23:59:50 ... 01-01 00:00:05) #ok
#echo b #+g # worker 1 # (12-31 23:59:51 ... 01-01 00:00:09) #error2 # worker 0 # (01-01 00:00:10 ... 01-01 00:00:12) #error2
#echo c #+h # worker 1 # (01-01 00:00:10 ...
echo d #:g
echo wait for all #:
echo e #@x
echo f #:h
echo "g <&>\"'" #@3
EOF

# plan WHERE TARGETPREFIX
plan() {
	local where=$1 at=$2 rc f
	for f in demo mixed; do cp "$T/$f.sh" "$T/$f.orig"; done

	say "$where: --plan of the demo queue"
	rc=0
	"$RTQ" --plan "$at$T/demo.sh" >"$T/demo.out" 2>"$T/err" || rc=$?
	expect_eq "$where: --plan exit status of the demo queue" "$rc" 0
	sed "s|^$at$T/|DIR/|" "$T/demo.out" >"$T/got"
	expect_file "$T/got" <<'EOF'
DIR/demo.sh: 16 lines, 11 tasks (6 ready, 5 waiting, 0 blocked), 3 init lines, 0 malformed
    1  init                cd ~/playground/models/resnet_family #!
    2  task      ready     cd resnet34; train_model #:mygroup1
                           group mygroup1 (#: in order); after init line 1
    3  task      ready     cd resnet50; train_model
                           after init line 1
    4  task      ready     cd resnet101; train_model #@2
                           pinned to worker 2; after init line 1
    5  blank
    6  init                cd ../mbnet_family #!
    7  task      ready     cd mbnetv1; train_model
                           after init lines 1, 6
    8  task      ready     cd mbnetv2; train_model
                           after init lines 1, 6
    9  task      ready     cd mbnetv3; train_model
                           after init lines 1, 6
   10  blank
   11  init                cd ../resnet_family #!
   12  task      waiting   cd resnet34; deploy_model #:mygroup1
                           group mygroup1 (#: in order); waits for line 2 (ready, #:mygroup1); after init lines 1, 6, 11
   13  task      waiting   cd resnet34; test_model_on dataset1 #+mygroup1
                           group mygroup1 (#+ in parallel); waits for line 2 (ready, #:mygroup1), line 12 (waiting, #:mygroup1); after init lines 1, 6, 11
   14  task      waiting   cd resnet34; test_model_on dataset2 #+mygroup1
                           group mygroup1 (#+ in parallel); waits for line 2 (ready, #:mygroup1), line 12 (waiting, #:mygroup1); after init lines 1, 6, 11
   15  task      waiting   cd resnet34; test_model_on dataset3 #+mygroup1
                           group mygroup1 (#+ in parallel); waits for line 2 (ready, #:mygroup1), line 12 (waiting, #:mygroup1); after init lines 1, 6, 11
   16  task      waiting   cd resnet34; report_test_result #:mygroup1
                           group mygroup1 (#: in order); waits for line 2 (ready, #:mygroup1), line 12 (waiting, #:mygroup1), line 13 (waiting, #+mygroup1), line 14 (waiting, #+mygroup1), line 15 (waiting, #+mygroup1); after init lines 1, 6, 11
EOF
	[ -s "$T/err" ] && die "$where: --plan said something on stderr: $(cat "$T/err")"

	say "$where: --plan of a file with a barrier, a failed task and a malformed tag"
	rc=0
	"$RTQ" --plan "$at$T/mixed.sh" >"$T/mixed.out" 2>"$T/err" || rc=$?
	expect_eq "$where: --plan exit status with a malformed tag" "$rc" 1
	sed "s|^$at$T/|DIR/|" "$T/mixed.out" >"$T/got"
	expect_file "$T/got" <<'EOF'
DIR/mixed.sh: 9 lines, 7 tasks (0 ready, 0 waiting, 4 blocked), 1 init lines, 1 malformed
    1  init                echo setup #!
    2  task      done      echo a #+g
                           group g (#+ in parallel); ok on worker 0 at 01-01 00:00:05
    3  task      failed    echo b #+g
                           group g (#+ in parallel); error2 on worker 0 at 01-01 00:00:12
    4  task      running   echo c #+h
                           group h (#+ in parallel); on worker 1 since 01-01 00:00:10
    5  task      blocked   echo d #:g
                           group g (#: in order); blocked for good by failed line 3
    6  task      blocked   echo wait for all #:
                           barrier (#:): after every task above, before every task below; blocked for good by failed line 3
    7  malformed           echo e #@x
    8  task      blocked   echo f #:h
                           group h (#: in order); blocked for good by failed line 3
    9  task      blocked   echo "g <&>\"'" #@3
                           pinned to worker 3; blocked for good by failed line 3
malformed tags (rtq-claim refuses the file until they are fixed):
  line 7: malformed worker tag "#@x": expected #@ and a worker id (0 to 999999999)
EOF

	say "$where: --plan --json"
	rc=0
	"$RTQ" --plan --json "$at$T/mixed.sh" >"$T/mixed.json" || rc=$?
	expect_eq "$where: --plan --json exit status" "$rc" 1
	python3 - "$T/mixed.json" <<'EOF' || die "$where: JSON: $(cat "$T/mixed.json")"
import json, sys
d = json.load(open(sys.argv[1]))
L = {l["line"]: l for l in d["lines"]}
assert len(L) == 9
assert L[1]["kind"] == "init" and L[1]["state"] is None
assert L[3]["state"] == "failed", L[3]
assert L[4]["state"] == "running", L[4]
assert L[5]["blocked_by"] == 3 and L[5]["groups"] == [{"tag": "#:", "name": "g"}], L[5]
assert L[6]["barrier"] is True, L[6]
assert [w["line"] for w in L[6]["waits_for"]] == [3, 4, 5], L[6]
assert [w["line"] for w in L[8]["waits_for"]] == [4, 6], L[8]
assert {"line": 4, "state": "running", "via": "#+h"} in L[8]["waits_for"], L[8]
assert L[9]["text"] == "echo \"g <&>\\\"'\" #@3", L[9]
assert L[9]["pins"] == [3]
assert L[7]["kind"] == "malformed"
assert d["malformed"] == [{"line": 7, "error": L[7]["error"]}], d["malformed"]
EOF
	"$RTQ" --plan --json "$at$T/demo.sh" >"$T/demo.json" || die "$where: --plan --json of the demo"
	python3 - "$T/demo.json" <<'EOF' || die "$where: JSON: $(cat "$T/demo.json")"
import json, sys
d = json.load(open(sys.argv[1]))
L = {l["line"]: l for l in d["lines"]}
assert L[16]["init_lines"] == [1, 6, 11], L[16]
assert [w["line"] for w in L[16]["waits_for"]] == [2, 12, 13, 14, 15], L[16]
assert L[4]["pins"] == [2] and L[4]["state"] == "ready"
assert d["malformed"] == []
EOF

	say "$where: the files are unchanged"
	for f in demo mixed; do
		cmp "$T/$f.sh" "$T/$f.orig" || die "$where: --plan changed $f.sh"
	done

	say "$where: a missing file is an error"
	rc=0
	"$RTQ" --plan "$at$T/nope.sh" >/dev/null 2>"$T/err" || rc=$?
	[ "$rc" -ne 0 ] || die "$where: --plan of a missing file exited 0"
	grep -q "nope.sh" "$T/err" || die "$where: the error does not name the file: $(cat "$T/err")"
}

say "usage errors"
rc=0
"$RTQ" --plan --status "$T/demo.sh" >/dev/null 2>&1 || rc=$?
expect_eq "--plan with --status" "$rc" 2

plan local ""
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
plan ssh "rtqtest:"
say "all cases behaved"
