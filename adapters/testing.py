"""The contract every adapter passes: subclass :class:`AdapterContract` in your tests.

::

    from adapters.testing import AdapterContract

    class TestMyCrmAdapter(AdapterContract):
        def make_adapter(self):
            return MyCrmAdapter(MyCrmConfig(base_url=my_sandbox_url, ...))

        def reject_next(self, adapter, record):
            ...  # make the CRM (your sandbox) refuse this record

        def fail_next(self, adapter, kind):
            ...  # make the CRM's next answer a 429 / 401 / 503

The suite is plain pytest. Capability flags turn off what an adapter cannot
do (each skipped test says which flag skipped it). Each test's docstring says
what to look at when it fails. It is shipped in the package so third-party
adapters run exactly the tests the built-in ones do.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from adapters.base import (
    CredentialsError,
    CrmRecord,
    CrmWriter,
    RateLimitedError,
    RecordLink,
    RevontSyncError,
    TransientError,
    WriteOutcome,
)


class AdapterContract:
    """Subclass with ``make_adapter`` and, for the capabilities you keep on, the hooks."""

    #: The CRM can be made to refuse one record of a batch (``reject_next``).
    can_reject: ClassVar[bool] = True
    #: The CRM can be made to answer 429 / 401 / 5xx to the next request (``fail_next``).
    can_fail: ClassVar[bool] = True
    #: The object type and external-id field the contract writes.
    object_type: ClassVar[tuple[str, str, str]] = ("call", "calls", "revont_call_id")
    #: The connector error each ``fail_next`` kind must raise. A CRM without 429s whose
    #: allowance ends the run instead (Salesforce's REQUEST_LIMIT_EXCEEDED) maps
    #: ``rate_limit`` to QuotaExhaustedError.
    expected_errors: ClassVar[dict[str, type[Exception]]] = {
        "rate_limit": RateLimitedError,
        "auth": CredentialsError,
        "server": TransientError,
    }

    # -- hooks ---------------------------------------------------------------------------

    def make_adapter(self) -> CrmWriter:
        raise NotImplementedError("return a fresh adapter pointed at a clean CRM (a sandbox)")

    def make_record(self, n: int, **values: Any) -> CrmRecord:
        """Record ``n``; override to give your CRM the fields it requires."""
        obj, crm_object, field = self.object_type
        return CrmRecord(
            obj,
            crm_object,
            field,
            f"call_contract_{n:04d}",
            {"title": f"Contract call {n}", **values},
            (RecordLink("contact", f"contract{n}@example.com"),),
        )

    def reject_next(self, adapter: CrmWriter, record: CrmRecord) -> None:
        raise NotImplementedError("arrange for the CRM to refuse this record")

    def fail_next(self, adapter: CrmWriter, kind: str) -> None:
        """``kind``: rate_limit, auth or server."""
        raise NotImplementedError("arrange for the CRM's next answer to fail")

    # -- fixture -------------------------------------------------------------------------

    @pytest.fixture
    def adapter(self) -> Iterator[CrmWriter]:
        adapter = self.make_adapter()
        yield adapter
        adapter.close()

    # -- the contract ----------------------------------------------------------------------

    def test_repeated_upserts_create_nothing_new(self, adapter: CrmWriter) -> None:
        """Writing the same records twice creates nothing the second time and keeps CRM ids.

        If this fails, check that upserts are keyed by the external-id field (never a
        plain create) and that an unchanged record reports UNCHANGED or UPDATED.
        """
        records = [self.make_record(n) for n in range(3)]
        first = {r.key: r for r in adapter.upsert(records)}
        assert {r.outcome for r in first.values()} == {WriteOutcome.CREATED}
        second = {r.key: r for r in adapter.upsert(records)}
        assert WriteOutcome.CREATED not in {r.outcome for r in second.values()}
        assert {k: r.crm_id for k, r in second.items()} == {k: r.crm_id for k, r in first.items()}

    def test_one_result_per_record_matched_by_key(self, adapter: CrmWriter) -> None:
        """Every record gets exactly one result, found by (object, external id), whatever
        the order the CRM answers in.

        If this fails, correlate the CRM's answers by the external id, not by position.
        """
        records = [self.make_record(n) for n in range(10)]
        random.Random(5).shuffle(records)
        results = adapter.upsert(records)
        assert sorted(r.key for r in results) == sorted(r.key for r in records)
        assert all(r.crm_id for r in results)

    def test_a_full_batch_goes_through_and_a_larger_one_is_split_or_refused(
        self, adapter: CrmWriter
    ) -> None:
        """``batch_size`` records in one call work; more are split by the adapter or
        refused with the connector's RequestError, never half-written silently.

        If this fails, check ``batch_size`` against the CRM's batch limit.
        """
        size = adapter.batch_size
        results = adapter.upsert([self.make_record(n) for n in range(size)])
        assert len(results) == size
        try:
            results = adapter.upsert([self.make_record(n) for n in range(size + 1)])
        except RevontSyncError:
            return
        assert len(results) == size + 1

    def test_a_refused_record_is_a_result_not_an_exception(self, adapter: CrmWriter) -> None:
        """One record the CRM refuses comes back REJECTED with an error class and message;
        the rest of the batch lands.

        If this fails, map the CRM's per-record errors (207 answers, allOrNone=false) to
        WriteResult instead of raising.
        """
        if not self.can_reject:
            pytest.skip("can_reject is off for this adapter")
        records = [self.make_record(n) for n in range(3)]
        self.reject_next(adapter, records[1])
        results = {r.key: r for r in adapter.upsert(records)}
        bad = results[records[1].key]
        assert bad.outcome == WriteOutcome.REJECTED and bad.error_class and bad.message
        assert results[records[0].key].outcome == WriteOutcome.CREATED
        assert results[records[2].key].outcome == WriteOutcome.CREATED

    @pytest.mark.parametrize("kind", ["rate_limit", "auth", "server"])
    def test_failures_come_from_the_connector_error_tree(
        self, adapter: CrmWriter, kind: str
    ) -> None:
        """429 (or the CRM's quota), 401 and 5xx answers raise the errors of
        ``expected_errors`` (RateLimitedError, CredentialsError, TransientError by
        default); no SDK, requests or urllib3 exception escapes.

        If this fails, translate the SDK's exceptions in one place in the adapter.
        """
        if not self.can_fail:
            pytest.skip("can_fail is off for this adapter")
        self.fail_next(adapter, kind)
        with pytest.raises(self.expected_errors[kind]):
            adapter.upsert([self.make_record(0)])

    def test_close_is_idempotent(self, adapter: CrmWriter) -> None:
        """close() may be called twice (the engine and a shutdown handler both do)."""
        adapter.close()
        adapter.close()
