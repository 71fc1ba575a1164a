"""Logging: JSON lines for machines, readable lines for people, a run id on every line.

``configure_logging`` sets up the root logger once, at the CLI's edge:

- format ``auto`` (the default) writes JSON objects, one per line, when stderr is not
  a terminal (a container, systemd, a pipe) and human-readable lines on a terminal;
  ``json`` and ``text`` force one;
- every line carries the adapter and run id of the run it belongs to, when it belongs
  to one (the engine sets them with :func:`log_context`);
- secrets never reach a line: the values of the configuration's secrets (API keys,
  tokens, passwords) are replaced by ``[redacted]`` wherever they would appear, on top
  of the clients' own scrubbing.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_RUN: ContextVar[tuple[str, int] | None] = ContextVar("revont_sync_run", default=None)
_SECRETS: list[str] = []


@contextmanager
def log_context(adapter: str, run_id: int) -> Iterator[None]:
    """Lines logged inside carry ``adapter`` and ``run_id``."""
    token = _RUN.set((adapter, run_id))
    try:
        yield
    finally:
        _RUN.reset(token)


class _RunFilter(logging.Filter):
    """Adds the current run to every record, and redacts secrets from its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _RUN.get()
        record.adapter, record.run_id = current if current else (None, None)
        if _SECRETS:
            message = record.getMessage()
            redacted = message
            for secret in _SECRETS:
                redacted = redacted.replace(secret, "[redacted]")
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, adapter, run_id, error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "run_id", None) is not None:
            line["adapter"] = record.adapter  # type: ignore[attr-defined]
            line["run_id"] = record.run_id  # type: ignore[attr-defined]
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger [adapter run N]: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(run)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        run_id = getattr(record, "run_id", None)
        record.run = f" [{record.adapter} run {run_id}]" if run_id is not None else ""  # type: ignore[attr-defined]
        return super().format(record)


def configure_logging(level: str, fmt: str = "auto") -> None:
    """Set up the root logger (see the module docstring). ``fmt``: auto, json or text."""
    handler = logging.StreamHandler(sys.stderr)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(_RunFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.upper() != "DEBUG":
        # Schema migrations report each step at INFO; only problems are worth a line.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def redact(secrets: Iterable[str]) -> None:
    """Never log these values (the configuration's secrets, once it is loaded)."""
    for secret in secrets:
        if secret and len(secret) >= 6 and secret not in _SECRETS:
            _SECRETS.append(secret)
