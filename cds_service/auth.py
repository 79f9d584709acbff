"""CDS Hooks 2.0 Security: verifying the client's JWT, and which FHIR servers a caller may point the service at.

Failures raise `Unauthorized` with a reason for the log; the token itself is never logged or stored. A token whose
signature holds but which a later check refuses (expired, wrong `aud`, over the lifetime limit, `iat` out of bounds,
tenant not allowed, `jti` replayed) raises `CallerRefused`, which names its verified issuer and tenant for the audit
trail. Before the signature is verified, the token's `iss` only picks the keys: a reason quoting it says it is
unverified.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, NamedTuple, Protocol

import jwt
import requests

from cds_service.bounded_http import TooLarge, read_capped, session_until
from cds_service.config import AuthConfig, ClientConfig, ConfigError
from cds_service.urls import normalized_url
from cds_service.http_errors import Unauthorized
from cds_service.json_codec import storable

log = logging.getLogger(__name__)

# Asymmetric only: "none" and HMAC are refused (CDS Hooks 2.0; HMAC would need a secret shared with every client).
ALLOWED_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_TTL_SECONDS = 3600.0
# While the client's JWK Set URL fails, the last set it gave is used for up to a day: an outage of the EHR's key host
# must not become an outage of the service. A key the EHR withdrew stays trusted that long at most while its host is
# down (docs/configuration.md).
JWKS_MAX_STALE_SECONDS = 24 * 3600.0
# A refetch for an unknown kid comes at most once per this many seconds, and so does any fetch after a failed one. An
# unknown kid is either a rotated key or one anybody can make up: refetching for every such token would let
# unauthenticated callers drive requests to the client's JWKS endpoint (and slow everyone down with it). And while the
# endpoint fails, each call trying it again would wait out the timeout in turn.
JWKS_MIN_REFETCH_SECONDS = 30.0
# A JWK Set holds a few keys, a few KB: a body beyond this is not one, and is not read to the end.
JWKS_MAX_BYTES = 1024 * 1024
TENANT_MAX_LENGTH = 200  # the audit trail's column (db_models.Invocation.tenant)


class Caller(NamedTuple):
    """Who called, as the verified JWT says: the client's issuer and, for a multi-site EHR, the tenant (a patient
    id means one patient only within both)."""

    iss: str
    tenant: str | None


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
    def use_jti(self, jti: str, expires_at: datetime) -> bool: ...


class JwksUnavailable(Exception):
    """Why a JWK Set could not be fetched, in words (the class of a requests or JSON error is its own reason)."""


class JwksCache:
    """A client's JWK Set from its URL: fetched once and kept for an hour; refetched when a kid is unknown (a rotated
    key), at most once per JWKS_MIN_REFETCH_SECONDS. Past its hour, one request refetches the set while the others go
    on with it; if that fails, the set stays in use, up to JWKS_MAX_STALE_SECONDS after it was fetched, and the next
    attempt waits JWKS_MIN_REFETCH_SECONDS: an outage of the JWKS endpoint is not an outage of the service."""

    def __init__(self, url: str, ttl_seconds: float = JWKS_TTL_SECONDS,
                 max_stale_seconds: float = JWKS_MAX_STALE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, timeout_seconds: float = JWKS_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.ttl_seconds = ttl_seconds
        self.max_stale_seconds = max_stale_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._cached: tuple[jwt.PyJWKSet, float] | None = None  # (keys, when fetched): replaced whole, read unlocked
        self._fetch_lock = threading.Lock()  # one first or hourly fetch at a time; known kids skip it once cached
        self._refetch_lock = threading.Lock()
        self._refetched_at = float("-inf")  # the last refetch for an unknown kid
        self._failed_at = float("-inf")  # the last failed fetch: the next one waits JWKS_MIN_REFETCH_SECONDS

    def key(self, kid: str | None) -> jwt.PyJWK:
        started = self._clock()
        keys, fetched_at = self._current()
        found = _find_key(keys, kid)
        # Only a set fetched before this lookup began can be missing a rotated key; the refetch takes no lock that
        # lookups of known kids wait for.
        if found is None and fetched_at < started and self._claim_refetch():
            found = _find_key(self._fetch()[0], kid)
        if found is None:
            raise _no_key(kid, f"the JWK Set of {self.url}")
        return found

    def _current(self) -> tuple[jwt.PyJWKSet, float]:
        cached = self._cached
        if cached is not None and self._age(cached) <= self.ttl_seconds:
            return cached
        if cached is not None and self._age(cached) <= self.max_stale_seconds:
            return self._refreshed(cached)
        with self._fetch_lock:  # no set to use: the others wait for this fetch instead of making their own
            cached = self._cached
            if cached is not None and self._age(cached) <= self.ttl_seconds:
                return cached
            if self._failed_recently():  # each caller waiting out the timeout in turn would stall them all
                raise Unauthorized(f"JWK Set {self.url} unavailable: the last fetch failed less than "
                                   f"{JWKS_MIN_REFETCH_SECONDS:.0f} s ago")
            return self._fetch()

    def _refreshed(self, stale: tuple[jwt.PyJWKSet, float]) -> tuple[jwt.PyJWKSet, float]:
        """The set refetched, past its TTL, by one request; the others, and all of them while the endpoint fails,
        go on with the stale set without waiting."""
        if not self._fetch_lock.acquire(blocking=False):
            return stale  # another request is refetching it
        try:
            cached = self._cached or stale
            if self._age(cached) <= self.ttl_seconds or self._failed_recently():
                return cached
            try:
                return self._fetch()
            except Unauthorized as failed:
                log.warning("%s; the keys fetched %.0f s ago stay in use, up to %.0f s after their fetch",
                            failed.reason, self._age(stale), self.max_stale_seconds)
                return stale
        finally:
            self._fetch_lock.release()

    def _age(self, cached: tuple[jwt.PyJWKSet, float]) -> float:
        return self._clock() - cached[1]

    def _failed_recently(self) -> bool:
        return self._clock() - self._failed_at < JWKS_MIN_REFETCH_SECONDS

    def _claim_refetch(self) -> bool:
        """Whether this caller may refetch for an unknown kid now (and so no other may for a while)."""
        with self._refetch_lock:
            now = self._clock()
            if now - self._refetched_at < JWKS_MIN_REFETCH_SECONDS:
                return False
            self._refetched_at = now
            return True

    def _fetch(self) -> tuple[jwt.PyJWKSet, float]:
        try:
            document = json.loads(_download(self.url, self.timeout_seconds))
            if not isinstance(document, dict):
                raise JwksUnavailable("not a JSON object")
            keys = _usable_key_set(document, f"JWK Set {self.url}")
        except (JwksUnavailable, requests.RequestException, ValueError, RecursionError, jwt.PyJWTError) as exc:
            self._failed_at = self._clock()
            reason = str(exc) if isinstance(exc, (JwksUnavailable, _NoUsableKey)) else type(exc).__name__
            raise Unauthorized(f"JWK Set {self.url} unavailable: {reason}") from None
        self._cached = (keys, self._clock())
        return self._cached


def _download(url: str, seconds: float) -> bytes:
    """The body at the JWK Set URL, at most JWKS_MAX_BYTES, all of it within `seconds`: the request thread that
    fetches waits meanwhile, and an endpoint sending a byte now and then would otherwise hold it past gunicorn's
    timeout (bounded_http.py). Redirects are not followed (as fhir_client.py does not): the keys are trusted for
    coming from the configured URL, and a redirect could lead from it to plain http or to another host."""
    deadline = time.monotonic() + seconds
    too_late = f"not received within {seconds:g} s"
    try:
        with session_until(deadline) as session, \
                session.get(url, timeout=seconds, allow_redirects=False, stream=True) as response:
            body = _capped_body(response)
    except requests.RequestException:
        if time.monotonic() < deadline:
            raise
        raise JwksUnavailable(too_late) from None
    if time.monotonic() >= deadline:  # a body read until the connection closes ends quietly when it is shut down
        raise JwksUnavailable(too_late)
    return body


def _capped_body(response: requests.Response) -> bytes:
    if response.is_redirect:
        raise JwksUnavailable(f"HTTP {response.status_code} redirect, not followed")
    if not 200 <= response.status_code < 300:
        raise JwksUnavailable(f"HTTP {response.status_code}")
    try:
        return read_capped(response, JWKS_MAX_BYTES)
    except TooLarge:
        raise JwksUnavailable(f"larger than {JWKS_MAX_BYTES} bytes") from None


def inline_key_sets(config: AuthConfig) -> dict[str, jwt.PyJWKSet]:
    """Each client's inline JWK Set by issuer, as the verifier uses it: loaded at start-up by the app and by
    `cds-service check` alike, so that the check passes only a file the service starts with. A set without a usable
    key is a ConfigError; an unusable key beside usable ones is a warning naming its kid."""
    return {c.iss: _inline_keys(c) for c in config.clients if c.jwks is not None}


def _inline_keys(client: ClientConfig) -> jwt.PyJWKSet:
    where = f"inline jwks of client {client.iss}"
    try:
        return _usable_key_set(client.jwks or {}, where)
    except _NoUsableKey as exc:
        raise ConfigError(f"{where}: {exc}") from None


class _NoUsableKey(ValueError):
    """A JWK Set none of whose keys can verify a token the service accepts: the message says why, key by key."""


def _usable_key_set(document: dict[str, Any], where: str) -> jwt.PyJWKSet:
    """The usable keys of a JWK Set, inline or fetched; _NoUsableKey when there is none. An unusable key beside usable
    ones is a warning naming its kid. PyJWT's own message for a set without a usable key guesses "Perhaps
    'cryptography' is not installed?", which it always is here."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise _NoUsableKey("no list of keys")
    verdicts = [(key, _unusable(key)) for key in keys]
    usable = [key for key, problem in verdicts if problem is None]
    unusable = [f"{_kid(key)} ({problem})" for key, problem in verdicts if problem is not None]
    if not usable:
        raise _NoUsableKey("no usable key" + (f"; not usable: {', '.join(unusable)}" if unusable else ""))
    if unusable:
        log.warning("%s: keys not usable, ignored (tokens signed with them are refused): %s", where,
                    ", ".join(unusable))
    return jwt.PyJWKSet(usable)


