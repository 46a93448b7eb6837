"""The pure-Python twin of core/ (a mechanism, for tests): wire.py parses
queries, engine.py looks up and relocates over the same compiled arrays,
and policy.py makes the same routing choices; tests/differential holds
both engines to identical bytes."""
