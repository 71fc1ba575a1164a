"""Shared fixtures: sandboxes on 127.0.0.1 and clients pointed at them.

Tests talk real HTTP through the real client libraries; nothing is patched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.quota import WindowPacer
from connector.revont.client import RevontClient
from connector.revont.sandbox import RevontSandbox

#: A fixed anchor keeps generated workspaces identical from run to run.
ANCHOR = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., RevontSandbox]]:
    """Start Revont sandboxes; by default with a quota large enough not to pace."""
    started: list[RevontSandbox] = []

    def make(**kw: Any) -> RevontSandbox:
        kw.setdefault("anchor", ANCHOR)
        kw.setdefault("calls", 300)
        kw.setdefault("contacts", 60)
        kw.setdefault("rate_limit", 100_000)
        sandbox = RevontSandbox(**kw).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., RevontSandbox]) -> RevontSandbox:
    return make_sandbox()


@pytest.fixture
def make_client() -> Iterator[Callable[..., RevontClient]]:
    """Clients with fast backoff (tests should not wait seconds between retries)."""
    clients: list[RevontClient] = []

    def make(sandbox: RevontSandbox, key: str | None = None, **kw: Any) -> RevontClient:
        kw.setdefault("backoff_initial", 0.01)
        kw.setdefault("backoff_max", 0.05)
        kw.setdefault("read_timeout", 5.0)
        kw.setdefault("pacer", WindowPacer("revont", reserve_fraction=0.0, max_wait=30))
        client = RevontClient(key or sandbox.read_key, base_url=sandbox.api_url, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(sandbox: RevontSandbox, make_client: Callable[..., RevontClient]) -> RevontClient:
    return make_client(sandbox)
