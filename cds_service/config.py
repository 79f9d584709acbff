"""Settings from environment variables and the optional auth configuration file (docs/configuration.md)."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

LOCAL_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
N = TypeVar("N", int, float)


class ConfigError(ValueError):
    """The environment or the auth configuration file is unusable: the service refuses to start."""


@dataclass(frozen=True)
class ClientConfig:
    """One trusted CDS client (an EHR): who signs its JWTs and which FHIR servers it may point us at."""

    iss: str
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    fhir_servers: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthConfig:
    require_jwt: bool
    public_base_url: str | None
    clients: tuple[ClientConfig, ...]

    def client(self, iss: str) -> ClientConfig | None:
        return next((c for c in self.clients if c.iss == iss), None)


@dataclass(frozen=True)
class Settings:
    database_url: str
    public_base_url: str = LOCAL_BASE_URL
    auth: AuthConfig | None = None  # None: local mode (no JWT required, presented tokens not verified)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_origins: tuple[str, ...] = ("*",)
    fetch_budget_seconds: float = 3.0
    log_level: str = "INFO"

    @property
    def local_mode(self) -> bool:
        return self.auth is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        auth = _load_auth(env.get("CDS_AUTH_CONFIG"))
        base_url = (auth and auth.public_base_url) or env.get("CDS_PUBLIC_BASE_URL") or LOCAL_BASE_URL
        return cls(
            database_url=env.get("CDS_DATABASE_URL") or default_database_url(env.get("CDS_DATA_DIR")),
            public_base_url=base_url.rstrip("/"),
            auth=auth,
            max_body_bytes=_positive(env, "CDS_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, int),
            cors_origins=_origins(env.get("CDS_CORS_ORIGINS")),
            fetch_budget_seconds=_positive(env, "CDS_FETCH_BUDGET_SECONDS", 3.0, float),
            log_level=_log_level(env.get("CDS_LOG_LEVEL")),
        )


def default_database_url(data_dir: str | None) -> str:
    """The local default: an SQLite file in CDS_DATA_DIR (default ./data)."""
    return f"sqlite:///{(Path(data_dir or 'data') / 'cds.db').resolve()}"


def _positive(env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N]) -> N:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value


def _log_level(raw: str | None) -> str:
    level = (raw or "INFO").strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ConfigError(f"CDS_LOG_LEVEL {raw!r} is not a logging level (DEBUG, INFO, WARNING, ERROR)")
    return level


def _origins(raw: str | None) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in (raw or "*").split(",") if o.strip())
    return origins or ("*",)


def _load_auth(path: str | None) -> AuthConfig | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"CDS_AUTH_CONFIG {path}: {exc}") from None
    return parse_auth_config(data)


def parse_auth_config(data: Any) -> AuthConfig:
    """Checks the auth configuration's shape (docs/configuration.md) so a typo fails at start-up, not per request."""
    if not isinstance(data, dict):
        raise ConfigError("auth configuration must be a JSON object")
    clients = data.get("clients") or []
    if not isinstance(clients, list):
        raise ConfigError("auth configuration 'clients' must be a list")
    base = data.get("public_base_url")
    if base is not None and not isinstance(base, str):
        raise ConfigError("auth configuration 'public_base_url' must be a string")
    return AuthConfig(
        require_jwt=bool(data.get("require_jwt", True)),
        public_base_url=base.rstrip("/") if base else None,
        clients=tuple(_parse_client(c, i) for i, c in enumerate(clients)),
    )


def _parse_client(data: Any, index: int) -> ClientConfig:
    where = f"auth configuration clients[{index}]"
    if not isinstance(data, dict) or not isinstance(data.get("iss"), str) or not data["iss"]:
        raise ConfigError(f"{where} needs an 'iss' string")
    jwks_url, jwks = data.get("jwks_url"), data.get("jwks")
    if (jwks_url is None) == (jwks is None):
        raise ConfigError(f"{where} needs exactly one of 'jwks_url' or 'jwks'")
    if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        raise ConfigError(f"{where} 'jwks' must be a JWK Set object with 'keys'")
    return ClientConfig(
        iss=data["iss"],
        jwks_url=jwks_url,
        jwks=jwks,
        fhir_servers=_strings(data.get("fhir_servers"), f"{where} fhir_servers"),
        tenants=_strings(data.get("tenants"), f"{where} tenants"),
    )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)
