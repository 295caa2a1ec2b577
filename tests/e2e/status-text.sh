#!/usr/bin/env bash
# rtq --status (text, --json, --watch).  A task file is brought into a known
# state with rtq-claim alone: five named workers, an init line, a done task,
# two running ones, a failed one (#error3), one released as #lost (its
# worker's lease ran out), pending tasks of which two wait for their group
# (#:g).  Then:
#  - the text report equals a golden text (stamps and ages replaced);
#  - --json is one valid JSON document with every count, each worker's task,
#    lease and lost flag, the failed list and the progress;
#  - quotes, backslashes, tabs, escapes, non-ASCII and invalid UTF-8 in task
#    texts and worker names still give valid (strictly UTF-8) JSON;
#  - average and ETA from stamps of known durations;
#  - no escape sequences when stdout is not a terminal or NO_COLOR is set;
#    colours on a terminal (script(1) of util-linux gives one);
#  - --watch redraws every SECONDS (and clears the screen only on a tty).
. "$RTQ_TOP/tests/e2e/lib.sh"
export TZ=UTC LC_ALL=C
need python3 script	# the JSON checks; a terminal for the colours

late=	# failures that should not stop the rest; reported at the end
F=$T/tasks.sh
# norm: stamps -> T, ages and durations (5s, 1m10s, 2h05m, 1d02h) -> D
norm() {
	sed -E 's/[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/T/g
		s/([ ,])[0-9]+(s|m[0-9]{2}s|h[0-9]{2}m|d[0-9]{2}h)([ :]|$)/\1D\3/g'
}
ESC=$'\033'
no_escapes() {	# no_escapes WHAT FILE
	if grep -q "$ESC" "$2"; then
		cat -A "$2" >&2
		die "$1: escape sequences in the output"
	fi
}

BAD=$'bad \xff\xfe bytes \\ back \'q\' \t tab'		# invalid UTF-8
THREE=$'echo "three" caf\xc3\xa9'			# valid UTF-8
printf '%s\n' '# a comment' 'export X=1 #!' 'echo one' 'echo two' "$THREE" \
	"$BAD" 'echo a #:g' 'echo b #:g' 'echo c #:g' 'sleep 1 #+h' '' \
	'echo five' >"$F"
INIT='export X=1 #!'
say "the state: rtq-claim register, next, finish, heartbeat"
for n in 'alpha host 10.0.0.1' "beta \"quoted\" 'x'" gamma delta epsilon; do
	c register "$F" - "$n"
done
# (the header is line 1 now: the init line is 3, tasks 4..)
c next "$F" 0 0					# init 3
c next "$F" 0 3 init 3 0 "$INIT"		# one (4)
c next "$F" 0 3 task 4 0 'echo one'		# one ok, two (5) running
c next "$F" 2 0
c next "$F" 2 3 init 3 0 "$INIT"		# three (6) running
c next "$F" 1 0
c next "$F" 1 3 init 3 0 "$INIT"		# bad (7) running
c next "$F" 4 0
c next "$F" 4 3 init 3 0 "$INIT"		# a (8) running: b, c wait
c finish "$F" 2 task 6 3 "$THREE"		# three: #error3
# worker 4: a lease of 1 s, heard from 3 s ago on rtq-claim's clock
# (RTQ_NOW; not 3 s ahead for the next call: the report checks that every
# worker was heard from in the past)
RTQ_NOW=-3 c heartbeat "$F" 4 1
c heartbeat "$F" 3				# releases a: #lost
cat -A "$F"
grep -qE '^echo a #:g # worker 4 # \(T \.\.\. T\) #lost$' <(unstamp "$F") ||
	die "line 8 was not released as #lost"
grep -qE '^echo "three" caf.* # worker 2 # \(T \.\.\. T\) #error3$' <(unstamp "$F") ||
	die "line 6 is not #error3"

