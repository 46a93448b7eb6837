"""Zones -> the compiled image (a mechanism): compiler.py runs zoneset.py's
rules once per name into the record streams layout.py describes, with
blocks.py's pre-encoded sections and policy.py's routing candidate tables;
fastcompile.py (with _fastcompile.pyx and csrc/) takes zone files the fast
road to the same arrays; incremental.py compiles a change batch into the
served image; format.py reads and writes snapshot files."""
