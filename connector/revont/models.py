"""Typed Revont records.

Only ``id`` and ``created_at`` are required; every other field may be null or
missing (see ``shared/revont-api.md``). Fields Revont adds later are kept, not
rejected: they stay reachable in ``model_extra`` and in :meth:`RevontModel.raw`,
so mappings can read them before this module knows their names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

OUTCOMES = ("won", "lost", "follow_up", "no_outcome")
WEBHOOK_EVENTS = (
    "call.started",
    "call.ended",
    "summary.ready",
    "action_item.created",
    "action_item.completed",
)


def format_time(value: datetime | str) -> str:
    """Revont's wire form of a time: UTC, second precision, ``Z``. Strings pass through."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 time (``Z`` or an offset); a naive value is taken as UTC."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class RevontModel(BaseModel):
    """Base of every Revont record: unknown fields kept, nulls tolerated."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def raw(self) -> dict[str, Any]:
        """The record as JSON-ready data, unknown fields included."""
        return self.model_dump(mode="json")


class TranscriptSegment(RevontModel):
    speaker: str | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None
    text: str | None = None


class Summary(RevontModel):
    #: "pending" or "ready" today; other values are kept as given.
    status: str | None = None
    text: str | None = None
    generated_at: datetime | None = None

    @property
    def is_ready(self) -> bool:
        return self.status == "ready"


class ActionItem(RevontModel):
    id: str
    call_id: str | None = None
    text: str | None = None
    assignee_id: str | None = None
    due_date: date | None = None
    status: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None


class Call(RevontModel):
    """A call as ``GET /calls`` lists it."""

    id: str
    created_at: datetime
    duration_seconds: float | None = None
    rep_id: str | None = None
    prospect_email: str | None = None
    coaching_score: float | None = None
    outcome: str | None = None


class CallDetail(Call):
    """A call as ``GET /calls/{id}`` returns it: list fields plus the AI artifacts."""

    transcript: list[TranscriptSegment] | None = None
    summary: Summary | None = None
    action_items: list[ActionItem] | None = None

    @property
    def summary_pending(self) -> bool:
        """True while Revont has not finished the summary (a late artifact)."""
        return self.summary is None or not self.summary.is_ready

    def transcript_text(self) -> str:
        """The transcript as ``speaker: text`` lines."""
        return "\n".join(
            f"{seg.speaker or 'Unknown'}: {seg.text or ''}" for seg in self.transcript or ()
        )


class Contact(RevontModel):
    id: str
    created_at: datetime
    email: str | None = None
    name: str | None = None
    company: str | None = None
    title: str | None = None
    phone: str | None = None


class Webhook(RevontModel):
    id: str
    url: str | None = None
    events: list[str] = Field(default_factory=list)
    description: str | None = None
    created_at: datetime | None = None
    status: str | None = None


class CreatedWebhook(Webhook):
    """A webhook just created: the only time Revont shows its signing secret."""

    secret: SecretStr | None = None
