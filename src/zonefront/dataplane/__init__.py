"""Data plane (a mechanism): sockets feeding the compiled engine.  server.py
runs the UDP workers and the TCP thread over _worker.pyx's C loops and swaps
images between batches; _stats.pyx owns the per-worker counters and record
rings that metrics.py (Prometheus), querylog.py (Route 53 query logs) and
dnstap.py drain; rrl_glue.py turns the RRL options into DnsServer's rrl=."""


def __getattr__(name):
    # Lazy, so importing the package does not need the compiled _worker module.
    if name == "DnsServer":
        from zonefront.dataplane.server import DnsServer
        return DnsServer
    raise AttributeError(name)


__all__ = ["DnsServer"]
