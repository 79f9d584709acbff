"""Light property-based fuzzing of the CDS Hooks JWT (its Authorization header, its JOSE header and claims, signed
with a trusted key so that the claims checks are reached) and of the feedback endpoint's body. A refused token is a
401 with an empty body (service-contract.md §Errors: no detail), a refused feedback a 400 OperationOutcome naming the
field; never a 5xx, never an error logged.
"""
from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from tests.conftest import close_app
from tests.live_server import LiveClient, serving
from tests.test_auth import AUD, BASE, INLINE, RSA_KEY, SERVICE, app_with_auth, public_jwk
from tests.test_errors import sign_request
from tests.test_s38_fuzz_hooks import ODD_STRINGS, DrawChooser, ErrorRecords, fuzzed_app, mutate, outcome_problems, pick

FEEDBACK = "/cds-services/blinatumomab-coverage/feedback"
CASES = 120  # light: each case is one call over loopback
FUZZ_SETTINGS = settings(max_examples=CASES, derandomize=True, deadline=None, database=None, print_blob=False,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
RS384 = RSAAlgorithm(RSAAlgorithm.SHA384)
# The header as the transport may carry it: schemes, spacing and tokens that are no JWT at all.
AUTHORIZATIONS = ("", "Bearer", "Bearer ", "bearer x.y.z", "Basic dXNlcjpwYXNz", "Bearer a.b", "Bearer a.b.c.d",
                  "Bearer ...", "Bearer  x.y.z", "Bearer e30.e30.", "Bearer e30.e30.e30", "Bearer %%%.%%%.%%%",
                  "Bearer " + "A" * 20000, "Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer \u00e9.\u00e9.\u00e9")


def _segment(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def signed(header: Any, claims: Any) -> str:
    """`header` and `claims` as a compact JWS signed RS384 by the trusted client's key, whatever they hold."""
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    signature = base64.urlsafe_b64encode(RS384.sign(signing_input.encode(), RSA_KEY)).rstrip(b"=").decode()
    return f"{signing_input}.{signature}"


def good_token_parts() -> dict[str, Any]:
    now = int(time.time())
    return {"header": {"alg": "RS384", "typ": "JWT", "kid": "rsa-1"},
            "claims": {"iss": INLINE, "aud": AUD, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveClient, ErrorRecords]]:
    """The app requiring a JWT from one client whose key is configured inline, over loopback."""
    config = {"require_jwt": True, "public_base_url": BASE,
              "clients": [{"iss": INLINE, "jwks": {"keys": [public_jwk(RSA_KEY, "rsa-1", "RS384")]}}]}
    application: Flask = app_with_auth(tmp_path_factory.mktemp("fuzz-auth"), config)
    with ErrorRecords.attached() as errors, serving(application) as client:
        yield client, errors
    close_app(application)


def call_problems(response: Any, errors: ErrorRecords) -> list[str]:
    found = [f"logged {r.levelname}: {r.getMessage()}" for r in errors.records]
    if response.status_code == 401:
        if response.get_data() or response.headers.get("WWW-Authenticate") != "Bearer":
            found.append(f"a 401 with detail: {response.headers} {response.get_data()[:200]!r}")
    elif response.status_code not in (200, 400):
        found.append(f"status {response.status_code}: {response.get_data(as_text=True)[:500]}")
    elif response.status_code == 400:
        found += outcome_problems(response.get_json(force=True), response.mimetype)
    return found


@FUZZ_SETTINGS
@given(data=st.data())
def test_a_mutated_token_is_refused_with_a_401_or_accepted(secured: tuple[LiveClient, ErrorRecords],
                                                          data: st.DataObject) -> None:
    client, errors = secured
    chooser = DrawChooser(data)
    parts = good_token_parts()
    done = mutate(chooser, parts)
    token = signed(parts.get("header"), parts.get("claims"))
    if chooser.integer(0, 3) == 0:  # the token itself cut or spoiled, or a header that is no token at all
        authorization = pick(chooser, (f"Bearer {token[:chooser.integer(0, len(token))]}", f"Bearer {token}x",
                                       f"Bearer {token}.", f"Bearer {token} {token}", *AUTHORIZATIONS))
    else:
        authorization = f"Bearer {token}"
    errors.records.clear()
    response = client.post(SERVICE, json=sign_request(), headers={"Authorization": authorization.encode()})
    assert call_problems(response, errors) == [], f"{done} {authorization[:300]!r}"


def test_the_unmutated_token_is_accepted(secured: tuple[LiveClient, ErrorRecords]) -> None:
    """The fuzzer's base token passes: the claims checks its mutations reach are those of an accepted token."""
    client, _ = secured
    parts = good_token_parts()
    token = signed(parts["header"], parts["claims"])
    assert client.post(SERVICE, json=sign_request(), headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.fixture(scope="module")
def feedback_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveClient, ErrorRecords, Flask]]:
    application = fuzzed_app(tmp_path_factory.mktemp("fuzz-feedback"))
    with ErrorRecords.attached() as errors, serving(application) as client:
        yield client, errors, application
    close_app(application)


FEEDBACK_BODY = {"feedback": [
    {"card": "4b6d02d2-c59e-5ffe-bc85-79f55d17210e", "outcome": "accepted",
     "acceptedSuggestions": [{"id": "0f8fad5b-d9cb-469f-a165-70867728950e"}], "outcomeTimestamp": "2026-11-20T12:05:00Z"},
    {"card": "card-2", "outcome": "overridden", "outcomeTimestamp": "2026-11-20T12:05:00+01:00",
     "overrideReason": {"reason": {"system": "http://example.org/override-reason", "code": "patient-preference",
                                   "display": "Patient preference"}, "userComment": "seen"}},
]}


@FUZZ_SETTINGS
@given(data=st.data())
def test_a_mutated_feedback_is_stored_or_refused_with_a_400(
        feedback_service: tuple[LiveClient, ErrorRecords, Flask], data: st.DataObject) -> None:
    client, errors, application = feedback_service
    chooser = DrawChooser(data)
    body = copy.deepcopy(FEEDBACK_BODY)
    done = mutate(chooser, body)
    errors.records.clear()
    response = client.post(FEEDBACK, data=json.dumps(body), headers={"Content-Type": "application/json"})
    application.extensions["cds_service"].store.flush()  # a write the database refused is logged by now
    assert call_problems(response, errors) == [], f"{done}: {response.get_data(as_text=True)[:300]}"


@pytest.mark.parametrize("text", [s for s in ODD_STRINGS if s != "\ud800"] + ["[]", "null", "{}", '{"feedback": {}}'])
def test_a_feedback_body_that_is_no_feedback_is_a_400(feedback_service: tuple[LiveClient, ErrorRecords, Flask],
                                                      text: str) -> None:
    client, errors, _ = feedback_service
    errors.records.clear()
    response = client.post(FEEDBACK, data=text.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and call_problems(response, errors) == []
