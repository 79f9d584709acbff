"""`cds-service serve`: the service on a threaded werkzeug server, for local use (production runs gunicorn)."""
from __future__ import annotations

import argparse
import logging
import os
import signal
from types import FrameType

from werkzeug.serving import make_server

from cds_service import audit_writer
from cds_service.app import create_app
from cds_service.config import ConfigError, Settings

log = logging.getLogger(__name__)
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# An address listening on every interface is no address a client can call: its family's loopback stands in for it.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("serve", help="run the service locally (SQLite, werkzeug)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    # Links and the JWT audience follow the address served, unless configured (CDS_PUBLIC_BASE_URL, or the auth
    # configuration's public_base_url, which wins over both).
    served = served_url(args.host, args.port) if args.port and not env.get("CDS_PUBLIC_BASE_URL") else None
    if served:
        env["CDS_PUBLIC_BASE_URL"] = served
    try:
        settings = Settings.from_env(env)
        app = create_app(settings)
    except ConfigError as exc:
        raise SystemExit(f"cds-service serve: {exc}") from None
    if args.host in _WILDCARD_HOSTS and served and settings.public_base_url == served:
        log.warning("listening on every interface (%r), but card links, the Questionnaire canonical and the JWT "
                    "audience use %s, which only this machine can call: set CDS_PUBLIC_BASE_URL to the URL clients "
                    "call", args.host, served)
    server = make_server(args.host, args.port, app, threaded=True)
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


def served_url(host: str, port: int) -> str:
    """The URL of the address served, the public base URL when none is configured."""
    host = _WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
