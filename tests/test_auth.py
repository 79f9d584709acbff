"""CDS Hooks 2.0 JWT security, with keys generated here and a JWK Set served by a real loopback HTTP server."""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import select

from cds_service.cli import main
from cds_service.config import ClientConfig, ConfigError, Settings, parse_auth_config
from cds_service.db_models import UsedJti
from cds_service.http_errors import Unauthorized
from cds_service.jwks import (JWKS_MAX_BYTES, JWKS_MAX_STALE_SECONDS, JWKS_MIN_REFETCH_SECONDS, JWKS_TTL_SECONDS,
                              JwksCache)
from cds_service.urls import server_allowlist
from tests.conftest import close_app, make_app
from tests.live_server import LiveClient, serving
from tests.test_errors import EXAMPLES, sign_request

BASE = "https://cds.example.org"
SERVICE = "/cds-services/blinatumomab-coverage"
AUD = BASE + SERVICE
EHR = "https://ehr.example.org"  # client whose keys come from a JWK Set URL; lists a tenant
INLINE = "https://inline.example.org"  # client whose keys are configured inline


# How long the JWK Set server holds a fetch while `open` is clear, at most: a hang guard, not a speed claim.
JWKS_HOLD_GUARD_SECONDS = 60.0


class JwksServer:
    """Serves `keys` as a JWK Set on 127.0.0.1; counts the fetches, and sets `arrived` at each. While `open` is clear,
    fetches wait (a slow endpoint) until the test sets it. `answer`, when set, is sent instead: (status, headers,
    body), with no header added (without Content-Length, the body ends with the connection). With `trickle`, the
    body goes a byte every `trickle` seconds, and `bytes_sent` counts what went before the client hung up."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.arrived = threading.Event()
        self._arrived = threading.Condition()
        self.open = threading.Event()
        self.open.set()
        self.answer: tuple[int, dict[str, str], bytes] | None = None
        self.trickle = 0.0
        self.bytes_sent = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with owner._arrived:
                    owner.fetches += 1
                    owner._arrived.notify_all()
                owner.arrived.set()
                owner.open.wait(JWKS_HOLD_GUARD_SECONDS)
                body = json.dumps({"keys": owner.keys}).encode()
                status, headers, body = owner.answer or (200, {"Content-Type": "application/json",
                                                               "Content-Length": str(len(body))}, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not owner.trickle:
                    self.wfile.write(body)
                    return
                for byte in body:
                    time.sleep(owner.trickle)
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return  # the client hung up
                    owner.bytes_sent += 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for_fetches(self, count: int, timeout: float = 30.0) -> bool:
        """Whether `count` fetches have reached the server (within `timeout`: a hang guard)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self.fetches >= count, timeout)

    def close(self) -> None:
        self.open.set()
        self.server.shutdown()
        self.server.server_close()


