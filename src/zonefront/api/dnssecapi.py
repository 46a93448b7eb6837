"""Route 53's DNSSEC operations, mixed into Route53Service:
key-signing keys (Create/Activate/Deactivate/DeleteKeySigningKey), signing
on and off (Enable/DisableHostedZoneDNSSEC) and GetDNSSEC, with the rules
and error codes Route 53 documents:

- at most two KSKs per zone (TooManyKeySigningKeys), names of 3-128 letters,
  digits and underscores, unique in the zone;
- a KSK is deleted only once INACTIVE (InvalidKeySigningKeyStatus), the
  last ACTIVE one of a signing zone cannot be deactivated (KeySigningKeyInUse),
  nor can one whose DS a parent served here still publishes
  (KeySigningKeyInParentDSRecord: a KSK rollover removes the old DS first);
- signing needs an ACTIVE KSK (KeySigningKeyWithActiveStatusNotFound);
- private zones are not signed (InvalidInput, as Route 53 answers).

The key's private half stays in the key store (dnssec/keystore.py); rows
hold the ARN and the public key.  Every write is a change: it bumps the
zone so the publisher recompiles it, and GetChange turns INSYNC once the
edges serve the result.
"""
from __future__ import annotations

import base64
import re

from ..dnssec import records
from ..dnssec.keystore import KeyStore, KeyStoreError
from ..store import dnssecstore
from ..aws import names
from ..aws.route53_errors import Route53Error, invalid_input

MAX_KSKS = 2
KSK_STATUSES = ("ACTIVE", "INACTIVE")
_KSK_NAME = re.compile(r"^[A-Za-z0-9_]{3,128}$")


