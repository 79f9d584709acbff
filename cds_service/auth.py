"""CDS Hooks 2.0 Security: verifying the client's JWT against the client configuration, with the keys of its JWK Set
(jwks.py).

Failures raise `Unauthorized` with a reason for the log; the token itself is never logged or stored. A token whose
signature holds but which a later check refuses (expired, wrong `aud`, a time claim not a number, over the lifetime
limit, `iat` out of bounds, tenant not allowed, `jti` replayed) raises `CallerRefused`, which names its verified
issuer and tenant for the audit trail. Before the signature is verified, the token's `iss` only picks the keys: a
reason quoting it says it is unverified.
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from datetime import datetime, timezone
from typing import Any, Mapping, NamedTuple, Protocol

import jwt

from cds_service.config import AuthConfig, ClientConfig
from cds_service.http_errors import Unauthorized
from cds_service.json_codec import storable
from cds_service.jwks import ALLOWED_ALGORITHMS, JwksCache, declared_algorithm, find_key, inline_key_sets, no_key
from cds_service.printable import json_value

LEEWAY_SECONDS = 30
TENANT_MAX_LENGTH = 200  # the audit trail's column (db_models.Invocation.tenant)


class StoredJti(NamedTuple):
    """A token's id as the replay store keeps it (`key`, until `expires_at`), stored by the request `attempt`: a call
    refused with 503 after it was stored releases it (routes.observe), so that the client's retry is answered."""

    key: str
    expires_at: datetime
    attempt: str


class Caller(NamedTuple):
    """Who called, as the verified JWT says: the client's issuer and, for a multi-site EHR, the tenant (a patient
    id means one patient only within both); the token's id stored for the call, once its replay check passed."""

    iss: str
    tenant: str | None
    jti: StoredJti | None = None


class CallerRefused(Unauthorized):
    """A token signed by a configured client's key and refused by a later check: `caller` says who it was."""

    def __init__(self, reason: str, caller: Caller) -> None:
        super().__init__(reason)
        self.caller = caller


class ReplayUnchecked(Exception):
    """A token whose signature and claims held, but whose `jti` the store could not check (the audit database is
    unavailable): `caller` says who sent it, `error` is what the store raised (answered 503, http_errors.py)."""

    def __init__(self, caller: Caller, error: Exception) -> None:
        super().__init__(f"jti of {caller.iss} not checked: {type(error).__name__}")
        self.caller = caller
        self.error = error


class JtiStore(Protocol):
    def use_jti(self, jti: str, expires_at: datetime, attempt: str) -> bool: ...




# The key type each allowed algorithm family signs with (ALLOWED_ALGORITHMS).
_KEY_TYPES = {"ES": "EC", "RS": "RSA", "PS": "RSA"}
# The NumericDate claims (RFC 7519 §4.1.4-6), JSON numbers.
_DATE_CLAIMS = ("exp", "nbf", "iat")


def _check_key_fits(key: jwt.PyJWK, alg: str, client: ClientConfig) -> None:
    """The key the kid names is of the type the token's algorithm needs, and for that algorithm if its JWK names one
    (RFC 7517 §4.4): PyJWT checks neither. Its own refusal of another type ("TypeError: Expecting a PEM-formatted
    key.") said nothing of the kid or the algorithm; a key published for RS384 verified a PS384 token."""
    named = f"key {json_value(key.key_id)} of issuer {_unverified(client.iss)}"
    if key.key_type != _KEY_TYPES[alg[:2]]:
        raise Unauthorized(f"{named} is an {key.key_type} key; the token is signed with {alg}")
    declared = declared_algorithm(key)
    if declared is not None and declared != alg:
        raise Unauthorized(f"{named} is for {declared}; the token is signed with {alg}")


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header is not 'Bearer <JWT>'")
    return token.strip()


