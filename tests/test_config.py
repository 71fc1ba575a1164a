"""Configuration: every class of mistake gets one clear message and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.errors import ConfigError
from connector.settings import load_config

ROOT = Path(__file__).resolve().parent.parent
GOOD = """
[revont]
base_url = "http://127.0.0.1:9/v1"

[adapters.hubspot]
base_url = "http://127.0.0.1:9"
"""
ENV = {"REVONT_API_KEY": "rvt_secret_test_key", "HUBSPOT_ACCESS_TOKEN": "pat-secret"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "revont-sync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `revont-sync --config PATH config check` in-process; return (exit code, output)."""
    runner = CliRunner()
    env = {**ENV, **(env or {})} if env is not None else dict(ENV)
    clean = {k: None for k in os.environ if k.startswith(("REVONT", "HUBSPOT", "SALESFORCE"))}
    result = runner.invoke(cli, ["--config", str(path), "config", "check"], env={**clean, **env})
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.output


def test_a_good_config_passes(tmp_path):
    code, out = check(write(tmp_path, GOOD))
    assert code == 0, out
    assert "OK" in out and "hubspot" in out


def test_the_example_config_is_valid_and_complete(tmp_path):
    """config.example.toml validates, and documents every key the models accept."""
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    path = write(tmp_path, example)
    env = {**ENV, "SALESFORCE_USERNAME": "u@example.com", "SALESFORCE_CONSUMER_KEY": "ck",
           "SALESFORCE_PRIVATE_KEY": "pk"}
    config = load_config(path, environ=env)
    from connector.settings import RevontSettings, StateSettings, SyncSettings

    for model, table in [(RevontSettings, "revont"), (StateSettings, "state"),
                         (SyncSettings, "sync"),
                         (type(config.adapters["hubspot"]), "adapters.hubspot"),
                         (type(config.adapters["salesforce"]), "adapters.salesforce")]:
        for key in model.model_fields:
            assert f"{key} =" in example or f"# {key} =" in example, f"{table}.{key} undocumented"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('[revont]\nbase_ur = "http://x"\n', {},
         ["revont.base_ur", "unknown key", "did you mean 'base_url'"]),
        ('[revont]\npage_size = "many"\n', {}, ["revont.page_size", "valid integer", "'many'"]),
        ('[revont]\npage_size = 500\n', {}, ["revont.page_size", "less than or equal to 100"]),
        ('[revont]\nbase_url = "ftp://x"\n', {}, ["revont.base_url", "http:// or https://"]),
        ("[revont]\n", {"REVONT_API_KEY": ""}, ["revont.api_key", "set REVONT_API_KEY"]),
        ("[adapters.hubspot]\n", {"HUBSPOT_ACCESS_TOKEN": ""},
         ["adapters.hubspot.access_token", "HUBSPOT_ACCESS_TOKEN"]),
        ('[adapters.salesforce]\nauth = "jwt"\n', {},
         ["adapters.salesforce.auth", "SALESFORCE_USERNAME", "SALESFORCE_PRIVATE_KEY"]),
        ('[revont]\napi_key = "rvt_inline"\n', {},
         ["revont.api_key", "secrets do not belong in the config file", "REVONT_API_KEY"]),
        ("[adapters.pipedrive]\n", {}, ["adapters.pipedrive", "no adapter named 'pipedrive'"]),
        ('[revont]\napi_key_file = "missing.txt"\n', {"REVONT_API_KEY": ""},
         ["revont.api_key_file", "cannot read the secret file"]),
        ('[adapters.hubspot]\nmapping = "nope.toml"\n', {},
         ["adapters.hubspot.mapping", "no mapping file"]),
        ("[revont]\n", {"REVONT_SYNC_REVONT__MAX_ATTEMPTS": "lots"},
         ["revont.max_attempts", "valid integer"]),
        ("[surprise]\n", {}, ["surprise", "unknown key"]),
    ],
)
def test_each_bad_configuration_names_file_key_and_expectation(tmp_path, text, env, expected):
    path = write(tmp_path, text)
    code, out = check(path, env)
    assert code == 2, out
    assert str(path) in out
    for fragment in expected:
        assert fragment in out, f"{fragment!r} not in {out!r}"
    assert "Traceback" not in out


def test_invalid_toml_gives_line_and_column(tmp_path):
    path = write(tmp_path, "[revont]\nbase_url = http://nope\n")
    code, out = check(path)
    assert code == 2
    assert "invalid TOML" in out and "line 2" in out and str(path) in out


def test_missing_and_unreadable_files(tmp_path):
    code, out = check(tmp_path / "absent.toml")
    assert code == 2 and "does not exist" in out and "config.example.toml" in out
    assert str(tmp_path / "absent.toml") in out
    # Tests run as root here, so a permission-denied file cannot be made; a
    # directory in the file's place fails the same way (an OSError on open).
    code, out = check(tmp_path)
    assert code == 2 and "cannot read the file" in out and str(tmp_path) in out
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    code, out = check(binary)
    assert code == 2 and "invalid TOML" in out


