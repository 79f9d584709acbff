"""Shared fixtures: the app in local mode on a temporary SQLite database, served over real HTTP on loopback: `client`
(a LiveClient, with the test client's small API) and `live_service` (its base URL, for `requests` itself)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask

from cds_service.config import Settings
from tests.live_server import LiveClient, serving


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
def live_client(app: Flask) -> Iterator[LiveClient]:
    """The app served by a real threaded werkzeug server on 127.0.0.1:<free port>, and a client for it."""
    with serving(app) as client:
        yield client


@pytest.fixture
def client(live_client: LiveClient) -> LiveClient:
    """Requests to the app over real HTTP (tests.live_server.LiveClient: the test client's API, through a socket)."""
    return live_client


@pytest.fixture
def live_service(live_client: LiveClient) -> str:
    """The base URL of the app served on loopback (the same server as `client`'s)."""
    return live_client.base_url
