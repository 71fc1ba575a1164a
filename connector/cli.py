"""The ``revont-sync`` command line.

Configuration is read here, once, and handed down as typed objects. Errors the
user can fix become one message and a non-zero exit code, never a traceback:
configuration problems exit 2, everything else the connector raises on purpose
exits 1.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connector import __version__
from connector.errors import ConfigError, RevontSyncError
from connector.logs import configure_logging, redact
from connector.mapping import shipped_mappings
from connector.plugins import AdapterRegistry
from connector.settings import (
    DEFAULT_CONFIG_PATH,
    Config,
    describe,
    load_config,
    secret_values,
)
from connector.wiring import build_revont_client

F = TypeVar("F", bound=Callable[..., Any])
EXIT_CONFIG = 2

log = logging.getLogger("revont_sync")


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _report(exc: Exception) -> None:
    # The message is data, never markup: keys like [unauthorized] must print as written.
    _stderr().print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)


def friendly_errors(func: F) -> F:
    """Turn the connector's own errors into a message and an exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            _report(exc)
            sys.exit(EXIT_CONFIG)
        except RevontSyncError as exc:
            _report(exc)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class AppContext:
    """What the top-level options give to subcommands."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path

    def config(self) -> Config:
        config = load_config(self.config_path)
        redact(secret_values(config))  # never in a log line, whatever echoes it
        return config


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="revont-sync")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    envvar="REVONT_SYNC_CONFIG",
    help="The TOML configuration file (also REVONT_SYNC_CONFIG).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="How much to log on stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "text"]),
    default="auto",
    show_default=True,
    envvar="REVONT_SYNC_LOG_FORMAT",
    help="auto: JSON lines when stderr is not a terminal, readable lines on one.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path, log_level: str, log_format: str) -> None:
    """Keep your CRM in step with Revont calls, summaries and action items.

    Start with `revont-sync demo` (no credentials needed), then copy
    config.example.toml to revont-sync.toml and run `revont-sync config check`.
    """
    configure_logging(log_level, log_format)
    ctx.obj = AppContext(config_path)


# -- config -----------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Validate and show the configuration."""


@config_group.command("check")
@click.option(
    "--online",
    is_flag=True,
    help="Also send one request to Revont to prove the key works (costs one request).",
)
@click.pass_obj
@friendly_errors
def config_check(app: AppContext, online: bool) -> None:
    """Validate the configuration file and environment without running anything.

    Exits 0 when valid, 2 with one line per problem otherwise; with --online,
    1 when Revont refuses the key or cannot be reached.
    """
    config = app.config()
    enabled = ", ".join(config.enabled_adapters()) or "none"
    click.echo(f"{config.path}: OK (Revont at {config.revont.base_url}; adapters: {enabled})")
    if online:
        with build_revont_client(config.revont) as client:
            page = next(client.iter_call_pages(limit=1))
            quota = client.pacer.quota
        left = f"; {quota.remaining}/{quota.limit} requests left this window" if quota else ""
        click.echo(f"Revont: the key works ({len(page.items)} call listed{left})")


@config_group.command("show")
@click.pass_obj
@friendly_errors
def config_show(app: AppContext) -> None:
    """Print the effective configuration as JSON; secrets appear only as (set)/(not set)."""
    click.echo(json.dumps(describe(app.config()), indent=2))


# -- adapters and mappings ---------------------------------------------------------------


@cli.command("adapters")
def adapters_command() -> None:
    """List the installed CRM adapters (entry-point group revont_sync.adapters)."""
    registry = AdapterRegistry()
    table = Table("adapter", "provided by")
    for name in registry.names():
        table.add_row(name, registry.describe(name))
    Console().print(table)


@cli.group("mappings")
def mappings_group() -> None:
    """Work with field mappings."""


@mappings_group.command("check")
@click.option("--adapter", "adapter_name", help="The adapter whose mapping to check.")
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this file instead of the one the configuration names.",
)
@click.pass_obj
@friendly_errors
def mappings_check(app: AppContext, adapter_name: str | None, mapping_path: Path | None) -> None:
    """Load a mapping and check it: its own rules, then the CRM's fields.

    Without --mapping, the file is the adapter's `mapping` from the configuration
    (when the configuration file exists), else the shipped default. Exits 2 when
    the mapping does not load, 1 when it loads but the CRM would refuse what it
    writes, 0 when all is well.
    """
    from connector.mapping_commands import check_mapping

    sys.exit(check_mapping(app.config_path, adapter_name, mapping_path, Console()))


