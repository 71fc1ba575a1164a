"""The README stays true: its commands are the ones CI runs, and it names every command."""

from __future__ import annotations

import re
from pathlib import Path

from connector.cli import cli
from tests.test_cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_quick_start_has_the_two_commands():
    main_job, tests = quick_start_commands()
    assert main_job.startswith("python3 -m venv .venv") and main_job.endswith("revont-sync demo")
    assert tests.startswith("python3 -m venv .venv") and tests.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert quick_start_commands()[1] in ci


def test_readme_names_every_command():
    leaves = [" ".join(path) for path in COMMANDS
              if not hasattr(_command(path), "commands")]
    for name in leaves:
        assert re.search(rf"revont-sync {re.escape(name)}\b", README), f"README lacks {name}"


def _command(path):
    command = cli
    for name in path:
        command = command.commands[name]
    return command