def public_jwk(private_key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if alg.startswith("ES") else RSAAlgorithm
    jwk = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys = [public_jwk(EC_KEY, "ec-1", "ES384")]
    yield server
    server.close()


def auth_config(jwks_url: str) -> dict[str, Any]:
    return {
        "require_jwt": True,
        "public_base_url": BASE,
        "clients": [
            {"iss": EHR, "jwks_url": jwks_url, "fhir_servers": [f"{EHR}/fhir"], "tenants": ["tenant-a"]},
            {"iss": INLINE, "jwks": {"keys": [public_jwk(RSA_KEY, "rsa-1", "RS384")]}},
        ],
    }


def app_with_auth(tmp_path: Path, config: dict[str, Any]) -> Flask:
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(config))
    return make_app(Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_DATA_DIR": str(tmp_path)}))


@pytest.fixture
def secure_app(tmp_path: Path, jwks_server: JwksServer) -> Iterator[Flask]:
    application = app_with_auth(tmp_path, auth_config(jwks_server.url))
    yield application
    close_app(application)


@pytest.fixture
def secure(secure_app: Flask) -> Iterator[LiveClient]:
    """The secured app over real HTTP on loopback: the Authorization header travels as an EHR sends it."""
    with serving(secure_app) as client:
        yield client


def claims(iss: str = EHR, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": iss, "aud": AUD, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), "tenant": "tenant-a"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def ec_token(payload: dict[str, Any] | None = None, **headers: Any) -> str:
    return jwt.encode(payload or claims(), EC_KEY, algorithm="ES384", headers={"kid": "ec-1", **headers})


def call(client: LiveClient, token: str | None, path: str = SERVICE) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(path, json=sign_request(), headers=headers)


def assert_rejected(response: Any) -> None:
    assert response.status_code == 401
    assert response.get_data() == b""  # service-contract.md §Errors: no detail
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Content-Type" not in response.headers  # an empty body is no text/html page


def test_es384_from_a_jwk_set_url_is_accepted(secure: LiveClient, jwks_server: JwksServer) -> None:
    assert call(secure, ec_token()).status_code == 200
    assert call(secure, ec_token()).status_code == 200
    assert jwks_server.fetches == 1  # cached


def test_the_callers_issuer_and_tenant_are_audited(secure_app: Flask, secure: LiveClient) -> None:
    """A patient id names one patient only within an EHR site: the audit trail keeps both, for pharmacists and the
    Florida Blue prior-approval lookup."""
    body = sign_request()
    body["hookInstance"] = "tenant-call"
    response = secure.post(SERVICE, json=body, headers={"Authorization": f"Bearer {ec_token()}"})
    assert response.status_code == 200
    store = secure_app.extensions["cds_service"].store
    store.flush()
    [detail] = store.show("tenant-call")
    assert (detail.record.client_iss, detail.record.tenant) == (EHR, "tenant-a")


def test_rs384_with_an_inline_jwk_set_is_accepted(secure: LiveClient) -> None:
    token = jwt.encode(claims(INLINE), RSA_KEY, algorithm="RS384", headers={"kid": "rsa-1"})
    assert call(secure, token).status_code == 200


def test_the_usable_key_of_an_inline_set_with_an_unusable_one_verifies_tokens(tmp_path: Path) -> None:
    """The service starts with such a set (tests/test_cli_check.py: with a warning naming the unusable kid)."""
    config = auth_config("https://ehr.example.org/jwks")
    unusable = {"kty": "EC", "crv": "P-384", "kid": "broken", "x": "a", "y": "b"}
    config["clients"][1]["jwks"]["keys"].insert(0, unusable)
    application = app_with_auth(tmp_path, config)
    try:
        with serving(application) as client:
            token = jwt.encode(claims(INLINE), RSA_KEY, algorithm="RS384", headers={"kid": "rsa-1"})
            assert call(client, token).status_code == 200
    finally:
        close_app(application)


def test_a_jwk_that_declares_no_algorithm_verifies_any_of_its_key_type(secure: LiveClient,
                                                                      jwks_server: JwksServer) -> None:
    """Only an `alg` the JWK declares binds it to one algorithm (PyJWK's algorithm_name guesses RS256 for it)."""
    jwks_server.keys = [{k: v for k, v in public_jwk(RSA_KEY, "rsa-any", "RS384").items() if k != "alg"}]
    for algorithm in ("RS384", "PS384", "RS256"):
        token = jwt.encode(claims(), RSA_KEY, algorithm=algorithm, headers={"kid": "rsa-any"})
        assert call(secure, token).status_code == 200, algorithm


def test_a_key_published_for_encryption_verifies_no_signature(secure_app: Flask, secure: LiveClient,
                                                              jwks_server: JwksServer,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """A JWK whose `use` is "enc" verified tokens like a signing key; it is now left out of the set, named in a
    warning."""
    jwks_server.keys = [{**public_jwk(EC_KEY, "ec-1", "ES384"), "use": "enc"},
                        public_jwk(OTHER_EC_KEY, "ec-2", "ES384")]
    with caplog.at_level(logging.WARNING, logger="cds_service.jwks"):
        assert_rejected(call(secure, ec_token()))
    assert 'kid "ec-1" (use "enc" is not "sig")' in caplog.text
    signing_key = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "ec-2"})
    assert call(secure, signing_key).status_code == 200
    [row] = rejected_rows(secure_app)
    assert row.reason == f'no key "ec-1" in the JWK Set of {jwks_server.url}'


def test_an_inline_set_of_encryption_keys_alone_stops_the_start(tmp_path: Path) -> None:
    config = auth_config("https://ehr.example.org/jwks")
    config["clients"][1]["jwks"]["keys"][0]["use"] = "enc"
    with pytest.raises(ConfigError, match=r'no usable key; not usable: kid "rsa-1" \(use "enc" is not "sig"\)'):
        app_with_auth(tmp_path, config)


def test_a_published_private_key_verifies_no_token(secure: LiveClient, jwks_server: JwksServer,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A JWK Set serving a private key (its "d") lets anybody who fetches it sign as the EHR: the key is left out,
    named in a warning that does not repeat it."""
    private = {**ECAlgorithm.to_jwk(EC_KEY, as_dict=True), "kid": "ec-1", "alg": "ES384", "use": "sig"}
    jwks_server.keys = [private, public_jwk(OTHER_EC_KEY, "ec-2", "ES384")]
    with caplog.at_level(logging.WARNING, logger="cds_service.jwks"):
        assert_rejected(call(secure, ec_token()))
    assert 'kid "ec-1" (it holds a private key' in caplog.text
    assert private["d"] not in caplog.text
    signed = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "ec-2"})
    assert call(secure, signed).status_code == 200


def test_an_inline_private_key_stops_the_start(tmp_path: Path) -> None:
    config = auth_config("https://ehr.example.org/jwks")
    private = {**RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True), "kid": "rsa-1", "alg": "RS384"}
    config["clients"][1]["jwks"]["keys"] = [private]
    with pytest.raises(ConfigError, match=r'not usable: kid "rsa-1" \(it holds a private key') as stopped:
        app_with_auth(tmp_path, config)
    assert private["d"] not in str(stopped.value)


@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")  # PyJWT's, as this test signs with the key
def test_an_rsa_key_shorter_than_2048_bits_verifies_no_token(secure: LiveClient, jwks_server: JwksServer,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """NIST SP 800-131A: a short RSA key can be factored, and its factors sign as the EHR. PyJWT only warned."""
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwks_server.keys = [public_jwk(weak, "rsa-weak", "RS384"), public_jwk(EC_KEY, "ec-1", "ES384")]
    with caplog.at_level(logging.WARNING, logger="cds_service.jwks"):
        assert_rejected(call(secure, jwt.encode(claims(), weak, algorithm="RS384", headers={"kid": "rsa-weak"})))
    assert 'kid "rsa-weak" (an RSA key of 1024 bits, fewer than 2048)' in caplog.text
    assert call(secure, ec_token()).status_code == 200


def test_a_rotated_key_is_found_by_one_refetch(secure: LiveClient, jwks_server: JwksServer) -> None:
    assert call(secure, ec_token()).status_code == 200
    jwks_server.keys.append(public_jwk(OTHER_EC_KEY, "ec-2", "ES384"))
    token = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "ec-2"})
    assert call(secure, token).status_code == 200
    assert jwks_server.fetches == 2
    unknown = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "nobody"})
    assert_rejected(call(secure, unknown))


def test_unknown_kids_refetch_the_jwk_set_at_most_once_in_a_while(secure: LiveClient,
                                                                  jwks_server: JwksServer) -> None:
    """Anyone can make up a kid: without a limit, each such token would cost a request to the client's endpoint."""
    assert call(secure, ec_token()).status_code == 200
    for i in range(20):
        made_up = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": f"made-up-{i}"})
        assert_rejected(call(secure, made_up))
    assert jwks_server.fetches == 2


def test_a_slow_refetch_for_an_unknown_kid_does_not_hold_up_known_keys(secure: LiveClient,
                                                                       jwks_server: JwksServer) -> None:
    """The JWK Set endpoint holds the refetch for a made-up kid until the test releases it (or the service's own
    timeout, jwks.JWKS_TIMEOUT_SECONDS, ends it): a call signed with a known key is answered while the refetch is
    held."""
    assert call(secure, ec_token()).status_code == 200
    jwks_server.open.clear()
    made_up = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "made-up"})
    refetched: list[Any] = []
    refetching = threading.Thread(target=lambda: refetched.append(call(secure, made_up)), daemon=True)
    refetching.start()
    try:
        assert jwks_server.wait_for_fetches(2)  # the refetch has reached the server, which holds it
        known: list[Any] = []
        calling = threading.Thread(target=lambda: known.append(call(secure, ec_token())), daemon=True)
        calling.start()
        calling.join(30)  # a hang guard, shorter than the server's hold: not a speed claim
        assert [r.status_code for r in known] == [200], "the call with a known key waited for the refetch"
        assert refetched == []  # the refetch is still held
    finally:
        jwks_server.open.set()
        refetching.join(30)  # a hang guard
    assert_rejected(refetched[0])
    assert jwks_server.fetches == 2


