"""The realistic request answered N times in one process, for counting instructions with valgrind's callgrind.

    PYTHONHASHSEED=0 valgrind --tool=callgrind --separate-threads=yes .venv/bin/python bench/instructions.py wsgi 20
    PYTHONHASHSEED=0 valgrind --tool=callgrind --separate-threads=yes .venv/bin/python bench/instructions.py wsgi 120

The count of one request is the difference of the two runs' totals over 100 (the start-up, about 6 G instructions,
is the same in both). `wsgi`: the whole app as gunicorn runs it (create_app with the benchmark's production settings:
an SQLite audit trail in a temporary folder and its writer thread, multiprocess metrics, the INFO log line, to
stderr), called as a WSGI callable; `direct`: JSON parsing, validation and the evaluation only (bench/pipeline.py).
Each request carries its own patient id, as the HTTP load's do.

With --hold-writer the audit writer does not wake until the exit, where it writes every record in one batch: under
valgrind a request takes about a tenth of a second, so the writer (waking every 0.1 s) would write one record a
batch and publish its metrics at every wake-up, where under load a batch holds dozens. Its thread's count over 100
records is then the cost of a record in a batch (callgrind's `-02` file with --separate-threads).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from the repository

from bench import workload  # noqa: E402
from bench.pipeline import direct_call, encode  # noqa: E402

# What gunicorn's sync worker puts in the environ of the load's requests, but the body.
_ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": workload.SERVICE_PATH, "QUERY_STRING": "",
    "RAW_URI": workload.SERVICE_PATH, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "CONTENT_TYPE": "application/json",
    "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "wrk", "HTTP_CONNECTION": "close", "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
    "wsgi.run_once": False, "wsgi.input_terminated": True,
}


def bodies(count: int) -> Iterable[bytes]:
    """The realistic request, each with another patient id (the body cut at the id once, as the load's is)."""
    pieces = encode(workload.order_sign_request()).split(workload.PATIENT_ID.encode())
    return (f"{workload.PATIENT_ID}-{number:08d}".encode().join(pieces) for number in range(count))


def wsgi_call(hold_writer: bool) -> Callable[[bytes], None]:
    """The app gunicorn would serve, settings from the environment (set by `main` before anything is imported)."""
    if hold_writer:
        from cds_service import audit_writer
        audit_writer._WRITE_INTERVAL_SECONDS = 3600.0  # woken at the exit by close(), which writes what is queued
    from cds_service.app import create_app

    app = create_app()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
                       ) -> Callable[[bytes], object]:
        if not status.startswith("200"):
            raise RuntimeError(f"the service answered {status}")
        return sys.stdout.buffer.write  # the WSGI write callable, which Flask never calls

    def call(body: bytes) -> None:
        environ = {**_ENVIRON, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
        answer = app(environ, start_response)
        b"".join(answer)
        answer.close()  # type: ignore[attr-defined]  # a werkzeug ClosingIterator, closed as gunicorn does

    return call


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", choices=("wsgi", "direct"))
    parser.add_argument("requests", type=int)
    parser.add_argument("--hold-writer", action="store_true", help="write the audit records in one batch at the exit")
    parser.add_argument("--folder", type=Path, help="for the audit trail and the metric files (default: a new one)")
    args = parser.parse_args(argv)
    folder: Path = args.folder or Path(tempfile.mkdtemp(prefix="cds-instructions-"))
    (folder / "metrics").mkdir()
    # Before prometheus_client is imported: it reads the variable once (metrics.writes_metric_files).
    os.environ.update(CDS_DATABASE_URL=f"sqlite:///{folder / 'audit.db'}",
                      PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"))
    if args.path == "wsgi":
        call = wsgi_call(args.hold_writer)
        for body in bodies(args.requests):
            call(body)
    else:
        answer = direct_call()
        for body in bodies(args.requests):
            answer(body)
    print(f"{args.requests} requests answered; audit trail and metrics in {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
