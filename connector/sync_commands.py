"""What ``revont-sync run``, ``resync``, ``status`` and ``failures`` do (the CLI parses flags).

On a terminal, long work shows rich progress bars; elsewhere (a container, a
pipe) it logs one plain line per page. Every command ends with what happened:
a summary table, or JSON with ``--json``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.engine import RunReport, SyncEngine
from connector.errors import ConfigError, LeaseHeldError
from connector.settings import Config
from connector.state import Run, SqlStateStore
from connector.wiring import build_engine

log = logging.getLogger("revont_sync.sync")
ProgressHook = Callable[[str, str, int], None]
#: Seconds between attempts to take a lease another process holds (``--wait``).
WAIT_POLL_SECONDS = 2.0
COUNT_COLUMNS = ("pulled", "created", "updated", "unchanged", "skipped", "failed")


def page_progress(console: Console, label: str = "") -> tuple[Progress, ProgressHook]:
    """A rich progress display with one line per (adapter, stream), and the engine hook
    that advances it after each page."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} records"),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: dict[tuple[str, str], TaskID] = {}

    def advance(adapter: str, stream: str, records: int) -> None:
        key = (adapter, stream)
        if key not in tasks:
            tasks[key] = progress.add_task(f"{label or adapter}: {stream}", total=None)
        progress.advance(tasks[key], records)

    return progress, advance


@contextmanager
def _engine_with_progress(
    config: Config, adapters: list[str] | None, console: Console
) -> Iterator[SyncEngine]:
    engine = build_engine(config, adapters)
    progress, advance = page_progress(console)

    def log_page(adapter: str, stream: str, records: int) -> None:
        log.info("%s: %s: %d records pushed in this page", adapter, stream, records)

    engine.progress = advance if console.is_terminal else log_page
    try:
        if console.is_terminal:
            with progress:
                yield engine
        else:
            yield engine
    finally:
        engine.client.close()
        for dest in engine.destinations.values():
            dest.writer.close()
        engine.store.close()


def run(
    config: Config,
    adapters: list[str],
    streams: list[str],
    console: Console,
    *,
    wait: bool = False,
) -> int:
    """One incremental run per adapter, sharing the Revont pages they all need; 1 if any
    failed or stopped (its state stays at its last checkpoint), 2 if one was refused for
    its configuration (e.g. a CRM not set up). An adapter whose lease another process
    holds (the daemon) is refused at once, saying who holds it, or with ``wait`` run as
    soon as the lease is free."""
    with _engine_with_progress(config, adapters or None, console) as engine:
        reports = engine.run_all(list(engine.destinations), trigger="manual", streams=streams)
        while wait and any(r.status == "refused" for r in reports):
            held = [r for r in reports if r.status == "refused"]
            for report in held:
                console.print(f"{escape(report.adapter)}: waiting: {escape(str(report.error))}")
            time.sleep(WAIT_POLL_SECONDS)
            again = engine.run_all([r.adapter for r in held], trigger="manual", streams=streams)
            done = {r.adapter: r for r in again}
            reports = [done.get(r.adapter, r) for r in reports]
    for report in reports:
        if report.exception is not None:
            console.print(
                f"[bold red]{escape(report.adapter)}: the run {report.status}:[/] "
                f"{escape(str(report.exception))}"
            )
    _print_reports([r for r in reports if r.run_id], console)
    if any(isinstance(r.exception, ConfigError) for r in reports):
        return 2  # e.g. the CRM is not set up: fix, then run again
    return 1 if any(r.exception is not None for r in reports) else 0


def resync(
    config: Config,
    adapter: str,
    streams: list[str],
    since: datetime | None,
    until: datetime | None,
    force: bool,
    console: Console,
    *,
    wait: bool = False,
) -> int:
    with _engine_with_progress(config, [adapter], console) as engine:
        while True:
            try:
                report = engine.resync(
                    adapter, streams=streams, since=since, until=until, force=force
                )
                break
            except LeaseHeldError as exc:
                if not wait:
                    raise
                console.print(f"{escape(adapter)}: waiting: {escape(str(exc))}")
                time.sleep(WAIT_POLL_SECONDS)
    _print_reports([report], console)
    return 0