class Clock:
    """time.monotonic for a JwksCache, moved on by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


DOWN = (503, {"Content-Length": "0"}, b"")


def test_the_last_good_key_set_serves_while_the_jwks_endpoint_fails(jwks_server: JwksServer,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Past its hour the set was dropped before the refetch: with the EHR's key host down, every call was a 401."""
    clock = Clock()
    cache = JwksCache(jwks_server.url, clock=clock)
    assert cache.key("ec-1").key_id == "ec-1"
    jwks_server.answer = DOWN
    clock.now += JWKS_TTL_SECONDS + 1
    with caplog.at_level(logging.WARNING, logger="cds_service.jwks"):
        assert cache.key("ec-1").key_id == "ec-1"
        [warning] = caplog.records
    assert "HTTP 503" in warning.getMessage() and "stay in use" in warning.getMessage()
    assert jwks_server.fetches == 2
    clock.now += JWKS_MIN_REFETCH_SECONDS - 1  # attempts after a failure are spaced, the stale set serves meanwhile
    assert cache.key("ec-1").key_id == "ec-1"
    assert jwks_server.fetches == 2 and len(caplog.records) == 1
    jwks_server.answer = None
    jwks_server.keys = [public_jwk(OTHER_EC_KEY, "ec-2", "ES384")]
    clock.now += 1
    assert cache.key("ec-2").key_id == "ec-2"  # the endpoint is back: its set replaces the stale one
    assert jwks_server.fetches == 3


def test_a_key_set_is_not_used_for_more_than_a_day(jwks_server: JwksServer) -> None:
    clock = Clock()
    cache = JwksCache(jwks_server.url, clock=clock)
    cache.key("ec-1")
    jwks_server.answer = DOWN
    clock.now += JWKS_MAX_STALE_SECONDS + 1
    with pytest.raises(Unauthorized, match="HTTP 503"):
        cache.key("ec-1")
    with pytest.raises(Unauthorized, match="the last fetch failed less than 30 s ago"):
        cache.key("ec-1")  # and the next call does not wait out another attempt
    assert jwks_server.fetches == 2


def test_only_one_request_waits_for_a_refresh(jwks_server: JwksServer) -> None:
    clock = Clock()
    cache = JwksCache(jwks_server.url, clock=clock)
    cache.key("ec-1")
    jwks_server.open.clear()
    jwks_server.arrived.clear()
    clock.now += JWKS_TTL_SECONDS + 1
    refreshing = threading.Thread(target=cache.key, args=("ec-1",))
    refreshing.start()
    try:
        assert jwks_server.arrived.wait(10)  # the refresh is under way, and waits for the endpoint
        assert cache.key("ec-1").key_id == "ec-1"  # from the stale set, without waiting for the refresh
        assert refreshing.is_alive() and jwks_server.fetches == 2
    finally:
        jwks_server.open.set()
        refreshing.join(10)


def test_the_jwk_set_fetch_does_not_follow_redirects(jwks_server: JwksServer) -> None:
    """The keys are trusted for coming from the configured URL: a redirect could lead to plain http or another host."""
    redirecting = JwksServer()
    try:
        redirecting.answer = (302, {"Location": jwks_server.url, "Content-Length": "0"}, b"")
        with pytest.raises(Unauthorized, match="HTTP 302 redirect, not followed"):
            JwksCache(redirecting.url).key("ec-1")
        assert (redirecting.fetches, jwks_server.fetches) == (1, 0)
    finally:
        redirecting.close()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_trickling_jwk_set_endpoint_is_given_up_at_the_timeout(jwks_server: JwksServer, declared: bool) -> None:
    """A byte every 50 ms passes every socket timeout; the whole fetch is still bounded, so the request thread
    waiting on it is not held until gunicorn's timeout kills the worker."""
    keys = json.dumps({"keys": [public_jwk(EC_KEY, "ec-1", "ES384")]}).encode()  # about 300 bytes: 15 s at that pace
    jwks_server.answer = (200, {"Content-Length": str(len(keys))} if declared else {}, keys)
    jwks_server.trickle = 0.05
    with pytest.raises(Unauthorized, match="unavailable: not received within 0.5 s"):
        JwksCache(jwks_server.url, timeout_seconds=0.5).key("ec-1")
    assert 0 < jwks_server.bytes_sent < len(keys) // 2


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_jwk_set_body_is_bounded(jwks_server: JwksServer, declared: bool) -> None:
    keys = json.dumps({"keys": [public_jwk(EC_KEY, "ec-1", "ES384")], "padding": "x" * JWKS_MAX_BYTES}).encode()
    jwks_server.answer = (200, {"Content-Length": str(len(keys))} if declared else {}, keys)
    with pytest.raises(Unauthorized, match=f"larger than {JWKS_MAX_BYTES} bytes"):
        JwksCache(jwks_server.url).key("ec-1")


