"""Webhook deliveries: signed POSTs from a background thread, to loopback only."""

from __future__ import annotations

import ipaddress
import json
import queue
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
    """

    def __init__(self, hooks: Callable[[str], list[dict[str, Any]]]) -> None:
        self._hooks = hooks
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
        session = requests.Session()
        while True:
            item = self._outbox.get()
            if item is None:
                return
            event, when = item
            body = json.dumps(event.payload(when)).encode()
            for hook in self._hooks(event.name):
                self._deliver(session, hook, event, body)

    def _deliver(
        self, session: requests.Session, hook: dict[str, Any], event: Event, body: bytes
    ) -> None:
        record: dict[str, Any] = {
            "webhook_id": hook["id"],
            "event": event.name,
            "call_id": event.call["id"],
            "attempts": 0,
            "status": None,
            "error": None,
        }
        if not _is_loopback(hook["url"]):
            record["error"] = "not delivered: the sandbox only delivers to loopback addresses"
        else:
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_body(hook["secret"], body),
            }
            for attempt in range(1, 4):
                record["attempts"] = attempt
                try:
                    answer = session.post(hook["url"], data=body, headers=headers, timeout=5)
                    record["status"], record["error"] = answer.status_code, None
                    if answer.status_code < 500:
                        break
                except requests.RequestException as exc:
                    record["error"] = type(exc).__name__
                time.sleep(0.2 * attempt)
        with self._lock:
            self.deliveries.append(record)