def _print_reports(reports: list[RunReport], console: Console) -> None:
    if not reports:
        return
    table = Table(
        "adapter",
        "run",
        *COUNT_COLUMNS,
        "Revont requests",
        "CRM requests",
        title="What the run did",
    )
    for r in reports:
        table.add_row(
            r.adapter,
            str(r.run_id),
            *(str(r.counts.get(c, 0)) for c in COUNT_COLUMNS),
            str(r.requests.get("revont", 0)),
            str(r.requests.get(r.adapter, 0)),
        )
    console.print(table)


def status(config: Config, as_json: bool, console: Console) -> None:
    store = SqlStateStore(config.state_url)
    try:
        adapters = sorted(set(config.adapters) | {r.adapter for r in store.runs(limit=200)})
        data: list[dict[str, Any]] = []
        for name in adapters:
            streams = {}
            for stream in ("contacts", "calls"):
                s = store.stream(name, stream)
                streams[stream] = {
                    "watermark": _iso(s.watermark),
                    "window": None
                    if s.window_to is None
                    else {
                        "from": _iso(s.window_from),
                        "to": _iso(s.window_to),
                        "resumes_at_cursor": s.window_cursor is not None,
                    },
                    "reconciled_at": _iso(s.reconciled_at),
                }
            last_run = next(iter(store.runs(adapter=name, limit=1)), None)
            data.append(
                {
                    "adapter": name,
                    "enabled": name in config.enabled_adapters(),
                    "streams": streams,
                    "last_run": _run_dict(last_run),
                    "failures_pending": len(store.failures(adapter=name)),
                    "awaiting_summary": len(store.awaiting_enrichment(name)),
                }
            )
    finally:
        store.close()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(
        "adapter",
        "stream",
        "watermark",
        "window in progress",
        "last run",
        "failures",
        title=f"State in {escape(config.state_url)}",
    )
    for entry in data:
        info = entry["last_run"]
        last = "never" if info is None else f"#{info['id']} {info['status']} {info['started_at']}"
        for stream, s in entry["streams"].items():
            window = "-" if s["window"] is None else f"{s['window']['from']} .. {s['window']['to']}"
            table.add_row(
                entry["adapter"],
                stream,
                s["watermark"] or "-",
                window,
                last,
                str(entry["failures_pending"]),
            )
    console.print(table)


def _run_dict(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "counts": run.counts,
        "requests": run.requests,
        "error": run.error,
    }


def list_failures(config: Config, adapter: str | None, as_json: bool, console: Console) -> None:
    store = SqlStateStore(config.state_url)
    try:
        failures = store.failures(adapter=adapter)
    finally:
        store.close()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": f.id,
                        "adapter": f.adapter,
                        "stream": f.stream,
                        "object": f.object,
                        "record_id": f.record_id,
                        "error_class": f.error_class,
                        "message": f.message,
                        "attempts": f.attempts,
                        "next_attempt_at": _iso(f.next_attempt_at),
                        "payload": f.payload,
                    }
                    for f in failures
                ],
                indent=2,
                default=str,
            )
        )
        return
    table = Table(
        "id",
        "adapter",
        "object",
        "record",
        "error",
        "attempts",
        "next attempt",
        title=f"{len(failures)} pending failure(s)",
    )
    for f in failures:
        table.add_row(
            str(f.id),
            f.adapter,
            f.object,
            f.record_id,
            escape(f"{f.error_class}: {f.message}"),
            str(f.attempts),
            _iso(f.next_attempt_at) or "-",
        )
    console.print(table)


def retry_failures(config: Config, adapter: str, console: Console) -> int:
    with _engine_with_progress(config, [adapter], console) as engine:
        report = engine.retry_failures(adapter)
        left = len(engine.store.failures(adapter=adapter))
    console.print(
        f"{adapter}: retried {report.counts.get('retried', 0)} record(s); "
        f"{left} failure(s) still pending."
    )
    return 0


def discard_failures(config: Config, ids: list[int], console: Console) -> int:
    store = SqlStateStore(config.state_url)
    try:
        done = store.set_failure_status(ids, "discarded", datetime.now().astimezone())
    finally:
        store.close()
    console.print(f"Discarded {done} failure(s).")
    return 0 if done == len(ids) else 1


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
