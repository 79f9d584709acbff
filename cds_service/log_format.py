"""The service's log line: `2026-03-01T18:05:02.123-06:00 INFO cds_service.routes: ...`. The app sets it up where no
host has set up logging (app._log_format), and the gunicorn configuration the service ships (gunicorn_config.py) gives
gunicorn's own lines the same, so that one log has one time format."""
from __future__ import annotations

import logging
from datetime import datetime

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
