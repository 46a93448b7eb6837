"""Two network namespaces joined by a veth pair, and sockets opened inside them.

The server side (zfx-<pid>-s, zfxs0, 10.77.0.1 / fd77::1) and the client side
(zfx-<pid>-c, zfxc0, .2 / ::2).  A socket belongs to the namespace of the
thread that created it, so open_in() creates it in a short-lived thread
that has entered the namespace; the rest of the test process stays put.
"""
from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

SERVER_V4, CLIENT_V4 = "10.77.0.1", "10.77.0.2"
SERVER_V6, CLIENT_V6 = "fd77::1", "fd77::2"


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


class NetPair:
    def __init__(self, tag: str | None = None):
        tag = tag or str(os.getpid())
        self.server_ns, self.client_ns = f"zfx-{tag}-s", f"zfx-{tag}-c"
        self.server_if, self.client_if = "zfxs0", "zfxc0"

    def create(self) -> "NetPair":
        self.destroy()
        s, c = self.server_ns, self.client_ns
        sh("ip", "netns", "add", s)
        sh("ip", "netns", "add", c)
        sh("ip", "link", "add", self.server_if, "netns", s, "type", "veth", "peer", "name",
           self.client_if, "netns", c)
        for ns, dev, v4, v6 in ((s, self.server_if, SERVER_V4, SERVER_V6),
                                (c, self.client_if, CLIENT_V4, CLIENT_V6)):
            sh("ip", "-n", ns, "addr", "add", f"{v4}/24", "dev", dev)
            sh("ip", "-n", ns, "addr", "add", f"{v6}/64", "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def destroy(self) -> None:
        for ns in (self.server_ns, self.client_ns):
            sh("ip", "netns", "del", ns, check=False)

    def xdp_programs(self) -> str:
        """`ip link` of the server interface: "prog/xdp" in it while one is attached."""
        return sh("ip", "-n", self.server_ns, "-d", "link", "show", self.server_if).stdout

    def mac(self, ns: str, dev: str) -> bytes:
        text = sh("ip", "-n", ns, "-br", "link", "show", dev).stdout.split()[2]
        return bytes.fromhex(text.replace(":", ""))

    def run_in(self, ns: str, fn, *args):
        """fn(*args) in a thread that entered ns; returns its result."""
        out: list = []

        def body():
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, os.strerror(e))
            finally:
                os.close(fd)
            try:
                out.append((True, fn(*args)))
            except BaseException as e:
                out.append((False, e))

        t = threading.Thread(target=body)
        t.start()
        t.join()
        ok, value = out[0]
        if not ok:
            raise value
        return value

    def open_in(self, ns: str, family=socket.AF_INET, kind=socket.SOCK_DGRAM, proto=0):
        return self.run_in(ns, socket.socket, family, kind, proto)