class JwtVerifier:
    """Verifies CDS client JWTs against the auth configuration; answers with the verified issuer."""

    def __init__(self, config: AuthConfig, public_base_url: str, jti_store: JtiStore) -> None:
        self.config = config
        self.public_base_url = public_base_url.rstrip("/")
        self.jti_store = jti_store
        self._caches = {c.iss: JwksCache(c.jwks_url) for c in config.clients if c.jwks_url}
        self._inline = inline_key_sets(config)

    def authenticate(self, authorization: str | None, path: str) -> Caller | None:
        """The verified caller, or None when no token was sent and none is required."""
        token = bearer_token(authorization)
        if token is None:
            if self.config.require_jwt:
                raise Unauthorized("no bearer token")
            return None
        return self.verify(token, self.public_base_url + path)

    def verify(self, token: str, audience: str) -> Caller:
        header = _header(token)
        client = self._client(_unverified_iss(token))
        _check_jku(header, client)
        key = self._key(client, header.get("kid"))
        _check_key_fits(key, header["alg"], client)
        claims = _decode(token, header["alg"], key, client, audience)
        caller = _caller(client, claims)
        try:
            _check_dates_are_numbers(claims)
            _check_lifetime(claims, self.config.max_token_lifetime_seconds)
            _check_issued_at(claims, self.config.max_token_lifetime_seconds)
            _check_tenant(claims, client)
            stored = self._check_replay(claims)
        except Unauthorized as exc:
            raise CallerRefused(exc.reason, caller) from None
        except Exception as exc:  # the jti store failed: still known is who sent the token, for the audit trail
            raise ReplayUnchecked(caller, exc) from exc
        return caller._replace(jti=stored)

    def _client(self, iss: str) -> ClientConfig:
        client = self.config.client(iss)
        if client is None:
            raise Unauthorized(f"issuer {_unverified(iss)} is not a configured client{_near_issuer(self.config, iss)}")
        return client

    def _key(self, client: ClientConfig, kid: str | None) -> jwt.PyJWK:
        if client.iss in self._inline:
            found = find_key(self._inline[client.iss], kid)
            if found is None:
                raise no_key(kid, f"the inline JWK Set of issuer {_unverified(client.iss)}")
            return found
        return self._caches[client.iss].key(kid)

    def _check_replay(self, claims: Mapping[str, Any]) -> StoredJti:
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("jti is not a non-empty string")
        # Rounded up: PyJWT 2 truncates a fractional exp (1000.9 is 1000) before comparing, so int(exp) + leeway is
        # enough today; a release comparing it whole would accept the token until exp + leeway, after a jti kept only
        # to int(exp) + leeway could be purged, and the token replayed. Up to a second longer costs nothing.
        expires_at = datetime.fromtimestamp(math.ceil(claims["exp"]) + LEEWAY_SECONDS, tz=timezone.utc)
        # Scoped by issuer, hashed so any client-chosen jti fits the column.
        key = hashlib.sha256(f"{claims['iss']}|{jti}".encode("utf-8", "surrogatepass")).hexdigest()
        stored = StoredJti(key, expires_at, secrets.token_hex(16))  # the attempt: a random id of this request
        if not self.jti_store.use_jti(*stored):
            raise Unauthorized(f"jti reused by {claims['iss']}")
        return stored


def _decode(token: str, alg: str, key: jwt.PyJWK, client: ClientConfig, audience: str) -> dict[str, Any]:
    """The verified claims. A refusal names the client as the token's sender only if its signature holds."""
    try:
        return jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            audience=audience,
            issuer=client.iss,
            leeway=LEEWAY_SECONDS,
            # iat is checked by _check_issued_at alone: PyJWT's check let most bad values through (see there).
            options={"require": ["exp", "iat", "jti", "iss", "aud"], "verify_iat": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, jwt.InvalidAudienceError):  # the first thing an engineer needs, and our own URL
            problem += f"; this endpoint expects aud {audience}"
    # Checked again apart, on this failing path only, so that accepted tokens are verified once.
    signed = _signed_claims(token, alg, key)
    if signed is None:
        raise Unauthorized(f"token claiming issuer {_unverified(client.iss)} rejected: {problem}")
    raise CallerRefused(f"token from {client.iss} rejected: {problem}", _caller(client, signed))


def _signed_claims(token: str, alg: str, key: jwt.PyJWK) -> dict[str, Any] | None:
    """The token's claims if its signature holds under `key` (no claim checked), else None."""
    try:
        claims = json.loads(jwt.PyJWS().decode(token, key=key.key, algorithms=[alg]))
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def _caller(client: ClientConfig, claims: Mapping[str, Any]) -> Caller:
    """Who sent a token whose signature holds: the client (whose `iss` the claims carry, or the token would not have
    been checked with its keys) and the tenant claim, kept only if the audit trail can store it as sent."""
    tenant = claims.get("tenant")
    return Caller(client.iss, tenant if _storable_tenant(tenant) else None)


def _storable_tenant(tenant: Any) -> bool:
    return isinstance(tenant, str) and len(tenant) <= TENANT_MAX_LENGTH and storable(tenant) == tenant


