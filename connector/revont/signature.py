"""Revont webhook signatures: ``X-Revont-Signature: sha256=<hex HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Revont-Signature"
_PREFIX = "sha256="


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_body(secret: str | bytes, body: bytes) -> str:
    """The header value Revont sends for ``body`` under ``secret``."""
    return _PREFIX + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True if ``header`` is the valid signature of the raw ``body``.

    The comparison takes the same time whether the first or the last character
    differs. A missing header, another scheme or a malformed value is False.
    """
    if not header:
        return False
    header = header.strip()
    if not header.lower().startswith(_PREFIX):
        return False
    expected = sign_body(secret, body)
    given = _PREFIX + header[len(_PREFIX) :].lower()
    return hmac.compare_digest(expected.encode(), given.encode())
