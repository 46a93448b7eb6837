"""atheris: DNS messages into both engines, byte-for-byte agreement as the oracle.

The compiled core (core/_engine.pyx) and its pure-Python twin
(ref/engine.py) answer every input from the same compiled image of the fuzz
world (world.py: fixture zones, every routing policy, a private view); the packet's ID
picks the client, UDP or TCP, and the policy seed (world.control).  Any
difference in the response octets, or an exception from either, is a
finding.  The compiled engine here is the ordinary build; the libFuzzer
target (native/fuzz_engine.c) runs it under ASan/UBSan.
"""
import _harness


def setup():
    global compiled, ref, world
    import world
    from zonefront.core._engine import Image

    from zonefront.ref.engine import RefImage

    compiled = world.build(Image)
    ref = world.build(RefImage)


def one_input(data: bytes) -> None:
    client, tcp, seed = world.control(data)
    a = compiled.answer(data, tcp, client, seed)
    b = ref.answer(data, tcp, client, seed)
    if a != b:
        raise AssertionError(f"compiled and reference differ for {data.hex()}:\n{a.hex()}\n{b.hex()}")


if __name__ == "__main__":
    _harness.main(globals())
