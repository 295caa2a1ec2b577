#!/usr/bin/env python3
"""Median cost of one claim (finish the previous task + claim the next) by
rtq-claim on a task file of N lines, as one process per request and as
requests over one serve session; and rtq-claim's peak memory.

usage: claimcost.py RTQ_CLAIM FILE ROUNDS [WRITELIMIT]
prints "ONESHOT_MS SERVE_MS PEAK_RSS_KIB FILE_SIZE"; with WRITELIMIT (the
program built from writelimit.c), "SERVE_MS LIMIT_MS PEAK_RSS_KIB
FILE_SIZE": one process per request is not timed, and the file-write limit
is timed on a copy of FILE in its directory, by one writelimit process
taking turns with the serve session: a round of it before each claim and
one after the last (the disk's pace varies from one second to the next
on a shared machine; a claim and a limit round a moment apart see the
same disk, so the ratio of the medians holds where the medians move).
The environment (RTQ_NOSYNC) is passed on to both programs."""
import os
import shutil
import statistics
import subprocess
import sys
import time

claim, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
writelimit = sys.argv[4] if len(sys.argv) > 4 else None
serve_only = writelimit is not None


def parse(out):
    lines = out.split("\n")
    head = lines[0].split(" ")
    assert head[0] == "RTQ1" and head[1] == "work", out
    item = lines[1].split(" ", 2)
    return head[2], item[1], item[2]


subprocess.run([claim, "reset", path], check=True, stdout=subprocess.DEVNULL)
# a new id each run: a reset keeps the lease of the last run's worker
reg = subprocess.run([claim, "register", path, "-", "bench"], check=True,
                     stdout=subprocess.PIPE, text=True).stdout.split()
assert reg[:2] == ["RTQ1", "id"], reg
wid = reg[2]
# one process per request
times = []
prev = []
pos = "0"
for _ in range(0 if serve_only else rounds):
    t0 = time.perf_counter()
    out = subprocess.run([claim, "next", path, wid, pos] + prev, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    times.append(time.perf_counter() - t0)
    pos, line, text = parse(out)
    prev = ["task", line, "0", text]
oneshot = statistics.median(times) if times else 0

# one serve session
p = subprocess.Popen([claim, "serve", path], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True, bufsize=1)
p.stdin.write("hello 1\n")
p.stdin.flush()
assert p.stdout.readline().startswith("RTQ1 ok")
times = []
limits = []
copy = os.path.join(os.path.dirname(os.path.abspath(path)),
                    ".claimcost-copy.%d" % os.getpid())


wl = None
if serve_only:
    shutil.copyfile(path, copy)
    wl = subprocess.Popen([writelimit, copy, "-"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, bufsize=1)


def limit_round():
    """one round of the file-write limit on the copy of the file"""
    wl.stdin.write("\n")
    wl.stdin.flush()
    out = wl.stdout.readline()
    if not out:
        sys.exit("claimcost: %s failed (exit %s)" % (writelimit, wl.wait()))
    limits.append(float(out) / 1e3)


for _ in range(rounds):
    if serve_only:
        limit_round()
    req = " ".join(["next", wid, pos] + prev) + "\n"
    t0 = time.perf_counter()
    p.stdin.write(req)
    p.stdin.flush()
    out = p.stdout.readline() + p.stdout.readline()
    times.append(time.perf_counter() - t0)
    pos, line, text = parse(out)
    prev = ["task", line, "0", text]
with open("/proc/%d/status" % p.pid) as st:
    rss = [int(l.split()[1]) for l in st if l.startswith("VmHWM")][0]
p.stdin.close()
p.wait()
subprocess.run([claim, "bye", path, wid], stdout=subprocess.DEVNULL)
serve = statistics.median(times)
size = os.path.getsize(path)
if serve_only:
    limit_round()
    wl.stdin.close()
    wl.wait()
    os.unlink(copy)
    print("%.3f %.3f %d %d" % (serve * 1e3, statistics.median(limits) * 1e3,
                               rss, size))
else:
    print("%.3f %.3f %d %d" % (oneshot * 1e3, serve * 1e3, rss, size))
