"""The sandbox's data: a deterministic synthetic Revont workspace and its mutations.

Same ``seed`` and ``anchor`` → same workspace, byte for byte. Bursts of calls
share one ``created_at`` second; some calls have no prospect, or a prospect who
is not a contact; recent calls have pending summaries; action items are open
or completed; a few transcripts exceed 100,000 characters. Transcripts are
generated on demand from a per-call seed, so 100,000 calls stay small in memory.

Records are kept as plain JSON dicts, exactly what the API serves, so control
endpoints can also store malformed records on purpose.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.revont.models import OUTCOMES, parse_time
from connector.revont.models import format_time as iso
from connector.revont.sandbox.vocabulary import (
    ACTION_TEXTS,
    COMPANIES,
    FIRST_NAMES,
    LAST_NAMES,
    TITLES,
    WORDS,
    make_email,
    make_id,
    stable_seed,
)


@dataclass(frozen=True)
class Listing:
    """One page of a listing: records plus the key of the last one, if more follow."""

    records: list[dict[str, Any]]
    last_key: tuple[str, str] | None
    has_more: bool


class Collection:
    """Records by id, plus an index ordered by ``(created_at, id)`` for keyset paging.

    Paging by key, not by offset, keeps a cursor correct while records are
    inserted between pages: a new call lands at its own place in the order and
    never shifts the pages after the cursor.
    """

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self._keys: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.by_id)

    def put(self, record: dict[str, Any]) -> None:
        old = self.by_id.get(record["id"])
        if old is not None:
            self._keys.pop(bisect.bisect_left(self._keys, (str(old["created_at"]), old["id"])))
        self.by_id[record["id"]] = record
        bisect.insort(self._keys, (str(record["created_at"]), record["id"]))

    def remove(self, record_id: str) -> dict[str, Any] | None:
        old = self.by_id.pop(record_id, None)
        if old is not None:
            self._keys.pop(bisect.bisect_left(self._keys, (str(old["created_at"]), old["id"])))
        return old

    def iter_newest_first(
        self, *, before: tuple[str, str] | None, newest: str | None, oldest: str | None
    ) -> Iterator[dict[str, Any]]:
        """Records newest first, strictly after ``before`` in that order, within bounds."""
        if before is not None:
            idx = bisect.bisect_left(self._keys, before) - 1
        elif newest is not None:
            idx = bisect.bisect_right(self._keys, (newest, "\U0010ffff")) - 1
        else:
            idx = len(self._keys) - 1
        while idx >= 0:
            created_at, record_id = self._keys[idx]
            if newest is not None and created_at > newest:
                idx -= 1
                continue
            if oldest is not None and created_at < oldest:
                return
            yield self.by_id[record_id]
            idx -= 1

    def page(
        self,
        *,
        limit: int,
        before: tuple[str, str] | None,
        newest: str | None,
        oldest: str | None,
        match: Callable[[dict[str, Any]], bool],
    ) -> Listing:
        records: list[dict[str, Any]] = []
        for record in self.iter_newest_first(before=before, newest=newest, oldest=oldest):
            if not match(record):
                continue
            if len(records) == limit:
                last = records[-1]
                return Listing(records, (str(last["created_at"]), last["id"]), True)
            records.append(record)
        return Listing(records, None, False)


class Workspace:
    """A Revont workspace: contacts, calls (with their artifacts) and webhooks.

    Mutations are thread-safe and return the events they cause
    (``call.ended``, ``summary.ready``, ``action_item.*``) for delivery.
    """

    def __init__(self, seed: int = 7, anchor: datetime | None = None) -> None:
        self.seed = seed
        self.anchor = (anchor or datetime.now(UTC)).replace(microsecond=0)
        self.rng = random.Random(seed)
        #: For ids of things made through the API (webhooks), so they never shift the data.
        self.control_rng = random.Random(f"{seed}-control")
        self.lock = threading.RLock()
        self.contacts = Collection()
        self.calls = Collection()
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.reps = [make_id("user_", self.rng) for _ in range(8)]
        self._action_item_calls: dict[str, str] = {}  # action item id -> call id

    # -- generation ---------------------------------------------------------------

    def populate(self, *, contacts: int, calls: int, days: int = 30) -> None:
        """Add ``contacts`` contacts and ``calls`` calls spread over the last ``days``."""
        rng = self.rng
        with self.lock:
            for _ in range(contacts):
                offset = timedelta(seconds=rng.randint(0, (days + 60) * 86400))
                self.contacts.put(self._new_contact(self.anchor - offset))
            emails = [c["email"] for c in self.contacts.by_id.values()]
            remaining = calls
            while remaining > 0:
                moment = self.anchor - timedelta(seconds=rng.randint(600, days * 86400))
                # About a third of all calls arrive in bursts of 5-40 sharing one second.
                burst = rng.randint(5, 40) if rng.random() < 0.02 else 1
                for _ in range(min(burst, remaining)):
                    self.calls.put(self._new_call(moment, emails))
                    remaining -= 1
            self._guarantee_huge_transcript()

    def _new_contact(self, created: datetime) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return {
            "id": make_id("contact_", rng),
            "email": make_email(rng, first, last),
            "name": f"{first} {last}" if rng.random() > 0.03 else None,
            "company": rng.choice(COMPANIES),
            "title": rng.choice(TITLES),
            "phone": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            if rng.random() > 0.3
            else None,
            "created_at": iso(created),
        }

    def _new_call(self, created: datetime, emails: list[str]) -> dict[str, Any]:
        rng = self.rng
        who = rng.random()
        if who < 0.08 or not emails:
            prospect: str | None = None
        elif who < 0.16:
            prospect = make_email(rng, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
        else:
            prospect = rng.choice(emails)
            if rng.random() < 0.15:
                prospect = prospect.upper() if rng.random() < 0.5 else prospect.swapcase()
        call_id = make_id("call_", rng)
        age_hours = (self.anchor - created).total_seconds() / 3600
        pending = age_hours < 2 or rng.random() < 0.03
        huge = rng.random() < 0.004
        call: dict[str, Any] = {
            "id": call_id,
            "created_at": iso(created),
            "duration_seconds": rng.choice([rng.randint(5, 60), rng.randint(120, 3600)]),
            "rep_id": rng.choice(self.reps),
            "prospect_email": prospect,
            "coaching_score": round(rng.uniform(1, 10), 1) if rng.random() > 0.1 else None,
            "outcome": rng.choice(OUTCOMES) if rng.random() > 0.1 else None,
            "language": rng.choice(["en", "de", "fr", "es"]),
            "_transcript_chars": rng.randint(110_000, 160_000) if huge else rng.randint(800, 9000),
            "_summary": None
            if pending
            else {
                "status": "ready",
                "text": self._summary_text(rng),
                "generated_at": iso(created + timedelta(minutes=2)),
            },
            "_action_items": [],
        }
        if not pending:
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                self._attach_action_item(call, created + timedelta(minutes=2), rng)
        return call

    def _summary_text(self, rng: random.Random) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 120))).capitalize() + "."

    def _attach_action_item(
        self, call: dict[str, Any], created: datetime, rng: random.Random, **fields: Any
    ) -> dict[str, Any]:
        completed = rng.random() < 0.3
        item = {
            "id": make_id("ai_", rng),
            "call_id": call["id"],
            "text": rng.choice(ACTION_TEXTS),
            "assignee_id": call.get("rep_id"),
            "due_date": (created.date() + timedelta(days=rng.randint(1, 14))).isoformat()
            if rng.random() > 0.2
            else None,
            "status": "completed" if completed else "open",
            "created_at": iso(created),
            "completed_at": iso(created + timedelta(days=1)) if completed else None,
        }
        item.update(fields)
        call["_action_items"].append(item)
        self._action_item_calls[item["id"]] = call["id"]
        return item

    def _guarantee_huge_transcript(self) -> None:
        calls = list(self.calls.by_id.values())
        if len(calls) >= 50 and not any(c["_transcript_chars"] > 100_000 for c in calls):
            max(calls, key=lambda c: c["id"])["_transcript_chars"] = 120_000

    # -- rendering ------------------------------------------------------------------

    @staticmethod
    def list_view(call: dict[str, Any]) -> dict[str, Any]:
        """A call as ``GET /calls`` shows it."""
        return {k: v for k, v in call.items() if not k.startswith("_")}

    def detail_view(self, call: dict[str, Any]) -> dict[str, Any]:
        """A call as ``GET /calls/{id}`` shows it, with transcript, summary, action items."""
        detail = self.list_view(call)
        detail["transcript"] = self._transcript(call)
        detail["summary"] = call["_summary"] or {
            "status": "pending",
            "text": None,
            "generated_at": None,
        }
        detail["action_items"] = [dict(item) for item in call["_action_items"]]
        detail["talk_ratio"] = round(random.Random(stable_seed(call["id"])).uniform(0.2, 0.8), 2)
        return detail

    def _transcript(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        target = int(call.get("_transcript_chars") or 0)
        rng = random.Random(stable_seed(self.seed, call["id"], "transcript"))
        speakers = ["Rep", call.get("prospect_email") or "Prospect"]
        segments: list[dict[str, Any]] = []
        size, clock = 0, 0.0
        while size < target:
            text = " ".join(rng.choices(WORDS, k=rng.randint(6, 40))).capitalize() + "."
            length = len(text) / 15
            segments.append(
                {
                    "speaker": speakers[len(segments) % 2],
                    "start_seconds": round(clock, 1),
                    "end_seconds": round(clock + length, 1),
                    "text": text,
                }
            )
            size += len(text)
            clock += length + 0.4
        return segments

    # -- mutations (each returns the events it causes) --------------------------------

    def add_call(self, now: datetime, **fields: Any) -> tuple[dict[str, Any], list[Event]]:
        """A call that just ended: summary pending, no action items yet."""
        with self.lock:
            emails = [c["email"] for c in self.contacts.by_id.values()]
            call = self._new_call(now, emails)
            call["_summary"] = None
            call["_action_items"] = []
            call.update(fields)
            call["created_at"] = _normalised_time(call["created_at"])
            self.calls.put(call)
            view = self.list_view(call)
            events = [Event("call.started", call), Event("call.ended", call)]
            return view, events

    def add_contact(self, now: datetime, **fields: Any) -> dict[str, Any]:
        with self.lock:
            contact = self._new_contact(now)
            contact.update(fields)
            contact["created_at"] = _normalised_time(contact["created_at"])
            self.contacts.put(contact)
            return dict(contact)

    def call(self, call_id: str) -> dict[str, Any]:
        call = self.calls.by_id.get(call_id)
        if call is None:
            raise KeyError(call_id)
        return call

    def make_summary_ready(
        self, call_id: str, now: datetime, text: str | None = None
    ) -> list[Event]:
        with self.lock:
            call = self.call(call_id)
            call["_summary"] = {
                "status": "ready",
                "text": text or self._summary_text(self.rng),
                "generated_at": iso(now),
            }
            return [Event("summary.ready", call)]

    def add_action_item(
        self, call_id: str, now: datetime, **fields: Any
    ) -> tuple[dict[str, Any], list[Event]]:
        with self.lock:
            call = self.call(call_id)
            fields.setdefault("status", "open")
            fields.setdefault("completed_at", None)
            item = self._attach_action_item(call, now, self.rng, **fields)
            return dict(item), [Event("action_item.created", call, item)]

    def complete_action_item(
        self, item_id: str, now: datetime
    ) -> tuple[dict[str, Any], list[Event]]:
        with self.lock:
            call = self.call(self._action_item_calls[item_id])
            item = next(i for i in call["_action_items"] if i["id"] == item_id)
            item["status"] = "completed"
            item["completed_at"] = iso(now)
            return dict(item), [Event("action_item.completed", call, item)]

    def update_call(self, call_id: str, **fields: Any) -> dict[str, Any]:
        """Edit list fields (outcome, coaching score, ...) of a known call."""
        with self.lock:
            call = dict(self.call(call_id))
            if "id" in fields or "created_at" in fields:
                raise ValueError("id and created_at cannot change")
            call.update(fields)
            self.calls.put(call)
            return self.list_view(call)

    def delete_call(self, call_id: str) -> None:
        """As data retention does: the call disappears from lists and details."""
        with self.lock:
            call = self.calls.remove(call_id)
            if call is None:
                raise KeyError(call_id)
            for item in call["_action_items"]:
                self._action_item_calls.pop(item["id"], None)


def _normalised_time(value: Any) -> str:
    """Revont's form of a time given to a control endpoint; kept as given if unparseable,
    so malformed records can be stored on purpose."""
    try:
        return iso(parse_time(str(value)))
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class Event:
    """Something that happened in the workspace, to be delivered to webhooks."""

    name: str
    call: dict[str, Any]
    action_item: dict[str, Any] | None = None

    def payload(self, now: datetime) -> dict[str, Any]:
        data: dict[str, Any] = {
            "call_id": self.call["id"],
            "rep_id": self.call.get("rep_id"),
            "prospect_email": self.call.get("prospect_email"),
        }
        if self.action_item is not None:
            data["action_item_id"] = self.action_item["id"]
            data["status"] = self.action_item["status"]
        return {"event": self.name, "timestamp": iso(now), "data": data}
