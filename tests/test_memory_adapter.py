"""The in-memory CRM adapter behaves like a CRM where the sync engine relies on it."""

from __future__ import annotations

import random

import pytest

from adapters.base import CrmRecord, RecordLink, RequestError, TransientError, WriteOutcome
from adapters.memory import MemoryAdapter, MemoryConfig
from connector.plugins import AdapterRegistry


def rec(i: int, **values) -> CrmRecord:
    return CrmRecord("call", "calls", "revont_call_id", f"call_{i}", {"title": f"t{i}", **values},
                     (RecordLink("contact", f"p{i}@example.com"),))


def by_key(results):
    return {r.key: r for r in results}


def test_repeated_upserts_create_nothing_new_and_keep_crm_ids():
    crm = MemoryAdapter()
    first = by_key(crm.upsert([rec(1), rec(2)]))
    assert {r.outcome for r in first.values()} == {WriteOutcome.CREATED}
    again = by_key(crm.upsert([rec(2), rec(1)]))
    assert {r.outcome for r in again.values()} == {WriteOutcome.UNCHANGED}
    assert {k: r.crm_id for k, r in again.items()} == {k: r.crm_id for k, r in first.items()}
    changed = by_key(crm.upsert([rec(1, title="new")]))
    assert changed[("call", "call_1")].outcome == WriteOutcome.UPDATED
    assert changed[("call", "call_1")].crm_id == first[("call", "call_1")].crm_id
    assert len(crm.records("calls")) == 2
    assert [r.writes for r in crm.records("calls")] == [2, 1]


def test_one_result_per_record_even_in_a_shuffled_batch():
    crm = MemoryAdapter()
    batch = [rec(i) for i in range(50)]
    random.Random(3).shuffle(batch)
    results = crm.upsert(batch)
    assert sorted(r.key for r in results) == sorted(r.key for r in batch)


def test_a_rejected_record_does_not_sink_its_batch():
    crm = MemoryAdapter()
    crm.reject_when(lambda r: ("INVALID_EMAIL", "bad email") if r.external_id == "call_2"
                    else None)
    results = by_key(crm.upsert([rec(1), rec(2), rec(3)]))
    bad = results[("call", "call_2")]
    assert bad.outcome == WriteOutcome.REJECTED and bad.error_class == "INVALID_EMAIL"
    assert bad.crm_id is None
    assert {r.external_id for r in crm.records()} == {"call_1", "call_3"}


def test_duplicates_in_one_batch_are_rejected_not_doubled():
    crm = MemoryAdapter()
    results = crm.upsert([rec(1), rec(1, title="other")])
    assert [r.outcome for r in results] == [WriteOutcome.CREATED, WriteOutcome.REJECTED]
    assert len(crm.records()) == 1


def test_a_transient_failure_writes_nothing():
    crm = MemoryAdapter()
    crm.fail_next()
    with pytest.raises(TransientError):
        crm.upsert([rec(1), rec(2)])
    assert crm.records() == []
    assert len(crm.upsert([rec(1), rec(2)])) == 2


def test_batches_over_the_limit_are_refused():
    crm = MemoryAdapter(MemoryConfig(batch_size=3))
    with pytest.raises(RequestError, match="over the limit of 3"):
        crm.upsert([rec(i) for i in range(4)])


def test_records_survive_the_process_in_a_file(tmp_path):
    config = MemoryConfig(path=tmp_path / "crm.db")
    first = MemoryAdapter(config)
    [created] = first.upsert([rec(1)])
    first.close()
    first.close()  # idempotent
    second = MemoryAdapter(config)
    [again] = second.upsert([rec(1)])
    assert again.outcome == WriteOutcome.UNCHANGED and again.crm_id == created.crm_id
    [new] = second.upsert([rec(2)])
    assert new.crm_id != created.crm_id
    second.close()
    with pytest.raises(RequestError, match="closed"):
        second.upsert([rec(3)])


def test_it_registers_like_any_adapter():
    assert AdapterRegistry().load("memory") is MemoryAdapter


from adapters.base import CredentialsError, RateLimitedError  # noqa: E402
from adapters.testing import AdapterContract  # noqa: E402


class TestMemoryAdapterContract(AdapterContract):
    """The in-memory adapter passes the contract every adapter passes."""

    def make_adapter(self):
        return MemoryAdapter(MemoryConfig(batch_size=20))

    def reject_next(self, adapter, record):
        adapter.reject_when(lambda r: ("INVALID_FIELD", "refused by the test")
                            if r.key == record.key else None)

    def fail_next(self, adapter, kind):
        error = {
            "rate_limit": RateLimitedError("429", service="memory", status=429),
            "auth": CredentialsError("401", service="memory", status=401),
            "server": TransientError("503", service="memory", status=503),
        }[kind]
        adapter.fail_next(1, error)
