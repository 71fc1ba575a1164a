"""Building the collaborators from validated configuration (used by the CLI and daemon).

The engine never reads configuration; this module turns the typed settings
into the objects it is handed.
"""

from __future__ import annotations

from connector.quota import Clock, SystemClock, WindowPacer
from connector.revont.client import RevontClient
from connector.settings import RevontSettings


def build_revont_client(settings: RevontSettings, clock: Clock | None = None) -> RevontClient:
    """A Revont client paced and retried as the ``[revont]`` table says."""
    clock = clock or SystemClock()
    pacer = WindowPacer(
        "revont",
        clock=clock,
        reserve_fraction=settings.rate_limit_reserve,
        max_wait=settings.max_rate_limit_wait,
    )
    return RevontClient(
        settings.require_secret("api_key"),
        base_url=settings.base_url,
        page_size=settings.page_size,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_attempts=settings.max_attempts,
        clock=clock,
        pacer=pacer,
    )
