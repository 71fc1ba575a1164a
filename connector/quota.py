"""Request budgets fed by each service's rate-limit headers.

A :class:`WindowPacer` spends a fixed-window quota (``limit`` requests until
``reset_at``) evenly: before every request it looks at what the service last
said is left in the current window, keeps a reserve for the customer's other
integrations, and spaces the remaining requests over the time left. A long pull
therefore runs at the highest rate that never meets a 429, and adapts at once
when other processes share the quota (their requests show up as a lower
``remaining``).

Time is a parameter: the pacer takes a :class:`Clock`, so tests never really
wait and never patch the process clock.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from connector.errors import QuotaExhaustedError


class Clock(Protocol):
    """Wall-clock time (Unix seconds, as rate-limit headers use) and a way to wait."""

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class QuotaSnapshot:
    """What a service last said about its current window, in local clock time."""

    limit: int
    remaining: int
    reset_at: float


@dataclass
class PacerStats:
    """What pacing cost: how often and how long the pacer waited, and 429s seen."""

    waits: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0


class _Pacer:
    """What both pacers share: the reserve, and spending (wait if needed, then count).

    A subclass says how long the next request must wait (``_delay_locked``), why a
    wait is too long (``_exhausted``) and what sending one changes (``_sent_locked``).
    """

    def __init__(
        self, service: str, *, clock: Clock | None, reserve_fraction: float, max_wait: float
    ) -> None:
        if not 0.0 <= reserve_fraction < 1.0:
            raise ValueError("reserve_fraction must be in [0, 1)")
        self.service = service
        self.clock = clock or SystemClock()
        self.reserve_fraction = reserve_fraction
        self.max_wait = max_wait
        self.stats = PacerStats()
        self._lock = threading.Lock()

    def reserve(self, limit: int) -> int:
        """Requests per window left for others: at least 0, at most ``limit - 1``."""
        return min(max(limit - 1, 0), math.ceil(limit * self.reserve_fraction))

    def delay(self) -> float:
        """Seconds to wait before the next request may be sent (0 if it may go now)."""
        with self._lock:
            return self._delay_locked(self.clock.time())

    def acquire(self) -> None:
        """Wait until the next request may be sent, then count it as sent.

        Raises :class:`QuotaExhaustedError` if that wait exceeds ``max_wait``.
        Sleeps at most once, so a clock whose sleep does not advance time (a
        test mode with waiting off) never spins.
        """
        with self._lock:
            now = self.clock.time()
            wait = self._delay_locked(now)
            if wait > self.max_wait:
                raise QuotaExhaustedError(
                    f"{self.service}: {self._exhausted(wait)} The run stops here and "
                    "resumes next time.",
                    service=self.service,
                    resume_at=now + wait,
                )
            if wait > 0:
                self.stats.waits += 1
                self.stats.waited_seconds += wait
        if wait > 0:
            self.clock.sleep(wait)
        with self._lock:
            self._sent_locked(self.clock.time())

    def _delay_locked(self, now: float) -> float:
        raise NotImplementedError

    def _exhausted(self, wait: float) -> str:
        raise NotImplementedError

    def _sent_locked(self, now: float) -> None:
        raise NotImplementedError


class WindowPacer(_Pacer):
    """Spread a fixed-window request quota evenly, keeping a reserve.

    ``reserve_fraction`` of the window's limit is left untouched for other
    integrations that share the quota. ``max_wait`` caps any single wait: when
    the quota would only return later than that, :meth:`acquire` raises
    :class:`QuotaExhaustedError` instead of sleeping. ``reset_margin`` is added
    to every wait for a window reset. Reset headers have one-second precision;
    if a service rounds them down, the first request of "the new window" meets
    a 429 inside the old one; the pacer notices and widens its margin to a
    second. After a 429 a random ``jitter`` of up to that many seconds is added
    too, so processes sharing a quota do not all return at the same instant.
    """

    def __init__(
        self,
        service: str,
        *,
        clock: Clock | None = None,
        reserve_fraction: float = 0.1,
        max_wait: float = 300.0,
        reset_margin: float = 0.05,
        jitter: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(service, clock=clock, reserve_fraction=reserve_fraction, max_wait=max_wait)
        self.reset_margin = reset_margin
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._quota: QuotaSnapshot | None = None
        self._last_send: float | None = None
        self._penalty_until: float | None = None  # set by a 429: reset plus jitter

    @property
    def quota(self) -> QuotaSnapshot | None:
        """The last observed window, or None before the first response."""
        return self._quota

    # -- feeding ----------------------------------------------------------------

    def observe(
        self,
        limit: int,
        remaining: int,
        reset_at: float,
        *,
        server_time: float | None = None,
    ) -> None:
        """Record a response's rate-limit headers.

        ``server_time`` (from the ``Date`` header) corrects ``reset_at`` for a
        local clock that is off by more than two seconds.
        """
        reset_at = self._local(reset_at, server_time)
        with self._lock:
            old = self._quota
            if old is not None and abs(old.reset_at - reset_at) < 0.5:
                # Same window: answers of concurrent requests may arrive out of
                # order; the service's count only goes down within a window.
                remaining = min(remaining, old.remaining)
            self._quota = QuotaSnapshot(limit=limit, remaining=max(remaining, 0), reset_at=reset_at)

    def observe_rate_limited(
        self, reset_at: float | None, *, limit: int | None = None, server_time: float | None = None
    ) -> None:
        """Record a 429: nothing is left until ``reset_at`` (plus jitter)."""
        now = self.clock.time()
        with self._lock:
            self.stats.rate_limited += 1
            old = self._quota
            # No reset given: assume a one-minute window, the documented plan unit.
            reset_at = now + 60.0 if reset_at is None else self._local(reset_at, server_time)
            if (
                old is not None
                and old.reset_at <= now < old.reset_at + 1.5
                and abs(reset_at - old.reset_at) < 0.5
            ):
                # Refused in a window we believed had ended: the service rounds
                # its reset down. Wait a whole second past resets from now on.
                self.reset_margin = max(self.reset_margin, 1.0)
            limit = limit if limit is not None else (old.limit if old else 0)
            self._quota = QuotaSnapshot(limit=limit, remaining=0, reset_at=reset_at)
            self._penalty_until = reset_at + self.reset_margin + self._rng.uniform(0, self.jitter)

    def _local(self, reset_at: float, server_time: float | None) -> float:
        """``reset_at`` on the local clock, if the server's ``Date`` shows a skew over 2 s."""
        if server_time is None:
            return reset_at
        skew = server_time - self.clock.time()
        return reset_at - skew if abs(skew) > 2.0 else reset_at

    # -- spending ---------------------------------------------------------------

    def _exhausted(self, wait: float) -> str:
        return (
            f"rate limit exhausted; the quota returns in {wait:.0f} s, longer than the "
            f"configured maximum wait of {self.max_wait:.0f} s."
        )

    def _sent_locked(self, now: float) -> None:
        self._last_send = now
        q = self._quota
        if q is not None and q.remaining > 0:
            self._quota = QuotaSnapshot(q.limit, q.remaining - 1, q.reset_at)

    def _delay_locked(self, now: float) -> float:
        if self._penalty_until is not None:
            if now < self._penalty_until:
                return self._penalty_until - now
            self._penalty_until = None
        q = self._quota
        if q is None or now >= q.reset_at + self.reset_margin:
            return 0.0  # nothing known, or a new window has begun: the answer will tell
        usable = q.remaining - self.reserve(q.limit)
        if usable <= 0:
            return q.reset_at + self.reset_margin - now
        if self._last_send is None:
            return 0.0
        gap = (q.reset_at - now) / usable
        return max(0.0, self._last_send + gap - now)


