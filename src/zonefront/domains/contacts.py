"""ContactDetail checks a registry applies before it accepts a contact
(the model itself only bounds lengths and enumerates country codes)."""
from __future__ import annotations

import re

from .errors import invalid_input

KINDS = ("Admin", "Registrant", "Tech", "Billing")
_PHONE = re.compile(r"^\+\d{1,3}\.\d{4,15}$")  # Route 53's "+1.1234567890" form
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REQUIRED = ("FirstName", "LastName", "ContactType", "AddressLine1", "City", "CountryCode",
            "PhoneNumber", "Email")


def check(kind: str, c: dict) -> dict:
    missing = [f for f in REQUIRED if not c.get(f)]
    if missing:
        raise invalid_input(f"{kind}Contact is missing {', '.join(missing)}.")
    if c["ContactType"] != "PERSON" and not c.get("OrganizationName"):
        raise invalid_input(f"{kind}Contact: OrganizationName is required when ContactType "
                            f"is {c['ContactType']}.")
    for f in ("PhoneNumber", "Fax"):
        if c.get(f) and not _PHONE.match(c[f]):
            raise invalid_input(f"{kind}Contact: {f} {c[f]!r} must look like "
                                "+[country code].[number], e.g. +1.2065550100.")
    if not _EMAIL.match(c["Email"]):
        raise invalid_input(f"{kind}Contact: Email {c['Email']!r} is not an email address.")
    return dict(c)


# fields whose change is a change of registrant (ICANN transfer policy): the
# registrant's name, organization and email
OWNER_FIELDS = ("FirstName", "LastName", "OrganizationName", "Email")


def owner_changed(old: dict, new: dict) -> bool:
    return any((old.get(f) or "") != (new.get(f) or "") for f in OWNER_FIELDS)
