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


POSTGRES_ENV = "REVONT_SYNC_TEST_POSTGRES_URL"


def create_postgres_database() -> tuple[str, Any, str]:
    """A fresh database on the test PostgreSQL: (SQLAlchemy URL, admin URL, name); skips
    the test, saying how to enable it, without REVONT_SYNC_TEST_POSTGRES_URL."""
    import os
    import uuid

    from sqlalchemy.engine import make_url

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV}, e.g. "
            "postgresql://postgres@127.0.0.1:5432/test (.ci/run sets it)"
        )
    import psycopg

    name = f"revont_sync_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(base).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), admin, name


def drop_postgres_database(admin: Any, name: str) -> None:
    import psycopg

    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url, admin, name = create_postgres_database()
    yield url
    drop_postgres_database(admin, name)
