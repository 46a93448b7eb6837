"""Client helpers for the end-to-end tests: raw UDP/TCP exchange, and exact
comparison of response sections against RRs written in master-file form."""
from __future__ import annotations

import collections
import socket
import struct

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

TIMEOUT = 3.0


class NoResponse(AssertionError):
    pass


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def udp_raw(addr: tuple[str, int], wire: bytes, timeout: float = TIMEOUT) -> bytes:
    """Send one datagram and return the first reply whose ID matches, or raise NoResponse."""
    with socket.socket(family_of(addr[0]), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(wire, addr)
        try:
            while True:
                data, _ = s.recvfrom(65535)
                if len(wire) < 2 or data[:2] == wire[:2]:
                    return data
        except socket.timeout:
            raise NoResponse(f"no UDP response from {addr} within {timeout}s") from None


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise NoResponse(f"TCP connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def tcp_read_msg(s: socket.socket) -> bytes:
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return recv_exact(s, n)


def tcp_frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


def tcp_raw(addr: tuple[str, int], wire: bytes, timeout: float = TIMEOUT) -> bytes:
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(tcp_frame(wire))
        try:
            return tcp_read_msg(s)
        except socket.timeout:
            raise NoResponse(f"no TCP response from {addr} within {timeout}s") from None


def parse(wire: bytes) -> dns.message.Message:
    msg = dns.message.from_wire(wire)
    msg.wire = wire  # kept for checks that dnspython normalises away (counts, case)
    return msg


def udp(addr, q: dns.message.Message, timeout: float = TIMEOUT) -> dns.message.Message:
    return parse(udp_raw(addr, q.to_wire(), timeout))


def tcp(addr, q: dns.message.Message, timeout: float = TIMEOUT) -> dns.message.Message:
    return parse(tcp_raw(addr, q.to_wire(), timeout))


def query(qname: str, qtype: str = "A", **kw) -> dns.message.Message:
    """A query as an authoritative server sees it from a resolver: RD clear."""
    kw.setdefault("use_edns", False)
    q = dns.message.make_query(qname, qtype, **kw)
    q.flags &= ~dns.flags.RD
    return q


def header_counts(wire: bytes) -> tuple[int, int, int, int]:
    return struct.unpack("!HHHH", wire[4:12])


# -- expected RRs -------------------------------------------------------------

def rr(text: str) -> tuple:
    """'owner ttl class type rdata' (absolute names) -> comparable tuple."""
    owner, ttl, rdclass, rdtype, rdata = text.split(None, 4)
    rdclass = dns.rdataclass.from_text(rdclass)
    rdtype = dns.rdatatype.from_text(rdtype)
    rd = dns.rdata.from_text(rdclass, rdtype, rdata)
    return (dns.name.from_text(owner).canonicalize(), int(ttl), rdclass, rdtype,
            rd.to_digestable())


def rrs_of(section) -> list[tuple]:
    out = []
    for rrset in section:
        for rd in rrset:
            out.append((rrset.name.canonicalize(), rrset.ttl, rrset.rdclass, rrset.rdtype,
                        rd.to_digestable()))
    return out


def show(items) -> str:
    lines = []
    for owner, ttl, rdclass, rdtype, digest in sorted(items, key=repr):
        rd = dns.rdata.from_wire(rdclass, rdtype, digest, 0, len(digest))
        lines.append(f"  {owner} {ttl} {dns.rdataclass.to_text(rdclass)} "
                     f"{dns.rdatatype.to_text(rdtype)} {rd.to_text()}")
    return "\n".join(lines) or "  (empty)"


def check_section(name: str, got: list[tuple], want: list[tuple], wire_count: int,
                  optional: list[tuple] = ()) -> None:
    extra = collections.Counter(got) - collections.Counter(want)
    missing = collections.Counter(want) - collections.Counter(got)
    extra = [x for x in extra.elements() if x not in optional]
    assert not extra and not missing, (
        f"{name} section differs\n got:\n{show(got)}\n want:\n{show(want)}"
        + (f"\n optional:\n{show(optional)}" if optional else ""))
    assert wire_count == len(got), (
        f"{name} count in header is {wire_count} but {len(got)} distinct RRs were sent "
        "(duplicate RRs in the response?)")


def assert_response(resp: dns.message.Message, *, rcode: int, aa: bool, tc: bool = False,
                    answer=(), authority=(), additional=(),
                    additional_optional=(), allow_apex_ns=None,
                    opcode: int = dns.opcode.QUERY) -> None:
    """Check a response exactly: rcode, QR/AA/TC, and each section as a multiset of
    RRs with TTLs.

    RFC 1034 lets a server add the zone's NS RRset to the authority section of a
    positive answer (and addresses of those servers to the additional section); many
    servers omit it (minimal responses). `allow_apex_ns` = (ns_rrs, ns_addr_rrs) permits
    exactly that optional pair and nothing else."""
    flags = resp.flags
    assert flags & dns.flags.QR, "QR bit not set in response"
    assert resp.opcode() == opcode, f"opcode {resp.opcode()} != {opcode}"
    assert resp.rcode() == rcode, (
        f"rcode {dns.rcode.to_text(resp.rcode())} != {dns.rcode.to_text(rcode)}\n{resp}")
    got_aa, got_tc = bool(flags & dns.flags.AA), bool(flags & dns.flags.TC)
    assert got_aa == aa, f"AA is {got_aa}, want {aa}\n{resp}"
    assert got_tc == tc, f"TC is {got_tc}, want {tc}\n{resp}"
    assert not flags & dns.flags.RA, "RA set by an authoritative-only server"
    qd, an, ns, ar = header_counts(resp.wire)
    answer = [rr(x) for x in answer]
    authority = [rr(x) for x in authority]
    additional = [rr(x) for x in additional]
    optional = [rr(x) for x in additional_optional]
    got_auth = rrs_of(resp.authority)
    if allow_apex_ns and got_auth and not authority:
        ns_rrs, ns_addrs = allow_apex_ns
        authority = [rr(x) for x in ns_rrs]
        optional = optional + [rr(x) for x in ns_addrs]
    check_section("answer", rrs_of(resp.answer), answer, an)
    check_section("authority", got_auth, authority, ns)
    opt = 1 if resp.opt is not None else 0
    check_section("additional", rrs_of(resp.additional), additional, ar - opt, optional)


def qname_wire_of_question(wire: bytes) -> bytes:
    """The raw qname bytes of the first question (no compression allowed there)."""
    i = 12
    while wire[i] != 0:
        assert wire[i] < 64, "compression pointer or bad label type in the question"
        i += wire[i] + 1
    return wire[12:i + 1]
