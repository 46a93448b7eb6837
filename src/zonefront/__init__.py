"""zonefront: a self-hostable Route 53 with a compiled authoritative core."""
__version__ = "0.1.0"
