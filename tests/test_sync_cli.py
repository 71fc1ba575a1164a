"""`run`, `resync`, `status` and `failures` from the command line, into the memory adapter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from adapters.memory import MemoryAdapter, MemoryConfig
from connector.cli import cli

MAPPING = """
version = 1
[objects.contact]
source = "contacts"
external_id = "revont_contact_id"
[objects.contact.fields]
email = { path = "email", transforms = ["email"] }
[objects.call]
source = "calls"
external_id = "revont_call_id"
[objects.call.fields]
outcome = "outcome"
"""


def setup(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=80, contacts=20, anchor=datetime.now(UTC))
    (tmp_path / "mapping.toml").write_text(MAPPING)
    config = tmp_path / "revont-sync.toml"
    config.write_text(
        f'[revont]\nbase_url = "{sandbox.api_url}"\n'
        '[adapters.memory]\nmapping = "mapping.toml"\npath = "crm.db"\n'
    )
    env = {"REVONT_API_KEY": sandbox.read_key, "COLUMNS": "250"}

    def run(*args):
        return CliRunner().invoke(cli, ["--config", str(config), *args], env=env)

    return sandbox, run, tmp_path / "crm.db"


def crm_records(path):
    crm = MemoryAdapter(MemoryConfig(path=path))
    try:
        return crm.records()
    finally:
        crm.close()


def test_run_status_and_an_idempotent_second_run(make_sandbox, tmp_path):
    sandbox, run, crm_db = setup(make_sandbox, tmp_path)
    result = run("run")
    assert result.exit_code == 0, result.output
    assert "What the run did" in result.output
    records = crm_records(crm_db)
    contacts = [r for r in records if r.crm_object == "contact"]
    assert len(contacts) == len(sandbox.workspace.contacts.by_id)
    assert len(records) - len(contacts) == len(sandbox.workspace.calls.by_id)
    assert (tmp_path / "revont-sync.db").stat().st_mode & 0o777 == 0o600

    result = run("run")
    assert result.exit_code == 0
    assert len(crm_records(crm_db)) == len(records)

    result = run("status", "--json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)
    assert entry["adapter"] == "memory" and entry["last_run"]["status"] == "succeeded"
    assert entry["streams"]["calls"]["watermark"] and entry["streams"]["calls"]["window"] is None
    result = run("status")
    assert result.exit_code == 0 and "memory" in result.output


def test_failures_list_retry_discard_and_resync(make_sandbox, tmp_path):
    sandbox, run, crm_db = setup(make_sandbox, tmp_path)
    bad = sandbox.add_contact(email="not-an-email")
    other = sandbox.add_contact(email="also bad")
    assert run("run").exit_code == 0
    result = run("failures", "list", "--json")
    failures = json.loads(result.output)
    assert {f["record_id"] for f in failures} == {bad["id"], other["id"]}
    assert all(f["error_class"] == "MappingError" for f in failures)
    result = run("failures", "retry", "--adapter", "memory")
    assert result.exit_code == 0 and "2 failure(s) still pending" in result.output
    first = min(f["id"] for f in failures)
    result = run("failures", "discard", str(first))
    assert result.exit_code == 0 and "Discarded 1" in result.output
    assert len(json.loads(run("failures", "list", "--json").output)) == 1
    result = run("resync", "--adapter", "memory", "--stream", "calls", "--force")
    assert result.exit_code == 0, result.output
    assert "What the run did" in result.output


def test_an_adapter_that_cannot_write_yet_is_refused_clearly(make_sandbox, tmp_path, monkeypatch):
    """A third-party adapter that only reports its fields (no upsert) is refused, exit 2."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins" / "site"))
    sandbox, run, crm_db = setup(make_sandbox, tmp_path)
    config = tmp_path / "revont-sync.toml"
    config.write_text(config.read_text() + '[adapters.testcrm]\nmapping = "mapping.toml"\n')
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "run", "--adapter", "testcrm"],
        env={"REVONT_API_KEY": sandbox.read_key},
    )
    assert result.exit_code == 2, result.output
    assert "the testcrm adapter cannot write to its CRM yet" in result.output


def test_a_hubspot_portal_without_the_id_properties_is_refused_until_setup(make_sandbox, tmp_path):
    from adapters.hubspot.sandbox import HubSpotSandbox

    sandbox, run, crm_db = setup(make_sandbox, tmp_path)
    config = tmp_path / "revont-sync.toml"
    with HubSpotSandbox() as hs:
        config.write_text(
            f'[revont]\nbase_url = "{sandbox.api_url}"\n[adapters.hubspot]\nbase_url = "{hs.url}"\n'
        )
        env = {
            "REVONT_API_KEY": sandbox.read_key,
            "HUBSPOT_ACCESS_TOKEN": hs.token,
            "COLUMNS": "250",
        }

        def cli_run(*args):
            return CliRunner().invoke(cli, ["--config", str(config), *args], env=env)

        refused = cli_run("run")
        assert refused.exit_code == 2, refused.output
        assert "not set up" in refused.output and "revont-sync setup hubspot" in refused.output
        assert hs.portal.records("calls") == []
        assert cli_run("setup", "hubspot", "--check").exit_code == 2
        done = cli_run("setup", "hubspot")
        assert done.exit_code == 0, done.output
        assert "created" in done.output and "revont_call_id" in done.output
        again = cli_run("setup", "hubspot")
        assert again.exit_code == 0 and "0 created" in again.output
        assert cli_run("setup", "hubspot", "--check").exit_code == 0
        # The shipped mapping fits the portal's properties (names, options, lengths).
        checked = cli_run("mappings", "check", "--adapter", "hubspot")
        assert checked.exit_code == 0, checked.output
        assert "Checked against the hubspot fields: no problems." in checked.output
        ran = cli_run("run")
        assert ran.exit_code == 0, ran.output
        assert hs.portal.records("calls")


def test_run_and_resync_fail_fast_or_wait_while_another_process_holds_the_lease(
    make_sandbox, tmp_path
):
    from datetime import timedelta

    from connector.state import SqlStateStore

    sandbox, run, crm_db = setup(make_sandbox, tmp_path)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'revont-sync.db'}")
    held = dict(now=datetime.now(UTC), ttl=timedelta(seconds=3))
    assert store.acquire_lease("sync:memory", "daemon-host:4242", **held) is None
    refused = run("run")
    assert refused.exit_code == 1
    assert "daemon-host:4242" in refused.output  # who holds it
    assert run("resync", "--adapter", "memory").exit_code == 1
    waited = run("run", "--wait")  # the lease expires after 3 s; then it runs
    assert waited.exit_code == 0, waited.output
    assert "waiting" in waited.output and crm_records(crm_db)
    store.close()
