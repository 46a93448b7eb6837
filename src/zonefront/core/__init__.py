"""The compiled engine (a mechanism): _engine.pyx answers a query from a
compiled image (parse -> find node -> pick block -> relocate) with no Python
object per query; engine.py is the embeddable Engine (bytes -> bytes for a
client address) around it."""
