"""The daemon's Prometheus metrics and health check, served over HTTP.

``GET /metrics`` (Prometheus text format):

- ``revont_sync_runs_total{adapter, status}``: runs by outcome (succeeded, failed,
  stopped, refused);
- ``revont_sync_records_total{adapter, outcome}``: records by outcome (created,
  updated, unchanged, skipped, failed, ...);
- ``revont_sync_api_requests_total{service}``: API requests (revont, and each CRM);
- ``revont_sync_rate_limited_total{service}``: 429s met (pacing should keep it at 0);
- ``revont_sync_quota_remaining{service}``: what the service last said is left;
- ``revont_sync_lag_seconds{adapter}``: now minus the newest synced call's time (the
  calls stream's watermark);
- ``revont_sync_failures_pending{adapter}``: records waiting for a retry;
- ``revont_sync_last_run_timestamp_seconds{adapter}``.

``GET /healthz``: 200 ``ok``, or 503 with the reasons, when an adapter's last run
failed or its lag passes ``[daemon] max_lag_seconds``.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from werkzeug.wrappers import Request, Response

from connector.engine import RunReport, SyncEngine


class Metrics:
    """What the daemon tells Prometheus and the health check."""

    def __init__(self, engine: SyncEngine, *, max_lag_seconds: float) -> None:
        self.engine = engine
        self.max_lag_seconds = max_lag_seconds
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self.last_status: dict[str, str] = {}
        registry = self.registry
        self.runs = Counter(
            "revont_sync_runs", "Runs by outcome", ["adapter", "status"], registry=registry
        )
        self.records = Counter(
            "revont_sync_records", "Records by outcome", ["adapter", "outcome"], registry=registry
        )
        self.requests = Counter(
            "revont_sync_api_requests", "API requests by service", ["service"], registry=registry
        )
        self.rate_limited = Counter(
            "revont_sync_rate_limited",
            "429 answers met, by service",
            ["service"],
            registry=registry,
        )
        self.quota = Gauge(
            "revont_sync_quota_remaining",
            "Quota the service says is left",
            ["service"],
            registry=registry,
        )
        self.lag = Gauge(
            "revont_sync_lag_seconds",
            "Now minus the newest synced call",
            ["adapter"],
            registry=registry,
        )
        self.failures = Gauge(
            "revont_sync_failures_pending",
            "Records waiting for a retry",
            ["adapter"],
            registry=registry,
        )
        self.last_run = Gauge(
            "revont_sync_last_run_timestamp_seconds", "When the last run ended", ["adapter"],
            registry=registry,
        )  # fmt: skip
        self._limited_seen: dict[str, int] = {}

    def observe(self, report: RunReport) -> None:
        """Count a finished run (the daemon calls this after each one)."""
        with self._lock:
            self.last_status[report.adapter] = report.status
            self.runs.labels(report.adapter, report.status).inc()
            for outcome, n in report.counts.items():
                self.records.labels(report.adapter, outcome).inc(n)
            for service, n in report.requests.items():
                if service != "revont_shared_by":
                    self.requests.labels(service).inc(n)
            self.last_run.labels(report.adapter).set(datetime.now(UTC).timestamp())
            self._refresh()

    def _refresh(self) -> None:
        """Gauges read at the moment: quotas, 429 counters, lag, pending failures."""
        pacers: dict[str, Any] = {"revont": getattr(self.engine.client, "pacer", None)}
        for name, dest in self.engine.destinations.items():
            api = getattr(dest.writer, "api", None)
            pacers[name] = getattr(api, "pacer", None)
            quota = dest.writer.quota()
            if quota is not None and quota.remaining is not None:
                self.quota.labels(name).set(quota.remaining)
        revont = pacers["revont"]
        if revont is not None and revont.quota is not None:
            self.quota.labels("revont").set(revont.quota.remaining)
        for service, pacer in pacers.items():
            seen = getattr(getattr(pacer, "stats", None), "rate_limited", 0)
            new = seen - self._limited_seen.get(service, 0)
            if new > 0:
                self.rate_limited.labels(service).inc(new)
            self._limited_seen[service] = seen
        now = datetime.now(UTC)
        for name in self.engine.destinations:
            state = self.engine.store.stream(name, "calls")
            if state.watermark is not None:
                self.lag.labels(name).set(max(0.0, (now - state.watermark).total_seconds()))
            self.failures.labels(name).set(len(self.engine.store.failures(adapter=name)))

    def health(self) -> tuple[bool, list[str]]:
        problems = []
        with self._lock:
            for name, status in self.last_status.items():
                if status == "failed":
                    problems.append(f"{name}: the last run failed")
            now = datetime.now(UTC)
            for name in self.engine.destinations:
                state = self.engine.store.stream(name, "calls")
                if state.watermark is not None:
                    lag = (now - state.watermark).total_seconds()
                    if lag > self.max_lag_seconds:
                        problems.append(f"{name}: {lag:.0f} s behind Revont")
        return not problems, problems

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/metrics":
            with self._lock:
                body = generate_latest(self.registry)
            response = Response(body, content_type=CONTENT_TYPE_LATEST)
        elif request.path == "/healthz":
            ok, problems = self.health()
            response = Response(
                json.dumps({"status": "ok" if ok else "unhealthy", "problems": problems}),
                status=200 if ok else 503,
                content_type="application/json",
            )
        else:
            response = Response("not found\n", status=404)
        return response(environ, start_response)