class RollingWindowPacer(_Pacer):
    """Keep under a rolling-window quota (``limit`` requests in any ``interval`` seconds).

    HubSpot counts the requests of the last ten seconds, not a window with a reset
    time, so the budget comes back one request at a time as old ones age out. The
    pacer estimates what is left now from the last answer's ``remaining`` (which
    counts every integration of the account), minus what it sent since, plus its
    own requests that have aged out since; it keeps ``reserve_fraction`` of the
    limit for the others. When nothing usable is left it waits until its oldest
    request in the window ages out, or, when all the window's requests are someone
    else's, until everything counted in that answer has aged out. A wait longer
    than ``max_wait`` raises :class:`QuotaExhaustedError` instead.
    """

    def __init__(
        self,
        service: str,
        *,
        clock: Clock | None = None,
        reserve_fraction: float = 0.1,
        max_wait: float = 60.0,
        margin: float = 0.05,
    ) -> None:
        super().__init__(service, clock=clock, reserve_fraction=reserve_fraction, max_wait=max_wait)
        self.margin = margin
        self._limit: int | None = None
        self._remaining = 0
        self._observed_at = 0.0
        self.interval = 10.0
        self._sent: list[float] = []  # own send times within the last interval, oldest first

    def observe(self, limit: int, remaining: int, interval: float) -> None:
        """Record an answer's headers: ``remaining`` of ``limit`` in the last ``interval`` s."""
        with self._lock:
            self._limit, self._remaining = limit, max(remaining, 0)
            self.interval = interval
            self._observed_at = self.clock.time()

    def observe_rate_limited(self, interval: float | None = None) -> None:
        """Record a 429 of the window: nothing is left as of now."""
        with self._lock:
            self.stats.rate_limited += 1
            if interval:
                self.interval = interval
            self._remaining = 0
            self._observed_at = self.clock.time()
            if self._limit is None:
                self._limit = 1

    def _exhausted(self, wait: float) -> str:
        return (
            f"the rate limit's window stays full for {wait:.0f} s, longer than the configured "
            f"maximum wait of {self.max_wait:.0f} s (other integrations may be using the quota)."
        )

    def _sent_locked(self, now: float) -> None:
        self._sent.append(now)

    def _delay_locked(self, now: float) -> float:
        if self._limit is None:
            return 0.0  # nothing known yet: the first answer will tell
        window = self.interval + self.margin
        seen = self._observed_at
        self._sent = [t for t in self._sent if t > min(now, seen) - window]
        counted = [t for t in self._sent if t > now - window]  # still in the window now
        if now - seen >= window:
            available = self._limit - len(counted)
        else:
            in_answer = sum(1 for t in self._sent if seen - window < t <= seen)
            still = sum(1 for t in counted if t <= seen)
            since = sum(1 for t in self._sent if t > seen)
            available = self._remaining - since + (in_answer - still)
        short = self.reserve(self._limit) + 1 - available
        if short <= 0:
            return 0.0
        # Each of our requests still in the window gives one back as it ages out.
        if short <= len(counted):
            return max(0.0, counted[short - 1] + window - now)
        return max(0.0, max(seen, counted[-1] if counted else seen) + window - now)
