"""Logging in: sessions, the OAuth token endpoint, SOAP login, and the org's key pair.

``POST /services/oauth2/token`` takes three grant types (form-encoded, as
simple-salesforce sends them):

* ``urn:ietf:params:oauth:grant-type:jwt-bearer`` with an RS256 ``assertion``
  signed by the private key whose public half the connected app holds
  (:class:`KeyPair`): ``iss`` the consumer key, ``sub`` the username, ``aud``
  ``https://login.salesforce.com`` or ``https://test.salesforce.com``, ``exp``
  in the future (by the wall clock: the client signs with its own);
* ``client_credentials`` with the consumer key and secret (HTTP Basic, or
  ``client_id`` / ``client_secret`` in the form), running as the integration
  user;
* ``password`` with the consumer key and secret, the username, and the password
  followed by the security token (deprecated by Salesforce; still answered).

Success answers ``{access_token, instance_url, id, token_type, issued_at,
signature, scope}``; failures ``{"error", "error_description"}`` with 400:
``invalid_client_id`` ("client identifier invalid"), ``invalid_client``
("invalid client credentials"), ``invalid_grant`` ("invalid assertion",
"audience is invalid", "user hasn't approved this consumer", "authentication
failure"), ``unsupported_grant_type``.

SOAP login (``POST /services/Soap/u/{version}``, what simple-salesforce does
with ``username``, ``password`` and ``security_token``) answers a
``loginResponse`` with ``sessionId`` and ``serverUrl``, or a 500 SOAP fault
``INVALID_LOGIN``.

A session id stays valid until ``session_ttl_seconds`` pass without it being
used (by the sandbox's clock), until :meth:`Sessions.expire_all`, or until it
is revoked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import random
import re
import string
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Response

from adapters.salesforce.sandbox.context import Answer, ApiRequest
from adapters.salesforce.sandbox.org import Org
from adapters.salesforce.sandbox.problems import OAuthProblem
from connector.quota import Clock

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_TOKEN_CHARS = string.ascii_letters + string.digits + "._"


@dataclass
class Credentials:
    """What the org's connected app and integration user log in with."""

    username: str
    password: str
    security_token: str
    consumer_key: str
    consumer_secret: str