def test_a_fetched_jwk_set_without_a_usable_key_is_named_so(jwks_server: JwksServer,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """Not PyJWT's bare error name; a usable key beside an unusable one is used, the other named in a warning."""
    bad = {"kty": "EC", "crv": "P-384", "kid": "bad-1", "x": "a", "y": "b"}
    jwks_server.answer = (200, {}, json.dumps({"keys": [bad]}).encode())
    with pytest.raises(Unauthorized, match='unavailable: no usable key; not usable: kid "bad-1"'):
        JwksCache(jwks_server.url).key("bad-1")
    jwks_server.answer = (200, {}, json.dumps({"keys": [bad, public_jwk(EC_KEY, "ec-1", "ES384")]}).encode())
    assert JwksCache(jwks_server.url).key("ec-1").key_id == "ec-1"
    assert any("bad-1" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_missing_token_is_rejected_when_required(secure: LiveClient) -> None:
    assert_rejected(call(secure, None))
    assert_rejected(secure.post(SERVICE, json=sign_request(), headers={"Authorization": "Basic dXNlcjpwdw=="}))


def test_the_feedback_endpoint_is_protected_too(secure: LiveClient) -> None:
    assert_rejected(secure.post(SERVICE + "/feedback", json={"feedback": []}))


def test_a_feedback_token_is_addressed_to_the_feedback_url(secure: LiveClient) -> None:
    """CDS Hooks 2.0: aud is the URL of the endpoint being called, and feedback is an endpoint of its own: a token
    for the service itself is refused there (and the other way round)."""
    feedback = SERVICE + "/feedback"

    def post_feedback(aud: Any) -> Any:
        headers = {"Authorization": f"Bearer {ec_token(claims(aud=aud))}"}
        return secure.post(feedback, json={"feedback": []}, headers=headers)

    assert post_feedback(BASE + feedback).status_code == 200
    assert post_feedback([BASE + feedback]).status_code == 200  # a list holding it, as RFC 7519 allows
    assert_rejected(post_feedback(AUD))
    assert_rejected(call(secure, ec_token(claims(aud=BASE + feedback))))


@pytest.mark.parametrize(
    "payload",
    [
        claims(exp=int(time.time()) - 600),
        claims(aud=BASE + "/cds-services/another-service"),
        claims(aud=BASE),
        claims(iss="https://intruder.example.org"),
        claims(tenant="tenant-b"),
        claims(tenant=None),
        claims(jti=None),
        claims(iat=None),
        claims(exp=None),
    ],
    ids=["expired", "aud-other-service", "aud-base-only", "unknown-iss", "wrong-tenant", "no-tenant", "no-jti",
         "no-iat", "no-exp"],
)
def test_invalid_claims_are_rejected(secure: LiveClient, payload: dict[str, Any]) -> None:
    assert_rejected(call(secure, ec_token(payload)))


@pytest.mark.parametrize("seconds_ahead", [300 + 30 + 60, 10**12])
def test_a_token_expiring_more_than_five_minutes_ahead_is_rejected(secure_app: Flask, secure: LiveClient,
                                                                   seconds_ahead: int) -> None:
    """The default limit: exp at most 5 minutes in the future (30 s leeway here). An exp past year 9999 was a 500."""
    token = ec_token(claims(exp=int(time.time()) + seconds_ahead))
    assert_rejected(call(secure, token))
    store = secure_app.extensions["cds_service"].store
    store.flush()
    [row] = store.rejected()
    assert row.status == 401 and row.reason.endswith("s in the future")


def test_the_token_lifetime_limit_is_set_per_deployment(tmp_path: Path, jwks_server: JwksServer) -> None:
    """CDS Hooks 2.0 sets no maximum: an EHR whose tokens live an hour is served by saying so in the auth file."""
    application = app_with_auth(tmp_path, {**auth_config(jwks_server.url), "max_token_lifetime_seconds": 3600})
    try:
        with serving(application) as client:
            exp = int(time.time()) + 3000
            token = ec_token(claims(exp=exp))
            assert call(client, token).status_code == 200
            assert_rejected(call(client, ec_token(claims(exp=int(time.time()) + 3600 + 30 + 60))))
            # Its jti is remembered until the token expires (with the leeway), not for the default five minutes.
            with application.extensions["cds_service"].store.engine.connect() as connection:
                remembered = connection.execute(select(UsedJti.expires_at)).scalar_one()
            assert remembered == datetime.fromtimestamp(exp + 30, timezone.utc).replace(tzinfo=None)
            assert_rejected(call(client, token))
    finally:
        close_app(application)


def test_alg_none_is_rejected(secure: LiveClient) -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": "ec-1"})  # type: ignore[arg-type]
    assert_rejected(call(secure, unsigned))


def test_hmac_is_rejected(secure: LiveClient) -> None:
    assert_rejected(call(secure, jwt.encode(claims(), "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256")))


def test_a_signature_by_another_key_is_rejected(secure: LiveClient) -> None:
    forged = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "ec-1"})
    assert_rejected(call(secure, forged))


def test_a_replayed_jti_is_rejected(secure: LiveClient) -> None:
    token = ec_token()
    assert call(secure, token).status_code == 200
    assert_rejected(call(secure, token))


