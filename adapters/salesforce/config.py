"""The ``[adapters.salesforce]`` table."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator

from adapters.base import AdapterConfig, FieldProblem

AUTH_MODES = ("jwt", "client_credentials", "access_token", "password")


class SalesforceConfig(AdapterConfig):
    """Salesforce connection settings; credentials come from ``SALESFORCE_*`` variables.

    ``auth`` picks how to log in:

    * ``jwt`` (recommended): OAuth JWT bearer with ``username``, ``consumer_key``
      and ``private_key`` (``SALESFORCE_PRIVATE_KEY`` or ``private_key_file``);
    * ``client_credentials``: ``consumer_key`` and ``consumer_secret`` against
      your My Domain (``domain``);
    * ``access_token``: a session id with ``instance_url``; never re-logs in;
    * ``password``: username, password and security token; deprecated by
      Salesforce and warned about.
    """

    env_vars: ClassVar[dict[str, str]] = {
        "username": "SALESFORCE_USERNAME",
        "domain": "SALESFORCE_DOMAIN",
        "instance_url": "SALESFORCE_INSTANCE_URL",
        "consumer_key": "SALESFORCE_CONSUMER_KEY",
        "consumer_secret": "SALESFORCE_CONSUMER_SECRET",
        "private_key": "SALESFORCE_PRIVATE_KEY",
        "access_token": "SALESFORCE_ACCESS_TOKEN",
        "password": "SALESFORCE_PASSWORD",
        "security_token": "SALESFORCE_SECURITY_TOKEN",
    }

    auth: Literal["jwt", "client_credentials", "access_token", "password"] = "jwt"
    #: Org URL; also how to point the adapter at the Salesforce sandbox.
    instance_url: str | None = None
    #: ``login``, ``test`` or your My Domain (``acme.my``).
    domain: str = "login"
    api_version: str = "62.0"
    username: str | None = None
    consumer_key: SecretStr | None = None
    consumer_key_file: Path | None = None
    consumer_secret: SecretStr | None = None
    consumer_secret_file: Path | None = None
    private_key: SecretStr | None = None
    private_key_file: Path | None = None
    access_token: SecretStr | None = None
    access_token_file: Path | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    security_token: SecretStr | None = None
    security_token_file: Path | None = None
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    #: Send every request (login included) to this local address instead: the Salesforce
    #: sandbox (``http://127.0.0.1:PORT``, loopback only). Unset for a real org.
    sandbox_url: str | None = Field(
        default=None, pattern=r"^http://(127\.0\.0\.1|localhost)(:\d+)?/?$"
    )
    #: Attempts per request on 502/503/504 and dropped connections (only requests that are
    #: safe to repeat are repeated) and on UNABLE_TO_LOCK_ROW.
    max_attempts: int = Field(default=3, ge=1, le=10)
    #: Fraction of the org's daily API allowance left to its other integrations: the sync
    #: stops cleanly (and resumes next run) when only this much is left.
    daily_reserve: float = Field(default=0.2, ge=0.0, lt=1.0)
    #: Rows of one object in one write from which Bulk API 2.0 is used instead of sObject
    #: Collections (about 6 API calls per job whatever its size, but minutes of latency);
    #: 0 never uses Bulk.
    bulk_threshold: int = Field(default=2000, ge=0)
    #: Seconds between checks of a Bulk job's state (each check is an API call).
    bulk_poll_seconds: float = Field(default=5.0, gt=0)
    #: A call whose prospect is neither a Contact nor a Lead: create a "lead" (Company
    #: from the email's domain), create a "contact", or "skip" (log the call without one).
    unknown_person: Literal["lead", "contact", "skip"] = "lead"

    @model_validator(mode="after")
    def _credentials_for_mode(self) -> Self:
        if not self.enabled:
            return self
        needs = {
            "jwt": ["username", "consumer_key", "private_key"],
            "client_credentials": ["consumer_key", "consumer_secret"],
            "access_token": ["access_token", "instance_url"],
            "password": ["username", "password", "security_token"],
        }[self.auth]
        if self.auth == "client_credentials" and self.domain in ("login", "test"):
            raise FieldProblem(
                "domain",
                "auth = 'client_credentials' logs in at your My Domain: set domain to it "
                "(e.g. 'acme.my' for https://acme.my.salesforce.com), not 'login' or 'test'",
            )
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            sources = "; ".join(
                f"{n}: {self.secret_hint(n)}"
                if n in self.secret_fields()
                else f"{n}: set it in the table or {self.env_vars.get(n, 'the environment')}"
                for n in missing
            )
            raise FieldProblem("auth", f"{self.auth!r} needs {', '.join(missing)} ({sources})")
        return self