@cli.command("preview")
@click.option("--adapter", "adapter_name", required=True, help="The configured adapter.")
@click.option("--call", "call_ids", multiple=True, help="A Revont call id (repeatable).")
@click.option("--limit", default=5, show_default=True, help="Else: the newest N calls.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly_errors
def preview_command(
    app: AppContext, adapter_name: str, call_ids: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """Show what the adapter's mapping makes of real Revont records, writing nothing.

    The calls named with --call, or else the newest --limit calls and contacts.
    For each: the payload per CRM object, which fields were truncated, and why a
    record would be skipped or fail. Reads Revont with the configured key.
    """
    from connector.mapping_commands import preview

    preview(app.config(), adapter_name, list(call_ids), limit, as_json, Console())


@mappings_group.command("list")
def mappings_list() -> None:
    """List the default mapping files shipped with revont-sync."""
    shipped = shipped_mappings()
    if not shipped:
        raise click.ClickException("no shipped mappings found: the installation is incomplete")
    for name, path in shipped.items():
        click.echo(f"{name}\t{path}")


# -- syncing ------------------------------------------------------------------------------

STREAM_CHOICE = click.Choice(["contacts", "calls"])


def _streams(stream: str | None) -> list[str]:
    return [stream] if stream else ["contacts", "calls"]


WAIT_HELP = "When another process (the daemon) holds an adapter's lease, wait for it."


@cli.command("run")
@click.option("--adapter", "adapters", multiple=True, help="Only this adapter (repeatable).")
@click.option("--stream", type=STREAM_CHOICE, help="Only this stream.")
@click.option("--wait", is_flag=True, help=WAIT_HELP)
@click.pass_obj
@friendly_errors
def run_command(app: AppContext, adapters: tuple[str, ...], stream: str | None, wait: bool) -> None:
    """Run one incremental sync of every enabled adapter (or those named).

    Pulls what Revont created since the last run, pushes new and changed
    records, re-checks late summaries and, on its cadence, reconciles recent
    edits. Exits 1 when a run failed; its state stays at the last checkpoint.
    """
    from connector.sync_commands import run

    sys.exit(run(app.config(), list(adapters), _streams(stream), Console(), wait=wait))


@cli.command("resync")
@click.option("--adapter", required=True, help="The adapter to resync.")
@click.option("--stream", type=STREAM_CHOICE, help="Only this stream.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Records created from this date or time (UTC).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Records created up to this date or time (UTC).",
)
@click.option("--force", is_flag=True, help="Write even records whose payload is unchanged.")
@click.option("--wait", is_flag=True, help=WAIT_HELP)
@click.pass_obj
@friendly_errors
def resync_command(
    app: AppContext,
    adapter: str,
    stream: str | None,
    since: Any,
    until: Any,
    force: bool,
    wait: bool,
) -> None:
    """Map records again and push what changed, e.g. after fixing a mapping.

    Covers the records created in --since .. --until (default: everything),
    without moving the incremental watermark.
    """
    from datetime import UTC

    from connector.sync_commands import resync

    since = since.replace(tzinfo=UTC) if since else None
    until = until.replace(tzinfo=UTC) if until else None
    sys.exit(
        resync(app.config(), adapter, _streams(stream), since, until, force, Console(), wait=wait)
    )


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly_errors
def status_command(app: AppContext, as_json: bool) -> None:
    """Show per adapter and stream: watermark, window in progress, last run, failures."""
    from connector.sync_commands import status

    status(load_config(app.config_path, need_revont_key=False), as_json, Console())


@cli.group("failures")
def failures_group() -> None:
    """List, retry and discard records that could not be pushed."""


@failures_group.command("list")
@click.option("--adapter", help="Only this adapter.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly_errors
def failures_list(app: AppContext, adapter: str | None, as_json: bool) -> None:
    """List pending failures with their error, attempts and next automatic retry."""
    from connector.sync_commands import list_failures

    list_failures(load_config(app.config_path, need_revont_key=False), adapter, as_json, Console())


@failures_group.command("retry")
@click.option("--adapter", required=True, help="The adapter whose failures to retry.")
@click.pass_obj
@friendly_errors
def failures_retry(app: AppContext, adapter: str) -> None:
    """Retry the adapter's pending failures now, ignoring their backoff."""
    from connector.sync_commands import retry_failures

    sys.exit(retry_failures(app.config(), adapter, Console()))


@failures_group.command("discard")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.pass_obj
@friendly_errors
def failures_discard(app: AppContext, ids: tuple[int, ...]) -> None:
    """Stop retrying the failures with these ids (see `failures list`)."""
    from connector.sync_commands import discard_failures

    sys.exit(
        discard_failures(load_config(app.config_path, need_revont_key=False), list(ids), Console())
    )


# -- daemon ------------------------------------------------------------------------------


@cli.command("daemon")
@click.option("--adapter", "adapters", multiple=True, help="Only this adapter (repeatable).")
@click.pass_obj
@friendly_errors
def daemon_command(app: AppContext, adapters: tuple[str, ...]) -> None:
    """Run each enabled adapter's sync on its schedule until SIGTERM or Ctrl-C.

    Schedules come from [daemon] (interval_seconds or cron, per adapter under
    [daemon.adapters.NAME]); a stop finishes and checkpoints the page in flight
    within [daemon] grace_seconds. Restart the daemon to pick up schedule changes.
    """
    from connector.scheduler import Daemon

    sys.exit(Daemon(app.config(), list(adapters) or None).run())


# -- webhooks ----------------------------------------------------------------------------


@cli.group("webhooks")
def webhooks_group() -> None:
    """Register the daemon's webhook endpoint with Revont (needs a read-write key)."""


@webhooks_group.command("register")
@click.option("--url", required=True, help="The daemon's public webhook URL (https).")
@click.option(
    "--event",
    "events",
    multiple=True,
    help="An event to receive (repeatable); default: the ones the connector acts on.",
)
@click.pass_obj
@friendly_errors
def webhooks_register(app: AppContext, url: str, events: tuple[str, ...]) -> None:
    """Create a webhook and keep its signing secret where the daemon finds it."""
    import os

    from connector.webhooks import ACTED_ON

    config = app.config()
    client = build_revont_client(config.revont)
    try:
        hook = client.create_webhook(url, list(events) or sorted(ACTED_ON))
    finally:
        client.close()
    if hook.secret is None:
        raise RevontSyncError(f"Revont created webhook {hook.id} but sent no signing secret")
    path = config.webhook_secret_path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(hook.secret.get_secret_value() + "\n")
    click.echo(f"Registered webhook {hook.id} for {url} ({', '.join(hook.events)}).")
    click.echo(f"Its signing secret is in {path} (readable by you only); restart the daemon.")


@webhooks_group.command("list")
@click.pass_obj
@friendly_errors
def webhooks_list(app: AppContext) -> None:
    """The webhooks registered with Revont."""
    client = build_revont_client(app.config().revont)
    try:
        hooks = client.list_webhooks()
    finally:
        client.close()
    table = Table("id", "url", "events", "status")
    for hook in hooks:
        table.add_row(hook.id, hook.url or "", ", ".join(hook.events), hook.status or "")
    Console().print(table)


@webhooks_group.command("delete")
@click.argument("webhook_id")
@click.pass_obj
@friendly_errors
def webhooks_delete(app: AppContext, webhook_id: str) -> None:
    """Delete a webhook from Revont."""
    client = build_revont_client(app.config().revont)
    try:
        client.delete_webhook(webhook_id)
    finally:
        client.close()
    click.echo(f"Deleted webhook {webhook_id}.")


# -- setup -------------------------------------------------------------------------------


@cli.command("setup")
@click.argument("adapter")
@click.option("--check", "check_only", is_flag=True, help="Only check; change nothing.")
@click.pass_obj
@friendly_errors
def setup_command(app: AppContext, adapter: str, check_only: bool) -> None:
    """Prepare the CRM of ADAPTER for the connector (safe to run again).

    For HubSpot: creates the property group and the unique id properties
    (revont_call_id and friends) the configured mapping upserts by. A sync refuses
    to start until they exist.
    """
    from connector.setup_commands import setup_adapter

    sys.exit(setup_adapter(app.config_path, adapter, check_only, Console(highlight=False)))


# -- sandbox and demo ----------------------------------------------------------------------


@cli.group("sandbox")
def sandbox_group() -> None:
    """Run local servers that behave like the real APIs (no credentials needed)."""


@sandbox_group.command("revont")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, help="Port to listen on (0: any).")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic workspace.")
@click.option("--calls", default=1000, show_default=True, help="Calls to generate.")
@click.option("--contacts", default=200, show_default=True, help="Contacts to generate.")
@click.option(
    "--plan",
    type=click.Choice(["starter", "professional", "enterprise"]),
    default="professional",
    show_default=True,
    help="Rate-limit plan (requests per window).",
)
@click.option(
    "--rate-limit", type=int, default=None, help="Requests per window (overrides --plan)."
)
@click.option("--window", default=60.0, show_default=True, help="Rate-limit window in seconds.")
@click.option(
    "--allow-http-webhooks", is_flag=True, help="Accept http:// webhook URLs (local testing)."
)
def sandbox_revont(
    host: str,
    port: int,
    seed: int,
    calls: int,
    contacts: int,
    plan: str,
    rate_limit: int | None,
    window: float,
    allow_http_webhooks: bool,
) -> None:
    """Serve the Revont sandbox until interrupted (Ctrl-C).

    Control endpoints under /_sandbox add calls, make summaries ready, inject
    faults and report request counts; see docs/sandbox.md.
    """
    from connector.revont.sandbox import RevontSandbox

    sandbox = RevontSandbox(
        seed=seed,
        calls=calls,
        contacts=contacts,
        plan=plan,
        rate_limit=rate_limit,
        window_seconds=window,
        allow_insecure_webhooks=allow_http_webhooks,
        host=host,
        port=port,
    )
    sandbox.start()
    _serve(
        sandbox,
        f"Revont sandbox at {sandbox.api_url}",
        f"  read-only key:  {sandbox.read_key}",
        f"  read-write key: {sandbox.write_key}",
        f"  {calls} calls, {contacts} contacts, seed {seed}; "
        f"{sandbox.limiter.limit} requests per {window:g} s",
    )


def _serve(sandbox: Any, *lines: str) -> None:
    """Print how to reach a started sandbox, then serve until Ctrl-C."""
    for line in lines:
        click.echo(line)
    click.echo("Press Ctrl-C to stop.")
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


@sandbox_group.command("hubspot")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8766, show_default=True, help="Port to listen on (0: any).")
@click.option("--token", default="sandbox-token", show_default=True, help="The bearer token.")
@click.option(
    "--ten-second-limit",
    default=190,
    show_default=True,
    help="Requests per rolling window (100 Starter, 190 Professional, 250 add-on).",
)
@click.option("--interval-ms", default=10_000, show_default=True, help="The window's length.")
@click.option("--daily-limit", default=1_000_000, show_default=True, help="Requests per day.")
@click.option("--seed", default=0, show_default=True, help="Seed of ids and result order.")
def sandbox_hubspot(
    host: str,
    port: int,
    token: str,
    ten_second_limit: int,
    interval_ms: int,
    daily_limit: int,
    seed: int,
) -> None:
    """Serve the HubSpot sandbox until interrupted (Ctrl-C).

    Point the adapter at it with base_url = the printed address and
    HUBSPOT_ACCESS_TOKEN = the token; then `revont-sync setup hubspot`. Control
    endpoints under /_sandbox list records, add owners and inject faults; see
    docs/sandbox.md.
    """
    from adapters.hubspot.sandbox import HubSpotSandbox

    sandbox = HubSpotSandbox(
        token=token,
        ten_second_limit=ten_second_limit,
        interval_ms=interval_ms,
        daily_limit=daily_limit,
        seed=seed,
        host=host,
        port=port,
    )
    sandbox.start()
    _serve(
        sandbox,
        f"HubSpot sandbox at {sandbox.url}",
        f"  token: {token}",
        f"  {ten_second_limit} requests per {interval_ms / 1000:g} s, {daily_limit:,} per day",
    )


@sandbox_group.command("salesforce")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8767, show_default=True, help="Port to listen on (0: any).")
@click.option("--daily-limit", default=15_000, show_default=True, help="API calls per 24 h.")
@click.option(
    "--without-custom-fields",
    is_flag=True,
    help="Start without the connector's external-id fields (to try `setup salesforce`).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of ids.")