def _kid(key: Any) -> str:
    kid = key.get("kid") if isinstance(key, dict) else None
    return f"kid {kid[:100]!r}" if isinstance(kid, str) else "a key without a kid"


def _unusable(key: Any) -> str | None:
    """Why a JWK cannot verify any token the service accepts, or None when it can."""
    if not isinstance(key, dict):
        return "not a JSON object"
    try:
        algorithm = jwt.PyJWK(key).algorithm_name
    except jwt.PyJWTError as exc:
        # Some of PyJWT's messages end with the whole JWK ("kty is not found: {...}"): a private key pasted by
        # mistake must not reach the log.
        return str(exc).split(": {")[0]
    if algorithm not in ALLOWED_ALGORITHMS:
        return f"algorithm {algorithm} is not accepted"
    return None


def _find_key(keys: jwt.PyJWKSet | None, kid: str | None) -> jwt.PyJWK | None:
    if keys is None:
        return None
    if kid is None:  # tolerated only when the set leaves no doubt
        return keys.keys[0] if len(keys.keys) == 1 else None
    return next((k for k in keys.keys if k.key_id == kid), None)


def _no_key(kid: Any, where: str) -> Unauthorized:
    if kid is None:  # _find_key takes the only key of a set without one; a set of several leaves it unknown
        return Unauthorized(f"the JWT header has no kid (CDS Hooks requires one), and {where} holds several keys")
    return Unauthorized(f"no key {kid!r} in {where}")


