#!/usr/bin/env bash
# rtq --timeline (issue 15), locally and over the loopback sshd: the SVG
# of a file in a known state (every outcome, a command with <&>"', a
# queue over New Year) parses as XML, holds exactly one bar per attempt
# with its outcome's class and a tooltip with the command and times, no
# script or external resource, and marks the critical path; the text
# chart on a terminal never exceeds COLUMNS; the file is not changed.
. "$RTQ_TOP/tests/e2e/lib.sh"
export TMPDIR=$T
need python3 xmllint script

cat >"$T/q.sh" <<'EOF'
#LASTWORKER 2
echo setup #!
#echo "<&>\"'" #:g # worker 0 # (12-31 23:59:50 ... 01-01 00:00:05) #ok
#echo b #+g # worker 1 # (01-01 00:00:06 ... 01-01 00:00:09) #error2 # worker 0 # (01-01 00:00:10 ... 01-01 00:00:20) #ok
echo c #+g # worker 1 # (01-01 00:00:10 ... 01-01 00:00:11) #error124 # worker 2 # (01-01 00:00:12 ... 01-01 00:00:13) #lost
#echo d #:g # worker 2 # (01-01 00:00:21 ... 01-01 00:00:40) #ok
#echo e # worker 1 # (01-01 00:00:12 ... kill 01-01 00:00:15 01-01 00:00:16) #killed
#echo f # worker - # (01-01 00:00:17 ... 01-01 00:00:17) #killed
#sleep 100 # worker 1 # (01-01 00:00:20 ...
echo never ran
# worker 0: host-a 10.0.0.1 (12-31 23:59:49)
# worker 1: host-b (12-31 23:59:49)
# worker 2: gpu-box (12-31 23:59:49)
EOF
cp "$T/q.sh" "$T/q.orig"
# the test clock: 01-01 00:00:50 of some year, in local time
RTQ_NOW=$(date -d "$(date +%Y)-01-01 00:00:50" +%s)
export RTQ_NOW

# timeline WHERE TARGETPREFIX
timeline() {
	local where=$1 at=$2 rc cols
	say "$where: --timeline -o: the SVG"
	rm -f "$T/q.svg"
	"$RTQ" --timeline -o "$T/q.svg" "$at$T/q.sh" || die "$where: --timeline -o"
	xmllint --noout "$T/q.svg" || die "$where: the SVG is not well-formed XML"
	python3 - "$T/q.svg" <<'EOF' || die "$where: the SVG: $(cat "$T/q.svg")"
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
src = open(sys.argv[1]).read()
for bad in ("<script", "href", "url(", "@import", "@font-face", "<image", "<foreignObject"):
    assert bad not in src, bad
root = ET.fromstring(src)
bars = [e for e in root.iter(ns + "rect") if e.get("class", "").split()[:1] == ["bar"]]
got = sorted((int(b.get("data-line")), int(b.get("data-worker")),
              b.get("class").split()[1], "crit" in b.get("class").split(),
              int(b.get("data-t0")), int(b.get("data-t1"))) for b in bars)
want = sorted([
    (3, 0, "ok", True, 0, 15),		# over New Year: 12-31 23:59:50 is 0
    (4, 1, "failed", False, 16, 19),
    (4, 0, "ok", True, 20, 30),
    (5, 1, "timeout", False, 20, 21),
    (5, 2, "lost", False, 22, 23),
    (6, 2, "ok", True, 31, 50),
    (7, 1, "killed", False, 22, 26),
    (9, 1, "running", False, 30, 60),	# until RTQ_NOW
])
assert got == want, got
tips = {(int(b.get("data-line")), int(b.get("data-worker"))): b.find(ns + "title").text for b in bars}
t = tips[(3, 0)]
assert t.startswith("line 3: echo \"<&>\\\"'\" #:g\n"), t
assert "worker 0, 12-31 23:59:50 to 01-01 00:00:05 (15s): ok" in t, t
assert "critical path" in t, t
assert tips[(5, 1)].endswith("(1s): error124"), tips[(5, 1)]
assert "to now (30s): running" in tips[(9, 1)], tips[(9, 1)]
texts = ["".join(e.itertext()) for e in root.iter(ns + "text")]
assert any(x.startswith("critical path (44s): line 3 \u2192 4 \u2192 6") for x in texts), texts
assert any("span 1m00s" in x for x in texts), texts
assert "0 host-a 10.0.0.1" in texts and "2 gpu-box" in texts, texts
keys = [e.get("class") for e in root.iter(ns + "rect") if e.get("class", "").startswith("key")]
assert keys[:6] == ["key ok", "key failed", "key timeout", "key lost", "key killed", "key running"], keys
# busy share of worker 0: 25s of 60s
assert "42%" in texts, texts
EOF

	say "$where: without -o, not on a terminal: the SVG on standard output"
	"$RTQ" --timeline "$at$T/q.sh" >"$T/out.svg" || die "$where: --timeline > file"
	cmp "$T/out.svg" "$T/q.svg" || die "$where: the SVG on standard output differs from -o's"

	say "$where: on a terminal: text that fits COLUMNS"
	for cols in 12 30 50 80 101 200; do
		COLUMNS=$cols script -qec "'$RTQ' --timeline '$at$T/q.sh'" /dev/null >"$T/tty.out" ||
			die "$where: --timeline on a terminal: $(cat "$T/tty.out")"
		python3 - "$T/tty.out" "$cols" <<'EOF' || die "$where: COLUMNS=$cols: $(cat "$T/tty.out")"
import re, sys
out = open(sys.argv[1], encoding="utf-8").read()
cols = int(sys.argv[2])
lines = re.sub(r"\x1b\[[0-9;]*m", "", out).replace("\r", "").split("\n")
assert len(lines) >= 8, lines
for l in lines:
    assert len(l) <= cols, (cols, len(l), l)
if cols >= 80:
    text = "\n".join(lines)
    assert "\u2588" in text and "critical path (44s): line 3 -> 4 -> 6" in text, text
    assert re.search(r"^2 gpu-box +[ ?\u2588]+ +33%$", text, re.M), text
EOF
	done

	say "$where: errors"
	rc=0
	"$RTQ" --timeline -o "$T/no/such/dir/x.svg" "$at$T/q.sh" 2>"$T/err" || rc=$?
	[ "$rc" -ne 0 ] || die "$where: -o into a missing directory exited 0"
	grep -q "x.svg" "$T/err" || die "$where: the error does not name the output: $(cat "$T/err")"
	rc=0
	"$RTQ" --timeline "$at$T/nope.sh" >/dev/null 2>"$T/err" || rc=$?
	[ "$rc" -ne 0 ] || die "$where: --timeline of a missing file exited 0"
	cmp "$T/q.sh" "$T/q.orig" || die "$where: --timeline changed the task file"
}

say "usage errors"
rc=0
"$RTQ" -o x.svg "$T/q.sh" >/dev/null 2>&1 || rc=$?
expect_eq "-o without --timeline" "$rc" 2

say "a file with no attempts: an empty chart, not an error"
printf 'echo a\necho b\n' >"$T/empty.sh"
"$RTQ" --timeline -o "$T/empty.svg" "$T/empty.sh" || die "--timeline of a fresh file"
xmllint --noout "$T/empty.svg" || die "the empty chart is not XML"
grep -q "no attempts recorded yet" "$T/empty.svg" || die "empty chart: $(cat "$T/empty.svg")"

timeline local ""
with_sshd
export RTQ_CLAIM=$RTQ_BIN/rtq-claim
timeline ssh "rtqtest:"
say "all cases behaved"
