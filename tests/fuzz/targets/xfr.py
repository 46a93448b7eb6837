"""atheris: zone-transfer requests (AXFR, IXFR, TSIG-signed) into XfrService.

The first octet picks the service: one that requires TSIG with a known key
(seeds are signed with it, so mutations reach every verification branch),
or one open to anyone without keys (mutations reach the transfer code).
The rest is the message as the TCP loop hands it over.  A request is
answered (a list of messages) or dropped (None); nothing may raise.  Every
message answered must parse again with xfr/message.py.
"""
import _harness

KEY = "xfr-key:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
NOW = 1_760_000_000.0


def setup():
    global services, message, tsig
    import logging

    logging.disable(logging.CRITICAL)  # every refused transfer logs a line
    import world

    from zonefront.xfr import message, tsig
    from zonefront.xfr.service import XfrService

    zones = [z for z in world.zones() if not z.routed]
    services = [
        XfrService(allow=["127.0.0.0/8"], tsig_keys=[tsig.Key.from_text(KEY)],
                   zones=lambda: zones, clock=lambda: NOW),
        XfrService(allow=["0.0.0.0/0", "::/0"], zones=lambda: zones, clock=lambda: NOW),
    ]


def one_input(data: bytes) -> None:
    if not data:
        return
    replies = services[data[0] & 1](data[1:], ("127.0.0.1", 5353))
    for wire in replies or ():
        message.parse(wire)
    # the parser on its own, as a secondary's client reads a response
    try:
        m = message.parse(data[1:])
    except message.FormError:
        return
    try:
        tsig.verify_response(m, tsig.Key.from_text(KEY), b"\0" * 32)
    except tsig.TsigError:
        pass


if __name__ == "__main__":
    _harness.main(globals())