def sandbox_salesforce(
    host: str, port: int, daily_limit: int, without_custom_fields: bool, seed: int
) -> None:
    """Serve the Salesforce sandbox until interrupted (Ctrl-C).

    Point the adapter at it with auth = "access_token", instance_url and
    SALESFORCE_ACCESS_TOKEN as printed, and sandbox_url = the printed address
    (JWT, client-credentials and password logins work too; see docs/sandbox.md).
    """
    from adapters.salesforce.sandbox import SalesforceSandbox

    sandbox = SalesforceSandbox(
        daily_limit=daily_limit,
        with_custom_fields=not without_custom_fields,
        seed=seed,
        host=host,
        port=port,
    )
    sandbox.start()
    _serve(
        sandbox,
        f"Salesforce sandbox at {sandbox.url} (sandbox_url)",
        f"  instance_url: {sandbox.instance_url}",
        f"  access token: {sandbox.access_token}",
        f"  {daily_limit:,} API calls per 24 h; custom fields "
        + ("absent" if without_custom_fields else "present"),
    )


@cli.command("demo")
@click.option("--calls", default=300, show_default=True, help="Calls in the sandbox workspace.")
@click.option("--contacts", default=80, show_default=True, help="Contacts in the sandbox.")
@click.option(
    "--rate-limit", default=600, show_default=True, help="Sandbox requests per 10-second window."
)
@friendly_errors
def demo_command(calls: int, contacts: int, rate_limit: int) -> None:
    """Try the whole sync with nothing to set up: the Revont, HubSpot and Salesforce
    sandboxes on loopback, the shipped mappings, both CRM adapters over HTTP, a first
    and an incremental run into both CRMs at once.

    No credentials, nothing external; it takes a few seconds.
    """
    from connector.demo import run_demo

    run_demo(calls=calls, contacts=contacts, rate_limit=rate_limit)


def main() -> None:
    cli(prog_name="revont-sync")


if __name__ == "__main__":  # pragma: no cover
    main()
