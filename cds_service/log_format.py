"""The service's log line: `2026-03-01T18:05:02.123-06:00 INFO cds_service.routes: ...`. The app sets it up where no
host has set up logging (app._log_format), and the gunicorn configuration the service ships (gunicorn_config.py) gives
gunicorn's own lines the same, so that one log has one time format."""
from __future__ import annotations

import logging
from datetime import datetime
from types import TracebackType

from cds_service.printable import printable

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFormatter(logging.Formatter):
    """Times with their UTC offset (2026-03-01T18:05:02.123-06:00): logs are read beside the audit trail (UTC), the
    clinical dates (CDS_TIME_ZONE) and the EHR's own logs. One line per message: control characters escaped."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The client's values in a message (a path, a hookInstance) cannot start a forged line (printable.py); a
        # traceback, which format() appends after this, keeps its lines.
        record.message = printable(record.message)
        return super().formatMessage(record)


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
