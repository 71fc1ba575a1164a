"""HubSpot sandboxes on 127.0.0.1 and adapters pointed at them through the real SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.hubspot import HubSpotAdapter, HubSpotConfig
from adapters.hubspot.sandbox import HubSpotSandbox

#: What the shipped HubSpot mapping writes: object -> (HubSpot type, unique id property).
SHIPPED_OBJECTS = {
    "contact": ("contacts", "revont_contact_id"),
    "call": ("calls", "revont_call_id"),
    "task": ("tasks", "revont_action_item_id"),
    "note": ("notes", "revont_note_id"),
}


def hubspot_config(hs: HubSpotSandbox, **kw: Any) -> HubSpotConfig:
    kw.setdefault("max_attempts", 3)
    kw.setdefault("read_timeout", 5.0)
    return HubSpotConfig(base_url=hs.url, access_token=hs.token, **kw)


@pytest.fixture
def make_hubspot() -> Iterator[Callable[..., HubSpotSandbox]]:
    """Start HubSpot sandboxes (a generous window unless a test asks otherwise)."""
    started: list[HubSpotSandbox] = []

    def make(**kw: Any) -> HubSpotSandbox:
        kw.setdefault("ten_second_limit", 10_000)
        hs = HubSpotSandbox(**kw).start()
        started.append(hs)
        return hs

    yield make
    for hs in started:
        hs.stop()


@pytest.fixture
def hs(make_hubspot: Callable[..., HubSpotSandbox]) -> HubSpotSandbox:
    return make_hubspot()


@pytest.fixture
def make_adapter() -> Iterator[Callable[..., HubSpotAdapter]]:
    """Adapters for a sandbox; ``setup=True`` (the default) creates the id properties first."""
    made: list[HubSpotAdapter] = []

    def make(hs: HubSpotSandbox, *, setup: bool = True, **kw: Any) -> HubSpotAdapter:
        adapter = HubSpotAdapter(hubspot_config(hs, **kw))
        if setup:
            adapter.setup(SHIPPED_OBJECTS)
            adapter.prepare(SHIPPED_OBJECTS)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()
