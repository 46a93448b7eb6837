"""Route 53 Domains' errors as one exception type.

Every modelled error of the service (InvalidInput, DuplicateRequest,
DomainLimitExceeded, OperationLimitExceeded, TLDRulesViolation,
UnsupportedTLD, DnssecLimitExceeded, TLDInMaintenance) is a 400 in both
protocols; the protocol module writes `__type` in its own form.
"""
from __future__ import annotations

from ..errors import ServiceError


class DomainsError(ServiceError):
    def __init__(self, code: str, message: str, status: int = 400, **fields):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields  # extra members of the error shape (requestId, tld)


def invalid_input(message: str) -> DomainsError:
    return DomainsError("InvalidInput", message)


def unsupported_tld(tld: str) -> DomainsError:
    return DomainsError("UnsupportedTLD", f"Amazon Route 53 does not support the top-level "
                        f"domain (TLD) `.{tld}`.")


def tld_rules(message: str) -> DomainsError:
    return DomainsError("TLDRulesViolation", message)


def duplicate(op_id: str) -> DomainsError:
    return DomainsError("DuplicateRequest", "The request is already in progress for the "
                        f"domain (operation {op_id}).", requestId=op_id)
