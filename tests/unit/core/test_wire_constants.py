"""Every number the C and Cython code shares with Python is defined once on
each side and held equal here: csrc/zfwire.h (the wire), the engine's
layout and policy numbers (core/_engine.pxd, compiled in), and the flags
csrc/zfcompile.c writes, against the Python tables they mirror."""
import os
import re

from zonefront import netaddr, zoneset
from zonefront.core._engine import wire_constants
from zonefront.model import TYPE_ANY, TYPE_AXFR, TYPE_CNAME, TYPE_DNAME, TYPE_DS, TYPE_IXFR, TYPE_OPT, TYPE_SOA
from zonefront.ref import engine as ref_engine
from zonefront.ref import policy as ref_policy
from zonefront.ref import wire as ref_wire
from zonefront.snapshot import blocks, layout, policy

CSRC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "csrc")


def c_defines(name):
    """#define NAME value lines of a csrc file whose value is a number or a
    parenthesised | of earlier names."""
    out = {}
    with open(os.path.join(CSRC, name)) as f:
        for line in f:
            m = re.match(r"#define (\w+) (\(?[\w |]+\)?)\s*(/\*.*)?$", line.strip())
            if not m:
                continue
            expr = m.group(2).strip("()")
            try:
                out[m.group(1)] = sum_or(expr, out)
            except (KeyError, ValueError):
                pass
    return out


def sum_or(expr, known):
    v = 0
    for part in expr.split("|"):
        part = part.strip().rstrip("uUlL")
        v |= known[part] if part in known else int(part, 0)
    return v


PYTHON = {
    "TYPE_CNAME": TYPE_CNAME, "TYPE_DNAME": TYPE_DNAME, "TYPE_OPT": TYPE_OPT, "TYPE_DS": TYPE_DS, "TYPE_IXFR": TYPE_IXFR,
    "TYPE_AXFR": TYPE_AXFR, "TYPE_ANY": TYPE_ANY,
    "RCODE_FORMERR": zoneset.RCODE_FORMERR, "RCODE_SERVFAIL": zoneset.RCODE_SERVFAIL,
    "RCODE_NOTIMP": zoneset.RCODE_NOTIMP, "RCODE_REFUSED": zoneset.RCODE_REFUSED,
    "RCODE_YXDOMAIN": zoneset.RCODE_YXDOMAIN, "RCODE_BADVERS": zoneset.RCODE_BADVERS,
    "OUR_UDP_PAYLOAD": ref_wire.OUR_UDP_PAYLOAD, "EDNS_OPT_ECS": ref_wire.EDNS_OPT_ECS,
    "EDE_NOT_AUTHORITATIVE": ref_engine.EDE_NOT_AUTHORITATIVE,
    "F_CUT": layout.F_CUT, "F_OCCLUDED": layout.F_OCCLUDED, "F_BELOW_DNAME": layout.F_BELOW_DNAME,
    "F_HAS_DNAME": layout.F_HAS_DNAME, "F_WILD": layout.F_WILD, "F_ANY_FIRST": layout.F_ANY_FIRST,
    "F_ZONE_NEG": layout.F_ZONE_NEG, "REDIRECT_FLAGS": layout.REDIRECT_FLAGS,
    "NODE_HEAD": layout.NODE_HEAD.size, "BLOCK_HEAD": layout.BLOCK_HEAD.size,
    "BF_SIGNED": layout.BF_SIGNED, "BF_PREFIX": layout.BF_PREFIX,
    "K_WEIGHTED": policy.KIND["weighted"], "K_FAILOVER": policy.KIND["failover"],
    "K_MULTIVALUE": policy.KIND["multivalue"], "K_LATENCY": policy.KIND["latency"],
    "K_GEO": policy.KIND["geo"], "K_GEOPROX": policy.KIND["geoproximity"],
    "K_CIDR": policy.KIND["cidr"], "K_ALIAS": policy.KIND["alias"], "P_VALUES": policy.P_VALUES,
    "C_EVAL_TARGET": policy.C_EVAL_TARGET, "C_DEFAULT": policy.C_DEFAULT,
    "C_PRIMARY": policy.C_PRIMARY, "C_SECONDARY": policy.C_SECONDARY,
    "C_CONTINENT": policy.C_CONTINENT, "C_COUNTRY": policy.C_COUNTRY,
    "C_SUBDIVISION": policy.C_SUBDIVISION, "MAX_MULTIVALUE": ref_policy.MAX_MULTIVALUE,
    "MAX_CANDS": ref_policy.MAX_CANDS, "FIX_BLOCK": blocks.FIX_BLOCK,
    "FIX_SERIAL": blocks.FIX_SERIAL, "FIX_ROW_MASK": blocks.MAX_SERIAL_ROWS - 1,
    "SIG_NEGATIVE": blocks.SIG_NEGATIVE,
    "NONE": layout.NONE, "PSET_BIT": policy.PSET_BIT,
}


def test_engine_numbers_equal_the_python_tables():
    assert wire_constants() == PYTHON


def test_zfwire_h_equals_the_python_tables():
    c = c_defines("zfwire.h")
    for name in ("FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "BADVERS"):
        assert c["ZF_RCODE_" + name] == getattr(zoneset, "RCODE_" + name), name
    assert c["ZF_RCODE_NOERROR"] == zoneset.RCODE_NOERROR
    types = {"CNAME": TYPE_CNAME, "DNAME": TYPE_DNAME, "SOA": TYPE_SOA, "OPT": TYPE_OPT, "DS": TYPE_DS,
             "IXFR": TYPE_IXFR, "AXFR": TYPE_AXFR, "ANY": TYPE_ANY, "TSIG": 250}
    for name, value in types.items():
        assert c["ZF_TYPE_" + name] == value, name
    assert c["ZF_UDP_PAYLOAD"] == ref_wire.OUR_UDP_PAYLOAD == netaddr.DEFAULT_UDP_MAX
    assert c["ZF_EDNS_OPT_ECS"] == ref_wire.EDNS_OPT_ECS
    assert c["ZF_EDE_NOT_AUTHORITATIVE"] == ref_engine.EDE_NOT_AUTHORITATIVE


def test_fast_compiler_flags_equal_the_layout():
    c = c_defines("zfcompile.c")
    for name in ("F_CUT", "F_OCCLUDED", "F_BELOW_DNAME", "F_HAS_DNAME", "F_APEX", "F_WILD",
                 "F_ANY_FIRST", "F_ZONE_NEG", "REDIRECT_FLAGS"):
        assert c[name] == getattr(layout, name), name
    assert c["FIX_BLOCK"] == blocks.FIX_BLOCK
    assert c["FIX_SERIAL"] == blocks.FIX_SERIAL


def test_the_checker_reads_what_it_checks():
    """A define the parser skipped would make the tests above pass by
    omission: they must see every name they compare."""
    assert len(c_defines("zfwire.h")) >= 20
    assert {"F_CUT", "REDIRECT_FLAGS", "FIX_SERIAL"} <= set(c_defines("zfcompile.c"))