say "text report: golden (stamps -> T, ages -> D)"
"$RTQ" --status "$F" >"$T/text" 2>"$T/text.err" || { cat "$T/text.err"; die "--status failed"; }
cat "$T/text"
no_escapes "--status to a file" "$T/text"
# The worker names are padded to 24 columns.
{
	printf '%s\n' \
		"$F at T" \
		'  9 tasks: 1 done, 2 running, 0 failed, 4 pending (2 waiting for their group), 2 to retry' \
		'  [###...........................] 11%, D a task, about D left with 2 busy workers' \
		'workers' \
		'     0  alpha host 10.0.0.1       since T  heard D ago' \
		'        line 5, D: echo two' \
		"     1  beta \"quoted\" 'x'         since T  heard D ago" \
		"        line 7, D: $BAD" \
		'     2  gamma                     since T  heard D ago' \
		'     3  delta                     since T  heard D ago' \
		'     4  epsilon                   since T  LOST  heard D ago' \
		'failed' \
		"  line 6  #error3  worker 2  $THREE" \
		'        1 failed attempt; to be retried by another worker' \
		'  line 8  #lost  worker 4  echo a #:g' \
		'        its worker was lost; to be run by another worker'
} >"$T/want"
norm <"$T/text" >"$T/got"
diff -u "$T/want" "$T/got" >&2 || die "the text report differs from the golden text (diff above)"

say "a relative path is shown resolved; NO_COLOR and a pipe: no colours"
(cd "$T" && NO_COLOR=1 "$RTQ" --status tasks.sh) >"$T/text2" || die "--status tasks.sh failed"
no_escapes "NO_COLOR=1 --status" "$T/text2"
cmp -s <(norm <"$T/text2") "$T/want" || { diff "$T/want" <(norm <"$T/text2"); die "--status of a relative path differs"; }

say "--json: one valid document with every field"
"$RTQ" --status --json "$F" >"$T/json" 2>"$T/json.err" || { cat "$T/json.err"; die "--status --json failed"; }
cat "$T/json"
no_escapes "--status --json" "$T/json"
STAMP_NOW=$(date +%s) F=$F BAD=$BAD THREE=$THREE python3 - "$T/json" <<'EOF' || die "the JSON document is wrong (above)"
import json, os, re, sys
raw = open(sys.argv[1], "rb").read()
errs = []
def check(what, got, want):
    if got != want:
        errs.append("%s: got %r, want %r" % (what, got, want))
def has_keys(what, d, keys):        # these keys at least (more may come)
    missing = sorted(set(keys) - set(d))
    if missing:
        errs.append("%s: missing keys %r" % (what, missing))
try:
    text = raw.decode("utf-8")          # strict: JSON is UTF-8
    doc = json.loads(text)
except Exception as e:
    print("not valid UTF-8 JSON: %s" % e); sys.exit(1)
check("one document, one line", raw.count(b"\n"), 1)
now = int(os.environ["STAMP_NOW"])
bad = os.environb[b"BAD"].decode("utf-8", "replace")
three = os.environb[b"THREE"].decode("utf-8")
check("file", doc["file"], os.environ["F"])
if not isinstance(doc["time"], int) or abs(doc["time"] - now) > 5:
    errs.append("time %r is not now (%d)" % (doc["time"], now))
TK = ("total", "pending", "blocked", "running", "done", "failed",
      "to_retry", "killed", "blocked_by_failed")
check("tasks", {k: doc["tasks"].get(k) for k in TK}, {"total": 9, "pending": 4, "blocked": 2,
      "running": 2, "done": 1, "failed": 0, "to_retry": 2, "killed": 0,
      "blocked_by_failed": 0})
check("paused", doc.get("paused", "missing"), None)
check("blocked_by_failed", doc.get("blocked_by_failed"), [])
check("init_lines", doc["init_lines"], 1)
W = doc["workers"]
check("worker ids", [w["id"] for w in W], [0, 1, 2, 3, 4])
want = {0: ("alpha host 10.0.0.1", 5, "echo two", 120, False),
        1: ("beta \"quoted\" 'x'", 7, bad, 120, False),
        2: ("gamma", None, None, 120, False),
        3: ("delta", None, None, 120, False),
        4: ("epsilon", None, None, 1, True)}
