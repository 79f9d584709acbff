"""The service's log line: `2026-03-01T18:05:02.123-06:00 INFO cds_service.routes: ...`. The app sets it up where no
host has set up logging (app._log_format), and the gunicorn configuration the service ships (gunicorn_config.py) gives
gunicorn's own lines the same, so that one log has one time format."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from types import TracebackType

from cds_service.printable import printable

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# A request target's query string (or fragment, which no client should send: `#access_token=` is where an implicit
# grant puts a token) in a server's message, from its "?" or "#" to the end of the message but for the protocol
# version and the quote or bracket closing the request line there: a server quotes the request line (or target) it
# refused last in its message, and a query holding a space or a quote (a malformed line) cannot show where it ends.
_QUERY = re.compile(r"[?#].+?(?=(?: HTTP/\d(?:\.\d)?)?['\"]?\)?$)", re.S)
# The version gunicorn or http.server could not read, which they quote: what followed the target's first space, so the
# tail of a query holding a space ("GET /?a=b c HTTP/1.1" made 'c HTTP/1.1' the version); shown when it reads as one.
# A number alone is not one: "GET /?mrn= 123456" made '123456' the version.
_VERSION = re.compile(r"(Invalid HTTP Version: |Bad request version \()(.+)", re.S)
_A_VERSION = re.compile(r"'HTTP/\d+(\.\d+)?'\)?|\(\d+, \d+\)")
# A JWT in a message, by its shape: its header, a JSON object, begins "eyJ"; then a dot, and the rest of its base64url
# parts, so that one cut after its payload goes too. Found in time linear in the message, as a client can fill one (a
# path): tried only where a run of [\w-] begins, once that run is seen to end in a dot (the lookahead, possessive),
# the run's text before its "eyJ" kept (group 1). `eyJ[\w-]*\.`, tried at every "eyJ" and each scanning to its run's
# end, took 2 s on a 64 KB run of "eyJ" with no dot (quadratic).
_JWT = re.compile(r"(?<![\w-])(?=[\w-]*+\.)([\w-]*?)eyJ[\w-]*+\.[\w.-]*")


class LogFormatter(logging.Formatter):
    """Times with their UTC offset (2026-03-01T18:05:02.123-06:00): logs are read beside the audit trail (UTC), the
    clinical dates (CDS_TIME_ZONE) and the EHR's own logs. One line per message: control characters escaped."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The client's values in a message (a path, a hookInstance) cannot start a forged line (printable.py); a
        # traceback, which format() appends after this, keeps its lines.
        # A token wherever a client put it (a request path, a header gunicorn quotes) is not logged either.
        record.message = printable(without_tokens(record.message))
        return super().formatMessage(record)


def without_tokens(text: str) -> str:
    """`text` with every JWT in it replaced by `<token>`: for a log line, and for what the audit trail keeps of a call
    refused (its service id and reason, which can quote the request path)."""
    return _JWT.sub(r"\1<token>", text) if "eyJ" in text else text  # most lines hold none: no regex run


def without_query(text: str) -> str:
    """`text`, a server's message that may quote a request line or its target, without the target's query string
    or fragment (`?access_token=<JWT>`: a query can carry a credential, and a log must never hold one), nor a version
    that is not one. For gunicorn's error log (gunicorn_config) and the request lines of `cds-service serve`
    (cli_serve)."""
    version = _VERSION.search(text)
    if version and not _A_VERSION.fullmatch(version.group(2)):
        text = text[:version.start(2)] + ("<not logged>)" if version.group(1).endswith("(") else "<not logged>")
    return _QUERY.sub("", text)


class WithheldMessage(Exception):
    """Logged in place of a fault met while reading a patient's record: the fault's message can quote it (a lab value
    in a ValueError, a field in a KeyError), and logs carry ids, not clinical content. Its frames are kept, and its
    type is named in this one's message."""


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def without_message(fault: BaseException) -> ExcInfo:
    """`exc_info` for a log call: the fault's traceback under a WithheldMessage naming its type (and the types of the
    faults it came from), never its message."""
    kinds: list[str] = []
    cause: BaseException | None = fault
    while cause is not None and len(kinds) < 5:  # a chain is short; a cycle cannot be followed forever
        kinds.append(f"{type(cause).__module__}.{type(cause).__qualname__}".removeprefix("builtins."))
        cause = cause.__cause__ or cause.__context__
    stand_in = WithheldMessage(f"{' from '.join(kinds)} (message not logged: it may quote the patient's record)")
    return WithheldMessage, stand_in, fault.__traceback__
