"""RR type mnemonics and their numbers (RFC 3597 and the IANA registry).
Its own module because the zone-file scanner registers them when it loads
(snapshot/_fastcompile.pyx), and the rest of rdata.py, the Python rdata
parsers, is needed only for a type the scanner has no parser for."""
from __future__ import annotations

TYPES = {
    "A": 1, "NS": 2, "MD": 3, "MF": 4, "CNAME": 5, "SOA": 6, "MB": 7, "MG": 8,
    "MR": 9, "NULL": 10, "WKS": 11, "PTR": 12, "HINFO": 13, "MINFO": 14, "MX": 15,
    "TXT": 16, "RP": 17, "AFSDB": 18, "X25": 19, "ISDN": 20, "RT": 21, "NSAP": 22,
    "NSAP-PTR": 23, "SIG": 24, "KEY": 25, "PX": 26, "GPOS": 27, "AAAA": 28,
    "LOC": 29, "NXT": 30, "SRV": 33, "NAPTR": 35, "KX": 36, "CERT": 37, "A6": 38,
    "DNAME": 39, "OPT": 41, "APL": 42, "DS": 43, "SSHFP": 44, "IPSECKEY": 45,
    "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "DHCID": 49, "NSEC3": 50,
    "NSEC3PARAM": 51, "TLSA": 52, "SMIMEA": 53, "HIP": 55, "CDS": 59,
    "CDNSKEY": 60, "OPENPGPKEY": 61, "CSYNC": 62, "ZONEMD": 63, "SVCB": 64,
    "HTTPS": 65, "SPF": 99, "NID": 104, "L32": 105, "L64": 106, "LP": 107,
    "EUI48": 108, "EUI64": 109, "TKEY": 249, "TSIG": 250, "IXFR": 251,
    "AXFR": 252, "MAILB": 253, "MAILA": 254, "ANY": 255, "URI": 256, "CAA": 257,
    "AVC": 258, "AMTRELAY": 260, "TA": 32768, "DLV": 32769,
}
