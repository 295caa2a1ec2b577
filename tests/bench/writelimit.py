#!/usr/bin/env python3
"""The file-write limit of one claim: the median time to read a task file
whole, write it to a temporary file in the same directory, fsync it, rename
it over the original and fsync the directory -- what any atomic rewrite of
the file costs, whatever the program.  rtq-claim's claim does this plus the
lock, the parse and the claim itself, so its cost divided by this one is
how close to the floor it is.

usage: writelimit.py FILE ROUNDS   (prints the median in ms)
RTQ_NOSYNC=1 (as for rtq-claim) leaves out both fsyncs."""
import os
import statistics
import sys
import time

path, rounds = sys.argv[1], int(sys.argv[2])
sync = os.environ.get("RTQ_NOSYNC", "") in ("", "0")
d = os.path.dirname(os.path.abspath(path))
tmp = os.path.join(d, ".writelimit.%d" % os.getpid())
times = []
for _ in range(rounds):
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    data = bytearray()
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        data += b
    os.close(fd)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    if sync:
        os.fsync(fd)
    os.close(fd)
    os.rename(tmp, path)
    if sync:
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
    times.append(time.perf_counter() - t0)
print("%.3f" % (statistics.median(times) * 1e3))
