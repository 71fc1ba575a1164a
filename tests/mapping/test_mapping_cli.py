"""`mappings check` and `preview` from the command line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli

PLUGIN_SITE = Path(__file__).resolve().parent.parent / "plugins" / "site"


def run(*args: str, env: dict[str, str] | None = None):
    # A wide terminal, so rich does not wrap the lines the tests look for.
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "250", **(env or {})})


def test_check_a_shipped_mapping_without_any_configuration(tmp_path):
    result = run("--config", str(tmp_path / "absent.toml"), "mappings", "check",
                 "--adapter", "salesforce")
    assert result.exit_code == 0, result.output
    assert "salesforce.toml: loads" in result.output and "CallTask <- calls" in result.output


@pytest.mark.parametrize("adapter", ["hubspot", "salesforce"])
def test_the_shipped_mappings_fit_a_standard_account(tmp_path, adapter):
    """Without configuration, the check runs against the adapter's sandbox (a standard
    account set up for the connector): the shipped mappings fit it."""
    result = run("--config", str(tmp_path / "absent.toml"), "mappings", "check",
                 "--adapter", adapter)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert f"No [adapters.{adapter}] configured" in out
    assert f"Checked against the {adapter} fields: no problems." in out


def test_a_broken_mapping_exits_2_with_key_and_line(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(textwrap.dedent("""
        version = 1
        [objects.call]
        source = "calls"
        external_id = "x"
        [objects.call.fields]
        body = { template = "{{ summary.__class__ }}" }
    """))
    result = run("mappings", "check", "--mapping", str(path))
    assert result.exit_code == 2
    assert str(path) in result.output
    assert "objects.call.fields.body.template (line 7)" in result.output
    assert "Python internal" in result.output


def test_check_against_the_crm_fields_of_a_plugin_adapter(tmp_path, monkeypatch):
    """A third-party adapter reports its fields; the check lists what the CRM would refuse."""
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    mapping = tmp_path / "testcrm.toml"
    mapping.write_text(textwrap.dedent("""
        version = 1
        [maps.status]
        completed = "Done"
        default = "Open"
        [objects.call]
        source = "calls"
        crm_object = "Call"
        external_id = "ext_id"
        [objects.call.fields]
        Subject = { template = "Call with {{ prospect_email }}" }
        Status = { path = "outcome", transforms = [{ map = "status" }] }
        Note = { path = "summary.text", transforms = [{ truncate = 500 }] }
        Colour = { value = "red" }
    """))
    result = run("mappings", "check", "--adapter", "testcrm", "--mapping", str(mapping))
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "Subject holds 80 characters but the mapping can produce any length" in out
    assert "Status allows Done; the mapping can produce Open" in out
    assert "Call has no field 'Colour'" in out
    assert "Call requires 'Must'" in out
    assert "Note holds" not in out  # truncated to 500 and the field has no limit: fine


def test_preview_real_calls_as_table_and_json(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=30)
    config = tmp_path / "revont-sync.toml"
    config.write_text(f'[revont]\nbase_url = "{sandbox.api_url}"\n[adapters.hubspot]\n')
    env = {"REVONT_API_KEY": sandbox.read_key, "HUBSPOT_ACCESS_TOKEN": "pat"}
    short = sandbox.add_call(duration_seconds=3)
    result = run("--config", str(config), "preview", "--adapter", "hubspot", "--limit", "3",
                 env=env)
    assert result.exit_code == 0, result.output
    assert "hs_timestamp" in result.output and "nothing was written" in result.output
    result = run("--config", str(config), "preview", "--adapter", "hubspot", "--call",
                 short["id"], "--json", env=env)
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)
    assert entry["record_id"] == short["id"]
    call = next(o for o in entry["outcomes"] if o["object"] == "call")
    assert call["status"] == "skipped" and "duration_seconds" in call["reason"]
    # Previewing writes nothing; contacts are previewed with --limit, not with --call.
    assert sandbox.requests.count("GET /contacts") == 1
    assert sandbox.requests.count(route="POST /webhooks") == 0


def test_preview_needs_the_adapter_configured(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=5)
    config = tmp_path / "revont-sync.toml"
    config.write_text(f'[revont]\nbase_url = "{sandbox.api_url}"\n')
    result = run("--config", str(config), "preview", "--adapter", "hubspot",
                 env={"REVONT_API_KEY": sandbox.read_key})
    assert result.exit_code == 2 and "adapters.hubspot: not configured" in result.output


@pytest.mark.parametrize("name", ["hubspot", "salesforce"])
def test_preview_needs_no_detail_requests_when_the_mapping_reads_none(make_sandbox, tmp_path,
                                                                       name):
    sandbox = make_sandbox(calls=10)
    lean = tmp_path / "lean.toml"
    lean.write_text('version = 1\n[objects.c]\nsource = "calls"\nexternal_id = "x"\n'
                    '[objects.c.fields]\nwhen_ = "created_at"\n')
    config = tmp_path / "revont-sync.toml"
    token = {"hubspot": "HUBSPOT_ACCESS_TOKEN", "salesforce": "SALESFORCE_ACCESS_TOKEN"}[name]
    extra = 'auth = "access_token"\ninstance_url = "https://x.example"\n' if name == (
        "salesforce") else ""
    config.write_text(f'[revont]\nbase_url = "{sandbox.api_url}"\n[adapters.{name}]\n'
                      f'mapping = "lean.toml"\n{extra}')
    result = run("--config", str(config), "preview", "--adapter", name, "--limit", "4",
                 env={"REVONT_API_KEY": sandbox.read_key, token: "t"})
    assert result.exit_code == 0, result.output
    assert sandbox.requests.count("GET /calls/{id}") == 0
    assert "previewed with 1 Revont request(s)" in " ".join(result.output.split())
