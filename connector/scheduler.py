"""``revont-sync daemon``: each enabled adapter's incremental run on its schedule.

APScheduler (this is the only module that imports it) starts one job per adapter,
every ``[daemon] interval_seconds`` or on a ``cron`` expression
(``[daemon.adapters.<name>]`` overrides either, and ``[daemon.adapters.<name>.streams.
calls]`` / ``.contacts`` give each stream its own; the reconciliation cadence runs
inside the calls runs), with up to ``jitter_seconds`` added
so adapters do not all start together. Jobs run one at a time in one worker
thread; a job still running when its next start comes is not started twice
(``max_instances`` 1, missed starts coalesced), and the state store's lease keeps
runs of one adapter apart across processes and hosts too (a run that finds the
lease held is logged and skipped).

SIGTERM or SIGINT asks the engine to stop at the next page boundary: the page in
flight is written and checkpointed, the run is recorded as ``stopped``, and the
daemon exits 0 within ``grace_seconds`` (1 if the run did not finish in time; the
next start resumes from the last checkpoint either way). Schedules are read at
start: restart the daemon (SIGTERM, then start it again) after changing them.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector.engine import SyncEngine
from connector.engine.model import STREAMS
from connector.errors import ConfigError, ConfigProblem, LeaseHeldError, StopRequestedError
from connector.metrics import Metrics
from connector.sandbox import SandboxServer
from connector.settings import Config
from connector.webhooks import WebhookReceiver
from connector.wiring import build_engine

log = logging.getLogger(__name__)


class Daemon:
    """Runs the configured adapters on their schedules until asked to stop."""

    def __init__(self, config: Config, adapters: list[str] | None = None) -> None:
        self.config = config
        self.engine: SyncEngine = build_engine(config, adapters)
        self.stopped = threading.Event()
        self.metrics: Metrics | None = None
        self.metrics_server: SandboxServer | None = None
        self.receiver: WebhookReceiver | None = None
        self.webhook_server: SandboxServer | None = None
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; the exit code."""
        settings = self.config.daemon
        for name in self.engine.destinations:
            for stream, schedule in settings.schedules(name).items():
                trigger: Any = (
                    CronTrigger.from_crontab(schedule.cron, timezone=UTC)
                    if schedule.cron
                    else IntervalTrigger(seconds=schedule.interval_seconds, timezone=UTC)
                )
                trigger.jitter = settings.jitter_seconds or None
                job = name if stream is None else f"{name}:{stream}"
                self.scheduler.add_job(
                    self._sync,
                    trigger,
                    args=[name, stream],
                    id=job,
                    name=f"sync {job}",
                    next_run_time=datetime.now(UTC),  # a first run at start
                )
                every = f"every {schedule.interval_seconds} s"
                when = f"cron {schedule.cron!r}" if schedule.cron else every
                log.info(
                    "daemon: %s syncs %s (jitter up to %d s)", job, when, settings.jitter_seconds
                )
        previous = {
            sig: signal.signal(sig, self._ask_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        if settings.metrics_address:
            self.metrics = Metrics(self.engine, max_lag_seconds=settings.max_lag_seconds)
            self.metrics_server = _serve(self.metrics.wsgi_app, settings.metrics_address)
            log.info(
                "daemon: metrics at %s/metrics, health at %s/healthz",
                self.metrics_server.url,
                self.metrics_server.url,
            )
        if settings.webhook_address:
            self.receiver = WebhookReceiver(self._webhook_secret(), settings.webhook_path)
            self.webhook_server = _serve(self.receiver.wsgi_app, settings.webhook_address)
            log.info(
                "daemon: webhooks received at %s%s",
                self.webhook_server.url,
                settings.webhook_path,
            )
            self.scheduler.add_job(
                self._webhook_syncs, IntervalTrigger(seconds=1, timezone=UTC), id="webhooks"
            )
        self.scheduler.start()
        log.info("daemon: started (pid owner %s)", self.engine.owner)
        try:
            while not self.stopped.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self._shutdown(settings.grace_seconds)

    def _webhook_secret(self) -> str:
        secret = self.config.daemon.webhook_secret
        if secret is not None:
            return secret.get_secret_value()
        path = self.config.webhook_secret_path
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError:
            raise ConfigError(
                str(self.config.path),
                [
                    ConfigProblem(
                        "daemon.webhook_secret",
                        f"the webhook receiver needs the signing secret: run `revont-sync "
                        f"webhooks register --url ...` (it writes {path}), or set "
                        "REVONT_WEBHOOK_SECRET",
                    )
                ],
            ) from None

    def _webhook_syncs(self) -> None:
        """Targeted syncs of the calls deliveries named (each adapter, under its lease)."""
        if self.receiver is None or self.engine.stop_requested.is_set():
            return
        calls = self.receiver.take()
        if not calls:
            return
        for name in self.engine.destinations:
            try:
                report = self.engine.sync_calls(name, calls)
            except LeaseHeldError:  # another process is syncing it: its run or the next
                log.info("daemon: %s busy elsewhere; %d webhook calls left to polling", name,
                         len(calls))  # fmt: skip
                continue
            except Exception as exc:
                log.error("daemon: %s webhook sync failed: %s: %s", name, type(exc).__name__, exc)
                continue
            if self.metrics is not None:
                self.metrics.observe(report)
            log.info("daemon: %s synced %d calls from webhooks (run #%d)", name, len(calls),
                     report.run_id)  # fmt: skip

    def _ask_to_stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("daemon: %s received; stopping after the page in flight", signal.strsignal(signum))
        self.engine.stop_requested.set()
        self.stopped.set()

    def _shutdown(self, grace: float) -> int:
        done = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True})
        done.start()
        done.join(grace)
        if done.is_alive():
            log.error(
                "daemon: the run in flight did not stop within %g s; exiting anyway (the next "
                "start resumes from its last checkpoint)",
                grace,
            )
            return 1
        self.close()
        log.info("daemon: stopped")
        return 0

    def _sync(self, name: str, stream: str | None = None) -> None:
        if self.engine.stop_requested.is_set():
            return
        streams = STREAMS if stream is None else (stream,)
        try:
            [report] = self.engine.run_all([name], trigger="schedule", streams=streams)
        except Exception as exc:  # not a run's failure (those are reports): keep serving
            log.error("daemon: %s could not run: %s: %s", name, type(exc).__name__, exc)
            return
        if self.metrics is not None:
            self.metrics.observe(report)
        if report.status == "refused":
            log.info("daemon: %s skipped: %s", name, report.error)
        elif isinstance(report.exception, StopRequestedError):
            log.info("daemon: %s run stopped after checkpointing its page", name)
        elif report.exception is not None:
            log.error("daemon: %s run #%d failed: %s", name, report.run_id, report.error)
        else:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
            log.info("daemon: %s run #%d %s (%s)", name, report.run_id, report.status, counts)

    def close(self) -> None:
        for server in (self.metrics_server, self.webhook_server):
            if server is not None:
                server.stop()
        self.engine.client.close()
        for dest in self.engine.destinations.values():
            dest.writer.close()
        self.engine.store.close()


def _serve(app: Any, address: str) -> SandboxServer:
    host, _, port = address.rpartition(":")
    server = SandboxServer(app, host=host or "127.0.0.1", port=int(port or 0))
    server.start()
    return server
