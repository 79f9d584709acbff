"""Shared fixtures: the app in local mode on a temporary SQLite database, its test client, and the real app served
over HTTP on loopback."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from cds_service.config import Settings


def local_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Local mode (no auth configuration) on an SQLite file under tmp_path."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'cds.db'}", **overrides)  # type: ignore[arg-type]


def close_app(app: Flask) -> None:
    app.extensions["cds_service"].store.close()


def make_app(settings: Settings) -> Flask:
    # Imported here, not at module level, so that a module the app needs but that is still being written does not
    # stop the collection of every other test.
    from cds_service.app import create_app

    return create_app(settings)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    application = make_app(local_settings(tmp_path))
    yield application
    close_app(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_service(app: Flask) -> Iterator[str]:
    """The app served by a real threaded werkzeug server on 127.0.0.1:<free port>; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-service", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
