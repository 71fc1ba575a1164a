"""The org's API allowance: requests per rolling 24 hours, and Bulk batches.

* Every authenticated REST, Composite, Collections and Bulk API 2.0 request
  (each job status poll too) spends one request, errors included; a request
  refused because the allowance is spent (403 ``REQUEST_LIMIT_EXCEEDED``)
  spends nothing, nor do unauthenticated ones, logins, or the versions list
  (``GET /services/data/``).
* Spent requests age out 24 hours after they were made (the window rolls,
  it does not reset at midnight).
* Each metered answer carries ``Sforce-Limit-Info: api-usage=USED/MAX``.

Bulk ingest jobs also spend ``DailyBulkApiBatches``: one per 10,000 rows
processed, from a separate rolling allowance (15,000 by default).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from connector.quota import Clock

DAY = 86_400.0


class RollingAllowance:
    """``limit`` units per rolling 24 hours, spent in (time, units) lumps."""

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self.clock = clock
        self._spent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - DAY:
            self._spent.popleft()

    def used(self) -> int:
        with self._lock:
            self._prune(self.clock.time())
            return sum(units for _, units in self._spent)

    def try_spend(self, units: int = 1) -> tuple[bool, int]:
        """Spend ``units`` unless the allowance is spent; (spent?, used after)."""
        with self._lock:
            now = self.clock.time()
            self._prune(now)
            used = sum(n for _, n in self._spent)
            if used >= self.limit:
                return False, used
            self._spent.append((now, units))
            return True, used + units

    def set_usage(self, used: int, limit: int | None = None) -> None:
        """Pretend ``used`` units were spent just now (they age out in 24 hours)."""
        with self._lock:
            if limit is not None:
                self.limit = limit
            self._spent.clear()
            if used > 0:
                self._spent.append((self.clock.time(), used))


@dataclass(frozen=True)
class Verdict:
    """What the allowance said about one request: refused or not, and the header."""

    refused: bool
    headers: dict[str, str]


class OrgLimits:
    """The org's allowances."""

    def __init__(self, *, daily_limit: int, bulk_batches: int, clock: Clock) -> None:
        self.requests = RollingAllowance(daily_limit, clock)
        self.bulk_batches = RollingAllowance(bulk_batches, clock)

    def take(self, *, forced: bool = False) -> Verdict:
        """Spend one request (``forced``: refuse it as if the allowance were spent)."""
        if forced:
            used, spent = self.requests.used(), False
        else:
            spent, used = self.requests.try_spend()
        return Verdict(not spent, self.header(used))

    def header(self, used: int | None = None) -> dict[str, str]:
        shown = self.requests.used() if used is None else used
        return {"Sforce-Limit-Info": f"api-usage={shown}/{self.requests.limit}"}

    def describe(self) -> dict[str, dict[str, int]]:
        """The ``/limits`` resource (the allowances the sandbox keeps)."""
        return {
            "DailyApiRequests": {
                "Max": self.requests.limit,
                "Remaining": max(self.requests.limit - self.requests.used(), 0),
            },
            "DailyBulkApiBatches": {
                "Max": self.bulk_batches.limit,
                "Remaining": max(self.bulk_batches.limit - self.bulk_batches.used(), 0),
            },
        }
