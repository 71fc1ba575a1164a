"""Webhook signatures: sha256=<hex HMAC-SHA256 of the raw body>."""

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from connector.revont.signature import sign_body, verify_signature

SECRET = "whsec_test"
BODY = b'{"event":"call.ended","data":{"call_id":"call_1"}}'


def test_matches_an_independent_computation():
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign_body(SECRET, BODY) == expected
    assert verify_signature(SECRET, BODY, expected)


def test_rejects_what_is_not_the_signature():
    good = sign_body(SECRET, BODY)
    assert verify_signature(SECRET, BODY, good.upper().replace("SHA256=", "sha256="))
    assert not verify_signature(SECRET, BODY + b" ", good)
    assert not verify_signature("other", BODY, good)
    assert not verify_signature(SECRET, BODY, None)
    assert not verify_signature(SECRET, BODY, "")
    assert not verify_signature(SECRET, BODY, good.removeprefix("sha256="))
    assert not verify_signature(SECRET, BODY, "sha1=" + good[7:])
    assert not verify_signature(SECRET, BODY, good[:-1])


@given(st.binary(), st.binary(min_size=1))
def test_any_body_round_trips(body, secret):
    assert verify_signature(secret, body, sign_body(secret, body))
