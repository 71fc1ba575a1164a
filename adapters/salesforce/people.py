"""Finding the Salesforce person (Contact or Lead) behind an email, and creating one.

Emails are looked up in batches, Contacts first, then unconverted Leads, with
SOQL built by ``format_soql`` (which escapes quotes and backslashes the way
Salesforce reads them; emails may legally contain both). Text comparison in
SOQL ignores case. Several matches: the oldest record (smallest id) wins, so the
choice is stable. Found ids are cached for the process (bounded).

A person Salesforce does not have is created by the ``unknown_person`` policy:
a Lead (LastName from the address, Company from its domain) or a Contact, each
upserted by ``Revont_Contact_Id__c = "prospect:<email>"`` so that a retry or a
crash never creates it twice; or nobody (the record is logged without a person).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from simple_salesforce.format import format_soql

from adapters.base import CrmRecord
from adapters.salesforce.api import SalesforceApi

#: Emails per SOQL query (keeps the URL well under Salesforce's limits).
QUERY_CHUNK = 200
CACHE_SIZE = 50_000
PROSPECT_PREFIX = "prospect:"
#: Seconds an email found nowhere (and not created) is not looked up again.
NEGATIVE_TTL = 600.0
#: Contacts first, then Leads not yet converted; values only ever through format_soql.
QUERIES = (
    ("Contact", "SELECT Id, Email FROM Contact WHERE Email IN {}"),
    ("Lead", "SELECT Id, Email FROM Lead WHERE Email IN {} AND IsConverted = false"),
)


class People:
    """Email -> (sObject, Id) of the person Salesforce has (see the module docstring)."""

    def __init__(self, api: SalesforceApi, *, id_field: str = "Revont_Contact_Id__c") -> None:
        self.api = api
        self.id_field = id_field
        self._cache: OrderedDict[str, tuple[str, str]] = OrderedDict()
        # Emails looked up in vain (and not created: refused, or the policy is "skip"),
        # with when: not asked again for NEGATIVE_TTL seconds.
        self._absent: OrderedDict[str, float] = OrderedDict()

    def remember(self, email: str, sobject: str, record_id: str) -> None:
        key = email.strip().lower()
        self._cache[key] = (sobject, record_id)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def absent(self, emails: Iterable[str]) -> None:
        """Remember that these emails have no person (for NEGATIVE_TTL seconds)."""
        now = time.monotonic()
        for email in emails:
            self._absent[email.strip().lower()] = now
        while len(self._absent) > CACHE_SIZE:
            self._absent.popitem(last=False)

    def forget_email(self, email: str) -> None:
        self._cache.pop(email.strip().lower(), None)

    def forget(self, record_id: str) -> None:
        for key in [k for k, v in self._cache.items() if v[1] == record_id]:
            del self._cache[key]

    def find(self, emails: Iterable[str]) -> dict[str, tuple[str, str]]:
        """The Contact (else Lead) of each email Salesforce has, by lower-cased email."""
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
        found = {e: self._cache[e] for e in wanted if e in self._cache}
        now = time.monotonic()
        missing = [
            e
            for e in wanted
            if e not in found and now - self._absent.get(e, -NEGATIVE_TTL) >= NEGATIVE_TTL
        ]
        for sobject, template in QUERIES:
            if not missing:
                break
            for start in range(0, len(missing), QUERY_CHUNK):
                chunk = missing[start : start + QUERY_CHUNK]
                soql = format_soql(template, chunk)
                rows = self.api.call(f"GET /query ({sobject} by email)", _query_all(soql))[
                    "records"
                ]
                for row in sorted(rows, key=lambda r: str(r.get("Id"))):
                    email = str(row.get("Email") or "").lower()
                    if email in chunk and email not in found:
                        found[email] = (sobject, str(row["Id"]))
                        self.remember(email, sobject, str(row["Id"]))
            missing = [e for e in missing if e not in found]
        return found

    def prospect_record(self, email: str, policy: str) -> CrmRecord:
        """The Lead or Contact to create for an unknown ``email`` (policy lead/contact)."""
        email = email.strip()
        local, _, domain = email.partition("@")
        values: dict[str, Any] = {"Email": email, "LastName": (local or email)[:80]}
        sobject = "Lead" if policy == "lead" else "Contact"
        if sobject == "Lead":
            values["Company"] = company_from_domain(domain)
        return CrmRecord(
            "prospect",
            sobject,
            self.id_field,
            (PROSPECT_PREFIX + email.lower())[:255],
            values,
        )


def _query_all(soql: str) -> Callable[[Any], Any]:
    return lambda sf: sf.query_all(soql)


def company_from_domain(domain: str) -> str:
    """A Lead's required Company from an email domain: ``mail.acme-corp.com`` -> ``Acme-corp``."""
    parts = [p for p in domain.lower().split(".") if p]
    name = parts[-2] if len(parts) >= 2 else (parts[0] if parts else "")
    return (name.capitalize() or "Unknown")[:255]