# The key type each allowed algorithm family signs with (ALLOWED_ALGORITHMS).
_KEY_TYPES = {"ES": "EC", "RS": "RSA", "PS": "RSA"}


def _check_key_type(key: jwt.PyJWK, alg: str, client: ClientConfig) -> None:
    """The key the kid names is of the type the token's algorithm needs: PyJWT's own refusal of another ("TypeError:
    Expecting a PEM-formatted key.") said nothing of the kid or the algorithm."""
    if key.key_type != _KEY_TYPES[alg[:2]]:
        raise Unauthorized(f"key {key.key_id!r} of issuer {_unverified(client.iss)} is an {key.key_type} key; the "
                           f"token is signed with {alg}")


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
        _check_key_type(key, header["alg"], client)
        claims = _decode(token, header["alg"], key, client, audience)
        caller = _caller(client, claims)
        try:
            _check_lifetime(claims, self.config.max_token_lifetime_seconds)
            _check_issued_at(claims, self.config.max_token_lifetime_seconds)
            _check_tenant(claims, client)
            self._check_replay(claims)
        except Unauthorized as exc:
            raise CallerRefused(exc.reason, caller) from None
        except Exception as exc:  # the jti store failed: still known is who sent the token, for the audit trail
            raise ReplayUnchecked(caller, exc) from exc
        return caller

    def _client(self, iss: str) -> ClientConfig:
        client = self.config.client(iss)
        if client is None:
            raise Unauthorized(f"issuer {_unverified(iss)} is not a configured client")
        return client

    def _key(self, client: ClientConfig, kid: str | None) -> jwt.PyJWK:
        if client.iss in self._inline:
            found = _find_key(self._inline[client.iss], kid)
            if found is None:
                raise _no_key(kid, f"the inline JWK Set of issuer {_unverified(client.iss)}")
            return found
        return self._caches[client.iss].key(kid)

    def _check_replay(self, claims: Mapping[str, Any]) -> None:
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("jti is not a non-empty string")
        expires_at = datetime.fromtimestamp(int(claims["exp"]) + LEEWAY_SECONDS, tz=timezone.utc)
        # Scoped by issuer, hashed so any client-chosen jti fits the column.
        key = hashlib.sha256(f"{claims['iss']}|{jti}".encode("utf-8", "surrogatepass")).hexdigest()
        if not self.jti_store.use_jti(key, expires_at):
            raise Unauthorized(f"jti reused by {claims['iss']}")


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
    return f"{iss[:200]!r} (unverified)"


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"malformed JWT header: {type(exc).__name__}") from None
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise Unauthorized(f"algorithm {header.get('alg')!r} not allowed")
    return header


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


