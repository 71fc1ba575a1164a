"""Pacing to Revont's rate-limit headers: over real HTTP, and the pacer's arithmetic."""

from __future__ import annotations

import math

import pytest

from connector.errors import QuotaExhaustedError
from connector.quota import WindowPacer
from connector.sandbox import FaultRule


class FakeClock:
    """A clock that moves only when slept on."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.slow
def test_long_pull_paces_to_zero_429(make_sandbox, make_client):
    """2,000 calls in pages of 10 under a 2-second window of 20 requests: zero 429s.

    If this fails, look at WindowPacer.acquire: it must wait for the window
    reset once `remaining` reaches the reserve, and spread requests before that.
    """
    sandbox = make_sandbox(calls=2000, contacts=10, rate_limit=20, window_seconds=2)
    client = make_client(sandbox, page_size=10)
    ids = [c.id for page in client.iter_call_pages() for c in page.items]
    assert len(ids) == len(set(ids)) == 2000
    assert sandbox.requests.count(status=429) == 0
    assert sandbox.requests.count("GET /calls", 200) == 200
    windows = sandbox.requests.snapshot()["windows"]
    assert max(n for _, n in windows) <= 20
    # Not pacing too timidly either: full windows (all but the first and last) near the limit.
    middle = [n for _, n in windows[1:-1]]
    assert middle and sum(middle) / len(middle) >= 17


def test_injected_429_is_waited_out_until_reset(make_sandbox, make_client):
    """A 429 says X-RateLimit-Reset; the client's next request arrives after that instant."""
    sandbox = make_sandbox(calls=50, rate_limit=1000, window_seconds=2)
    client = make_client(sandbox)
    sandbox.inject(FaultRule(kind="rate_limit", path="/calls"))
    page = next(client.iter_call_pages(limit=10))
    assert len(page.items) == 10
    events = [e for e in sandbox.requests.recent if e[1] == "GET /calls"]
    assert [status for _, _, status in events] == [429, 200]
    t429, t_retry = events[0][0], events[1][0]
    reset = math.ceil(math.floor(t429 / 2) * 2 + 2)
    assert t_retry >= reset
    assert client.pacer.stats.rate_limited == 1


def test_rate_limit_headers_on_every_answer(sandbox):
    import requests

    for key in (sandbox.read_key, "wrong-key"):
        answer = requests.get(
            f"{sandbox.api_url}/calls", headers={"Authorization": f"Bearer {key}"}, timeout=5
        )
        for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            assert header in answer.headers, (key, header)


def test_the_sandbox_answers_429_past_the_limit(make_sandbox):
    import requests

    sandbox = make_sandbox(rate_limit=5, window_seconds=60)
    headers = {"Authorization": f"Bearer {sandbox.read_key}"}
    statuses = []
    for _ in range(7):
        answer = requests.get(f"{sandbox.api_url}/contacts?limit=1", headers=headers, timeout=5)
        statuses.append(answer.status_code)
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    assert answer.json() == {
        "error": {
            "code": "rate_limit_exceeded",
            "message": "Rate limit exceeded. Retry after X-RateLimit-Reset.",
        }
    }
    assert answer.headers["X-RateLimit-Remaining"] == "0"


# -- the pacer's arithmetic, on a fake clock ---------------------------------------------


def test_spreads_the_remaining_quota_evenly():
    clock = FakeClock()
    pacer = WindowPacer("svc", clock=clock, reserve_fraction=0.0)
    pacer.acquire()  # nothing known yet: go
    pacer.observe(limit=20, remaining=19, reset_at=clock.now + 2.0)
    for _ in range(5):
        pacer.acquire()
    # Each gap is the time left divided by the requests left.
    assert clock.slept[0] == pytest.approx(2.0 / 19, rel=1e-6)
    assert all(0.09 < s < 0.12 for s in clock.slept)


def test_keeps_the_reserve_and_waits_for_the_reset():
    clock = FakeClock()
    pacer = WindowPacer("svc", clock=clock, reserve_fraction=0.25, reset_margin=0.05)
    assert pacer.reserve(20) == 5
    pacer.observe(limit=20, remaining=5, reset_at=clock.now + 10)
    pacer._last_send = clock.now
    assert pacer.delay() == pytest.approx(10.05)
    pacer.acquire()
    assert clock.slept == [pytest.approx(10.05)]


def test_gives_up_when_the_wait_exceeds_the_cap():
    clock = FakeClock()
    pacer = WindowPacer("svc", clock=clock, max_wait=30)
    pacer.observe(limit=100, remaining=0, reset_at=clock.now + 45)
    with pytest.raises(QuotaExhaustedError, match="longer than the configured maximum") as info:
        pacer.acquire()
    assert info.value.resume_at == pytest.approx(clock.now + 45.05)
    assert clock.slept == []


def test_a_429_waits_until_reset_plus_jitter():
    clock = FakeClock()
    pacer = WindowPacer("svc", clock=clock, jitter=1.0, reset_margin=0.0)
    pacer.observe(limit=100, remaining=50, reset_at=clock.now + 5)
    pacer.observe_rate_limited(clock.now + 5)
    delay = pacer.delay()
    assert 5.0 <= delay <= 6.0
    pacer.acquire()
    assert pacer.stats.rate_limited == 1 and pacer.stats.waits == 1


