"""JWT claims a signing client could send that broke the verifier (CDS Hooks 2.0 Security; auth.py), found by a
security review. An integer time claim too large for a float (`exp` or `iat` of 400 digits, valid JSON) made
math.isfinite raise OverflowError: the check's fault was taken for the jti store's (ReplayUnchecked), and the call
answered 500, where the contract wants an empty 401 for any invalid token."""
from __future__ import annotations

import pytest
from flask import Flask

from tests.live_server import LiveClient
from tests.test_auth import (EHR, assert_rejected, call, claims, ec_token, jwks_server, rejected_rows,  # noqa: F401
                             secure, secure_app)

HUGE = 10**400  # a JSON number; a Python int, beyond a float's range


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("exp", HUGE, f"exp {HUGE} is more than 300 s in the future"),
    ("iat", HUGE, "iat is more than 30 s in the future"),
    ("iat", -HUGE, "iat is more than 300 s (the token lifetime limit) in the past"),
], ids=["exp", "iat", "negative-iat"])
def test_an_integer_time_beyond_a_float_is_refused_with_401(secure_app: Flask, secure: LiveClient,  # noqa: F811
                                                            name: str, value: int, reason: str) -> None:
    assert_rejected(call(secure, ec_token(claims(**{name: value}))))
    [row] = rejected_rows(secure_app)
    assert (row.status, row.client_iss) == (401, EHR)
    assert row.reason.startswith(reason[:60]), row.reason

