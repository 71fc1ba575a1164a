"""The adapter contract suite, run against the Salesforce sandbox through simple-salesforce."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from adapters.base import (
    CredentialsError,
    CrmRecord,
    CrmWriter,
    QuotaExhaustedError,
    RecordLink,
    TransientError,
)
from adapters.salesforce import SalesforceAdapter
from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.testing import AdapterContract
from connector.sandbox import FaultRule
from tests.salesforce.conftest import SHIPPED_OBJECTS, salesforce_config


class TestSalesforceContract(AdapterContract):
    object_type = ("CallTask", "Task", "Revont_Call_Id__c")
    # Salesforce has no 429: a used-up allowance (REQUEST_LIMIT_EXCEEDED) ends the run.
    expected_errors: ClassVar[dict[str, type[Exception]]] = {
        "rate_limit": QuotaExhaustedError,
        "auth": CredentialsError,
        "server": TransientError,
    }

    @pytest.fixture(autouse=True)
    def _sandbox(self, make_salesforce: Any) -> None:
        self.sf: SalesforceSandbox = make_salesforce()

    def make_adapter(self) -> CrmWriter:
        adapter = SalesforceAdapter(salesforce_config(self.sf, max_attempts=2))
        adapter.prepare(SHIPPED_OBJECTS)
        return adapter

    def make_record(self, n: int, **values: Any) -> CrmRecord:
        return CrmRecord(
            "CallTask",
            "Task",
            "Revont_Call_Id__c",
            f"call_contract_{n:04d}",
            {"Subject": f"Contract call {n}", "Status": "Completed", "TaskSubtype": "Call", **values},
            (RecordLink("Contact", f"contract{n}@example.com", "WhoId"),),
        )

    def reject_next(self, adapter: CrmWriter, record: CrmRecord) -> None:
        # Another process holds the row for good: retried, then reported.
        self.sf.org.lock("Task", record.external_id)

    def fail_next(self, adapter: CrmWriter, kind: str) -> None:
        if kind == "rate_limit":
            self.sf.set_api_usage(used=1_000, limit=1_000)
        elif kind == "auth":
            self.sf.expire_sessions()  # auth = access_token cannot log in again
        else:
            self.sf.faults.add(FaultRule("status", status=503, count=None))
