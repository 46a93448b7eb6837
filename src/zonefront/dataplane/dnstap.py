"""dnstap (https://dnstap.info): AUTH_QUERY / AUTH_RESPONSE messages in
Frame Streams, to a collector's Unix socket or to a file, so that the tools
that read Knot's, NSD's or BIND's dnstap read ours unchanged.

The records come from the workers' rings (csrc/zfstats.h) through
querylog.RecordDrain, never from the hot path.  The protobuf is written by
hand: the schema (dnstap.proto) is small and fixed, and this saves a
dependency.  Frame Streams: a control frame is a zero length followed by
its own length, type and fields; a data frame is a big-endian length and
the payload.  Over a socket the writer sends READY, waits for ACCEPT, then
START; a file starts with START.  A collector that is down costs the
frames sent meanwhile (counted in `dropped`), never a worker's time.
"""
from __future__ import annotations

import logging
import os
import socket
import struct
import time

from ..netaddr import recv_exact

_COLLECTOR_CLOSED = "collector closed the connection"

log = logging.getLogger(__name__)

CONTENT_TYPE = b"protobuf:dnstap.Dnstap"
CTRL_ACCEPT, CTRL_START, CTRL_STOP, CTRL_READY, CTRL_FINISH = 1, 2, 3, 4, 5
FIELD_CONTENT_TYPE = 1

DNSTAP_MESSAGE = 1
AUTH_QUERY, AUTH_RESPONSE = 1, 2
INET, INET6 = 1, 2
UDP, TCP = 1, 2


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _vfield(field: int, n: int) -> bytes:
    return _key(field, 0) + _varint(n)


def _bfield(field: int, b: bytes) -> bytes:
    return _key(field, 2) + _varint(len(b)) + b


def _f32field(field: int, n: int) -> bytes:
    return _key(field, 5) + struct.pack("<I", n & 0xFFFFFFFF)


def control_frame(ctype: int, content_type: bool = True) -> bytes:
    body = struct.pack("!I", ctype)
    if content_type:
        body += struct.pack("!II", FIELD_CONTENT_TYPE, len(CONTENT_TYPE)) + CONTENT_TYPE
    return struct.pack("!II", 0, len(body)) + body


def encode_message(mtype: int, ts_us: int, tcp: bool, family: int, addr: bytes, port: int,
                   dport: int, query: bytes, response: bytes | None,
                   identity: bytes = b"", version: bytes = b"") -> bytes:
    """One Dnstap protobuf holding one Message."""
    sec, us = divmod(ts_us, 1_000_000)
    m = _vfield(1, mtype)
    m += _vfield(2, INET6 if family == 6 else INET)
    m += _vfield(3, TCP if tcp else UDP)
    m += _bfield(4, addr[:16] if family == 6 else addr[:4])
    m += _vfield(6, port)
    m += _vfield(7, dport)
    m += _vfield(8, sec) + _f32field(9, us * 1000)
    m += _bfield(10, query)
    if mtype == AUTH_RESPONSE:
        m += _vfield(12, sec) + _f32field(13, us * 1000)
        if response:
            m += _bfield(14, response)
    d = b""
    if identity:
        d += _bfield(1, identity)
    if version:
        d += _bfield(2, version)
    d += _bfield(14, m) + _vfield(15, DNSTAP_MESSAGE)
    return d


class DnstapWriter:
    """Frames to `path`: a Unix socket a collector listens on (fstrm_capture,
    a dnstap-aware collector), or, for a path ending in .fstrm/.dnstap/.tap,
    a Frame Streams file."""

    def __init__(self, path: str, identity: bytes | None = None, reconnect: float = 1.0):
        self.path = path
        self.identity = identity if identity is not None else socket.gethostname().encode()
        self.version = b"zonefront"
        self.reconnect = reconnect
        self.is_file = path.endswith((".fstrm", ".dnstap", ".tap"))
        self._sock: socket.socket | None = None
        self._file = None
        self._next_try = 0.0
        self._buf: list[bytes] = []
        self._pending = 0  # frames in _buf
        self.frames = 0
        self.dropped = 0
        if self.is_file:
            self._file = open(path, "wb")
            self._file.write(control_frame(CTRL_START))

    def _connect(self) -> bool:
        if self._sock is not None:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self.reconnect
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2.0)
        try:
            s.connect(self.path)
            s.sendall(control_frame(CTRL_READY))
            head = recv_exact(s, 8, _COLLECTOR_CLOSED)
            zero, length = struct.unpack("!II", head)
            body = recv_exact(s, length, _COLLECTOR_CLOSED)
            if zero != 0 or struct.unpack_from("!I", body)[0] != CTRL_ACCEPT:
                raise OSError("collector did not ACCEPT")
            s.sendall(control_frame(CTRL_START))
        except OSError as e:
            log.debug("dnstap: %s: %s", self.path, e)
            s.close()
            return False
        self._sock = s
        return True

    def record(self, ts_us: int, tcp: int, family: int, addr: bytes, port: int, dport: int,
               query: bytes, response: bytes) -> None:
        """One answered query: an AUTH_QUERY and an AUTH_RESPONSE frame."""
        for mtype in (AUTH_QUERY, AUTH_RESPONSE):
            msg = encode_message(mtype, ts_us, bool(tcp), family, addr, port, dport, query,
                                 response, self.identity, self.version)
            self._buf.append(struct.pack("!I", len(msg)) + msg)
            self._pending += 1

    def records(self, data: bytes) -> None:
        """Every record of one ring take() at once (framed in C)."""
        from zonefront.dataplane import _stats
        frames, n = _stats.dnstap_frames(data, self.identity, self.version)
        if n:
            self._buf.append(frames)
            self._pending += n

    def flush(self) -> None:
        if not self._buf:
            return
        data = b"".join(self._buf)
        n = self._pending
        self._buf = []
        self._pending = 0
        if self._file is not None:
            self._file.write(data)
            self._file.flush()
            self.frames += n
            return
        if not self._connect():
            self.dropped += n
            return
        try:
            self._sock.sendall(data)
            self.frames += n
        except OSError:
            self.dropped += n
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.write(control_frame(CTRL_STOP, content_type=False))
            self._file.close()
            self._file = None
        if self._sock is not None:
            try:
                self._sock.sendall(control_frame(CTRL_STOP, content_type=False))
                self._sock.settimeout(1.0)
                recv_exact(self._sock, 8, _COLLECTOR_CLOSED)  # FINISH (best effort)
            except OSError:
                pass
            self._sock.close()
            self._sock = None


def remove_stale(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
