"""HubSpot's request limits: a rolling ten-second window, a daily allowance, search's own.

* Every authenticated request except search spends one from a rolling window of
  ``limit`` requests per ``interval_ms`` and one from the daily allowance, which
  resets at midnight in the portal's time zone.
* Search spends from the daily allowance and from its own rolling window of
  ``search_per_second`` requests per second, never from the ten-second window.
* A request refused with 429 spends nothing (HubSpot does not count refused
  requests against the allowance), nor do unauthenticated requests.

Every non-search answer carries the ``X-HubSpot-RateLimit-*`` headers as they
stand after that request; search answers carry none.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from connector.quota import Clock


class RollingWindow:
    """At most ``limit`` requests in any ``interval`` seconds."""

    def __init__(self, limit: int, interval: float) -> None:
        self.limit = limit
        self.interval = interval
        self._times: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.interval:
            self._times.popleft()

    def used(self, now: float, within: float | None = None) -> int:
        self._prune(now)
        if within is None:
            return len(self._times)
        return sum(1 for t in self._times if t > now - within)

    def full(self, now: float) -> bool:
        return self.used(now) >= self.limit

    def spend(self, now: float) -> None:
        self._times.append(now)


class DailyAllowance:
    """``limit`` requests per calendar day in ``zone``."""

    def __init__(self, limit: int, zone: ZoneInfo) -> None:
        self.limit = limit
        self.zone = zone
        self.used = 0
        self._day: date | None = None

    def _roll(self, now: float) -> None:
        today = datetime.fromtimestamp(now, self.zone).date()
        if today != self._day:
            self._day, self.used = today, 0

    def remaining(self, now: float) -> int:
        self._roll(now)
        return max(self.limit - self.used, 0)

    def spend(self, now: float) -> None:
        self._roll(now)
        self.used += 1

    def set_remaining(self, now: float, remaining: int) -> None:
        self._roll(now)
        self.used = self.limit - remaining


@dataclass(frozen=True)
class Verdict:
    """What the limits said about one request: refused by which policy, and its headers."""

    refused_by: str | None
    headers: dict[str, str]


class PortalLimits:
    """The limits of one portal, shared by all its tokens."""

    def __init__(
        self,
        *,
        ten_second_limit: int,
        interval_ms: int,
        daily_limit: int,
        search_per_second: int,
        time_zone: str,
        clock: Clock,
    ) -> None:
        self.clock = clock
        self.window = RollingWindow(ten_second_limit, interval_ms / 1000)
        self.daily = DailyAllowance(daily_limit, ZoneInfo(time_zone))
        self.search = RollingWindow(search_per_second, 1.0)
        self._lock = threading.Lock()

    def configure(
        self,
        *,
        ten_second_limit: int | None = None,
        interval_ms: int | None = None,
        daily_limit: int | None = None,
        search_per_second: int | None = None,
    ) -> None:
        with self._lock:
            if ten_second_limit is not None:
                self.window.limit = ten_second_limit
            if interval_ms is not None:
                self.window.interval = interval_ms / 1000
            if daily_limit is not None:
                self.daily.limit = daily_limit
            if search_per_second is not None:
                self.search.limit = search_per_second

    def set_daily_remaining(self, remaining: int) -> None:
        with self._lock:
            self.daily.set_remaining(self.clock.time(), remaining)

    def take(self, *, search: bool, spend: bool = True, forced: str | None = None) -> Verdict:
        """Count one request (unless ``spend`` is False); ``forced`` refuses it by that policy."""
        with self._lock:
            now = self.clock.time()
            refused = forced
            if refused is None and spend:
                if self.daily.remaining(now) <= 0:
                    refused = "DAILY"
                elif search and self.search.full(now):
                    refused = "SECONDLY"
                elif not search and self.window.full(now):
                    refused = "TEN_SECONDLY_ROLLING"
            if refused is None and spend:
                self.daily.spend(now)
                (self.search if search else self.window).spend(now)
            headers = {} if search else self._headers(now, refused)
            return Verdict(refused, headers)

    def _headers(self, now: float, refused: str | None) -> dict[str, str]:
        window = self.window
        remaining = 0 if refused == "TEN_SECONDLY_ROLLING" else window.limit - window.used(now)
        daily = 0 if refused == "DAILY" else self.daily.remaining(now)
        secondly = max(1, round(window.limit / window.interval)) if window.interval else 1
        secondly_left = 0 if remaining <= 0 else secondly - window.used(now, within=1.0)
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily.limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(daily, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(round(window.interval * 1000)),
            "X-HubSpot-RateLimit-Max": str(window.limit),
            "X-HubSpot-RateLimit-Remaining": str(max(remaining, 0)),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(secondly_left, 0)),
        }