def test_a_jti_that_is_not_valid_unicode_is_remembered_like_any_other(secure: LiveClient) -> None:
    token = ec_token(claims(jti="jti-\udc80"))  # JSON can carry an unpaired surrogate; UTF-8 cannot
    assert call(secure, token).status_code == 200
    assert_rejected(call(secure, token))


def test_the_jti_of_a_token_with_a_fractional_exp_is_remembered_as_long_as_the_token_is_accepted(
        secure_app: Flask, secure: LiveClient) -> None:
    exp = int(time.time()) + 100.9  # a jti kept to int(exp) + 30 s would not outlive a token accepted to exp + 30 s
    assert call(secure, ec_token(claims(exp=exp))).status_code == 200
    with secure_app.extensions["cds_service"].store.engine.connect() as connection:
        remembered = connection.execute(select(UsedJti.expires_at)).scalar_one()
    assert remembered >= datetime.fromtimestamp(exp + 30, timezone.utc).replace(tzinfo=None)


def test_jku_must_be_the_configured_jwk_set_url(secure: LiveClient, jwks_server: JwksServer) -> None:
    assert_rejected(call(secure, ec_token(jku="https://attacker.example.org/jwks.json")))
    assert call(secure, ec_token(jku=jwks_server.url)).status_code == 200


def test_jku_is_ignored_for_a_client_with_inline_keys(secure: LiveClient) -> None:
    """Its keys are never fetched, so jku cannot choose the key; EHRs and the CDS Hooks sandbox send one anyway."""
    headers = {"kid": "rsa-1", "jku": "https://inline.example.org/.well-known/jwks.json"}
    assert call(secure, jwt.encode(claims(INLINE), RSA_KEY, algorithm="RS384", headers=headers)).status_code == 200


@pytest.mark.parametrize("tenant", ["site\u0000a", "site-\udc80", "t" * 201])
def test_a_tenant_the_audit_trail_cannot_hold_is_rejected(secure: LiveClient, tenant: str) -> None:
    """The tenant is stored and matched as sent: PostgreSQL refuses NUL, UTF-8 a lone surrogate, the column 201
    characters (the INLINE client does not list its tenants)."""
    token = jwt.encode(claims(INLINE, tenant=tenant), RSA_KEY, algorithm="RS384", headers={"kid": "rsa-1"})
    assert_rejected(call(secure, token))


@pytest.mark.parametrize("tenant", [{"id": "site-a"}, ["site-a"], 7, True])
def test_a_tenant_that_is_not_a_string_is_rejected(secure_app: Flask, secure: LiveClient, tenant: Any) -> None:
    """It was taken as no tenant (the INLINE client does not list its tenants), and the call answered."""
    token = jwt.encode(claims(INLINE, tenant=tenant), RSA_KEY, algorithm="RS384", headers={"kid": "rsa-1"})
    assert_rejected(call(secure, token))
    assert rejected_rows(secure_app)[-1].reason == f"tenant of {INLINE} is not a string"


