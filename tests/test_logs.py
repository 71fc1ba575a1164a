"""Log lines: JSON off a terminal, a run id on every line of a run, never a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from tests.test_sync_cli import MAPPING


def run_cli(sandbox, tmp_path, *args):
    (tmp_path / "mapping.toml").write_text(MAPPING)
    config = tmp_path / "revont-sync.toml"
    config.write_text(
        f'[revont]\nbase_url = "{sandbox.api_url}"\n'
        '[adapters.memory]\nmapping = "mapping.toml"\npath = "crm.db"\n'
    )
    env = {**os.environ, "REVONT_API_KEY": sandbox.read_key}
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", "--config", str(config), *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_off_a_terminal_every_line_is_json_with_its_run(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=120, contacts=10, anchor=datetime.now(UTC))
    result = run_cli(sandbox, tmp_path, "run")  # stderr is a pipe: auto means JSON
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    pages = [line for line in lines if "records pushed in this page" in line["message"]]
    assert pages and all(line["adapter"] == "memory" and line["run_id"] for line in pages)
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert sandbox.read_key not in result.stderr


def test_text_lines_name_the_run_and_secrets_are_redacted(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=30, contacts=5, anchor=datetime.now(UTC))
    # A server that echoes the key in its error message: the line says [redacted].
    from connector.sandbox import FaultRule

    sandbox.inject(
        FaultRule(kind="status", status=400, path="/contacts", count=None,
                  message=f"bad request for key {sandbox.read_key}")
    )  # fmt: skip
    result = run_cli(sandbox, tmp_path, "--log-format", "text", "run")
    assert result.returncode == 1
    assert sandbox.read_key not in result.stderr + result.stdout
    (tmp_path / "again").mkdir()
    again = make_sandbox(calls=30, contacts=5)
    ok = run_cli(again, tmp_path / "again", "--log-format", "text", "run")
    assert "[memory run 1]" in ok.stderr, ok.stderr
