"""Error answers: FHIR OperationOutcome bodies for every client error, an empty 401, never a 500 for client input."""
from __future__ import annotations

import logging
from typing import IO, Any, TypeVar, cast

from flask import Flask, Response, g, json, request
from gunicorn.http.errors import ParseException
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.local import LocalProxy

from cds_service import SERVICE_ID
from cds_service.db_errors import DatabaseUnavailable, error_summary, is_unavailable
from cds_service.exceptions import ClientError, UnknownService
from cds_service.log_format import without_message, without_tokens
from cds_service.printable import quoted_id

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
RETRY_AFTER_SECONDS = 10  # the audit writer retries every 5 s at most: a database back by then is seen by then


_T = TypeVar("_T")


def unproxied(proxy: _T) -> _T:
    """The object behind one of Flask's context globals (`request`, `g`). Their LocalProxy finds it again on every
    attribute read or set, which costs about ten times the access itself: a function using one several times takes
    the object once (werkzeug documents `_get_current_object` for this)."""
    return cast("LocalProxy[_T]", proxy)._get_current_object()


class Unauthorized(Exception):
    """JWT missing or invalid. `reason` is for the log only: the client gets an empty 401 (CDS Hooks Security)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def operation_outcome(message: str, expression: str | None = None, code: str = "invalid") -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_response(status: int, message: str, expression: str | None = None, code: str = "invalid") -> Response:
    body = json.dumps(operation_outcome(message, expression, code))
    return Response(body, status=status, mimetype=FHIR_JSON)


# HTTP statuses Werkzeug raises on its own, with the OperationOutcome issue code that fits each.
_HTTP_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}
# What werkzeug allows on every route beside the methods a route names (a preflight, a GET's headers alone): not what
# a 405 tells the caller to use.
_IMPLIED_METHODS = ("OPTIONS", "HEAD")


# What the WSGI server raises while the body is read, once the headers were accepted: gunicorn's parse errors of
# chunked framing (an invalid chunk size, a missing terminator, a bad trailer; IOErrors before gunicorn 23), and any
# server's OSError for a connection cut mid-body. werkzeug's own server raises ClientDisconnected, a 400 already.
_UNREADABLE_BODY = (OSError, ParseException)


class UnsupportedContentCoding(ClientError):
    """A body sent in a content coding (gzip, br, ...): answered 415 with Accept-Encoding (RFC 9110 §15.5.16)."""

    def __init__(self, coding: str) -> None:
        super().__init__(415, f"Content-Encoding {quoted_id(coding)} is not supported; send the body uncompressed "
                              f"(identity)", code="not-supported")


def request_body() -> bytes:
    """The request body within the size limit, as sent: a body in a content coding other than identity is refused
    (415, RFC 9110 §8.4), not decoded, which read gzip as JSON text (a 400 quoting byte 0x8b), and which would let a
    few KB of gzip grow past CDS_MAX_BODY_BYTES. A body sent chunked (no Content-Length) is cut at the limit by
    werkzeug without an error; reaching the limit that way is the same 413 as declaring a larger body. A body whose
    framing is broken is the client's fault: a 400, not the 500 of an unexpected exception."""
    incoming = unproxied(request)
    coding = incoming.environ.get("HTTP_CONTENT_ENCODING", "")
    if any(c.strip().lower() not in ("", "identity") for c in coding.split(",")):
        raise UnsupportedContentCoding(coding)
    declared = incoming.content_length  # werkzeug held a declared length to the limit already
    try:
        body = _read_declared(incoming.stream, declared) if declared else incoming.get_data(cache=False)
    except _UNREADABLE_BODY as exc:
        raise ClientError(400, f"Request body could not be read ({type(exc).__name__}): check its chunked "
                               f"transfer encoding", code="structure") from None
    if declared is not None:
        return body
    limit = incoming.max_content_length  # Flask reads it from the app's config, through its proxy
    if limit is not None and len(body) >= limit:
        raise RequestEntityTooLarge()
    return body


def _read_declared(stream: IO[bytes], length: int) -> bytes:
    """A body of a declared length, read as `get_data` reads it (what is short of the length is read on as
    werkzeug's stream reads the rest: a client gone is a 400) but in one read of that length: get_data's
    reads of 64 KiB copy a body six times over (werkzeug's LimitedStream.readall, io.RawIOBase.read)."""
    body = stream.read(length)
    return body if len(body) >= length else body + stream.read()


