"""The ``requests.Session`` simple-salesforce is built with: timeouts, safe retries, and
the local override that points it at the Salesforce sandbox.

simple-salesforce has no timeout of its own, always builds ``https://`` URLs, and
logs in at the fixed ``https://{domain}.salesforce.com``. Rather than patching it,
the connector hands it a session whose transport adapter

- puts the configured connect and read timeouts on every request that has none;
- retries 502/503/504 and dropped connections only for methods that are safe to
  repeat (GET, HEAD, PUT, DELETE, and PATCH, which upserts by external id): a POST
  that creates is never sent twice;
- when ``sandbox_url`` is set (``http://127.0.0.1:PORT``, loopback only), sends
  every ``https://`` request, login included, to that address, path and query kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connector import __version__

#: Methods whose repetition cannot create a second record.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class SalesforceTransport(HTTPAdapter):
    """Timeouts, safe retries and the optional local re-targeting (module docstring)."""

    def __init__(
        self,
        *,
        timeout: tuple[float, float],
        max_attempts: int,
        sandbox_url: str | None = None,
    ) -> None:
        retry = Retry(
            total=max(0, max_attempts - 1),
            connect=max(0, max_attempts - 1),
            read=max(0, max_attempts - 1),
            status=max(0, max_attempts - 1),
            allowed_methods=SAFE_METHODS,
            status_forcelist=(502, 503, 504),
            backoff_factor=0.5,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        super().__init__(max_retries=retry)
        self.timeout = timeout
        self.target = urlsplit(sandbox_url) if sandbox_url else None
        if self.target is not None and (
            self.target.scheme != "http" or self.target.hostname not in LOOPBACK
        ):
            raise ValueError("sandbox_url must be http:// on a loopback address")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.target is not None and request.url:
            parts = urlsplit(request.url)
            request.url = urlunsplit(
                (self.target.scheme, self.target.netloc, parts.path, parts.query, "")
            )
        return super().send(request, **kwargs)


def build_session(
    *,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int = 3,
    sandbox_url: str | None = None,
) -> requests.Session:
    """The session to build simple-salesforce with (see the module docstring)."""
    session = requests.Session()
    transport = SalesforceTransport(
        timeout=(connect_timeout, read_timeout),
        max_attempts=max_attempts,
        sandbox_url=sandbox_url,
    )
    session.mount("https://", transport)
    if sandbox_url:
        session.mount("http://", transport)
    session.headers["User-Agent"] = f"revont-sync/{__version__} simple-salesforce"
    return session
