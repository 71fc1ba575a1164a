"""The adapter contract suite, run against the HubSpot sandbox through the real SDK."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.base import CrmRecord, CrmWriter, RecordLink
from adapters.hubspot import HubSpotAdapter
from adapters.hubspot.sandbox import HubSpotSandbox
from adapters.testing import AdapterContract
from connector.sandbox import FaultRule
from tests.hubspot.conftest import SHIPPED_OBJECTS, hubspot_config

ATTEMPTS = 2


class TestHubSpotContract(AdapterContract):
    object_type = ("call", "calls", "revont_call_id")

    @pytest.fixture(autouse=True)
    def _sandbox(self, make_hubspot: Any) -> None:
        # A one-second window, so a 429 of it is waited out quickly.
        self.hs: HubSpotSandbox = make_hubspot(ten_second_limit=10_000, interval_ms=1_000)

    def make_adapter(self) -> CrmWriter:
        adapter = HubSpotAdapter(hubspot_config(self.hs, max_attempts=ATTEMPTS))
        adapter.setup(SHIPPED_OBJECTS)
        adapter.prepare(SHIPPED_OBJECTS)
        return adapter

    def make_record(self, n: int, **values: Any) -> CrmRecord:
        return CrmRecord(
            "call",
            "calls",
            "revont_call_id",
            f"call_contract_{n:04d}",
            {
                "hs_timestamp": 1_764_000_000_000 + n,
                "hs_call_title": f"Contract call {n}",
                **values,
            },
            (RecordLink("contact", f"contract{n}@example.com"),),
        )

    def reject_next(self, adapter: CrmWriter, record: CrmRecord) -> None:
        # A validation rule an admin set on the portal, that only this record breaks.
        title = record.values["hs_call_title"]
        self.hs.portal.add_validation_rule("calls", "hs_call_title", f"(?!{title}$).*")

    def fail_next(self, adapter: CrmWriter, kind: str) -> None:
        # Every attempt the adapter makes fails, so the failure reaches the caller.
        if kind == "rate_limit":
            rule = FaultRule("rate_limit", count=ATTEMPTS, policy="TEN_SECONDLY_ROLLING")
        elif kind == "auth":
            rule = FaultRule("status", status=401, count=1)
        else:
            rule = FaultRule("status", status=503, count=ATTEMPTS)
        self.hs.faults.add(rule)
