"""`cds-service serve`: the service on a threaded werkzeug server, for local use (production runs gunicorn)."""
from __future__ import annotations

import argparse
import logging
import os
import signal
from types import FrameType
from typing import Any, Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from cds_service import audit_writer
from cds_service.app import create_app
from cds_service.config import ConfigError, Settings
from cds_service.log_format import without_query
from cds_service.startup_report import announce

log = logging.getLogger(__name__)
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# An address listening on every interface is no address a client can call: its family's loopback stands in for it.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("serve", help="run the service locally (SQLite, werkzeug)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8080, help="port (default 8080; 0 picks a free one)")
    parser.set_defaults(handler=run)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(text)


def run(args: argparse.Namespace) -> int:
    # Bound first: the public base URL needs the port actually bound (--port 0 picks one). werkzeug says why it
    # cannot bind in the words of the system alone ("Permission denied", "Name or service not known") and exits.
    try:
        server = make_server(args.host, args.port, _not_ready, threaded=True, request_handler=_PlainRequestLog)
    except SystemExit:
        raise SystemExit(f"cds-service serve: cannot listen on {args.host} port {args.port} (--host, --port; "
                         "make run: HOST, PORT): see the line above") from None
    try:
        server.app = _app(args.host, server.server_port)
    except ConfigError as exc:
        server.server_close()
        raise SystemExit(f"cds-service serve: {exc}") from None
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, _stop)
    log.info("serving %s/cds-services (Ctrl-C to stop)", served_url(args.host, server.server_port))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


class _PlainRequestLog(WSGIRequestHandler):
    """werkzeug's request handler, its line per request without ANSI colours and without the query string: werkzeug
    colours the request of a 3xx, 4xx or 5xx for a terminal whatever the log goes to, and the service's log format
    escapes control characters (log_format.LogFormatter), so a 404 read `"\\x1b[33mGET /x HTTP/1.1\\x1b[0m" 404`.
    werkzeug has no public switch for it."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line as received (werkzeug's shows the path decoded) less its query string, also when the line
        # is malformed (a 400 before the path was parsed); the log format escapes what it holds.
        self.log("info", '"%s" %s %s', without_query(self.requestline), code, size)

    def log_error(self, format: str, *args: Any) -> None:
        # http.server's 400 for a malformed request line quotes the whole line ("Bad request syntax ('GET /?a=b c
        # HTTP/1.1')"), or its last word as the version ("Bad request version ('c')": the rest of that query).
        self.log("error", format, *(without_query(arg) if isinstance(arg, str) else arg for arg in args))


def _stop(signum: int, frame: FrameType | None) -> None:
    """The first SIGTERM (systemd, docker stop) or Ctrl-C stops serving, and the exit drains the audit queue
    (AuditWriter.close, at most DRAIN_SECONDS). Later ones are logged and ignored: raised inside the drain they cut it
    short, and the queued records were lost without the log that names them."""
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, _ignore)
    raise KeyboardInterrupt


def _ignore(signum: int, frame: FrameType | None) -> None:
    log.warning("%s ignored: stopping already, queued audit records are being written (at most %.0f s; what is left "
                "then is logged as lost)", signal.Signals(signum).name, audit_writer.DRAIN_SECONDS)


def _app(host: str, port: int) -> Flask:
    env = dict(os.environ)
    # Links and the JWT audience follow the address served, unless configured (CDS_PUBLIC_BASE_URL, or the auth
    # configuration's public_base_url, which wins over both).
    served = None if "CDS_PUBLIC_BASE_URL" in env else served_url(host, port)
    if served:
        env["CDS_PUBLIC_BASE_URL"] = served
    settings = Settings.from_env(env)
    app = create_app(settings)
    announce(settings)
    if host in _WILDCARD_HOSTS and served and settings.public_base_url == served:
        log.warning("listening on every interface (%r), but card links, the Questionnaire canonical and the JWT "
                    "audience use %s, which only this machine can call: set CDS_PUBLIC_BASE_URL to the URL clients "
                    "call", host, served)
    return app


def _not_ready(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The server's app until `_app` replaces it, before serving starts: the listening socket queues what arrives
    meanwhile, so this never answers a request."""
    start_response("503 Service Unavailable", [("Content-Length", "0")])
    return []


def served_url(host: str, port: int) -> str:
    """The URL of the address served, the public base URL when none is configured."""
    host = _WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