def test_secret_files_and_environment_overrides(tmp_path):
    (tmp_path / "key.txt").write_text("rvt_from_file\n", encoding="utf-8")
    path = write(tmp_path, '[revont]\napi_key_file = "key.txt"\npage_size = 40\n')
    config = load_config(path, environ={})
    assert config.revont.api_key is not None
    assert config.revont.api_key.get_secret_value() == "rvt_from_file"
    assert config.revont.page_size == 40
    config = load_config(path, environ={"REVONT_SYNC_REVONT__PAGE_SIZE": "25"})
    assert config.revont.page_size == 25
    assert config.state_url == f"sqlite:///{tmp_path / 'revont-sync.db'}"


def test_precedence_is_as_documented(tmp_path):
    """REVONT_SYNC_* beats the named variables, which beat the file, which beats defaults."""
    path = write(tmp_path, '[adapters.salesforce]\nauth = "access_token"\n'
                           'instance_url = "https://file.example"\n')
    env = {**ENV, "SALESFORCE_ACCESS_TOKEN": "t"}
    assert load_config(path, environ=env).adapters["salesforce"].instance_url == (
        "https://file.example"
    )
    env["SALESFORCE_INSTANCE_URL"] = "https://named.example"
    assert load_config(path, environ=env).adapters["salesforce"].instance_url == (
        "https://named.example"
    )
    env["REVONT_SYNC_ADAPTERS__SALESFORCE__INSTANCE_URL"] = "https://prefixed.example"
    assert load_config(path, environ=env).adapters["salesforce"].instance_url == (
        "https://prefixed.example"
    )


def test_a_bad_value_from_the_environment_names_the_variable(tmp_path):
    code, out = check(write(tmp_path, "[revont]\n"), {"REVONT_SYNC_REVONT__BOGUS": "1"})
    assert code == 2
    assert "revont.bogus: unknown key" in out and "REVONT_SYNC_REVONT__BOGUS" in out


def test_disabled_adapters_do_not_need_their_secrets(tmp_path):
    path = write(tmp_path, '[adapters.hubspot]\nenabled = false\naccess_token_file = "nope"\n')
    config = load_config(path, environ={"REVONT_API_KEY": "k"})
    assert config.enabled_adapters() == {}


def test_a_secret_file_that_is_not_text(tmp_path):
    (tmp_path / "key.bin").write_bytes(b"\xff\xfe\x00")
    code, out = check(write(tmp_path, '[revont]\napi_key_file = "key.bin"\n'),
                      {"REVONT_API_KEY": ""})
    assert code == 2
    assert "revont.api_key_file: the secret file" in out and "not UTF-8" in out


def test_odd_shapes_and_markup_do_not_crash(tmp_path):
    for text, key in [("adapters = 5\n", "adapters"), ("revont = 5\n", "revont"),
                      ('[revont]\npage_size = "[/]"\n', "revont.page_size"),
                      ("[adapters]\nhubspot = 3\n", "adapters.hubspot")]:
        path = write(tmp_path, text)
        code, out = check(path)
        assert code == 2, (text, out)
        assert key in out and str(path) in out and "Traceback" not in out


def test_all_problems_are_reported_at_once(tmp_path):
    path = write(tmp_path, '[revont]\npage_size = 0\nbogus = 1\n[adapters.nope]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=ENV)
    keys = {p.key for p in info.value.problems}
    assert {"revont.page_size", "revont.bogus", "adapters.nope"} <= keys


def test_config_show_never_prints_secrets(tmp_path):
    path = write(tmp_path, GOOD + '[state]\nurl = "postgresql://sync:hunter2@db.internal/revont"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "show"], env=ENV)
    assert result.exit_code == 0, result.output
    assert '"api_key": "(set)"' in result.output
    assert "postgresql://sync:***@db.internal/revont" in result.output
    for secret in [*ENV.values(), "hunter2"]:
        assert secret not in result.output


def test_bad_config_in_a_real_process_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, '[revont]\npage_size = "x"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVONT")}
    env["REVONT_API_KEY"] = "rvt_secret_test_key"
    proc = subprocess.run(
        [sys.executable, "-m", "connector.cli", "--config", str(path), "config", "check"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 2
    assert "revont.page_size" in proc.stderr and str(path) in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "rvt_secret_test_key" not in proc.stderr + proc.stdout


def test_unrelated_and_mistyped_prefixed_variables(tmp_path):
    """REVONT_SYNC_TEST_POSTGRES_URL is not an override; REVONT_SYNC_REVONT_PAGE_SIZE is a typo."""
    path = write(tmp_path, "[revont]\n")
    config = load_config(path, environ={**ENV, "REVONT_SYNC_TEST_POSTGRES_URL": "postgresql://x"})
    assert config.revont.page_size == 100
    code, out = check(path, {"REVONT_SYNC_REVONT_PAGE_SIZE": "5"})
    assert code == 2 and "REVONT_SYNC_REVONT__PAGE_SIZE" in out
