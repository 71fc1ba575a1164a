"""The Revont sandbox: a local server that behaves like the Revont API.

``RevontSandbox`` (in :mod:`server`) is the entry point; :mod:`workspace` holds
the synthetic data, :mod:`api` answers ``/v1`` requests, :mod:`deliveries`
sends signed webhooks. See ``docs/sandbox.md``.
"""

from connector.revont.sandbox.api import DEFAULT_KEYS, PLANS, READ, READ_WRITE
from connector.revont.sandbox.server import RevontSandbox
from connector.sandbox import FaultRule

__all__ = ["DEFAULT_KEYS", "PLANS", "READ", "READ_WRITE", "FaultRule", "RevontSandbox"]
