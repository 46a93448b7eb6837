"""Route 53 resource ids: how new ones look and how a caller may write one
('Z123', '/hostedzone/Z123' or 'hostedzone/Z123' all name the same zone)."""
from __future__ import annotations

import secrets
import string

_ID_CHARS = string.ascii_uppercase + string.digits


def new_id(prefix: str) -> str:
    """Route 53 style id: a letter then 20 upper-case letters and digits."""
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(20))


def bare_id(value: str, kind: str) -> str:
    """Accept 'Z123', '/hostedzone/Z123' or 'hostedzone/Z123'."""
    v = value.strip()
    for p in (f"/{kind}/", f"{kind}/"):
        if v.startswith(p):
            return v[len(p):]
    return v