class KeyPair:
    """An RSA key pair for JWT bearer logins, made the first time it is asked for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._private: rsa.RSAPrivateKey | None = None

    def _key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._private is None:
                self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._private

    @property
    def private_pem(self) -> str:
        return (
            self._key()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )

    @property
    def public_pem(self) -> str:
        return (
            self._key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


@dataclass
class Session:
    user_id: str
    last_used: float


class Sessions:
    """Session ids (``00D…!…``) and the user each belongs to."""

    def __init__(self, *, org_id: str, ttl_seconds: float, clock: Clock, seed: int) -> None:
        self.org_id = org_id
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._rng = random.Random(f"sessions-{seed}")
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str) -> str:
        with self._lock:
            token = f"{self.org_id[:15]}!" + "".join(self._rng.choices(_TOKEN_CHARS, k=96))
            self._sessions[token] = Session(user_id, self.clock.time())
            return token

    def check(self, token: str | None) -> str | None:
        """The user of a valid session (its idle time restarts), or None."""
        with self._lock:
            session = self._sessions.get(token or "")
            if session is None:
                return None
            now = self.clock.time()
            if now - session.last_used > self.ttl_seconds:
                del self._sessions[token or ""]
                return None
            session.last_used = now
            return session.user_id

    def revoke(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def expire_all(self) -> None:
        with self._lock:
            self._sessions.clear()


class Authenticator:
    """The token endpoint and SOAP login for one org."""

    def __init__(
        self,
        *,
        org: Org,
        sessions: Sessions,
        credentials: Credentials,
        keys: KeyPair,
        instance_url: str,
        clock: Clock,
    ) -> None:
        self.org = org
        self.sessions = sessions
        self.credentials = credentials
        self.keys = keys
        self.instance_url = instance_url
        self.clock = clock

    # -- OAuth --------------------------------------------------------------------------------

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            return self._answer(self._jwt_user(form.get("assertion", "")))
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = _basic(authorization)
        if basic is not None:
            client_id, secret = basic
        if grant not in ("client_credentials", "password"):
            raise OAuthProblem("unsupported_grant_type", "grant type not supported")
        self._check_client(client_id, secret)
        if grant == "client_credentials":
            return self._answer(self.org.user_id)
        creds = self.credentials
        if form.get("username") != creds.username or form.get("password") not in (
            creds.password + creds.security_token,
            creds.password,
        ):
            raise OAuthProblem("invalid_grant", "authentication failure")
        return self._answer(self.org.user_id)

    def _check_client(self, client_id: str | None, secret: str | None) -> None:
        if client_id != self.credentials.consumer_key:
            raise OAuthProblem("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret or "", self.credentials.consumer_secret):
            raise OAuthProblem("invalid_client", "invalid client credentials")

    def _jwt_user(self, assertion: str) -> str:
        try:
            claims = jwt.decode(
                assertion,
                self.keys.public_pem,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError:
            raise OAuthProblem("invalid_grant", "invalid assertion") from None
        if claims.get("iss") != self.credentials.consumer_key:
            raise OAuthProblem("invalid_client_id", "client identifier invalid")
        if str(claims.get("aud", "")).rstrip("/") not in AUDIENCES:
            raise OAuthProblem("invalid_grant", "audience is invalid")
        try:
            expires = float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            raise OAuthProblem("invalid_grant", "invalid assertion") from None
        if expires < time.time():
            raise OAuthProblem("invalid_grant", "invalid assertion")
        users = self.org.match("User", "Username", str(claims.get("sub", "")))
        user = self.org.get("User", users[0]) if users else None
        if user is None or not user["IsActive"]:
            raise OAuthProblem("invalid_grant", "user hasn't approved this consumer")
        return str(user["Id"])

    def _answer(self, user_id: str) -> dict[str, Any]:
        identity = f"https://login.salesforce.com/id/{self.org.org_id}/{user_id}"
        issued_at = str(int(self.clock.time() * 1000))
        digest = hmac.new(
            self.credentials.consumer_secret.encode(),
            (identity + issued_at).encode(),
            hashlib.sha256,
        ).digest()
        return {
            "access_token": self.sessions.issue(user_id),
            "instance_url": self.instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest).decode(),
            "scope": "api",
        }

    # -- SOAP ---------------------------------------------------------------------------------

    def soap_login(self, body: str, version: str) -> tuple[int, str]:
        username = _element(body, "username")
        password = _element(body, "password")
        creds = self.credentials
        if username != creds.username or password not in (
            creds.password + creds.security_token,
            creds.password,
        ):
            return 500, _soap_fault()
        user_id = self.org.user_id
        session = self.sessions.issue(user_id)
        server = f"{self.instance_url}/services/Soap/u/{version}/{self.org.org_id}"
        metadata = f"{self.instance_url}/services/Soap/m/{version}/{self.org.org_id}"
        result = (
            f"<metadataServerUrl>{metadata}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{server}</serverUrl><sessionId>{session}</sessionId>"
            f"<userId>{user_id}</userId><userInfo><organizationId>{self.org.org_id}"
            f"</organizationId><userName>{html.escape(creds.username)}</userName></userInfo>"
        )
        return 200, _envelope(f"<loginResponse><result>{result}</result></loginResponse>")


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, _, secret = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return key, secret


def _element(body: str, name: str) -> str | None:
    found = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", body, re.DOTALL)
    return html.unescape(found.group(1)) if found else None


def _envelope(inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
    )


def _soap_fault() -> str:
    message = "Invalid username, password, security token; or user locked out."
    return _envelope(
        "<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>"
        f"<faultstring>INVALID_LOGIN: {message}</faultstring><detail>"
        '<sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN'
        f"</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault>"
    )


# -- endpoints --------------------------------------------------------------------------------


def token_endpoint(api: ApiRequest) -> Answer:
    form = {key: api.request.form[key] for key in api.request.form}
    return 200, api.sandbox.auth.token(form, api.request.headers.get("Authorization"))


def revoke_endpoint(api: ApiRequest) -> Answer:
    """``POST /services/oauth2/revoke`` (``token=``): the session ends at once."""
    token = api.request.form.get("token") or api.request.args.get("token") or ""
    if not api.sandbox.sessions.revoke(token):
        raise OAuthProblem("unsupported_token_type", "this token type is not supported")
    return Response(status=200)


def soap_endpoint(api: ApiRequest) -> Answer:
    status, xml = api.sandbox.auth.soap_login(
        api.request.get_data(as_text=True), api.args["version"]
    )
    return Response(xml, status=status, content_type="text/xml; charset=utf-8")