def _unverified(iss: str) -> str:
    """An `iss` read before any signature was checked, as a refusal's reason quotes it: anybody can write any issuer
    into a token, so it is marked as such (and bounded: the reason is kept to 500 characters)."""
    return f"{json_value(iss, 200)} (unverified)"


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"malformed JWT header: {type(exc).__name__}") from None
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise Unauthorized(f"algorithm {json_value(header.get('alg'))} not allowed")
    return header


def _near_issuer(config: AuthConfig, iss: str) -> str:
    """A configured issuer that the token's differs from only by letter case or a trailing slash, as a note for the
    log: issuers are compared exactly (RFC 7519 §4.1.1), and the engineer must see which character is off. Only the
    operator's own configuration is quoted (the 401's body is empty)."""
    loose = iss.rstrip("/").casefold()
    near = next((client.iss for client in config.clients if client.iss.rstrip("/").casefold() == loose), None)
    return f"; the configured one is {json_value(near)}, and issuers must match exactly" if near else ""


def _unverified_iss(token: str) -> str:
    # Read before verification only to pick the client whose keys verify the signature.
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"malformed JWT payload: {type(exc).__name__}") from None
    iss = claims.get("iss")
    if not isinstance(iss, str):
        raise Unauthorized("iss missing")
    return iss


def _check_dates_are_numbers(claims: Mapping[str, Any]) -> None:
    """`exp`, `nbf` and `iat`, where present, JSON numbers: PyJWT reads exp and nbf with int(), so it took a string
    of digits ("1795436889") or `true` for a time, and any iat (_check_issued_at). The values are not quoted: they
    may be hundreds of digits long."""
    for name in _DATE_CLAIMS:
        if name in claims and not _finite_number(claims[name]):
            raise Unauthorized(f"{name} is not a finite number")


def _finite_number(value: Any) -> bool:
    # An int is finite however long: math.isfinite raised OverflowError for one beyond a float (exp of 400 digits).
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _check_lifetime(claims: Mapping[str, Any], max_lifetime: int) -> None:
    """The deployment's limit (auth configuration max_token_lifetime_seconds): it also bounds how long a jti is
    remembered, since _check_replay keeps each one until its token expires."""
    exp = int(claims["exp"])  # a number (_check_dates_are_numbers), not past (PyJWT)
    if exp > time.time() + max_lifetime + LEEWAY_SECONDS:
        raise Unauthorized(f"exp {exp} is more than {max_lifetime} s in the future")


def _check_issued_at(claims: Mapping[str, Any], max_lifetime: int) -> None:
    """`iat` (a number: _check_dates_are_numbers) not ahead of now, and not older than the lifetime limit: a token
    valid now (its exp not past) and issued longer ago than that lived longer than the deployment allows. PyJWT took
    any past iat (-1e300), and its maintainers mean to stop refusing a future one (pyjwt#939)."""
    iat = claims["iat"]
    now = time.time()
    if iat > now + LEEWAY_SECONDS:
        raise Unauthorized(f"iat is more than {LEEWAY_SECONDS} s in the future")
    if iat < now - max_lifetime - LEEWAY_SECONDS:
        raise Unauthorized(f"iat is more than {max_lifetime} s (the token lifetime limit) in the past")


def _check_jku(header: Mapping[str, Any], client: ClientConfig) -> None:
    jku = header.get("jku")
    # Keys configured inline are never fetched, from jku or anywhere: the header cannot choose the verifying key, so
    # it is ignored (EHRs and the CDS Hooks sandbox send it routinely).
    if client.jwks_url is None:
        return
    if jku is not None and jku != client.jwks_url:
        raise Unauthorized(f"jku {json_value(jku, 200)} is not the JWK Set URL configured for issuer "
                           f"{_unverified(client.iss)}")


def _check_tenant(claims: Mapping[str, Any], client: ClientConfig) -> None:
    tenant = claims.get("tenant")
    # CDS Hooks makes the tenant a string. Another JSON type was taken as no tenant when none is configured, so a
    # call from a multi-site EHR was audited without its site; the value is not repeated (it may be large).
    if tenant is not None and not isinstance(tenant, str):
        raise Unauthorized(f"tenant of {client.iss} is not a string")
    if client.tenants and tenant not in client.tenants:
        raise Unauthorized(f"tenant {json_value(tenant)} not allowed for {client.iss}")
    # The tenant is audited, and matched in audit queries, as sent: one the database cannot hold is refused here.
    if isinstance(tenant, str) and not _storable_tenant(tenant):
        raise Unauthorized(f"tenant of {client.iss} cannot be stored (NUL, lone surrogate or too long)")
