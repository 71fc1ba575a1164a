"""Webhook deliveries: signed POSTs from a background thread, to loopback only."""

from __future__ import annotations

import ipaddress
import json
import queue
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.revont.sandbox.workspace import Event
from connector.revont.signature import SIGNATURE_HEADER, sign_body


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookDeliverer:
    """Sends each event to every active webhook subscribed to it, and records the outcome.

    Deliveries are retried up to three times on 5xx or connection errors, and
    only ever sent to loopback addresses: the sandbox never sends traffic off
    this machine, whatever URL is registered.

    Revont promises nothing about retries, order or uniqueness, so the sandbox
    can make deliveries as unreliable as real ones may be: ``duplicate`` and
    ``drop`` are probabilities of sending an event twice or never, and
    ``max_delay`` delays each delivery by a random time up to that many seconds,
    which reorders them. The randomness is seeded, so a run can be repeated.
    """

    def __init__(
        self,
        hooks: Callable[[str], list[dict[str, Any]]],
        *,
        duplicate: float = 0.0,
        drop: float = 0.0,
        max_delay: float = 0.0,
        seed: int = 0,
    ) -> None:
        self._hooks = hooks
        self.duplicate, self.drop, self.max_delay = duplicate, drop, max_delay
        self._rng = random.Random(seed)
        self._timers: list[threading.Timer] = []
        self.deliveries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._outbox: queue.Queue[tuple[Event, datetime] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._deliver_loop, name="revont-sandbox-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._thread is not None:
            self._outbox.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def publish(self, events: list[Event], now: datetime) -> None:
        for event in events:
            self._outbox.put((event, now))

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self.deliveries]

    def _deliver_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            event, when = item
            body = json.dumps(event.payload(when)).encode()
            for hook in self._hooks(event.name):
                if self._rng.random() < self.drop:
                    self._record(hook, event, error="dropped on purpose (drop fault)")
                    continue
                copies = 2 if self._rng.random() < self.duplicate else 1
                for _ in range(copies):
                    delay = self._rng.uniform(0, self.max_delay) if self.max_delay else 0.0
                    if delay:
                        timer = threading.Timer(delay, self._deliver, (hook, event, body))
                        timer.daemon = True
                        self._timers.append(timer)
                        timer.start()
                    else:
                        self._deliver(hook, event, body)

    def _deliver(self, hook: dict[str, Any], event: Event, body: bytes) -> None:
        if not _is_loopback(hook["url"]):
            self._record(
                hook, event, error="not delivered: the sandbox only delivers to loopback addresses"
            )
            return
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_body(hook["secret"], body),
        }
        status: int | None = None
        error: str | None = None
        attempt = 0
        for attempt in range(1, 4):
            try:
                answer = requests.post(hook["url"], data=body, headers=headers, timeout=5)
                status, error = answer.status_code, None
                if answer.status_code < 500:
                    break
            except requests.RequestException as exc:
                error = type(exc).__name__
            time.sleep(0.2 * attempt)
        self._record(hook, event, attempts=attempt, status=status, error=error)

    def _record(
        self,
        hook: dict[str, Any],
        event: Event,
        *,
        attempts: int = 0,
        status: int | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            self.deliveries.append(
                {
                    "webhook_id": hook["id"],
                    "event": event.name,
                    "call_id": event.call["id"],
                    "attempts": attempts,
                    "status": status,
                    "error": error,
                }
            )