class DNSSECOperations:
    """Needs self.store, self.config, self._zone(), self._change(), self._committed()."""

    def _keystore(self) -> KeyStore:
        return KeyStore(self.config.data_dir)

    def _ksk(self, zone_id: str, name: str) -> dict:
        for k in dnssecstore.ksks(self.store, zone_id):
            if k["name"] == name:
                return k
        raise Route53Error("NoSuchKeySigningKey", f"The specified key-signing key ({name}) "
                           "doesn't exist.", 404)

    def _public_zone(self, zone_id: str):
        z = self._zone(zone_id)
        if z.private:
            raise invalid_input("DNSSEC signing is not supported for private hosted zones.")
        return z

    def _signing_change(self, z) -> dict:
        self.store.bump_zone(z.id)
        return self._change()

    def _ksk_out(self, z, k: dict) -> dict:
        owner = _owner_wire(z.name)
        rd = records.dnskey_rdata(records.FLAG_KSK, k["public_key"])
        out = {
            "Name": k["name"], "KmsArn": k["kms_arn"], "Flag": records.FLAG_KSK,
            "SigningAlgorithmMnemonic": records.ALGORITHM_MNEMONIC,
            "SigningAlgorithmType": records.ALGORITHM,
            "DigestAlgorithmMnemonic": records.DIGEST_MNEMONIC,
            "DigestAlgorithmType": records.DIGEST_TYPE,
            "KeyTag": records.key_tag(rd),
            "DigestValue": records.ds_digest(owner, rd).hex().upper(),
            "PublicKey": records.dnskey_text(records.FLAG_KSK, k["public_key"]).split(" ", 3)[3],
            "DSRecord": records.ds_text(owner, records.FLAG_KSK, k["public_key"]),
            "DNSKEYRecord": records.dnskey_text(records.FLAG_KSK, k["public_key"]),
            "Status": k["status"],
            "CreatedDate": k["created"], "LastModifiedDate": k["modified"],
        }
        if k["message"]:
            out["StatusMessage"] = k["message"]
        return out

    # -- operations ----------------------------------------------------------

    def CreateKeySigningKey(self, inp: dict, ctx) -> dict:
        name, status = inp["Name"], inp["Status"]
        if not _KSK_NAME.match(name or ""):
            raise Route53Error("InvalidKeySigningKeyName", "The key-signing key (KSK) name "
                               "doesn't match the accepted format: 3 to 128 letters, digits "
                               "and underscores.")
        if status not in KSK_STATUSES:
            raise Route53Error("InvalidKeySigningKeyStatus", "The key-signing key (KSK) status "
                               "must be ACTIVE or INACTIVE.")
        try:
            key = self._keystore().get(inp["KeyManagementServiceArn"], create=True)
        except KeyStoreError as e:
            raise Route53Error(e.code, str(e)) from None
        with self.store.transaction():
            z = self._public_zone(inp["HostedZoneId"])
            if dnssecstore.ksk_by_caller_ref(self.store, inp["CallerReference"]) is not None:
                raise Route53Error("KeySigningKeyAlreadyExists", "A key-signing key was "
                                   "already created with this caller reference.", 409)
            existing = dnssecstore.ksks(self.store, z.id)
            if any(k["name"] == name for k in existing):
                raise Route53Error("KeySigningKeyAlreadyExists", f"You've already created a "
                                   f"key-signing key (KSK) with the name {name}.", 409)
            if len(existing) >= MAX_KSKS:
                raise Route53Error("TooManyKeySigningKeys", "You've reached the limit for the "
                                   f"number of key-signing keys (KSKs), {MAX_KSKS} per hosted "
                                   "zone.")
            dnssecstore.insert_ksk(self.store, z.id, name, inp["CallerReference"],
                                   inp["KeyManagementServiceArn"], key.public_key, status)
            change = self._signing_change(z)
            k = self._ksk(z.id, name)
        self._committed()
        return {"ChangeInfo": change, "KeySigningKey": self._ksk_out(z, k),
                "Location": f"{ctx.base_url}/2013-04-01/keysigningkey/{z.id}/{name}"}

    def ActivateKeySigningKey(self, inp: dict, ctx) -> dict:
        return self._set_ksk_status(inp, "ACTIVE")

    def DeactivateKeySigningKey(self, inp: dict, ctx) -> dict:
        return self._set_ksk_status(inp, "INACTIVE")

    def _set_ksk_status(self, inp: dict, status: str) -> dict:
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            k = self._ksk(z.id, inp["Name"])
            if status == "ACTIVE" and k["status"] != "ACTIVE":
                try:  # the key must still be there (a token removed, a file lost)
                    self._keystore().get(k["kms_arn"])
                except KeyStoreError as e:
                    raise Route53Error(e.code, str(e)) from None
            if status == "INACTIVE" and k["status"] == "ACTIVE" and self._parent_holds_ds(z, [k]):
                # validators that hold only this DS would lose the chain of trust
                raise Route53Error("KeySigningKeyInParentDSRecord", "The key-signing key (KSK) "
                                   f"{k['name']} is specified in a parent DS record: remove "
                                   "the DS from the parent zone before deactivating the KSK.")
            if status == "INACTIVE" and k["status"] == "ACTIVE" \
                    and dnssecstore.zone_state(self.store, z.id)["signing"]:
                active = [x for x in dnssecstore.ksks(self.store, z.id)
                          if x["status"] == "ACTIVE"]
                if len(active) <= 1:
                    raise Route53Error("KeySigningKeyInUse", "The key-signing key (KSK) that "
                                       "you specified can't be deactivated because it's the "
                                       "only KSK for a currently-enabled DNSSEC. Disable "
                                       "DNSSEC signing, or add or enable another KSK.")
            dnssecstore.set_ksk_status(self.store, z.id, k["name"], status)
            change = self._signing_change(z)
        self._committed()
        return {"ChangeInfo": change}

    def DeleteKeySigningKey(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            k = self._ksk(z.id, inp["Name"])
            if k["status"] == "ACTIVE":
                raise Route53Error("InvalidKeySigningKeyStatus", "The key-signing key (KSK) "
                                   "status isn't valid or another KSK has the status "
                                   "INTERNAL_FAILURE: deactivate the key before deleting it.")
            dnssecstore.delete_ksk(self.store, z.id, k["name"])
            change = self._signing_change(z)
        self._committed()
        return {"ChangeInfo": change}

    def EnableHostedZoneDNSSEC(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            z = self._public_zone(inp["HostedZoneId"])
            if not any(k["status"] == "ACTIVE" for k in dnssecstore.ksks(self.store, z.id)):
                raise Route53Error("KeySigningKeyWithActiveStatusNotFound", "A key-signing key "
                                   "(KSK) with ACTIVE status wasn't found.")
            dnssecstore.set_signing(self.store, z.id, True)
            change = self._signing_change(z)
        self._committed()
        return {"ChangeInfo": change}

    def DisableHostedZoneDNSSEC(self, inp: dict, ctx) -> dict:
        with self.store.transaction():
            z = self._zone(inp["HostedZoneId"])
            if not dnssecstore.zone_state(self.store, z.id)["signing"]:
                raise Route53Error("DNSSECNotFound", "The hosted zone doesn't have any DNSSEC "
                                   "resources.")
            if self._parent_holds_ds(z):
                raise Route53Error("KeySigningKeyInParentDSRecord", "The key-signing key (KSK) "
                                   "is specified in a parent DS record.")
            dnssecstore.set_signing(self.store, z.id, False)
            change = self._signing_change(z)
        self._committed()
        return {"ChangeInfo": change}

    def GetDNSSEC(self, inp: dict, ctx) -> dict:
        z = self._zone(inp["HostedZoneId"])
        state = dnssecstore.zone_state(self.store, z.id)
        keys = dnssecstore.ksks(self.store, z.id)
        status = {"ServeSignature": "SIGNING" if state["signing"] else "NOT_SIGNING"}
        if state["signing"]:
            broken = [k for k in keys if k["status"] in ("ACTION_NEEDED", "INTERNAL_FAILURE")]
            if state["message"] or broken:
                status["ServeSignature"] = "INTERNAL_FAILURE" if state["message"] \
                    else "ACTION_NEEDED"
                status["StatusMessage"] = state["message"] or broken[0]["message"] or \
                    "A key-signing key needs attention."
        return {"Status": status, "KeySigningKeys": [self._ksk_out(z, k) for k in keys]}

    def _registry_holds_ds(self, z, keys: list[dict]) -> bool:
        """A domain registered here whose TLD zone publishes a DS of one of
        `keys` (AssociateDelegationSignerToDomain).  The registry's tables
        exist whenever [registry] names TLDs (domains/store.py)."""
        name = z.name.rstrip(".").lower()
        if not any(name.endswith("." + t) for t in self.config.registry.tlds):
            return False
        ours = {_b64(k["public_key"]) for k in keys}
        with self.store.lock:
            rows = self.store.db.execute("SELECT public_key FROM registry_ds WHERE domain=?",
                                         (name,)).fetchall()
        return any("".join(r[0].split()) in ours for r in rows)

    def _parent_holds_ds(self, z, keys: list[dict] | None = None) -> bool:
        """Whether a parent we serve still publishes a DS of this zone's KSKs
        (or of `keys` among them) (the registry's TLD zones, through
        AssociateDelegationSignerToDomain): disabling signing, or
        deactivating such a key, would then break the chain of trust.  Only
        the zones served here are consulted; a parent elsewhere is unknown."""
        owner = _owner_wire(z.name)
        if keys is None:
            keys = dnssecstore.ksks(self.store, z.id)
        tags = {records.key_tag(records.dnskey_rdata(records.FLAG_KSK, k["public_key"]))
                for k in keys}
        label = z.name.rstrip(".").split(".", 1)
        if len(label) < 2 or not tags:
            return False
        if self._registry_holds_ds(z, keys):
            return True
        parent = label[1] + "."
        for pz in self.store.zones_by_name(parent):
            for r in self.store.rrsets_at(pz.id, owner_key(owner)):
                if r.rtype == "DS" and any(len(rd) >= 2 and int.from_bytes(rd[:2], "big") in tags
                                           for rd in r.wire):
                    return True
        return False


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def _owner_wire(name: str) -> bytes:
    out = bytearray()
    for lab in name.rstrip(".").split("."):
        if lab:
            out.append(len(lab))
            out += lab.encode("ascii").lower()
    out.append(0)
    return bytes(out)


def owner_key(owner_wire: bytes) -> bytes:
    return names.sort_key(owner_wire)
