"""XfrService: the TCP slow path for AXFR/IXFR (and TSIG-signed SOA queries), access control, history, NOTIFY."""
from __future__ import annotations

import collections
import ipaddress
import logging
import struct
import threading
import time
from typing import Callable, Iterable

from .. import model
from ..dnssec.zonesign import TransferCopies
from . import axfr, ixfr
from . import message as msg
from . import tsig
from .history import Delta, History, diff, serial_lt
from .notify import Notifier

log = logging.getLogger("zonefront.xfr")


def _network(text) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if isinstance(text, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return text
    if text in ("any", "*"):
        raise ValueError("write 0.0.0.0/0 and ::/0 to allow every address")
    return ipaddress.ip_network(text, strict=False)


class XfrService:
    """Answers zone transfers from the zones last handed to update().

    allow: CIDRs that may transfer (none by default: every transfer is
    REFUSED).  tsig_keys: tsig.Key values; with any configured, a transfer
    must also be signed with one of them (require_tsig=False drops that).
    zones: a callable returning the served model.Zone list (read by
    update() when it is given no list).  notify: (host, port) secondaries
    sent a NOTIFY for each zone whose serial moved, signed with notify_key.

    Call it as the data plane's slow path: `service(query, (host, port))`.
    """

    def __init__(self, allow: Iterable = (), tsig_keys: Iterable[tsig.Key] = (),
                 zones: Callable[[], list[model.Zone]] | None = None,
                 history: History | None = None, *, notify: Iterable = (),
                 notify_key: tsig.Key | None = None, require_tsig: bool | None = None,
                 clock: Callable[[], float] = time.time):
        self.allow = [_network(a) for a in allow]
        self.keys = tsig.keyring(tsig_keys)
        self.require_tsig = bool(self.keys) if require_tsig is None else require_tsig
        self.zones_provider = zones
        self._signed = TransferCopies()
        self.history = history if history is not None else History()
        self.clock = clock
        notify = list(notify)
        self.notifier = Notifier(notify, notify_key) if notify else None
        self._zones: dict[bytes, model.Zone] = {}
        self._update_lock = threading.Lock()
        self.transfers = 0  # AXFR/IXFR answered with data
        self.refused = 0  # refused by address or TSIG
        # the last transfers: (kind, zone text, their serial or None, our serial, client host);
        # kind is "axfr", "ixfr", "ixfr-axfr" (history did not reach) or "ixfr-current"
        self.recent: collections.deque = collections.deque(maxlen=200)
        if zones is not None:
            self.update(notify=False)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "XfrService":
        if self.notifier is not None:
            self.notifier.start()
        return self

    def stop(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()

    # -- the published zones ----------------------------------------------

    def zone(self, origin: bytes) -> model.Zone | None:
        return self._zones.get(origin)

    def update(self, zones: list[model.Zone] | None = None, notify: bool = True) -> list[bytes]:
        """Takes the zones now served (after each publish/reload): records
        each zone's change in the history and sends NOTIFY for those whose
        serial moved.  Returns the origins notified (or that would be)."""
        if zones is None:
            if self.zones_provider is None:
                return []
            zones = self.zones_provider()
        new: dict[bytes, model.Zone] = {}
        zones = [self._signed(z) for z in zones]  # signed zones travel signed
        for z in zones:
            # private zones are never served publicly, so never transferred
            if not z.private and z.soa is not None and z.origin not in new:
                new[z.origin] = z
        changed = []
        with self._update_lock:
            old = self._zones
            for origin, z in new.items():
                o = old.get(origin)
                if o is z:
                    continue
                name = model.name_to_text(origin)
                if o is None:
                    changed.append(z)
                    continue
                if serial_lt(o.serial, z.serial):
                    t0 = time.monotonic()
                    removed, added = diff(o, z)
                    self.history.add(origin, Delta(o.serial, z.serial,
                                                   (o.soa.ttl, o.soa.rdatas[0]),
                                                   (z.soa.ttl, z.soa.rdatas[0]), removed, added))
                    log.info("zone %s serial %d -> %d: -%d +%d records (diff %.3fs)", name,
                             o.serial, z.serial, len(removed), len(added),
                             time.monotonic() - t0)
                    changed.append(z)
                elif o.serial == z.serial:
                    removed, added = diff(o, z)
                    if removed or added or o.soa.rdatas != z.soa.rdatas:
                        log.warning("zone %s changed (-%d +%d records) but its SOA serial %d "
                                    "did not: secondaries keep the old data until the serial "
                                    "is raised", name, len(removed), len(added), z.serial)
                else:
                    log.warning("zone %s serial went back from %d to %d: secondaries that "
                                "have %d will not follow; IXFR history dropped", name,
                                o.serial, z.serial, o.serial)
                    self.history.forget(origin)
                    changed.append(z)
            for origin in old:
                if origin not in new:
                    self.history.forget(origin)
            self._zones = new
        if notify and self.notifier is not None:
            for z in changed:
                self.notifier.notify(z)
        return [z.origin for z in changed]

    # -- access ------------------------------------------------------------

    def allowed(self, host: str) -> bool:
        try:
            addr = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr.version == n.version and addr in n for n in self.allow)

    # -- the slow path -----------------------------------------------------

    def __call__(self, query: bytes, client: tuple[str, int]) -> list[bytes] | None:
        t0 = time.monotonic()
        try:
            m = msg.parse(query)
        except msg.FormError as e:
            log.info("transfer query from %s: %s", client[0], e)
            if len(query) < 12:
                return None
            (qid, flags) = struct.unpack_from("!HH", query)
            return [msg.header(qid, msg.FLAG_QR | (flags & 0x7900) | msg.RCODE_FORMERR,
                               0, 0, 0, 0)]
        try:
            v = tsig.verify_request(m, self.keys, self.clock())
        except msg.FormError:
            return [msg.error_response(m, msg.RCODE_FORMERR)]
        if v.error in (tsig.ERR_BADKEY, tsig.ERR_BADSIG):
            self.refused += 1
            log.warning("%s %s from %s: TSIG %s with key %s", _qtype(m.qtype),
                        _qname_text(m), client[0],
                        "BADKEY" if v.error == tsig.ERR_BADKEY else "BADSIG",
                        model.name_to_text(v.tsig.name))
            return [tsig.unsigned_error(msg.error_response(m, msg.RCODE_NOTAUTH), v.tsig,
                                        v.error)]
        signer = tsig.Signer(v.key, v.tsig.mac, self.clock()) if v.key is not None else None
        if v.error == tsig.ERR_BADTIME:
            self.refused += 1
            now = int(self.clock())
            return [signer.sign(msg.error_response(m, msg.RCODE_NOTAUTH), tsig.ERR_BADTIME,
                                struct.pack("!HI", now >> 32, now & 0xFFFFFFFF))]
        out = self._answer(m, client, signer is not None)
        if signer is not None:
            out = [signer.sign(x) for x in out]
        if m.qtype in (model.TYPE_AXFR, model.TYPE_IXFR):
            log.info("%s %s to %s#%d%s: %d message(s), %d octets in %.3fs", _qtype(m.qtype),
                     _qname_text(m), client[0], client[1],
                     f" key {v.key.name_text}" if v.key else "", len(out),
                     sum(len(x) for x in out), time.monotonic() - t0)
        return out

    def _answer(self, m: msg.Message, client: tuple[str, int], signed: bool) -> list[bytes]:
        if m.opcode != msg.OPCODE_QUERY or m.flags & msg.FLAG_QR:
            return [msg.error_response(m, msg.RCODE_NOTIMP)]
        if m.qclass != model.CLASS_IN:
            return [msg.error_response(m, msg.RCODE_REFUSED)]
        origin = model.name_lower(m.qname)
        question = (m.qname, m.qtype, m.qclass)
        if m.qtype == model.TYPE_SOA:
            # a secondary's signed refresh check: the engine cannot sign
            zone = self._zones.get(origin)
            if zone is None:
                return [msg.error_response(m, msg.RCODE_REFUSED)]
            return ixfr.up_to_date(zone, m.id, m.flags, question)
        if m.qtype not in (model.TYPE_AXFR, model.TYPE_IXFR):
            return [msg.error_response(m, msg.RCODE_REFUSED)]
        if not self.allowed(client[0]) or (self.require_tsig and not signed):
            self.refused += 1
            log.warning("%s %s from %s refused: %s", _qtype(m.qtype), model.name_to_text(origin),
                        client[0], "TSIG required" if self.allowed(client[0])
                        else "address not in --allow-transfer")
            return [msg.error_response(m, msg.RCODE_REFUSED)]
        zone = self._zones.get(origin)
        if zone is None:
            # RFC 5936 §2.2.1: not authoritative for the zone
            return [msg.error_response(m, msg.RCODE_NOTAUTH)]
        self.transfers += 1
        name = model.name_to_text(origin)
        if m.qtype == model.TYPE_AXFR:
            self.recent.append(("axfr", name, None, zone.serial, client[0]))
            return axfr.messages(zone, m.id, m.flags, question)
        soa = [rr for rr in m.authority if rr.rtype == model.TYPE_SOA]
        if len(soa) != 1:
            return [msg.error_response(m, msg.RCODE_FORMERR)]  # RFC 1995 §3
        try:
            their = int.from_bytes(model.soa_fixed(_plain_soa(m.wire, soa[0]))[:4], "big")
        except (ValueError, msg.FormError):
            return [msg.error_response(m, msg.RCODE_FORMERR)]
        ours = zone.serial
        if not serial_lt(their, ours):
            self.recent.append(("ixfr-current", name, their, ours, client[0]))
            return ixfr.up_to_date(zone, m.id, m.flags, question)
        deltas = self.history.chain(origin, their, ours)
        if deltas is None:
            log.info("IXFR %s from %d: history does not reach; sending the whole zone",
                     name, their)
            self.recent.append(("ixfr-axfr", name, their, ours, client[0]))
            return axfr.messages(zone, m.id, m.flags, question)
        self.recent.append(("ixfr", name, their, ours, client[0]))
        return ixfr.messages(zone, deltas, m.id, m.flags, question)


def _plain_soa(wire: bytes, rr: msg.RR) -> bytes:
    """SOA rdata with its two names decompressed."""
    mname, off = msg.read_name(wire, rr.rdata_off)
    rname, off = msg.read_name(wire, off)
    return mname + rname + wire[off : off + 20]


def _qname_text(m: msg.Message) -> str:
    """The question's name for a log line; a message may carry no question
    (QDCOUNT 0: the parser leaves qname empty), and a bad TSIG on one is
    logged, not an exception."""
    return model.name_to_text(m.qname) if m.qname else "(no question)"


def _qtype(t: int) -> str:
    return {model.TYPE_AXFR: "AXFR", model.TYPE_IXFR: "IXFR", model.TYPE_SOA: "SOA"}.get(t, str(t))
