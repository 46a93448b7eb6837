#!/usr/bin/env python3
"""`zonefront serve ARGS...` up to the moment its DNS server has started,
then exit: the start path alone, for instruction counts that a busy shared
machine cannot blur (wall times can be 3-5x off there).

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \
        python3 bench/compile/startcost.py \
        --zone-file Z --no-api --dns-listen 127.0.0.1:PORT --workers 1

A clean zone file is compiled in the server process itself
(serving.compile_files); one the C compiler hands to the Python path goes
to a forked child, and then `--dump-after=os_fork` splits the counters at
the fork (the child's first file is what it inherited, its last its own
work).  Without valgrind it prints the milliseconds of each stage (compile,
image built, or fork and child done, server started), with the page faults
and CPU time of the server and of a compiler child so far, to stderr.  Run
it with this checkout's src/ first on PYTHONPATH, byte-compiled (load.py
does `compileall`).
"""
from __future__ import annotations

import resource
import sys
import time

T0 = time.perf_counter()
# what a launcher's own children (pyenv's shim) left in this process's
# children usage, which exec keeps
KIDS0 = resource.getrusage(resource.RUSAGE_CHILDREN)


def mark(what: str) -> None:
    """Milliseconds since start, with this process's and its (reaped)
    children's minor page faults and user/system CPU: the faults are kernel
    time callgrind does not count (~3 us each on this VM)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped ones: after "server started"
    sys.stderr.write(f"{(time.perf_counter() - T0) * 1000:8.1f} ms  {what:<20}"
                     f" server: {me.ru_minflt:6d} faults, {me.ru_utime * 1000:6.1f} ms user,"
                     f" {me.ru_stime * 1000:5.1f} ms sys;  compiler child:"
                     f" {kids.ru_minflt - KIDS0.ru_minflt:6d} faults,"
                     f" {(kids.ru_utime - KIDS0.ru_utime) * 1000:6.1f} ms user,"
                     f" {(kids.ru_stime - KIDS0.ru_stime) * 1000:5.1f} ms sys\n")


def main(argv: list[str]) -> int:
    from zonefront import cli, serving
    from zonefront.dataplane import server

    mark("cli imported")
    here, forked = serving._compile_here, serving._compile_forked

    def timed_here(*a):
        mark("compile (here)")
        engine = here(*a)
        mark("image built" if engine is not None else "needs the child")
        return engine

    def timed_fork(*a):
        mark("fork")
        child = forked(*a)
        mark("compiler child done")
        return child

    serving._compile_here, serving._compile_forked = timed_here, timed_fork
    start = server.DnsServer.start

    def started(self):
        start(self)
        mark("server started")
        self.stop()
        raise SystemExit(0)

    server.DnsServer.start = started
    return cli.main(["serve", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
