"""FHIR server URLs as the allowlist compares them, and the allowlist: which servers the service may fetch from. A
module of its own, so that request validation reads them without loading the configuration (and its database stack):
the client configuration is imported for its type alone."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from cds_service.config import ClientConfig

# Dot segments could climb out of an allowed prefix. Servers decode %2e (and some read "\\" as "/") before resolving
# them, so they are looked for in the decoded path; and Java servlet containers (Tomcat, Jetty: HAPI FHIR's) drop a
# segment's ";parameters" first, so "..;x" is "..".
_SEGMENT_SEPARATOR = re.compile(r"[/\\]")


def has_dot_segment(path: str) -> bool:
    """Whether a URL path holds a "." or ".." segment as a server would resolve it (comment above): a path that could
    climb out of the prefix it seems to be under."""
    return any(segment.split(";", 1)[0] in (".", "..") for segment in _SEGMENT_SEPARATOR.split(unquote(path)))


def normalized_url(url: str) -> tuple[str, str, str] | None:
    """(scheme, host:port, path) with default ports and trailing slashes removed; None if unusable or ambiguous.

    The FHIR server allowlist (server_allowlist) compares these, the configuration checks its entries with the
    same rule (one that could never match is refused at start-up), and so does a request's fhirServer
    (validation.py)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if has_dot_segment(parts.path):
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
    allowed = [p for p in (normalized_url(u) for u in (client.fhir_servers if client else ())) if p]

    def allow(url: str) -> bool:
        target = normalized_url(url)
        if target is None:
            return False
        return local_mode or any(_under(target, prefix) for prefix in allowed)

    return allow