for w in W:
    name, line, text, lease, lost = want.get(w["id"], (None,) * 5)
    i = "worker %s" % w["id"]
    has_keys(i, w, ["id", "name", "registered", "last_heard", "lease",
             "lost", "task"])
    check(i + " name", w["name"], name)
    if not isinstance(w["registered"], int) or not 0 <= now - w["registered"] <= 60:
        errs.append(i + " registered: %r (seconds since the epoch)" % w["registered"])
    if not isinstance(w["last_heard"], int) or not 0 <= now - w["last_heard"] <= 10:
        errs.append(i + " last_heard: %r (now %d)" % (w["last_heard"], now))
    check(i + " lease", w["lease"], lease)
    check(i + " lost", w["lost"], lost)
    if line is None:
        check(i + " task", w["task"], None)
    else:
        t = w["task"] or {}
        has_keys(i + " task", t, ["elapsed", "line", "text"])
        check(i + " task line", t.get("line"), line)
        check(i + " task text", t.get("text"), text)
        e = t.get("elapsed")
        if not isinstance(e, int) or not 0 <= e <= 10:
            errs.append(i + " task elapsed: %r" % e)
check("failed", [{k: f.get(k) for k in ("line", "worker", "status", "text")}
                 for f in doc["failed"]], [
      {"line": 6, "worker": 2, "status": "error3", "text": three},
      {"line": 8, "worker": 4, "status": "lost", "text": "echo a #:g"}])
check("attempts", [(f.get("final"), f.get("attempts"), f.get("retries_left"))
                   for f in doc["failed"]], [(False, 1, None), (False, 0, None)])
p = doc["progress"]
has_keys("progress", p, ["average_seconds", "eta_seconds", "finished",
         "total"])
check("progress finished", p["finished"], 1)
check("progress total", p["total"], 9)
for k in "average_seconds", "eta_seconds":
    if not isinstance(p[k], int) or not 0 <= p[k] <= 10:
        errs.append("progress %s: %r" % (k, p[k]))
has_keys("the document", doc, ["file", "time", "tasks", "init_lines",
         "workers", "failed", "progress"])
for e in errs:
    print(e)
sys.exit(1 if errs else 0)
EOF

# (after the JSON check, whose ages allow 10 s)
say "COLUMNS=60: no line wider than 60 columns, cut with an ellipsis"
COLUMNS=60 "$RTQ" --status "$F" >"$T/narrow" || die "--status with COLUMNS=60"
cat "$T/narrow"
python3 - "$T/narrow" <<'EOF' || die "a line is wider than COLUMNS=60 (above)"
import sys
lines = open(sys.argv[1], "rb").read().decode("utf-8", "replace").splitlines()
wide = [l for l in lines if len(l) > 60]
assert not wide, wide
assert any(l.endswith("\u2026") for l in lines), "nothing was cut"
EOF
COLUMNS=200 "$RTQ" --status "$F" >"$T/wide" || die "--status with COLUMNS=200"
cmp -s <(norm <"$T/wide") "$T/want" || die "COLUMNS=200 cut lines"

say "a worker that said bye is counted, not listed; --all lists it"
c bye "$F" 3
"$RTQ" --status "$F" >"$T/bye" || die "--status after bye"
grep -q "^  and 1 that left or are not heard from (--all lists them)$" "$T/bye" ||
	{ cat "$T/bye"; die "the worker that left is not counted apart"; }
grep -q "delta" "$T/bye" && die "the worker that left is listed"
"$RTQ" --status --all "$F" | grep -q "     3  delta " || die "--all does not list it"
c heartbeat "$F" 3

say "the workers are listed by id, whatever order their lines come in"
G=$T/order.sh
printf '%s\n' 'echo x' 'echo y' 'echo z' >"$G"
c register "$G" - w0
c register "$G" - w1
c register "$G" - w2
c next "$G" 2 0				# w2 takes line 2, w1 line 3, w0 line 4
c next "$G" 1 0
c next "$G" 0 0
"$RTQ" --status --json "$G" >"$T/order.json" || die "--status --json (order) failed"
ids=$(python3 -c 'import json,sys; print(*[w["id"] for w in json.load(open(sys.argv[1]))["workers"]])' "$T/order.json") ||
	die "order.json is not JSON"
