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
