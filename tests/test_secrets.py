"""The API key never reaches a log line, an exception text or the CLI's output."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback

import pytest

from connector.errors import RevontSyncError
from connector.sandbox import FaultRule

KEY = "rvt_live_4f9c2e7b1d8a6053_do_not_leak"


def every_text(exc: BaseException) -> str:
    """str, repr and the full formatted traceback of an exception and its causes."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        parts += [str(cause), repr(cause)]
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


def test_a_failing_run_never_shows_the_key(make_sandbox, make_client, caplog):
    """Every failure path with DEBUG logging on (urllib3 included): the key appears nowhere.

    The server even echoes the key in an error message, as a misbehaving proxy
    might; the client must scrub it before raising or logging.
    """
    sandbox = make_sandbox(keys={KEY: "read", "rvt_rw": "read_write"}, window_seconds=1)
    caplog.set_level(logging.DEBUG)
    client = make_client(sandbox, key=KEY, max_attempts=3, read_timeout=0.3)
    texts: list[str] = []
    scenarios = [
        FaultRule(kind="status", status=500, count=None, message=f"upstream said: Bearer {KEY}"),
        FaultRule(kind="status", status=401, count=None, message=f"key {KEY} revoked"),
        FaultRule(kind="drop", count=None),
        FaultRule(kind="latency", seconds=0.6, count=None),
        FaultRule(kind="malformed_json", count=None),
        FaultRule(kind="rate_limit", count=None),
    ]
    for rule in scenarios:
        sandbox.faults.clear()
        sandbox.inject(rule)
        with pytest.raises(RevontSyncError) as info:
            for _ in client.iter_call_pages():
                pass
        texts.append(every_text(info.value))
    with pytest.raises(RevontSyncError) as info:
        make_client(sandbox, key=KEY).create_webhook("https://x.example/h", ["call.ended"])
    texts.append(every_text(info.value))

    assert "upstream said: Bearer [redacted]" in "\n".join(texts)
    logged = caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records)
    assert logged, "expected the failing run to log"
    assert KEY not in logged
    for text in texts:
        assert KEY not in text


def test_cli_failure_output_never_shows_the_key(make_sandbox, tmp_path):
    """`config check --online` in a real process, refused by the server: no key in output."""
    sandbox = make_sandbox(keys={"rvt_other": "read"})
    config = tmp_path / "revont-sync.toml"
    config.write_text(f'[revont]\nbase_url = "{sandbox.api_url}"\nmax_attempts = 1\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVONT")}
    env["REVONT_API_KEY"] = KEY
    proc = subprocess.run(
        [sys.executable, "-m", "connector.cli", "--log-level", "DEBUG", "--config", str(config),
         "config", "check", "--online"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 1
    assert "HTTP 401" in proc.stderr and "[unauthorized]" in proc.stderr
    assert "REVONT_API_KEY" in proc.stderr
    assert KEY not in proc.stdout + proc.stderr


def test_config_check_online_succeeds_with_a_good_key(make_sandbox, tmp_path):
    sandbox = make_sandbox()
    config = tmp_path / "revont-sync.toml"
    config.write_text(f'[revont]\nbase_url = "{sandbox.api_url}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVONT")}
    env["REVONT_API_KEY"] = sandbox.read_key
    proc = subprocess.run(
        [sys.executable, "-m", "connector.cli", "--config", str(config), "config", "check",
         "--online"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "the key works" in proc.stdout
