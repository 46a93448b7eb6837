"""The root of every exception zonefront raises, in two families.

`InputError`: what we were given is wrong (a zone file, a snapshot, a
configuration, a request's XML or name, a packet); the message says where
and why, and nothing was changed.  Classes that were ValueErrors stay
ValueErrors too, so callers catching ValueError see no difference.

`ServiceError`: a service refused or failed a request that may well be
well formed: an API error response (Route 53's and Route 53 Domains' error
codes and HTTP statuses live on their subclasses, unchanged), a control
plane that does not answer, a key store that cannot sign.

A few classes are signals between two parts of the code rather than
failures (a compile that must start over in full); they derive from the
root alone.  `except ZonefrontError` therefore never hides a programming
error (a TypeError or KeyError from a bug), which a broad `except
Exception` would.
"""
from __future__ import annotations


class ZonefrontError(Exception):
    """Every exception class defined in zonefront derives from this."""


class InputError(ZonefrontError):
    """Bad input: refused with a message that says where and why; nothing changed."""


class ServiceError(ZonefrontError):
    """A service refused or could not complete a request."""