def test_the_reason_is_logged_and_audited_but_never_the_token(secure_app: Flask, secure: LiveClient,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    token = ec_token(claims(tenant="tenant-b"))
    with caplog.at_level(logging.DEBUG):
        assert_rejected(call(secure, token))
    assert "tenant" in caplog.text
    assert token not in caplog.text and token.split(".")[2] not in caplog.text
    store = secure_app.extensions["cds_service"].store
    store.flush()
    [row] = store.rejected()
    assert row.status == 401 and row.reason == f'tenant "tenant-b" not allowed for {EHR}'


def rejected_rows(application: Flask) -> list[Any]:
    store = application.extensions["cds_service"].store
    store.flush()
    return list(reversed(store.rejected()))  # oldest first, as sent


# Claims relative to the time the test runs, not the time it was collected: a loaded machine can take minutes to
# reach a test, and a token built at collection would by then have expired or stopped being "in the future".
Claims = Callable[[int], dict[str, Any]]  # the time now -> the token's claims
EXPIRED = int(time.time()) - 600  # an exp that is past whenever a test runs


@pytest.mark.parametrize(
    ("make_claims", "tenant", "reason"),
    [
        (lambda now: claims(exp=now - 600), "tenant-a", f"token from {EHR} rejected: ExpiredSignatureError"),
        (lambda now: claims(aud=BASE), "tenant-a",
         f"token from {EHR} rejected: InvalidAudienceError: Audience doesn't match; this endpoint expects aud {AUD}"),
        (lambda now: claims(jti=None), "tenant-a", f"token from {EHR} rejected: MissingRequiredClaimError"),
        (lambda now: claims(exp=now + 3600), "tenant-a", "exp "),
        (lambda now: claims(tenant="tenant-b"), "tenant-b", f'tenant "tenant-b" not allowed for {EHR}'),
        (lambda now: claims(tenant=None), None, f"tenant null not allowed for {EHR}"),
    ],
    ids=["expired", "wrong-aud", "no-jti", "lifetime", "tenant-not-allowed", "no-tenant"],
)
def test_a_token_refused_after_its_signature_held_is_audited_with_its_issuer(
        secure_app: Flask, secure: LiveClient, make_claims: Claims, tenant: str | None, reason: str) -> None:
    """A payer or security engineer reading the rejected calls sees which client keeps failing, and its tenant."""
    assert_rejected(call(secure, ec_token(make_claims(int(time.time())))))
    [row] = rejected_rows(secure_app)
    assert (row.status, row.client_iss, row.tenant) == (401, EHR, tenant)
    assert row.reason.startswith(reason) and "unverified" not in row.reason


@pytest.mark.parametrize(
    ("iat", "reason"),
    [
        ("1700000000", "iat is not a finite number"),
        (True, "iat is not a finite number"),
        (float("nan"), "iat is not a finite number"),
        (float("inf"), "iat is not a finite number"),
        (-1e300, "iat is more than 300 s (the token lifetime limit) in the past"),
        (lambda now: now - 300 - 30 - 60, "iat is more than 300 s (the token lifetime limit) in the past"),
        (lambda now: now + 30 + 60, "iat is more than 30 s in the future"),
    ],
    ids=["string", "boolean", "nan", "infinity", "minus-1e300", "older-than-the-lifetime", "future"],
)
def test_an_iat_out_of_bounds_is_refused_and_audited_with_the_issuer(secure_app: Flask, secure: LiveClient,
                                                                    iat: Any, reason: str) -> None:
    """Only exp was bounded: a token claiming to be issued at -1e300, or longer ago than any token may live, passed."""
    now = int(time.time())
    iat = iat(now) if callable(iat) else iat  # times relative to now, taken when the test runs
    assert_rejected(call(secure, ec_token(claims(iat=iat, exp=now + 60))))
    [row] = rejected_rows(secure_app)
    assert (row.status, row.client_iss) == (401, EHR)
    assert row.reason.startswith(reason)


@pytest.mark.parametrize(
    ("make_claims", "reason"),
    [
        (lambda now: claims(exp=str(now + 60)), "exp is not a finite number"),
        (lambda now: claims(nbf=str(now - 10)), "nbf is not a finite number"),
        (lambda now: claims(nbf=True), "nbf is not a finite number"),
        (lambda now: claims(iat=str(now)), "iat is not a finite number"),
    ],
    ids=["exp-string", "nbf-string", "nbf-boolean", "iat-string"],
)
def test_a_time_claim_that_is_not_a_json_number_is_refused_and_audited_with_the_issuer(
        secure_app: Flask, secure: LiveClient, make_claims: Claims, reason: str) -> None:
    """RFC 7519 makes exp, nbf and iat numbers: PyJWT read exp and nbf with int(), so "1795436889" (a string) passed
    as a time, and `true` as 1, where a string iat was refused."""
    assert_rejected(call(secure, ec_token(make_claims(int(time.time())))))
    [row] = rejected_rows(secure_app)
    assert (row.status, row.client_iss, row.reason) == (401, EHR, reason)


def test_numeric_times_with_a_fraction_and_an_nbf_are_accepted(secure: LiveClient) -> None:
    now = time.time()
    assert call(secure, ec_token(claims(exp=now + 60.5, iat=now, nbf=int(now) - 10))).status_code == 200


def test_an_iat_within_the_lifetime_is_accepted(secure: LiveClient) -> None:
    now = int(time.time())
    assert call(secure, ec_token(claims(iat=now - 300, exp=now + 10))).status_code == 200
    assert call(secure, ec_token(claims(iat=now + 20, exp=now + 60))).status_code == 200  # clock skew: the leeway
    assert call(secure, ec_token(claims(iat=float(now), exp=now + 60))).status_code == 200


def test_a_replayed_token_and_an_unstorable_tenant_are_audited_with_the_issuer(secure_app: Flask,
                                                                              secure: LiveClient) -> None:
    client = secure
    token = ec_token()
    assert call(client, token).status_code == 200
    assert_rejected(call(client, token))
    unstorable = jwt.encode(claims(INLINE, tenant="site\u0000a"), RSA_KEY, algorithm="RS384", headers={"kid": "rsa-1"})
    assert_rejected(call(client, unstorable))
    replayed, refused_tenant = rejected_rows(secure_app)
    assert (replayed.client_iss, replayed.tenant, replayed.reason) == (EHR, "tenant-a", f"jti reused by {EHR}")
    assert (refused_tenant.client_iss, refused_tenant.tenant) == (INLINE, None)  # the tenant itself is not storable


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "ec-1"}),
         f"token claiming issuer \"{EHR}\" (unverified) rejected: InvalidSignatureError"),
        (jwt.encode(claims(exp=EXPIRED), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "ec-1"}),
         f"token claiming issuer \"{EHR}\" (unverified) rejected: InvalidSignatureError"),
        (ec_token(claims(iss="https://intruder.example.org")),
         "issuer \"https://intruder.example.org\" (unverified) is not a configured client"),
        (ec_token(claims(iss=f"{EHR}/")),
         f"issuer \"{EHR}/\" (unverified) is not a configured client; the configured one is \"{EHR}\", and "
         "issuers must match exactly"),
        (ec_token(claims(iss=EHR.upper())),
         f"issuer \"{EHR.upper()}\" (unverified) is not a configured client; the configured one is \"{EHR}\", and "
         "issuers must match exactly"),
        (ec_token(jku="https://attacker.example.org/jwks.json"),
         "jku \"https://attacker.example.org/jwks.json\" is not the JWK Set URL configured for issuer "
         f"\"{EHR}\" (unverified)"),
        (jwt.encode(claims(INLINE), RSA_KEY, algorithm="RS384", headers={"kid": "made-up"}),
         f"no key \"made-up\" in the inline JWK Set of issuer \"{INLINE}\" (unverified)"),
        (jwt.encode(claims(), RSA_KEY, algorithm="PS256", headers={"kid": "ec-1"}),
         f"key \"ec-1\" of issuer \"{EHR}\" (unverified) is an EC key; the token is signed with PS256"),
        (jwt.encode(claims(INLINE), EC_KEY, algorithm="ES384", headers={"kid": "rsa-1"}),
         f"key \"rsa-1\" of issuer \"{INLINE}\" (unverified) is an RSA key; the token is signed with ES384"),
        # It was accepted: PyJWT verifies with the token's algorithm whatever the JWK declares.
        (jwt.encode(claims(INLINE), RSA_KEY, algorithm="PS384", headers={"kid": "rsa-1"}),
         f"key \"rsa-1\" of issuer \"{INLINE}\" (unverified) is for RS384; the token is signed with PS384"),
    ],
    ids=["forged", "forged-and-expired", "unknown-issuer", "issuer-with-a-slash", "issuer-in-capitals", "foreign-jku",
         "unknown-kid", "rsa-alg-ec-key", "ec-alg-rsa-key", "alg-not-the-jwks"],
)
def test_an_unverified_issuer_is_never_audited_as_the_caller(secure_app: Flask, secure: LiveClient, token: str,
                                                            reason: str) -> None:
    """Anybody can write any iss into a token: before its signature holds, the reason may quote it, marked as such,
    and the client column stays empty."""
    assert_rejected(call(secure, token))
    [row] = rejected_rows(secure_app)
    assert (row.client_iss, row.tenant) == (None, None)
    assert row.reason.startswith(reason) and ("configured one" in row.reason) == ("configured one" in reason)


