"""What a started server says it applies (`announce`), in the words of `cds-service check`, which prints the same:
the release, the mode, the plans, the audit database, the settings in effect and each client with its keys."""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from urllib.parse import urlsplit

from jwt import PyJWK
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from sqlalchemy.engine import make_url

from cds_service import __version__, card_text, valuesets
from cds_service.config import (
    CA_BUNDLE_VARIABLES, AuthConfig, ClientConfig, Settings, loopback_host,
)
from cds_service.db import printable_url
from cds_service.jwks import JWKS_MIN_REFETCH_SECONDS, KeySetUnavailable, declared_algorithm, fetch_key_set
from cds_service.policies import load_policy, loading, policy_ids
from cds_service.printable import json_value

log = logging.getLogger(__name__)

_FETCHES_AT_ONCE = 16  # JWK Set URLs fetched at once at start: a few clients, rarely more


def announce(settings: Settings) -> None:
    """Log, once the app is built to serve (gunicorn's `create_app()`, `cds-service serve`), what it applies: the
    release, the mode, the plans, the audit database and the settings in effect, defaults included, then each client;
    and each client's `jwks_url` fetched once, so that a key host this machine cannot reach is a WARNING at start
    rather than a 401 at the first call. Before, only `cds-service check` said these: the log of a running service
    said none of them."""
    plans = ", ".join(f"{p.id} ({p.payer_label}, version {p.version}{_operators(p.source)})"
                      for p in map(load_policy, policy_ids()))
    log.info("cds-service %s configured: %s; plans %s; value sets digest %s; card templates %s; audit database %s; %s; "
             "%s", __version__, mode_line(settings), plans, valuesets.get_valuesets().digest, card_text.cards_dir(),
             printable_url(make_url(settings.database_url)), trust_line(), settings_line(settings))
    for line in client_lines(settings.auth):
        log.info("%s", line)
    warn_base_url(settings)
    for usable, line in key_set_states(settings.auth):
        if usable:
            log.info("%s", line)
        else:
            log.warning("%s: every token of this client is refused (401) until it answers; tried again at its next "
                        "token, at most every %.0f s", line, JWKS_MIN_REFETCH_SECONDS)


def warn_base_url(settings: Settings) -> None:
    """WARNINGs about the public base URL in effect (_warn_unset_base_url, _warn_unused_base_url, _warn_plain_http),
    at start and from `cds-service check`: the one place each is decided and worded."""
    _warn_unset_base_url(settings)
    _warn_unused_base_url(settings)
    _warn_plain_http(settings)


def _warn_unset_base_url(settings: Settings) -> None:
    """A WARNING for a JWT-mode service whose public base URL no setting names: the JWT audience is then a URL the
    operator never chose (the local default, or under `cds-service serve` the address served), and every token an EHR
    signs for the URL it calls gets a 401. A URL set on purpose is never warned of, the loopback default included (an
    EHR sandbox on this machine): the start-up line and `check` print it. Decided here alone: the app warned when the
    URL equalled the default even when set so, and `check` when no setting named it."""
    named = settings.auth is None or settings.auth.public_base_url or os.environ.get("CDS_PUBLIC_BASE_URL")
    if not named:
        log.warning("the JWT audience is %s/cds-services/..., as neither CDS_PUBLIC_BASE_URL nor public_base_url in "
                    "CDS_AUTH_CONFIG is set: a token an EHR signs for the URL it calls gets a 401; set "
                    "CDS_PUBLIC_BASE_URL to that URL, without /cds-services (https://cds.example.org)",
                    settings.public_base_url)


def _warn_unused_base_url(settings: Settings) -> None:
    """A WARNING when CDS_PUBLIC_BASE_URL names another URL than the auth file's public_base_url, which wins: an
    operator who moved the service and changed the variable alone saw every token refused for its audience, and card
    links still naming the old host, with nothing saying the variable was not used."""
    own = os.environ.get("CDS_PUBLIC_BASE_URL")
    used = settings.auth.public_base_url if settings.auth else None
    if own is not None and used is not None and own.rstrip("/") != used:
        log.warning("CDS_PUBLIC_BASE_URL %s is not used: the auth configuration's public_base_url %s wins (the JWT "
                    "audience, card links): make them agree, or unset one", own, used)


