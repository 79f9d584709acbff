"""A client's JWK Set: the keys a JWT is verified with, fetched from the client's `jwks_url` (cached, refreshed, kept
through an outage of its host) or configured inline; either way only the keys usable for an accepted algorithm and
for signatures.

auth.py verifies tokens with them; `cds-service check` loads the inline sets as the app does (and, with `--connect`,
fetches each `jwks_url` as a first token does). A failure to fetch or find a key raises `Unauthorized` with a reason
for the log.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable

import jwt
import requests

from cds_service.bounded_http import TooLarge, read_capped, session_until
from cds_service.config import AuthConfig, ClientConfig, ConfigError
from cds_service.http_errors import Unauthorized
from cds_service.printable import json_value

log = logging.getLogger(__name__)

# Asymmetric only: "none" and HMAC are refused (CDS Hooks 2.0; HMAC would need a secret shared with every client).
# A token signed with another is refused (auth.py); a key for another is not usable.
ALLOWED_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
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
# NIST SP 800-131A: a shorter RSA key can be factored (512 bits in hours on rented machines), and whoever factors the
# EHR's key signs tokens as the EHR. PyJWT only warns, and only when a token is verified.
MIN_RSA_BITS = 2048
# An EC or RSA JWK's private members (RFC 7518 §6.2.2, §6.3.2): a key published with them signs for anybody who read
# it, and one configured inline puts the EHR's signing key in the service's files. (An HMAC key, "oct", is refused
# for its algorithm.)
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")


# What the operator changes when a JWK Set URL gives no usable key, said after the reason by `cds-service check
# --connect` and the start-up's WARNING: "unavailable: ConnectionError" alone named the failure, not what to do.
_FIX_NOT_A_KEY_SET = "the URL answers with no JWK Set of public signing keys: check the client's jwks_url"
_FIX_UNREACHABLE = ("nothing answers at its host and port from this machine: check the client's jwks_url, and a "
                    "firewall or proxy (HTTPS_PROXY, NO_PROXY) on the way")
_FIX_UNTRUSTED = ("its certificate is not signed by a CA trusted here: name a PEM file holding that CA in "
                  "REQUESTS_CA_BUNDLE")
_FIX_SLOW = "the key host did not answer in time: check that this machine reaches it (a firewall dropping packets)"
_FIX_MOVED = "the key host sends it elsewhere: give the URL it leads to (https) as the client's jwks_url"
_FIX_REFUSED = "the key host has no JWK Set for this machine at that URL: check the client's jwks_url"
_FIX_FAILING = "the key host is failing at that URL: its owner must fix it"


class JwksUnavailable(Exception):
    """Why a JWK Set could not be fetched, in words (the class of a requests or JSON error is its own reason), and
    what the operator changes."""

    def __init__(self, reason: str, fix: str = _FIX_NOT_A_KEY_SET) -> None:
        super().__init__(reason)
        self.fix = fix


class KeySetUnavailable(Unauthorized):
    """A JWK Set URL that gave no usable key: the 401's `reason`, and the `fix` the start-up and the check add."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.fix = fix


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
        found = find_key(keys, kid)
        # Only a set fetched before this lookup began can be missing a rotated key; the refetch takes no lock that
        # lookups of known kids wait for.
        if found is None and fetched_at < started and self._claim_refetch():
            found = find_key(self._fetch()[0], kid)
        if found is None:
            raise no_key(kid, f"the JWK Set of {self.url}")
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
        # OSError: requests' exceptions, and what it raises itself before connecting (a CA bundle it cannot find).
        except (JwksUnavailable, OSError, ValueError, RecursionError, jwt.PyJWTError) as exc:
            self._failed_at = self._clock()
            reason = str(exc) if isinstance(exc, (JwksUnavailable, _NoUsableKey)) else type(exc).__name__
            raise KeySetUnavailable(f"JWK Set {self.url} unavailable: {reason}", _fix(exc)) from None
        self._cached = (keys, self._clock())
        return self._cached


def fetch_key_set(url: str) -> jwt.PyJWKSet:
    """The usable keys at a JWK Set URL, fetched once as the first token of its client fetches them; `Unauthorized`
    with the reason that token's 401 would log when they cannot be had (the host unreachable, TLS, no usable key):
    KeySetUnavailable, which also says what to change."""
    return JwksCache(url)._fetch()[0]


def _fix(exc: Exception) -> str:
    """What to change for a failed fetch: requests' SSLError is a ConnectionError, so it is asked first."""
    if isinstance(exc, JwksUnavailable):
        return exc.fix
    if isinstance(exc, requests.exceptions.SSLError):
        return _FIX_UNTRUSTED
    if isinstance(exc, requests.ConnectionError):
        return _FIX_UNREACHABLE
    return _FIX_NOT_A_KEY_SET


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
        raise JwksUnavailable(too_late, _FIX_SLOW) from None
    if time.monotonic() >= deadline:  # a body read until the connection closes ends quietly when it is shut down
        raise JwksUnavailable(too_late, _FIX_SLOW)
    return body


def _capped_body(response: requests.Response) -> bytes:
    if response.is_redirect:
        raise JwksUnavailable(f"HTTP {response.status_code} redirect, not followed", _FIX_MOVED)
    if not 200 <= response.status_code < 300:
        raise JwksUnavailable(f"HTTP {response.status_code}",
                              _FIX_FAILING if response.status_code >= 500 else _FIX_REFUSED)
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
    return f"kid {json_value(kid, 100)}" if isinstance(kid, str) else "a key without a kid"


def _unusable(key: Any) -> str | None:
    """Why a JWK cannot verify any token the service accepts, or None when it can."""
    if not isinstance(key, dict):
        return "not a JSON object"
    if "use" in key and key["use"] != "sig":  # a key published for encryption (RFC 7517 §4.2) signs nothing
        return f"use {json_value(key['use'], 20)} is not \"sig\""
    if any(member in key for member in _PRIVATE_MEMBERS):  # named, never quoted
        return "it holds a private key, with which anybody who reads it can sign tokens: give the public key only"
    try:
        parsed = jwt.PyJWK(key)
    except jwt.PyJWTError as exc:
        # Some of PyJWT's messages end with the whole JWK ("kty is not found: {...}"): a private key pasted by
        # mistake must not reach the log.
        return str(exc).split(": {")[0]
    if parsed.algorithm_name not in ALLOWED_ALGORITHMS:
        return f"algorithm {parsed.algorithm_name} is not accepted"
    if parsed.key_type == "RSA" and parsed.key.key_size < MIN_RSA_BITS:
        return f"an RSA key of {parsed.key.key_size} bits, fewer than {MIN_RSA_BITS}"
    return None


def declared_algorithm(key: jwt.PyJWK) -> Any:
    """The `alg` the key's JWK declares, or None. PyJWK has no property for it (its algorithm_name is guessed from
    the key type when the JWK declares none) but keeps the JWK, as its kty, kid and use properties read it."""
    return key._jwk_data.get("alg")


def find_key(keys: jwt.PyJWKSet | None, kid: str | None) -> jwt.PyJWK | None:
    if keys is None:
        return None
    if kid is None:  # tolerated only when the set leaves no doubt
        return keys.keys[0] if len(keys.keys) == 1 else None
    return next((k for k in keys.keys if k.key_id == kid), None)


def no_key(kid: Any, where: str) -> Unauthorized:
    if kid is None:  # find_key takes the only key of a set without one; a set of several leaves it unknown
        return Unauthorized(f"the JWT header has no kid (CDS Hooks requires one), and {where} holds several keys")
    return Unauthorized(f"no key {json_value(kid)} in {where}")
