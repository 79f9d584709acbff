"""FHIR server URLs as the allowlist compares them, and the allowlist: which servers the service may fetch from. A
module of its own, so that request validation reads them without loading the configuration (and its database stack):
the client configuration is imported for its type alone."""
from __future__ import annotations

import ipaddress
import re
import socket
from typing import TYPE_CHECKING, Callable
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from cds_service.config import ClientConfig

# Dot segments could climb out of an allowed prefix. Servers decode %2e (and some read "\\" as "/") before resolving
# them, so they are looked for in the decoded path; and Java servlet containers (Tomcat, Jetty: HAPI FHIR's) drop a
# segment's ";parameters" first, so "..;x" is "..".
_SEGMENT_SEPARATOR = re.compile(r"[/\\]")
# Cloud instance metadata services hand the instance's credentials to whoever asks from inside it, and the service
# sends the request's access token to its fhirServer. Their names, the addresses that are neither link-local nor
# anybody else's (AWS's and Google Cloud's IPv6 ones, unique local; Alibaba Cloud's, in the carrier-grade NAT range,
# where only it is refused); the other IPv4 ones (169.254.169.254, ...) are link-local, refused as such.
_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata"})
_METADATA_ADDRESSES = frozenset({ipaddress.IPv6Address("fd00:ec2::254"), ipaddress.IPv6Address("fd20:ce::254"),
                                 ipaddress.IPv4Address("100.100.100.200")})


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


def internal_host(url: str) -> bool:
    """Whether a URL's host is a cloud metadata service's (by name or address) or a link-local address
    (169.254.0.0/16, fe80::/10): never fetched from, whatever the configuration. Names are not resolved here (a lookup
    per call is slow, and its answer could change before the fetch): a name leading to such an address is refused by
    the connection itself, once it knows the address it reached (internal_address, bounded_http.py)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return False  # no URL at all: normalized_url refuses it
    address = _literal_address(host)
    if address is None:
        return host in _METADATA_NAMES
    return _internal(address)


def internal_address(address: str) -> bool:
    """Whether the address a connection reached (as getpeername gives it) is link-local or a cloud metadata
    service's: what internal_host cannot tell of a name, the connection tells once made (bounded_http.py)."""
    found = _literal_address(address.split("%", 1)[0])  # an IPv6 scope ("fe80::1%eth0") is no part of the address
    return found is not None and _internal(found)


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_link_local or address in _METADATA_ADDRESSES


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host written as one stands for, as the resolver reads it: also IPv4 in inet_aton's other forms
    ("2852039166", "0xa9.0xfe.0xa9.0xfe", "169.254.43518"), and the IPv4 address an IPv4-mapped IPv6 one carries."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):  # a name (ValueError: one inet_aton cannot even take, as with a NUL)
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _under(url: tuple[str, str, str], prefix: tuple[str, str, str]) -> bool:
    same_origin = url[:2] == prefix[:2]
    return same_origin and (url[2] == prefix[2] or url[2].startswith(prefix[2] + "/"))


def server_allowlist(local_mode: bool, client: ClientConfig | None) -> Callable[[str], bool]:
    """Whether the service may fetch from a URL: any http(s) locally; in production only the verified client's
    configured FHIR servers (prefix match on normalized URLs); in no mode an internal host (internal_host)."""
    allowed = [p for p in (normalized_url(u) for u in (client.fhir_servers if client else ())) if p]

    def allow(url: str) -> bool:
        target = normalized_url(url)
        if target is None or internal_host(url):
            return False
        return local_mode or any(_under(target, prefix) for prefix in allowed)

    return allow
