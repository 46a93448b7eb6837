"""DNSSEC (issue 14): the key store (keystore.py), the DNSSEC record
vocabulary (records.py: DNSKEY, DS, key tags) and the RRSIG signer
(signer.py).  A mechanism layer: services (api/) and the compiler use it,
it imports only the vocabulary below it."""
