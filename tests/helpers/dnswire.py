"""Wire helpers for the data-plane tests: build queries, TCP framing, clients."""
import socket
import struct


def make_query(name: str, qid: int = 1, qtype: int = 1) -> bytes:
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", qtype, 1)


def frame(msg: bytes) -> bytes:
    return struct.pack("!H", len(msg)) + msg


def read_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_framed(sock: socket.socket) -> bytes:
    (n,) = struct.unpack("!H", read_exact(sock, 2))
    return read_exact(sock, n)


def udp_client(family=socket.AF_INET, timeout=2.0) -> socket.socket:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:  # root may exceed rmem_max; a burst of replies must not overflow
        s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    return s