def test_a_token_without_kid_is_refused_in_words_when_the_set_holds_several_keys(
        secure_app: Flask, secure: LiveClient, jwks_server: JwksServer) -> None:
    """The only key of a set is taken for a token without kid; among several, the reason says what is missing (it
    said "no key None in the JWK Set of ...")."""
    no_kid = jwt.encode(claims(), EC_KEY, algorithm="ES384")
    assert call(secure, no_kid).status_code == 200
    jwks_server.keys.append(public_jwk(OTHER_EC_KEY, "ec-2", "ES384"))
    second_key = jwt.encode(claims(), OTHER_EC_KEY, algorithm="ES384", headers={"kid": "ec-2"})
    assert call(secure, second_key).status_code == 200  # the set of two keys is now in use
    assert_rejected(call(secure, jwt.encode(claims(), EC_KEY, algorithm="ES384")))
    [row] = rejected_rows(secure_app)
    assert row.reason == (f"the JWT header has no kid (CDS Hooks requires one), and the JWK Set of {jwks_server.url} "
                          "holds several keys")


def test_a_refused_feedback_call_is_audited_with_its_issuer(secure_app: Flask, secure: LiveClient) -> None:
    """A client whose feedback tokens keep failing shows among the rejected calls, as its hook calls would."""
    feedback = SERVICE + "/feedback"
    client = secure
    expired = ec_token(claims(aud=BASE + feedback, exp=EXPIRED))
    assert_rejected(client.post(feedback, json={"feedback": []}, headers={"Authorization": f"Bearer {expired}"}))
    assert_rejected(client.post(feedback, json={"feedback": []}))
    signed, anonymous = rejected_rows(secure_app)
    assert (signed.hook, signed.status, signed.client_iss, signed.tenant) == ("feedback", 401, EHR, "tenant-a")
    assert signed.reason.startswith(f"token from {EHR} rejected: ExpiredSignatureError")
    assert (anonymous.hook, anonymous.client_iss, anonymous.reason) == ("feedback", None, "no bearer token")


def test_the_rejected_listing_shows_the_issuer(secure_app: Flask, secure: LiveClient, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert_rejected(call(secure, ec_token(claims(exp=EXPIRED))))
    rejected_rows(secure_app)  # written
    database = f"sqlite:///{tmp_path / 'cds.db'}"
    assert main(["audit", "--database-url", database, "--rejected", "--client", EHR]) == 0
    [header, _, row] = capsys.readouterr().out.splitlines()
    client_at = header.index("client")
    assert row[client_at:].startswith(f"{EHR}  tenant-a  ")


def test_a_fhir_server_not_allowed_for_the_client_is_a_warning_and_named_in_the_412(
        secure: LiveClient, caplog: pytest.LogCaptureFixture) -> None:
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del body["prefetch"]["patient"]
    body["fhirServer"] = "https://elsewhere.example.org/fhir"
    with caplog.at_level(logging.INFO, logger="cds_service"):
        response = secure.post(SERVICE, json=body, headers={"Authorization": f"Bearer {ec_token()}"})
    assert response.status_code == 412
    diagnostics = response.get_json()["issue"][0]["diagnostics"]
    assert diagnostics.endswith("prefetch 'patient' missing and fhirServer is not allowed for this client")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings
            if w.startswith(f"hook {body['hookInstance']}: FHIR server not allowed for client {EHR}: nothing fetched")]
    assert "elsewhere.example.org" not in caplog.text


def test_local_mode_accepts_any_presented_token_unverified(client: LiveClient) -> None:
    assert call(client, "not-even-a-jwt").status_code == 200
    assert call(client, None).status_code == 200


def test_public_base_url_of_the_auth_configuration_wins(tmp_path: Path) -> None:
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config("https://ehr.example.org/jwks")))
    settings = Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_PUBLIC_BASE_URL": "http://other:1"})
    assert settings.public_base_url == BASE
    assert not settings.local_mode and settings.auth is not None and settings.auth.require_jwt


@pytest.mark.parametrize(
    "config",
    [[], {"clients": [{"jwks_url": "https://x"}]}, {"clients": [{"iss": "a"}]},
     {"clients": [{"iss": "a", "jwks_url": "https://x", "jwks": {"keys": []}}]},
     {"clients": [{"iss": "a", "jwks_url": "https://x", "fhir_servers": "https://f"}]}],
)
def test_a_malformed_auth_configuration_fails_at_start(config: Any) -> None:
    with pytest.raises(ConfigError):
        parse_auth_config(config)


def test_production_allows_only_the_clients_fhir_servers() -> None:
    allow = server_allowlist(False, ClientConfig(iss=EHR, jwks_url="x", fhir_servers=("https://EHR.example.org:443/fhir/",)))
    assert allow("https://ehr.example.org/fhir")
    assert allow("https://ehr.example.org/fhir/Patient?_id=1")
    for url in ("https://ehr.example.org/fhirx", "http://ehr.example.org/fhir", "https://ehr.example.org/fhir/../admin",
                "https://user@ehr.example.org/fhir", "https://ehr.example.org:8443/fhir", "https://evil.example.org/fhir"):
        assert not allow(url), url
    assert not server_allowlist(False, None)("https://ehr.example.org/fhir")


