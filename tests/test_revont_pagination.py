"""Paging through Revont lists with the real client against the sandbox."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from connector.errors import InvalidCursorError, PaginationError
from connector.revont.models import format_time as iso
from connector.revont.models import parse_time as parse_iso
from connector.sandbox import FaultRule


def test_complete_pagination_while_calls_are_inserted(make_sandbox, make_client):
    """2,500 calls paged in full while another thread inserts calls: no gap, no duplicate.

    If this fails, check that cursors are keyset positions (created_at, id) and
    that the client follows next_cursor exactly.
    """
    sandbox = make_sandbox(calls=2500, contacts=50)
    original = set(sandbox.workspace.calls.by_id)
    client = make_client(sandbox, page_size=50)
    stop = threading.Event()
    inserted: list[str] = []
    progress = threading.Condition()

    def insert() -> None:
        n = 0
        while not stop.is_set() and n < 1000:
            # New calls now, and some back-dated into the middle of the range.
            fields = {}
            if n % 2 == 0:
                fields["created_at"] = iso(parse_iso("2026-11-15T10:00:00Z") + timedelta(seconds=n))
            call_id = sandbox.add_call(**fields)["id"]
            with progress:
                inserted.append(call_id)
                progress.notify_all()
            n += 1
            time.sleep(0.001)
        with progress:
            stop.set()  # no more inserts coming: readers must not wait for them
            progress.notify_all()

    writer = threading.Thread(target=insert)
    writer.start()
    seen: list[str] = []
    try:
        for page in client.iter_call_pages():
            assert not page.invalid
            seen.extend(call.id for call in page.items)
            # Make sure inserts really land between pages, whatever the machine's speed.
            with progress:
                target = len(inserted) + 3
                progress.wait_for(lambda: len(inserted) >= target or stop.is_set(), timeout=5)
    finally:
        stop.set()
        writer.join()
    assert len(inserted) >= 150, "the writer thread should have inserted calls during the pull"
    assert len(seen) == len(set(seen)), "a call was returned twice"
    assert original <= set(seen), f"{len(original - set(seen))} calls were never returned"
    # Newest first by created_at throughout.
    created = [sandbox.workspace.calls.by_id[i]["created_at"] for i in seen]
    assert created == sorted(created, reverse=True)


def test_resume_from_a_stored_cursor(sandbox, client):
    """Stop after two pages, keep the cursor, resume in a new iterator: same calls as one pass."""
    full = [c.id for page in client.iter_call_pages(limit=40) for c in page.items]
    pages = client.iter_call_pages(limit=40)
    first = [c.id for c in next(pages).items]
    second = next(pages)
    first += [c.id for c in second.items]
    stored = second.next_cursor
    assert stored is not None
    rest = [c.id for page in client.iter_call_pages(limit=40, cursor=stored) for c in page.items]
    assert first + rest == full
    assert len(full) == len(sandbox.workspace.calls)


def test_filters_are_inclusive_and_combined(sandbox, client):
    calls = sorted(sandbox.workspace.calls.by_id.values(), key=lambda c: c["created_at"])
    since, until = calls[50]["created_at"], calls[150]["created_at"]
    got = [c for p in client.iter_call_pages(since=since, until=until, limit=33) for c in p.items]
    expected = {c["id"] for c in calls if since <= c["created_at"] <= until}
    assert {c.id for c in got} == expected
    assert any(iso(c.created_at) == since for c in got)
    assert any(iso(c.created_at) == until for c in got)

    rep = calls[0]["rep_id"]
    got = [c for p in client.iter_call_pages(rep_id=rep, outcome="won") for c in p.items]
    expected = {
        c["id"] for c in calls if c["rep_id"] == rep and c["outcome"] == "won"
    }
    assert {c.id for c in got} == expected and expected


def test_ties_on_created_at_cross_page_boundaries(make_sandbox, make_client):
    """Many calls in one second, split over pages of 7: each returned exactly once."""
    sandbox = make_sandbox(calls=20)
    burst = [sandbox.add_call(created_at="2026-11-20T08:00:00Z")["id"] for _ in range(45)]
    client = make_client(sandbox)
    seen = [c.id for p in client.iter_call_pages(limit=7) for c in p.items]
    assert len(seen) == len(set(seen)) == 65
    assert set(burst) <= set(seen)


def test_contacts_page_too(sandbox, client):
    ids = [c.id for p in client.iter_contact_pages(limit=25) for c in p.items]
    assert len(ids) == len(set(ids)) == len(sandbox.workspace.contacts)


def test_a_repeated_cursor_is_refused(sandbox, client):
    """The API hands back the cursor the page was fetched with: stop, never loop."""
    sandbox.inject(FaultRule(kind="repeat_cursor", path="/calls", skip=1))
    pages = client.iter_call_pages(limit=20)
    next(pages)
    with pytest.raises(PaginationError, match="a second time"):
        next(pages)


def test_has_more_without_cursor_is_refused(sandbox, client):
    sandbox.inject(FaultRule(kind="lost_cursor", path="/calls"))
    with pytest.raises(PaginationError, match="no next_cursor"):
        next(client.iter_call_pages(limit=20))


def test_a_cursor_for_other_filters_is_rejected(sandbox, client):
    page = next(client.iter_call_pages(limit=10, outcome="won"))
    assert page.next_cursor
    with pytest.raises(InvalidCursorError) as info:
        next(client.iter_call_pages(limit=10, outcome="lost", cursor=page.next_cursor))
    assert info.value.code == "invalid_cursor" and info.value.status == 400


def test_only_one_page_is_held(sandbox, client):
    """The iterator is lazy: fetching page 1 sends one request, not the whole list."""
    before = sandbox.requests.count("GET /calls")
    next(client.iter_call_pages(limit=10))
    assert sandbox.requests.count("GET /calls") == before + 1


def test_malformed_records_are_reported_not_dropped(sandbox, client):
    """A list item with a wrong type is kept in page.invalid with a reason; the rest parse."""
    sandbox.add_call(created_at="2026-11-30T11:59:59Z", duration_seconds="forty")
    sandbox.add_call(created_at="2026-11-30T11:59:58Z", duration_seconds=None, rep_id=None,
                     prospect_email=None, coaching_score=None, outcome=None)
    page = next(client.iter_call_pages(limit=5))
    assert len(page.invalid) == 1
    assert "duration_seconds" in page.invalid[0].error
    assert page.invalid[0].id and page.invalid[0].id.startswith("call_")
    nulls = page.items[0]
    assert nulls.duration_seconds is None and nulls.prospect_email is None
    assert len(page.items) == 4


def test_a_missing_has_more_is_followed_not_taken_as_the_end(sandbox, client):
    """An answer without has_more but with a cursor: keep going rather than lose records."""
    sandbox.inject(FaultRule(kind="drop_has_more", path="/calls", count=None))
    ids = [c.id for p in client.iter_call_pages(limit=50) for c in p.items]
    assert len(ids) == len(set(ids)) == len(sandbox.workspace.calls)


def test_a_non_boolean_has_more_is_an_invalid_answer(sandbox, make_client):
    from connector.errors import InvalidResponseError

    client = make_client(sandbox, max_attempts=2)
    sandbox.inject(FaultRule(kind="string_has_more", path="/calls", count=None))
    with pytest.raises(InvalidResponseError, match="has_more is 'true', not true or false") as info:
        next(client.iter_call_pages(limit=10))
    assert info.value.status == 200 and info.value.attempts == 2
