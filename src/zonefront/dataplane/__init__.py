"""Data plane: sockets feeding the compiled engine (UDP workers, TCP, image swap, stats)."""


def __getattr__(name):
    # Lazy, so importing the package does not need the compiled _worker module.
    if name == "DnsServer":
        from zonefront.dataplane.server import DnsServer
        return DnsServer
    raise AttributeError(name)


__all__ = ["DnsServer"]
