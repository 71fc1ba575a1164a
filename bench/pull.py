"""How close does a paced pull come to the rate limit without meeting a 429?

Pulls every call from the Revont sandbox with a compressed rate-limit window
and prints, per reserve setting, the requests served in each full window
against the limit, and the number of 429 answers.

Targets (issue #2): with no reserve, >= 95 % of the limit in full windows and
zero 429s; with a reserve, about (1 - reserve) of the limit and zero 429s.

    python bench/pull.py [--calls 2000] [--limit 20] [--window 2] [--page-size 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from connector.quota import WindowPacer
from connector.revont.client import RevontClient
from connector.revont.sandbox import RevontSandbox


def run(calls: int, limit: int, window: float, page_size: int, reserve: float) -> dict[str, float]:
    anchor = datetime(2026, 11, 30, tzinfo=UTC)
    with RevontSandbox(calls=calls, contacts=10, rate_limit=limit, window_seconds=window,
                       anchor=anchor) as sandbox:
        pacer = WindowPacer("revont", reserve_fraction=reserve, max_wait=60)
        started = time.monotonic()
        with RevontClient(sandbox.read_key, base_url=sandbox.api_url, page_size=page_size,
                          pacer=pacer) as client:
            pulled = sum(len(page.items) for page in client.iter_call_pages())
        elapsed = time.monotonic() - started
        windows = [n for _, n in sandbox.requests.snapshot()["windows"]]
        full = windows[1:-1] or windows  # the first and last windows are partial
        return {
            "pulled": pulled,
            "requests": sandbox.requests.count(),
            "429": sandbox.requests.count(status=429),
            "seconds": elapsed,
            "windows": len(windows),
            "mean_per_window": statistics.mean(full),
            "min_per_window": min(full),
            "max_per_window": max(full),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=20, help="requests per window")
    parser.add_argument("--window", type=float, default=2.0, help="window length in seconds")
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--reserve", type=float, action="append",
                        help="reserve fraction(s) to try (default: 0 and 0.1)")
    args = parser.parse_args()
    reserves = args.reserve or [0.0, 0.1]
    print(f"pull of {args.calls} calls, pages of {args.page_size}, "
          f"limit {args.limit} requests per {args.window:g} s window")
    print(f"{'reserve':>8} {'requests':>9} {'429s':>5} {'seconds':>8} {'windows':>8} "
          f"{'mean/window':>12} {'min':>4} {'max':>4} {'% of limit':>11} {'target':>7}")
    for reserve in reserves:
        r = run(args.calls, args.limit, args.window, args.page_size, reserve)
        share = 100 * r["mean_per_window"] / args.limit
        target = 95.0 if reserve == 0 else 100 * (1 - reserve) - 5
        verdict = "met" if share >= target and r["429"] == 0 else "MISSED"
        print(f"{reserve:>8.0%} {r['requests']:>9.0f} {r['429']:>5.0f} {r['seconds']:>8.1f} "
              f"{r['windows']:>8.0f} {r['mean_per_window']:>12.1f} {r['min_per_window']:>4.0f} "
              f"{r['max_per_window']:>4.0f} {share:>10.1f}% {verdict:>7}")


if __name__ == "__main__":
    main()