def _warn_plain_http(settings: Settings) -> None:
    """A WARNING for a JWT-mode service whose public URL is plain http at a host other than loopback: the EHR then
    sends its JWTs and the patient's record over the network unencrypted (CDS Hooks requires TLS), and the audience
    it signs for is that http URL. Accepted silently before; a URL behind a TLS proxy is its https one."""
    parts = urlsplit(settings.public_base_url)
    if settings.auth is not None and parts.scheme == "http" and not loopback_host(parts.hostname or ""):
        log.warning("the public base URL %s is plain http: EHRs would send their JWTs and the patient's record "
                    "unencrypted (CDS Hooks requires TLS); serve it behind a TLS reverse proxy and set public_base_url "
                    "to the https URL they call", settings.public_base_url)


def _operators(source: str) -> str:
    return "" if source == loading.SHIPPED else f", {source}"


def mode_line(settings: Settings) -> str:
    """How calls are authenticated, and the public base URL (the JWT audience). "JWT required" was said of an auth
    file with require_jwt false too, which answers calls without a token."""
    if settings.auth is None:
        mode = "local mode: no JWT required (no CDS_AUTH_CONFIG)"
    elif settings.auth.require_jwt:
        mode = "JWT required (CDS_AUTH_CONFIG)"
    else:
        mode = "JWT optional (CDS_AUTH_CONFIG with require_jwt false: a call without one is answered)"
    return f"{mode}; public base URL {settings.public_base_url}"


def client_lines(auth: AuthConfig | None) -> list[str]:
    """The clients the auth file trusts, as the service read it: an integration engineer checks the keys, servers and
    tenants of each EHR before it calls (a misread file is refused, but a wrong URL in it is not)."""
    if auth is None:
        return []
    return [f"client {client.iss}: keys {client.jwks_url or 'inline JWK Set'}; FHIR servers "
            f"{', '.join(client.fhir_servers) or 'none'}; tenants {', '.join(client.tenants) or 'any'}"
            for client in auth.clients]


def trust_line() -> str:
    """The CA certificates the https fetches (FHIR servers, JWK Set URLs) trust, as requests picks them from the
    environment: the first suspect of an SSLError, and a private CA's bundle set in one place (a shell, a unit's
    environment file) but not in the service's is seen at start."""
    name = next((variable for variable in CA_BUNDLE_VARIABLES if os.environ.get(variable)), None)
    trusted = f"{os.environ[name]} ({name})" if name else f"certifi's bundle {DEFAULT_CA_BUNDLE_PATH}"
    return f"CAs trusted for https FHIR servers and JWK Set URLs: {trusted}"


def settings_line(settings: Settings) -> str:
    """The other settings in effect, their defaults included: what an unset variable gave."""
    zone = settings.time_zone.key if settings.time_zone else f"the server's ({datetime.now().astimezone().tzname()})"
    return (f"CORS origins {', '.join(settings.cors_origins)}; clinical date in {zone}; fetch budget "
            f"{settings.fetch_budget_seconds:g} s; body limit {settings.max_body_bytes} bytes; log level "
            f"{settings.log_level}; metrics {settings.metrics_dir or 'of each process alone'}")


def key_set_states(auth: AuthConfig | None) -> list[tuple[bool, str]]:
    """Each `jwks_url` client's JWK Set fetched as its first token would fetch it: (True, the keys found) or (False,
    why every token of that client would get a 401: the host unreachable from here, a private CA, a 404, no usable
    key). Up to _FETCHES_AT_ONCE at once: a start waits for the slowest host (at most jwks.JWKS_TIMEOUT_SECONDS),
    not their sum."""
    clients = [client for client in (auth.clients if auth else ()) if client.jwks_url]
    if not clients:
        return []
    with ThreadPoolExecutor(max_workers=min(len(clients), _FETCHES_AT_ONCE)) as pool:
        return list(pool.map(_key_set_state, clients))


def _key_set_state(client: ClientConfig) -> tuple[bool, str]:
    try:
        keys = fetch_key_set(str(client.jwks_url))
    except KeySetUnavailable as exc:
        return False, f"client {client.iss}: {exc.reason}; {exc.fix}"
    return True, f"client {client.iss}: JWK Set {client.jwks_url}: keys {', '.join(map(_described, keys.keys))}"


def _described(key: PyJWK) -> str:
    algorithm = declared_algorithm(key)
    return f"{json_value(key.key_id)} ({key.key_type}{f' for {algorithm}' if algorithm else ''})"
