"""A recursive resolver stand-in for the recursive fallback tests: a small
DNS server on 127.0.0.1 (UDP and TCP, real packets)."""
from __future__ import annotations

import socket
import struct
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rrset


class Resolver:
    """A recursive resolver stand-in: answers A questions from `names` over
    UDP and TCP on 127.0.0.1, NXDOMAIN for the rest; records the ids it saw.
    `silent` drops every UDP query (a resolver that is down)."""

    @staticmethod
    def _bind_pair() -> tuple[socket.socket, socket.socket]:
        """A UDP and a TCP socket on one free port: the port the kernel picks
        for UDP may be taken for TCP by another test's server, so try again."""
        for _ in range(100):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind(("127.0.0.1", udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                continue
            return udp, tcp
        raise OSError("no port free for both UDP and TCP on 127.0.0.1")

    def __init__(self, names: dict[str, str], silent: bool = False,
                 truncate: frozenset = frozenset()):
        self.names = names
        self.silent = silent
        self.truncate = truncate  # names answered TC=1 and empty over UDP
        self.tcp_ids: list[int] = []
        self.ids: list[int] = []
        self.udp, self.tcp = self._bind_pair()
        self.port = self.udp.getsockname()[1]
        self.tcp.listen(8)
        self.udp.settimeout(0.1)
        self.tcp.settimeout(0.1)
        self.stopping = False
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._serve_udp,
                                                                           self._serve_tcp)]
        for t in self.threads:
            t.start()

    def reply(self, wire: bytes) -> bytes:
        q = dns.message.from_wire(wire)
        self.ids.append(q.id)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA
        name = q.question[0].name.to_text()
        if name in self.names:
            r.answer.append(dns.rrset.from_text(name, 30, "IN", "A", self.names[name]))
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
        return r.to_wire()

    def _serve_udp(self):
        while not self.stopping:
            try:
                wire, peer = self.udp.recvfrom(4096)
            except OSError:
                continue
            if self.silent:
                continue
            out = self.reply(wire)
            q = dns.message.from_wire(wire)
            if q.question[0].name.to_text() in self.truncate:
                r = dns.message.make_response(q)
                r.flags |= dns.flags.TC
                out = r.to_wire()
            self.udp.sendto(out, peer)

    def _serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                n = struct.unpack(">H", conn.recv(2))[0]
                wire = b""
                while len(wire) < n:
                    wire += conn.recv(n - len(wire))
                out = self.reply(wire)
                self.tcp_ids.append(self.ids[-1])
                conn.sendall(struct.pack(">H", len(out)) + out)

    def close(self):
        self.stopping = True
        for t in self.threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()