def _rejected(reason: str) -> None:
    """The reason a call was refused, kept for the request's log line and its audit record (routes.observe): an
    integration engineer can then see why a client's calls fail. Ids and field names only, never clinical content or
    tokens (a reason quoting the request path, as a 404's or a wrong `aud`'s does, quotes any token put there)."""
    g.rejection = without_tokens(reason)[:500]


def _client_error(exc: ClientError) -> Response:
    _rejected(exc.summary)
    return outcome_response(exc.status, exc.message, exc.expression, exc.code)


def _unsupported_content_coding(exc: UnsupportedContentCoding) -> Response:
    response = _client_error(exc)
    response.headers["Accept-Encoding"] = "identity"  # the codings the service would have read
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    unknown = _unknown_service(request.path)
    if isinstance(exc, MethodNotAllowed) and unknown is not None:
        # The contract's 404 for an unknown service id, whatever the method: "use POST" had sent the engineer to
        # post to a service that does not exist.
        return _client_error(UnknownService(unknown))
    allowed = list(exc.valid_methods or ()) if isinstance(exc, MethodNotAllowed) else []
    message = _too_large() if status == 413 else {
        404: f"No such endpoint: {request.method} {request.path}",
        405: _not_allowed(allowed),
    }.get(status, exc.description or exc.name)
    _rejected(message)
    response = outcome_response(status, message, code=_HTTP_CODES.get(status, "processing"))
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _unknown_service(path: str) -> str | None:
    """The service id of a path under /cds-services/ (a hook call's, or its feedback's) when it is not this
    service's; else None."""
    parts = path.strip("/").split("/")
    if len(parts) in (2, 3) and parts[0] == "cds-services" and parts[1] != SERVICE_ID:
        return parts[1]
    return None


def _not_allowed(allowed: list[str]) -> str:
    """The 405's words, with the method to use (a GET of the hook's URL from a browser or curl is told to POST); a
    hook call posted to the discovery URL (the URL an EHR is given, taken for the service's) is told where hook calls
    go."""
    said = f"Method {request.method} is not allowed on {request.path}"
    if request.method == "POST" and request.path.rstrip("/") == "/cds-services":
        return f"{said}, the discovery endpoint (GET): post hook calls to /cds-services/{SERVICE_ID}"
    usable = [method for method in allowed if method not in _IMPLIED_METHODS]
    return f"{said}: use {' or '.join(usable)}" if usable else said


def _too_large() -> str:
    """The 413's words: the limit, and the setting that changes it (docs/configuration.md), so that the engineer of an
    EHR sending large prefetches knows what to ask the operator for."""
    limit = unproxied(request).max_content_length  # the app's MAX_CONTENT_LENGTH: CDS_MAX_BODY_BYTES
    return f"Request body is larger than the configured limit of {limit} bytes (CDS_MAX_BODY_BYTES)"


def _unauthorized(exc: Unauthorized) -> Response:
    # The reason names the check that failed (never the token) so an operator can debug a client integration.
    _rejected(exc.reason)
    response = Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})
    # No body, so no media type: Flask's default (text/html) announced a page that is not there. The contract keeps
    # the body empty (service-contract.md §Errors: no detail for a caller who is not authenticated).
    del response.headers["Content-Type"]
    return response


def _database_unavailable(exc: Exception) -> Response:
    """The database is needed to answer (the JWT replay check, storing feedback) and cannot be used now: a 503 the
    client may retry. Accepting a JWT unchecked would let a token replayed to another worker or replica through."""
    if not is_unavailable(exc):  # an error for a row's content (a constraint, SQLSTATE class 54): a fault of ours
        return _server_fault(exc)
    _rejected(f"audit database unavailable ({error_summary(exc)})")
    response = outcome_response(503, "The audit database is unavailable; retry later", code="transient")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _server_fault(exc: Exception) -> Response:
    if isinstance(exc, SQLAlchemyError):  # its message can repeat a row's clinical content: classes only
        log.error("database fault on %s %s: %s", request.method, request.path, error_summary(exc))
    else:
        log.error("unexpected fault on %s %s", request.method, request.path, exc_info=without_message(exc))
    return outcome_response(500, "Internal error; the incident is logged", code="exception")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ClientError, _client_error)
    app.register_error_handler(UnsupportedContentCoding, _unsupported_content_coding)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Unauthorized, _unauthorized)
    for unavailable in (DatabaseUnavailable, SQLAlchemyError):  # a read-only database raises an InternalError
        app.register_error_handler(unavailable, _database_unavailable)
    app.register_error_handler(Exception, _server_fault)
