"""Measures: AXFR of a 100k-record zone (TSIG signed), IXFR of one change, and the TCP
fast path with and without the slow-path hook.  Run: PYTHONPATH=src:tests python tests/unit/xfr/bench_xfr.py"""
import socket
import struct
import subprocess
import sys
import time

from zonefront import model

sys.path.insert(0, __file__.rsplit("/", 3)[0])
from helpers.xfr import KEY, SECRET, Primary, changed, need, zone_from_text  # noqa: E402
from helpers.xfr_zones import ZONE  # noqa: E402


def big_zone(n):
    z = zone_from_text(ZONE, "xfr.test.")
    for i in range(n):
        z.add(model.name_from_text(f"host{i}.bulk.xfr.test."), model.TYPE_A, 300,
              bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]))
    return z


def kdig_axfr(port, rtype="AXFR", serial=None):
    t = f"IXFR={serial}" if serial else rtype
    t0 = time.monotonic()
    out = subprocess.run([need("kdig"), "-p", str(port), "-y", f"hmac-sha256:xfr-key:{SECRET}",
                          "@127.0.0.1", "xfr.test.", t, "+noall", "+stats"],
                         capture_output=True, text=True)
    took = time.monotonic() - t0
    assert out.returncode == 0 and "failed" not in out.stdout.lower(), out.stdout + out.stderr
    return took, [ln for ln in out.stdout.splitlines() if "Received" in ln]


def tcp_qps(port, n=200_000):
    q = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x03www\x03xfr\x04test\x00\x00\x01\x00\x01"
    framed = struct.pack("!H", len(q)) + q
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    batch = framed * 500
    t0 = time.monotonic()
    got = 0
    buf = b""
    for _ in range(n // 500):
        s.sendall(batch)
        need_bytes = 500
        while need_bytes:
            buf += s.recv(1 << 20)
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                buf = buf[2 + struct.unpack("!H", buf[:2])[0]:]
                need_bytes -= 1
                got += 1
    took = time.monotonic() - t0
    s.close()
    return got / took


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    z = big_zone(n)
    p = Primary([z], keys=[KEY]).start()
    try:
        for _ in range(2):
            took, stats = kdig_axfr(p.port)
            print(f"AXFR {n} records (+TSIG, kdig): {took:.3f}s {stats}")
        p.publish([changed(z, 11, add=[("new", "A", 300, "192.0.2.77")])])
        took, stats = kdig_axfr(p.port, serial=10)
        print(f"IXFR 10->11: {took:.3f}s {stats}")
    finally:
        p.stop()
    small = zone_from_text(ZONE, "xfr.test.")
    for label, kw in (("no slow path", None), ("with slow path", "x")):
        p = Primary([small])
        if kw is None:
            p.server.xfr = None
        p.start()
        try:
            rates = sorted(tcp_qps(p.port) for _ in range(5))
            print(f"TCP pipelined qps, {label}: median {rates[2]:,.0f} (min {rates[0]:,.0f}, "
                  f"max {rates[-1]:,.0f})")
        finally:
            p.stop()


if __name__ == "__main__":
    main()
