"""Ports for the servers the tests start.  Every helper takes its ports
here: chosen below the kernel's ephemeral range (32768-60999 here), so the
client connections a test makes meanwhile cannot take one before its server
binds it, and never the same port twice in one test process (two
`bind(("127.0.0.1", 0))` calls in a row may both get the port the first one
just released: a server's DNS and API ports were once the same, and its
API could not listen)."""
from __future__ import annotations

import random
import socket

LOW, HIGH = 20000, 32000
_given: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `host` (a DNS listener takes
    both), not handed out before in this process."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(500):
        port = random.randint(LOW, HIGH)
        if port in _given:
            continue
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as t, socket.socket(fam, socket.SOCK_DGRAM) as u:
                t.bind((host, port))
                u.bind((host, port))
        except OSError:
            continue
        _given.add(port)
        return port
    raise RuntimeError("no free port")
