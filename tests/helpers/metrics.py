"""Shared helpers for the observability tests: zones, a counting server, a scrape."""
from __future__ import annotations

import socket
import struct
import urllib.request

import dns.message
import dns.query
import dns.rdatatype
from prometheus_client.parser import text_string_to_metric_families

from zonefront import serving
from zonefront.dataplane.server import DnsServer

NET_ZONE = """$ORIGIN example.net.
$TTL 60
@    SOA ns1.example.net. admin.example.net. 7 3600 600 86400 60
@    NS  ns1
ns1  A   198.51.100.1
www  A   198.51.100.10
alias CNAME www
big  TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
"""


def build_zones(tmp_path):
    p = tmp_path / "net.zone"
    p.write_text(NET_ZONE)
    zones = serving.load_zone_files([serving.demo_zone_path(), str(p)])
    return serving.build_engine(zones, None, {}, {}).engine.image


def zone_names(image) -> list[str]:
    import dns.name
    return [dns.name.from_wire(z["origin"], 0)[0].to_text() for z in image.zones]


def start_server(image, **kw) -> DnsServer:
    kw.setdefault("workers", 2)
    return DnsServer([("127.0.0.1", 0)], image=image, counters=True, **kw).start()


def ask(server, name, rdtype="A", tcp=False) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    port = server.ports[0]
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=3)


def send_raw(server, payload: bytes) -> bytes:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(payload, ("127.0.0.1", server.ports[0]))
    data, _ = s.recvfrom(4096)
    s.close()
    return data


def formerr_query() -> bytes:
    """A header claiming one question followed by a name running past the end."""
    return struct.pack("!HHHHHH", 77, 0x0100, 1, 0, 0, 0) + b"\x07exam"


def parse(text: str) -> dict:
    """{(name, frozenset(labels)): value} for every sample."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def scrape_http(host, port) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def value(samples: dict, metric_name: str, /, **labels) -> float:
    return samples.get((metric_name, frozenset(labels.items())), 0.0)
