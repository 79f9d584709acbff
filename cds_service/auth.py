"""CDS Hooks 2.0 Security: verifying the client's JWT, and which FHIR servers a caller may point the service at.

Failures raise `Unauthorized` with a reason for the log; the token itself is never logged or stored.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, NamedTuple, Protocol
from urllib.parse import urlsplit

import jwt
import requests

from cds_service.config import AuthConfig, ClientConfig, ConfigError
from cds_service.http_errors import Unauthorized

log = logging.getLogger(__name__)

# Asymmetric only: "none" and HMAC are refused (CDS Hooks 2.0; HMAC would need a secret shared with every client).
ALLOWED_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_TTL_SECONDS = 3600.0



class Caller(NamedTuple):
    """Who called, as the verified JWT says: the client's issuer and, for a multi-site EHR, the tenant (a patient
    id means one patient only within both)."""

    iss: str
    tenant: str | None

class JtiStore(Protocol):
    def use_jti(self, jti: str, expires_at: datetime) -> bool: ...


class JwksCache:
    """A client's JWK Set from its URL: fetched once, kept for an hour, refetched once when a kid is unknown."""

    def __init__(self, url: str, ttl_seconds: float = JWKS_TTL_SECONDS) -> None:
        self.url = url
        self.ttl_seconds = ttl_seconds
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            stale = self._keys is None or time.monotonic() - self._fetched_at > self.ttl_seconds
            if stale:
                self._refresh()
            found = _find_key(self._keys, kid)
            if found is None and not stale:  # a rotated key: one refetch, no more
                self._refresh()
                found = _find_key(self._keys, kid)
        if found is None:
            raise Unauthorized(f"no key {kid!r} in the JWK Set of {self.url}")
        return found

    def _refresh(self) -> None:
        try:
            response = requests.get(self.url, timeout=JWKS_TIMEOUT_SECONDS)
            response.raise_for_status()
            self._keys = jwt.PyJWKSet.from_dict(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            raise Unauthorized(f"JWK Set {self.url} unavailable: {type(exc).__name__}") from None
        self._fetched_at = time.monotonic()


def _inline_keys(client: ClientConfig) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_dict(client.jwks or {})
    except jwt.PyJWTError as exc:
        raise ConfigError(f"inline jwks of client {client.iss}: {exc}") from None


def _find_key(keys: jwt.PyJWKSet | None, kid: str | None) -> jwt.PyJWK | None:
    if keys is None:
        return None
    if kid is None:  # tolerated only when the set leaves no doubt
        return keys.keys[0] if len(keys.keys) == 1 else None
    return next((k for k in keys.keys if k.key_id == kid), None)


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
        self._inline = {c.iss: _inline_keys(c) for c in config.clients if c.jwks is not None}

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
        claims = self._decode(token, header, client, audience)
        _check_tenant(claims, client)
        self._check_replay(claims)
        tenant = claims.get("tenant")
        return Caller(client.iss, tenant if isinstance(tenant, str) else None)

    def _client(self, iss: str) -> ClientConfig:
        client = self.config.client(iss)
        if client is None:
            raise Unauthorized(f"issuer {iss!r} is not a configured client")
        return client

    def _key(self, client: ClientConfig, kid: str | None) -> jwt.PyJWK:
        if client.iss in self._inline:
            found = _find_key(self._inline[client.iss], kid)
            if found is None:
                raise Unauthorized(f"no key {kid!r} in the inline JWK Set of {client.iss}")
            return found
        return self._caches[client.iss].key(kid)

    def _decode(self, token: str, header: Mapping[str, Any], client: ClientConfig, audience: str) -> dict[str, Any]:
        key = self._key(client, header.get("kid"))
        try:
            return jwt.decode(
                token,
                key=key.key,
                algorithms=[header["alg"]],
                audience=audience,
                issuer=client.iss,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "jti", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthorized(f"token from {client.iss} rejected: {type(exc).__name__}: {exc}") from None

    def _check_replay(self, claims: Mapping[str, Any]) -> None:
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("jti is not a non-empty string")
        expires_at = datetime.fromtimestamp(int(claims["exp"]) + LEEWAY_SECONDS, tz=timezone.utc)
        # Scoped by issuer, hashed so any client-chosen jti fits the column.
        key = hashlib.sha256(f"{claims['iss']}|{jti}".encode("utf-8", "surrogatepass")).hexdigest()
        if not self.jti_store.use_jti(key, expires_at):
            raise Unauthorized(f"jti reused by {claims['iss']}")


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


def _check_jku(header: Mapping[str, Any], client: ClientConfig) -> None:
    jku = header.get("jku")
    if jku is not None and jku != client.jwks_url:
        raise Unauthorized(f"jku {jku!r} is not the JWK Set URL configured for {client.iss}")


def _check_tenant(claims: Mapping[str, Any], client: ClientConfig) -> None:
    if client.tenants and claims.get("tenant") not in client.tenants:
        raise Unauthorized(f"tenant {claims.get('tenant')!r} not allowed for {client.iss}")


def _normalized(url: str) -> tuple[str, str, str] | None:
    """(scheme, host:port, path) with default ports and trailing slashes removed; None if unusable or ambiguous."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    segments = parts.path.split("/")
    if "." in segments or ".." in segments:  # dot segments could climb out of an allowed prefix
        return None
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if port in (None, default_port) else f"{parts.hostname}:{port}"
    return parts.scheme, host, parts.path.rstrip("/")


def _under(url: tuple[str, str, str], prefix: tuple[str, str, str]) -> bool:
    same_origin = url[:2] == prefix[:2]
    return same_origin and (url[2] == prefix[2] or url[2].startswith(prefix[2] + "/"))


def server_allowlist(local_mode: bool, client: ClientConfig | None) -> Callable[[str], bool]:
    """Whether the service may fetch from a URL: any http(s) locally; in production only the verified client's
    configured FHIR servers (prefix match on normalized URLs)."""
    allowed = [p for p in (_normalized(u) for u in (client.fhir_servers if client else ())) if p]

    def allow(url: str) -> bool:
        target = _normalized(url)
        if target is None:
            return False
        return local_mode or any(_under(target, prefix) for prefix in allowed)

    return allow
