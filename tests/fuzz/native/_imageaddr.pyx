# cython: language_level=3
"""The C address of a compiled image, for the libFuzzer harness only.

fuzz_engine.c calls engine_answer() as the socket loops do, with an image
pointer that Python never sees; this one function hands it over.
"""
from zonefront.core._engine cimport Image


def image_address(Image image):
    return <size_t>image.ptr