[ "$ids" = "0 1 2" ] || late+="--status --json lists the workers in the order their lines come (ids $ids), not by id; "
"$RTQ" --status "$G" >"$T/order.txt" || die "--status (order) failed"
ids=$(sed -nE 's/^ {2,}([0-9]+)  w[0-9].*/\1/p' "$T/order.txt" | tr '\n' ' ')
[ "$ids" = "0 1 2 " ] || late+="--status lists the workers in the order their lines come (ids $ids), not by id; "

say "JSON stays valid UTF-8 whatever bytes the file holds"
H=$T/bytes.sh
# quotes, backslash, control characters, DEL; truncated, overlong,
# surrogate and out-of-range UTF-8 sequences; a lone continuation byte
texts=(
	'echo "dq" \back \"both\"'
	$'ctl \x01 \x1b[31m esc \x7f del'
	$'ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 utf8'
	$'trunc \xe2\x82'
	$'lone \x80 cont'
	$'c0 \xc0\xaf overlong2'
	$'overlong3 \xe0\x80\xaf x'
	$'surrogate \xed\xa0\x80 y'
	$'beyond \xf4\x90\x80\x80 z'
	$'f5 \xf5\x80\x80\x80 w'
	$'last \xe2'
)
printf '%s\n' "${texts[@]}" >"$H"
c register "$H" - $'n\xc3\xa9 \xff "q" \\ \x01'
n=${#texts[@]}
for ((i = 0; i < n; i++)); do
	c next "$H" 0 "$((i + 1))"
	c finish "$H" 0 task "$((i + 2))" 1 "${texts[$i]}"
done
expect_eq "failed lines" "$(grep -c '#error1$' "$H")" "$n"
"$RTQ" --status --json "$H" >"$T/bytes.json" || die "--status --json (bytes) failed"
cat -A "$T/bytes.json"
N=$n python3 - "$T/bytes.json" <<'EOF' || late+="--status --json of invalid UTF-8 (overlong, surrogate, beyond U+10FFFF sequences) is not valid UTF-8 JSON; "
import json, os, sys
raw = open(sys.argv[1], "rb").read()
try:
    doc = json.loads(raw.decode("utf-8"))
except Exception as e:
    print("bytes.json: not valid UTF-8 JSON: %s" % e); sys.exit(1)
f = doc["failed"]
ok = len(f) == int(os.environ["N"])
ok = ok and f[0]["text"] == 'echo "dq" \\back \\"both\\"'
ok = ok and f[1]["text"] == 'ctl \x01 \x1b[31m esc \x7f del'
ok = ok and f[2]["text"] == 'ok \u00e9 \u20ac \U0001f600 utf8'
ok = ok and all("\ufffd" in x["text"] for x in f[3:])
# (a control byte in a worker name is written as '_', rtq(1))
ok = ok and doc["workers"][0]["name"].startswith("n\u00e9 \ufffd \"q\" \\ _")
if not ok:
    print("bytes.json: texts not as expected:", [x["text"] for x in f])
sys.exit(0 if ok else 1)
EOF
# the texts that are valid UTF-8 at least must be right, whatever else
python3 - "$T/bytes.json" <<'EOF' || die "bytes.json: quotes, control characters or valid UTF-8 wrongly encoded"
import json, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
f = json.loads(raw)["failed"]
assert f[0]["text"] == 'echo "dq" \\back \\"both\\"', f[0]
assert f[1]["text"] == 'ctl \x01 \x1b[31m esc \x7f del', f[1]
assert f[2]["text"] == 'ok \u00e9 \u20ac \U0001f600 utf8', f[2]
EOF

say "average and ETA from stamps of known durations"
st() { date -d "@$1" '+%m-%d %H:%M:%S'; }
now=$(date +%s)
E=$T/eta.sh
{
	echo "#t1 # worker 0 # ($(st $((now - 3600))) ... $(st $((now - 3540)))) #ok"
	echo "#t2 # worker 0 # ($(st $((now - 3000))) ... $(st $((now - 2880)))) #ok"
	echo "t3 # worker 1 # ($(st $((now - 2000))) ... $(st $((now - 1970)))) #error1"
	echo "#t4 # worker 1 # ($(st $((now - 100))) ..."
	echo "t5"
	echo "t6"
} >"$E"
# average (60 + 120 + 30) / 3 = 70 s; 2 left (pending): t3 failed, and no
# worker heard from (none is, here) may retry it, so it counts as finished;
# 1 busy: 70 * 2 / 1 + 70 / 2 = 175 s
"$RTQ" --status "$E" >"$T/eta.txt" || die "--status (eta) failed"
cat "$T/eta.txt"
expect_eq "eta: progress line" "$(sed -n 3p "$T/eta.txt")" \
	"  [###############...............] 50%, 1m10s a task, about 2m55s left with 1 busy worker"
expect_eq "eta: running line" "$(sed -n 6p "$T/eta.txt" | sed -E 's/1m4[0-9]s/1m4Xs/')" \
	"        line 4, 1m4Xs: t4"
"$RTQ" --status --json "$E" >"$T/eta.json" || die "--status --json (eta) failed"
python3 - "$T/eta.json" <<'EOF' || die "eta.json is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["progress"]
assert {k: p.get(k) for k in ("finished", "total", "average_seconds",
        "eta_seconds")} == {"finished": 3, "total": 6, "average_seconds": 70,
                            "eta_seconds": 175}, p
TK = ("total", "pending", "blocked", "running", "done", "failed")
assert {k: d["tasks"].get(k) for k in TK} == {"total": 6, "pending": 2,
        "blocked": 0, "running": 1, "done": 2, "failed": 1}, d["tasks"]
w = {x["id"]: x for x in d["workers"]}
assert sorted(w) == [1], w                       # only a running task names it
assert w[1]["task"]["line"] == 4 and 99 <= w[1]["task"]["elapsed"] <= 105, w[1]
assert w[1]["registered"] is None and w[1]["last_heard"] is None, w[1]
EOF

say "--watch: a report every SECONDS, no screen clearing into a pipe"
timeout 2.3 "$RTQ" --status --watch 0.5 "$F" >"$T/watch" 2>&1
n=$(grep -c "^$F at " "$T/watch")
[ "$n" -ge 3 ] && [ "$n" -le 6 ] || { cat "$T/watch"; die "--watch 0.5 for 2.3 s gave $n reports"; }
no_escapes "--status --watch into a pipe" "$T/watch"
timeout 1.3 "$RTQ" --status --watch 0.5 --json "$F" >"$T/watch.json" 2>&1
python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
for l in lines: json.loads(l)' "$T/watch.json" || die "--watch --json does not give one JSON document a line"

say "colours: only on a terminal, never with NO_COLOR"
script -qc true /dev/null </dev/null >/dev/null 2>&1 ||
	die "script(1) cannot give a command a terminal here: the colours cannot be tested"
{
	script -qc "$RTQ --status $F" /dev/null </dev/null >"$T/tty" 2>&1
	grep -q "$ESC\\[" "$T/tty" || { cat -A "$T/tty"; die "no colours on a terminal"; }
	# the colours wrap the words; without them the text is the same
	sed "s/$ESC\\[[0-9;]*m//g; s/\r$//" "$T/tty" | norm >"$T/tty.plain"
	diff -u "$T/want" "$T/tty.plain" >&2 || die "the text on a terminal differs from the golden one without colours"
	NO_COLOR=1 script -qc "$RTQ --status $F" /dev/null </dev/null >"$T/tty-nc" 2>&1
	no_escapes "NO_COLOR=1 on a terminal" "$T/tty-nc"
	script -qc "$RTQ --status --json $F" /dev/null </dev/null >"$T/tty-json" 2>&1
	no_escapes "--json on a terminal" "$T/tty-json"
	script -qc "timeout 1.3 $RTQ --status --watch 0.5 $F" /dev/null </dev/null >"$T/tty-watch" 2>&1
	grep -qF "${ESC}[2J" "$T/tty-watch" || { cat -A "$T/tty-watch"; die "--watch on a terminal does not redraw"; }
}

[ -z "$late" ] || die "$late"
say "ok"
