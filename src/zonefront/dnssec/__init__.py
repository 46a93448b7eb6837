"""DNSSEC: the key store (keystore.py), the DNSSEC record
vocabulary (records.py: DNSKEY, DS, key tags), the RRSIG signer
(signer.py), zone-signing key rollover (rollover.py), which served zones
are signed with which keys (zonekeys.py) and signed zones for transfers
(zonesign.py).  A mechanism layer: services (api/) and the compiler use it,
it imports only the vocabulary below it."""
