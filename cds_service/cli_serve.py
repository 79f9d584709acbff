"""`cds-service serve`: the service on a threaded werkzeug server, for local use (production runs gunicorn)."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from werkzeug.serving import make_server

from cds_service.app import create_app
from cds_service.config import ConfigError, Settings

log = logging.getLogger(__name__)


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("serve", help="run the service locally (SQLite, werkzeug)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    if args.port:  # links and the JWT audience follow the address served, unless configured
        env.setdefault("CDS_PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    try:
        app = create_app(Settings.from_env(env))
    except ConfigError as exc:
        raise SystemExit(f"cds-service serve: {exc}") from None
    server = make_server(args.host, args.port, app, threaded=True)
    # SIGTERM (systemd, docker stop) exits like Ctrl-C, so the exit hooks drain the audit queue.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    log.info("serving http://%s:%d/cds-services (Ctrl-C to stop)", args.host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
