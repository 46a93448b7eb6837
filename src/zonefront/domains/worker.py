"""The registry's back office: applies queued operations, and expires
domains nobody renewed.

One thread.  An operation moves SUBMITTED -> IN_PROGRESS -> SUCCESSFUL (or
FAILED with a Message).  Its effect is one store transaction: the domain
row, the hosted zone a registration makes, the DS set, the TLD serial, and
a `changes` row when the TLD zone (what resolvers see) changes.  Such an
operation stays IN_PROGRESS until the publisher reports that change INSYNC,
so SUCCESSFUL means the delegation is served; the others finish at once.

Expiry (RFC 3915's grace periods, lengths from [registry]): at expiry an
auto-renewing domain is renewed for a year; otherwise it stays delegated
for grace_days, then its delegation is removed (EXPIRE_DOMAIN) and
RenewDomain can restore it for redemption_days; after that the name is
released.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from .. import model, rdata
from ..aws import names as r53names
from ..aws.ids import new_id
from ..aws.zone_defaults import DEFAULT_SOA_TIMERS, NS_TTL, SOA_TTL
from ..errors import ServiceError
from ..store.sqlite import RRsetRow, ZoneRow
from .errors import DomainsError
from .service import Registry, add_years, new_auth_code, new_op_id
from .store import DomainRow, OpRow

log = logging.getLogger("zonefront.domains")

DAY = 86400.0
POLL = 0.05  # seconds between looks at the queue when nothing woke the worker


class OpFailed(ServiceError):
    """The operation cannot be applied; its Message says why."""


class Worker:
    def __init__(self, registry: Registry, on_commit: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time):
        self.reg = registry
        self.rs = registry.rs
        self.store = registry.store
        self.rc = registry.rc
        self.on_commit = on_commit  # wake the publisher
        self.clock = clock
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sweep = 0.0

    # -- thread ------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="zonefront-registry",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.wake.wait(POLL)
            self.wake.clear()
            if self._stop.is_set():
                return
            try:
                self.step()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("registry worker step failed")
                self._stop.wait(0.5)

    def step(self, now: float | None = None) -> int:
        """Apply due operations, finish served ones, sweep when due; returns
        how many operations were applied."""
        now = self.clock() if now is None else now
        applied = 0
        for op in self.rs.ops(statuses=("SUBMITTED",)):
            if now - op.submitted < self.rc.operation_delay:
                continue
            self.apply(op.id)
            applied += 1
        self.finish_served()
        if now - self._last_sweep >= self.rc.sweep_interval:
            self._last_sweep = now
            self.sweep(now)
        return applied

    # -- operations ----------------------------------------------------------

    def finish_served(self) -> None:
        done = [op_id for op_id, status in self.rs.ops_waiting_for_changes()
                if status == "INSYNC"]
        if done:
            with self.store.transaction():
                for op_id in done:
                    self.rs.set_op(op_id, "SUCCESSFUL")

    def apply(self, op_id: str) -> None:
        dns = False
        with self.store.transaction():
            op = self.rs.get_op(op_id)
            if op is None or op.status != "SUBMITTED":
                return
            d = self.rs.get(op.domain)
            db = self.store.db
            db.execute("SAVEPOINT registry_op")
            try:
                if d is None:
                    raise OpFailed(f"Domain {op.domain} no longer exists.")
                dns = self._effect(op, d)
            except (OpFailed, DomainsError) as e:
                db.execute("ROLLBACK TO registry_op")
                db.execute("RELEASE registry_op")
                msg = e.message if isinstance(e, DomainsError) else str(e)
                self.rs.set_op(op.id, "FAILED", msg)
                d = self.rs.get(op.domain)
                if d is not None and d.busy_op == op.id:
                    if d.state == "pending":  # nothing is half-registered
                        self.rs.delete(d.name)
                    else:
                        d.busy_op = None
                        self.rs.put(d)
                dns = False
            else:
                db.execute("RELEASE registry_op")
                if dns:
                    self.rs.bump_tld(d.tld)
                    change = self.store.insert_change(new_id("C"), f"registry {op.type} "
                                                      f"{op.domain}")
                    self.rs.set_op(op.id, "IN_PROGRESS", change_id=change.id)
                else:
                    self.rs.set_op(op.id, "SUCCESSFUL")
        if dns:
            self.on_commit()

    def _release(self, d: DomainRow, op: OpRow) -> None:
        if d.busy_op == op.id:
            d.busy_op = None
        d.updated = self.clock()
        self.rs.put(d)

    def _bill(self, d: DomainRow, account: str, op: OpRow, kind: str, years: int = 1) -> None:
        price = self.rc.price(d.tld, kind) * years
        self.rs.bill(account, d.name, op.type, f"ZF-{op.seq:08d}", price)

    def _effect(self, op: OpRow, d: DomainRow) -> bool:
        """Apply `op` to `d`; True when the TLD zone changes."""
        p = op.params
        t = op.type
        if t == "REGISTER_DOMAIN":
            zone = self._hosted_zone(d, op)
            now = self.clock()
            d.state = "active"
            d.created = now
            d.expires = add_years(now, p["years"])
            d.zone_id = zone.id
            d.nameservers = [{"Name": n.rstrip(".")} for n in zone.nameservers]
            self._bill(d, op.account, op, "registration", p["years"])
            self._release(d, op)
            return True
        if t == "UPDATE_NAMESERVER":
            d.nameservers = p["nameservers"]
            self._release(d, op)
            return True
        if t in ("UPDATE_DOMAIN_CONTACT", "CHANGE_DOMAIN_OWNER"):
            d.contacts.update(p["contacts"])
            if t == "CHANGE_DOMAIN_OWNER":
                self._bill(d, op.account, op, "change_ownership")
            self._release(d, op)
            return False
        if t == "CHANGE_PRIVACY_PROTECTION":
            d.privacy.update(p["privacy"])
            self._release(d, op)
            return False
        if t == "DOMAIN_LOCK":
            d.locked = p["locked"]
            self._release(d, op)
            return False
        if t == "ADD_DNSSEC":
            if len(self.rs.ds_of(d.name)) >= self.rc.max_ds:
                raise OpFailed("The domain has reached the limit of DS records.")
            self.rs.add_ds(d.name, {**p["key"], "Id": new_id("K")[1:].lower()})
            self._release(d, op)
            return d.state != "redemption"
        if t == "REMOVE_DNSSEC":
            if not self.rs.remove_ds(d.name, p["id"]):
                raise OpFailed(f"No DNSSEC key with Id {p['id']}.")
            self._release(d, op)
            return d.state != "redemption"
        if t in ("RENEW_DOMAIN", "RESTORE_DOMAIN"):
            was = d.state
            d.expires = add_years(d.expires, p["years"])
            while d.expires <= self.clock():
                d.expires = add_years(d.expires, 1)
            d.state = "active"
            if t == "RESTORE_DOMAIN":
                self._bill(d, op.account, op, "restoration")
            self._bill(d, op.account, op, "renewal", p["years"])
            self._release(d, op)
            return was == "redemption"
        if t == "DELETE_DOMAIN":
            self.rs.delete(d.name)
            return d.state != "redemption"
        if t == "TRANSFER_IN_DOMAIN":
            if d.account != p["from"]:
                raise OpFailed("The domain changed hands while the transfer was pending.")
            if d.locked:
                raise OpFailed("The domain is locked (clientTransferProhibited).")
            d.account = op.account
            d.contacts = p["contacts"]
            d.privacy = p["privacy"]
            d.auto_renew = p["auto_renew"]
            d.expires = add_years(d.expires, p["years"])
            d.auth_code = new_auth_code()
            d.locked = True
            d.transfer = None
            self.rs.db.execute("DELETE FROM registry_tags WHERE domain=?", (d.name,))
            self._bill(d, op.account, op, "transfer", p["years"])
            changed = False
            if p.get("nameservers"):
                changed = d.nameservers != p["nameservers"]
                d.nameservers = p["nameservers"]
            self._release(d, op)
            return changed
        if t == "INTERNAL_TRANSFER_IN_DOMAIN":
            tr = d.transfer
            if not tr or tr["to"] != op.account:
                raise OpFailed("The transfer is no longer pending.")
            if p["accept"]:
                d.account = op.account
                d.auth_code = new_auth_code()
                self.rs.set_op(tr["op"], "SUCCESSFUL")
            else:
                self.rs.set_op(tr["op"], "FAILED", "The receiving account rejected the "
                               "transfer.")
            d.transfer = None
            self._release(d, op)
            return False
        if t == "INTERNAL_TRANSFER_OUT_DOMAIN":  # cancel by the sender
            tr = d.transfer
            if not tr:
                raise OpFailed("The transfer is no longer pending.")
            self.rs.set_op(tr["op"], "FAILED", "The transfer was cancelled.")
            d.transfer = None
            self._release(d, op)
            return False
        raise OpFailed(f"Operation type {t} is not applied by this registry.")

    def _hosted_zone(self, d: DomainRow, op: OpRow) -> ZoneRow:
        """The hosted zone Route 53 makes for a registered domain (an existing
        public zone of that name is used instead of a second one)."""
        text = d.name + "."
        for z in self.store.zones_by_name(text):
            if not z.private:
                return z
        cfg = self.reg.config
        if self.store.count_zones() >= cfg.max_hosted_zones:
            raise OpFailed("The account has reached its limit of hosted zones.")
        origin = r53names.name_from_text(text)
        nameservers = list(cfg.nameservers)
        z = ZoneRow(new_id("Z"), text, r53names.sort_key(origin), f"RegisterDomain-{op.id}",
                    "HostedZone created by Route53 Registrar", False, [], None, nameservers,
                    0, self.clock(), 0)
        self.store.insert_zone(z)
        rname = cfg.soa_rname or ("hostmaster." + text)
        soa_value = f"{nameservers[0]} {rname} {DEFAULT_SOA_TIMERS}"
        self.store.put_rrset(z.id, RRsetRow(z.name_key, "SOA", "", {
            "Name": text, "Type": "SOA", "TTL": SOA_TTL,
            "ResourceRecords": [{"Value": soa_value}]},
            [rdata.from_text(model.TYPE_SOA, soa_value, model.ROOT)]))
        self.store.put_rrset(z.id, RRsetRow(z.name_key, "NS", "", {
            "Name": text, "Type": "NS", "TTL": NS_TTL,
            "ResourceRecords": [{"Value": n} for n in nameservers]},
            [rdata.from_text(model.TYPE_NS, n, model.ROOT) for n in nameservers]))
        return z

    # -- expiry ------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> list[tuple[str, str]]:
        """Expire, remove delegations and release names whose time came;
        returns (domain, what happened) for logs and tests."""
        now = self.clock() if now is None else now
        done = []
        for d in self.rs.domains(states=("active", "expired", "redemption")):
            if d.busy_op or now < d.expires:
                continue
            what = self._expire_one(d.name, now)
            if what:
                done.append((d.name, what))
        if any(w in ("expired", "released") for _n, w in done):
            self.on_commit()
        return done

    def _expire_one(self, name: str, now: float) -> str | None:
        grace_end = lambda d: d.expires + self.rc.grace_days * DAY  # noqa: E731
        with self.store.transaction():
            d = self.rs.get(name)
            if d is None or d.busy_op or now < d.expires:
                return None
            op_id = new_op_id()
            if d.state == "active" and d.auto_renew:
                self.rs.add_op(op_id, d.account, d.name, "RENEW_DOMAIN", {"years": 1},
                               status="SUCCESSFUL")
                op = self.rs.get_op(op_id)
                self.rs.set_op(op_id, "SUCCESSFUL", "Renewed automatically at expiry.")
                while d.expires <= now:
                    d.expires = add_years(d.expires, 1)
                self._bill(d, d.account, op, "renewal")
                d.updated = now
                self.rs.put(d)
                return "renewed"
            if d.state == "active":
                d.state = "expired"
                d.updated = now
                self.rs.put(d)
                if now < grace_end(d):
                    return "grace"
            if d.state == "expired" and now >= grace_end(d):
                d.state = "redemption"
                d.updated = now
                self.rs.put(d)
                self.rs.bump_tld(d.tld)
                change = self.store.insert_change(new_id("C"), f"registry expiry {d.name}")
                self.rs.add_op(op_id, d.account, d.name, "EXPIRE_DOMAIN", {})
                self.rs.set_op(op_id, "IN_PROGRESS", "The domain expired; its delegation is "
                               "removed. RenewDomain restores it during the redemption "
                               "period.", change_id=change.id)
                return "expired"
            if d.state == "redemption" and \
                    now >= grace_end(d) + self.rc.redemption_days * DAY:
                self.rs.delete(d.name)
                self.rs.bump_tld(d.tld)
                self.rs.add_op(op_id, d.account, d.name, "DELETE_DOMAIN", {})
                self.rs.set_op(op_id, "SUCCESSFUL", "Released after the redemption period.")
                return "released"
        return "grace" if d.state == "expired" else None
