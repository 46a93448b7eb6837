"""atheris: Route 53 Domains request bodies, JSON 1.1 and RPC v2 CBOR.

The first octet picks the protocol (low bit) and the operation; the rest is
the body.  domains/protocol.decode_input may only refuse with a
DomainsError (SerializationException or InvalidInput).
"""
import _harness

OPS: list[str] = []


def setup():
    global protocol, DomainsError
    from zonefront.domains import protocol
    from zonefront.aws._domains_model import OPERATIONS
    from zonefront.domains.errors import DomainsError

    OPS.extend(sorted(n for n, o in OPERATIONS.items() if o["input"]))


def one_input(data: bytes) -> None:
    if not data:
        return
    proto = protocol.CBOR if data[0] & 1 else protocol.JSON
    op = OPS[(data[0] >> 1) % len(OPS)]
    try:
        protocol.decode_input(proto, op, data[1:])
    except DomainsError:
        pass


if __name__ == "__main__":
    _harness.main(globals())
