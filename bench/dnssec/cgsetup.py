"""What the callgrind_* scripts share: one signed (or unsigned) image
compiled from zone text, and the loop of answering, so that a script says
only its zone, its queries and how it counts (Ir(ROUNDS=11) - Ir(ROUNDS=1)
over ten rounds of queries, see each script's docstring)."""
from zonefront.core._engine import Image
from zonefront.dnssec.keystore import SigningKey
from zonefront.dnssec.signer import ZoneKeys
from zonefront.snapshot.compiler import compile_zones

HEAD = """$TTL 300
@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
"""


def image_of(zones, signed: bool = True, **zone_keys) -> Image:
    """The engine image of `zones`, each signed with fresh keys (ZoneKeys'
    keyword arguments: times, denial) unless `signed` is false."""
    keys = {z.origin: ZoneKeys(z.origin, [SigningKey.generate()], SigningKey.generate(),
                               **zone_keys) for z in zones} if signed else None
    return Image(compile_zones(zones, signing=keys).arrays())


def answer_rounds(image: Image, queries: list[bytes], rounds: int) -> None:
    """Every query answered `rounds` times; the first round warms the
    online signer's cache, so the rounds after it measure hits."""
    for _ in range(rounds):
        for q in queries:
            image.answer(q, False, "192.0.2.200", 0)