def test_other_consumers_show_up_as_lower_remaining():
    """Answers of one window arriving out of order: the lowest remaining wins."""
    clock = FakeClock()
    pacer = WindowPacer("svc", clock=clock)
    reset = clock.now + 60
    pacer.observe(limit=100, remaining=40, reset_at=reset)
    pacer.observe(limit=100, remaining=60, reset_at=reset)
    assert pacer.quota is not None and pacer.quota.remaining == 40
    pacer.observe(limit=100, remaining=99, reset_at=reset + 60)  # a new window
    assert pacer.quota.remaining == 99


def test_corrects_for_a_skewed_local_clock():
    clock = FakeClock()
    pacer = WindowPacer("svc", clock=clock, reserve_fraction=0.0, reset_margin=0.0)
    # The server's clock is 100 s ahead; its reset is 10 s away in its own time.
    server_now = clock.now + 100
    pacer.observe(limit=10, remaining=0, reset_at=server_now + 10, server_time=server_now)
    assert pacer.delay() == pytest.approx(10.0)


def test_a_new_window_starts_without_waiting():
    clock = FakeClock()
    pacer = WindowPacer("svc", clock=clock, reserve_fraction=0.0)
    pacer.observe(limit=10, remaining=0, reset_at=clock.now + 1)
    clock.now += 1.5
    assert pacer.delay() == 0.0


@pytest.mark.slow
def test_learns_a_server_that_rounds_its_reset_down(make_sandbox, make_client):
    """Windows ending at x.5 s reported as x s: at most one 429, then the margin widens."""
    sandbox = make_sandbox(
        calls=300, rate_limit=10, window_seconds=2, window_offset=0.5, round_reset_down=True
    )
    client = make_client(sandbox, page_size=10)
    ids = [c.id for page in client.iter_call_pages() for c in page.items]
    assert len(ids) == len(set(ids)) == 300
    assert sandbox.requests.count(status=429) <= 1
    assert client.pacer.reset_margin >= 1.0 or sandbox.requests.count(status=429) == 0


def test_a_clock_that_never_advances_does_not_spin():
    """With waiting off (sleep does nothing), acquire still returns: it sleeps at most once."""

    class FrozenClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            self.slept.append(seconds)

    clock = FrozenClock()
    pacer = WindowPacer("svc", clock=clock, reserve_fraction=0.0)
    pacer.observe(limit=10, remaining=0, reset_at=clock.now + 5)
    pacer.acquire()
    pacer.acquire()
    assert len(clock.slept) == 2


# -- rolling windows (HubSpot's ten seconds) ---------------------------------------------


class RollingServer:
    """A rolling-window quota as a server keeps it: requests of the last ``interval``."""

    def __init__(self, clock: FakeClock, limit: int, interval: float) -> None:
        self.clock, self.limit, self.interval = clock, limit, interval
        self.hits: list[float] = []
        self.refused = 0

    def request(self, others: int = 0) -> int:
        now = self.clock.time()
        self.hits = [t for t in self.hits if t > now - self.interval]
        for _ in range(others):  # another integration's requests, at the same moment
            self.hits.append(now)
        if len(self.hits) >= self.limit:
            self.refused += 1
            return -1
        self.hits.append(now)
        return self.limit - len(self.hits)


def test_rolling_pacer_never_meets_the_limit_and_keeps_the_reserve():
    from connector.quota import RollingWindowPacer

    clock = FakeClock()
    server = RollingServer(clock, limit=20, interval=2.0)
    pacer = RollingWindowPacer("crm", clock=clock, reserve_fraction=0.25, max_wait=30)
    sent = []
    for _ in range(200):
        pacer.acquire()
        remaining = server.request()
        assert remaining >= 0
        pacer.observe(20, remaining, 2.0)
        sent.append(clock.time())
        clock.now += 0.001  # the request's own round trip
    assert server.refused == 0
    # Never more than limit - reserve (15) of ours in any window: 5 left to others.
    assert max(sum(1 for t in sent if s <= t < s + 2.0) for s in sent) <= 15
    # And not timid: it runs close to that rate.
    assert len(sent) / (sent[-1] - sent[0]) > 0.9 * 15 / 2.0


def test_rolling_pacer_adapts_to_other_integrations_and_to_a_429():
    from connector.quota import RollingWindowPacer

    clock = FakeClock()
    server = RollingServer(clock, limit=20, interval=2.0)
    pacer = RollingWindowPacer("crm", clock=clock, reserve_fraction=0.1, max_wait=30)
    for n in range(100):
        pacer.acquire()
        remaining = server.request(others=1 if n % 3 == 0 else 0)
        if remaining < 0:
            pacer.observe_rate_limited(2.0)
        else:
            pacer.observe(20, remaining, 2.0)
        clock.now += 0.001
    # Others' requests are invisible until an answer shows them; a few refusals at most,
    # each waited out rather than repeated at once.
    assert server.refused <= 3
    assert pacer.stats.waits > 0


def test_rolling_pacer_stops_instead_of_waiting_too_long():
    from connector.quota import RollingWindowPacer

    clock = FakeClock()
    pacer = RollingWindowPacer("crm", clock=clock, max_wait=1.0)
    pacer.observe(100, 0, 10.0)  # someone else filled the window
    with pytest.raises(QuotaExhaustedError, match="maximum wait"):
        pacer.acquire()
