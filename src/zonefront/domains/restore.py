"""Route 53 Domains' two newest operations, mixed into Registry:
GetDomainPrices (one name's prices, premium names at the registry's premium
price) and RestoreDomain (a domain in its redemption period back to active,
billed the restoration fee plus one year's renewal, as the worker's
RESTORE_DOMAIN does)."""
from __future__ import annotations

from .errors import invalid_input


class RestoreOperations:
    """Needs self.rc (RegistryConfig), self.registrable(), self.owned(), self._queue()."""

    def _priced(self, tld: str, kind: str, price_type: str = "STANDARD") -> dict:
        return {"Price": self.rc.price(tld, kind), "Currency": self.rc.currency,
                "PriceType": price_type}

    def GetDomainPrices(self, inp: dict, account: str) -> dict:
        n, tld = self.registrable(inp["DomainName"])
        premium = n.ldh in self.rc.premium
        registration = self._priced(tld, "registration")
        if premium:
            # the [registry] prices table may give a "premium" price per TLD;
            # without one a premium name costs what the TLD's registration does
            price = self.rc.price(tld, "premium") or registration["Price"]
            registration = {"Price": price, "Currency": self.rc.currency,
                            "PriceType": "REGISTRY_PREMIUM"}
        return {"DomainPrice": {
            "Name": n.ldh, "RegistrationPrice": registration,
            "TransferPrice": self._priced(tld, "transfer"),
            "RenewalPrice": self._priced(tld, "renewal"),
            "ChangeOwnershipPrice": self._priced(tld, "change_ownership"),
            "RestorationPrice": self._priced(tld, "restoration")}}

    def RestoreDomain(self, inp: dict, account: str) -> dict:
        consent = inp.get("Consent")

        def check(d) -> None:
            if d.state != "redemption":
                raise invalid_input(f"Domain {d.name} is not in its redemption period; only "
                                    f"a domain in redemption can be restored.")
            price = self.rc.price(d.tld, "restoration") + self.rc.price(d.tld, "renewal")
            if consent is not None and (consent["Currency"] != self.rc.currency
                                        or float(consent["MaxPrice"]) < price):
                raise invalid_input(f"Consent MaxPrice {consent['MaxPrice']} "
                                    f"{consent['Currency']} is below the restoration price "
                                    f"{price} {self.rc.currency} (restoration and one year).")

        return self._queue(inp["DomainName"], account, "RESTORE_DOMAIN", {"years": 1}, check)