def _check_lifetime(claims: Mapping[str, Any], max_lifetime: int) -> None:
    """The deployment's limit (auth configuration max_token_lifetime_seconds): it also bounds how long a jti is
    remembered, since _check_replay keeps each one until its token expires."""
    exp = int(claims["exp"])  # PyJWT has checked that it reads as an integer, and is not past
    if exp > time.time() + max_lifetime + LEEWAY_SECONDS:
        raise Unauthorized(f"exp {exp} is more than {max_lifetime} s in the future")


def _check_issued_at(claims: Mapping[str, Any], max_lifetime: int) -> None:
    """`iat` a number, not ahead of now, and not older than the lifetime limit: a token valid now (its exp not past)
    and issued longer ago than that lived longer than the deployment allows. PyJWT took any past iat (-1e300), a
    string of digits and `true`, and its maintainers mean to stop refusing a future one (pyjwt#939). The values are
    not quoted: they may be hundreds of digits long."""
    iat = claims["iat"]
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise Unauthorized("iat is not a finite number")
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
        raise Unauthorized(f"jku {jku!r} is not the JWK Set URL configured for issuer {_unverified(client.iss)}")


def _check_tenant(claims: Mapping[str, Any], client: ClientConfig) -> None:
    tenant = claims.get("tenant")
    # CDS Hooks makes the tenant a string. Another JSON type was taken as no tenant when none is configured, so a
    # call from a multi-site EHR was audited without its site; the value is not repeated (it may be large).
    if tenant is not None and not isinstance(tenant, str):
        raise Unauthorized(f"tenant of {client.iss} is not a string")
    if client.tenants and tenant not in client.tenants:
        raise Unauthorized(f"tenant {tenant!r} not allowed for {client.iss}")
    # The tenant is audited, and matched in audit queries, as sent: one the database cannot hold is refused here.
    if isinstance(tenant, str) and not _storable_tenant(tenant):
        raise Unauthorized(f"tenant of {client.iss} cannot be stored (NUL, lone surrogate or too long)")


def _under(url: tuple[str, str, str], prefix: tuple[str, str, str]) -> bool:
    same_origin = url[:2] == prefix[:2]
    return same_origin and (url[2] == prefix[2] or url[2].startswith(prefix[2] + "/"))


def server_allowlist(local_mode: bool, client: ClientConfig | None) -> Callable[[str], bool]:
    """Whether the service may fetch from a URL: any http(s) locally; in production only the verified client's
    configured FHIR servers (prefix match on normalized URLs)."""
    allowed = [p for p in (normalized_url(u) for u in (client.fhir_servers if client else ())) if p]

    def allow(url: str) -> bool:
        target = normalized_url(url)
        if target is None:
            return False
        return local_mode or any(_under(target, prefix) for prefix in allowed)

    return allow
