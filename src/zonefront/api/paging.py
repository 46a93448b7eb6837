"""The page size a list call asks for (MaxResults or MaxItems), checked the
one way every list operation checks it: absent means the default, anything
not a positive integer is InvalidInput, and more than the operation's cap is
the cap (Route 53 answers a smaller page rather than an error)."""
from __future__ import annotations

from ..aws.route53_errors import invalid_input


def list_limit(value, cap: int, name: str = "MaxResults", default: int | None = None) -> int:
    if value is None or value == "":
        return cap if default is None else default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise invalid_input(f"Invalid value for {name}: {value!r} is not an integer") from None
    if n < 1:
        raise invalid_input(f"{name} must be at least 1")
    return min(n, cap)