@pytest.mark.parametrize("path", ["%2e%2e/admin", "%2E%2E/admin", ".%2e/admin", "%2E./admin", "%2e/admin",
                                  "%2e%2e%2Fadmin", "..%5Cadmin", "./admin", "..;/admin", "..;jsessionid=1/admin",
                                  "%2e%2e%3b/admin", ".;x/admin"])
def test_dot_segments_are_refused_however_encoded(path: str) -> None:
    """Servers decode %2e before resolving dot segments: tenant-a/%2e%2e/tenant-b is tenant-b; servlet containers
    drop a segment's ;parameters first: tenant-a/..;/tenant-b is tenant-b too."""
    allow = server_allowlist(False, ClientConfig(iss=EHR, jwks_url="x", fhir_servers=("https://ehr.example.org/fhir",)))
    assert not allow(f"https://ehr.example.org/fhir/{path}")
    assert allow("https://ehr.example.org/fhir/%2e%2e.admin/Patient")
    assert allow("https://ehr.example.org/fhir/Patient;x=1/..x")


def test_local_mode_allows_any_http_server() -> None:
    allow = server_allowlist(True, None)
    assert allow("http://127.0.0.1:9999/fhir") and allow("https://ehr.example.org/r4")
    assert not allow("file:///etc/passwd") and not allow("ftp://x/fhir")


INTERNAL_HOSTS = ["http://169.254.169.254/computeMetadata/v1", "https://169.254.10.20:8443/fhir",
                  "http://[fe80::1]/fhir", "http://[fe80::1%25eth0]/fhir", "http://[fd00:ec2::254]/latest",
                  "http://[::ffff:169.254.169.254]/", "http://metadata.google.internal/fhir",
                  "http://METADATA.Google.Internal./fhir", "http://metadata/fhir",
                  # IPv4 as the resolver also reads it (inet_aton): decimal, hexadecimal, octal, a 16-bit last part
                  "http://2852039166/fhir", "http://0xa9fea9fe/fhir", "http://0251.0376.0251.0376/fhir",
                  "http://169.254.43518/fhir"]


@pytest.mark.parametrize("url", INTERNAL_HOSTS)
def test_link_local_and_cloud_metadata_hosts_are_refused_in_every_mode(url: str) -> None:
    """The access token of the request goes to its fhirServer, and a metadata service hands the instance's
    credentials to whoever asks from inside it: local mode allowed any http(s) server."""
    assert not server_allowlist(True, None)(url)
    assert not server_allowlist(False, ClientConfig(iss=EHR, jwks_url="x", fhir_servers=(url,)))(url)


@pytest.mark.parametrize("url", ["http://metadata.example.org/fhir", "http://10.0.0.5/fhir", "http://[::1]:8080/fhir",
                                 "http://169.253.255.255/fhir", "http://[fec0::1]/fhir", "http://172.16.0.1/fhir"])
def test_hosts_near_the_internal_ones_are_still_allowed_locally(url: str) -> None:
    assert server_allowlist(True, None)(url)


@pytest.mark.parametrize("configured", [False, True], ids=["local-mode", "configured-client"])
def test_a_metadata_fhir_server_is_named_as_such_in_the_412_and_never_contacted(
        request: pytest.FixtureRequest, configured: bool, caplog: pytest.LogCaptureFixture) -> None:
    """Local mode sent the request's access token there (and a missing patient waited out the fetch). Its 412 said
    "not allowed for this client", in local mode too, where there is no client: the reason is the address."""
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del body["prefetch"]["patient"]
    body["fhirServer"] = "http://169.254.169.254/computeMetadata/v1"
    body["fhirAuthorization"] = {"access_token": "ehr-access-token", "token_type": "Bearer", "expires_in": 300,
                                 "scope": "patient/*.read", "subject": "cds-service"}
    service: LiveClient = request.getfixturevalue("secure" if configured else "client")
    headers = {"Authorization": f"Bearer {ec_token()}"} if configured else {}
    with caplog.at_level(logging.DEBUG):
        response = service.post(SERVICE, json=body, headers=headers)
    assert response.status_code == 412
    diagnostics = response.get_json()["issue"][0]["diagnostics"]
    assert diagnostics.endswith("prefetch 'patient' missing and fhirServer is a link-local or cloud metadata address, "
                                "which the service never calls")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"hook {body['hookInstance']}: fhirServer is a link-local or cloud metadata address: nothing fetched" in \
        warnings
    assert "169.254" not in caplog.text and "not allowed" not in caplog.text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_malformed_and_mismatched_tokens_are_401_never_500(secure: LiveClient) -> None:
    good = ec_token()
    header, payload, signature = good.split(".")
    tokens = [
        "abc",
        "a.b.c",
        good + "x",
        f"{header}.{_b64(b'[1, 2]')}.{signature}",
        f"{_b64(b'[]')}.{payload}.{signature}",
        f"{_b64(json.dumps({'alg': 'ES384', 'kid': ['ec-1']}).encode())}.{payload}.{signature}",
        f"{header}.{_b64(json.dumps({**claims(), 'exp': 'tomorrow'}).encode())}.{signature}",
        f"{header}.{_b64(json.dumps({**claims(), 'iss': 42}).encode())}.{signature}",
        jwt.encode(claims(), RSA_KEY, algorithm="PS256", headers={"kid": "ec-1"}),  # RSA alg, EC key
        jwt.encode(claims(), RSA_KEY, algorithm="RS384", headers={"kid": "ec-1"}),
    ]
    for token in tokens:
        assert_rejected(call(secure, token))
