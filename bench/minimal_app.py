"""The baseline for the HTTP comparison: a Flask app that parses the JSON body and returns one fixed card.

Served by gunicorn with the same settings as the real service, it measures what the web stack alone costs.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

from bench.workload import SERVICE_PATH

FIXED_RESPONSE: dict[str, Any] = {
    "cards": [{
        "uuid": "00000000-0000-4000-8000-000000000000",
        "summary": "Benchmark baseline card",
        "indicator": "info",
        "source": {"label": "Benchmark baseline"},
    }],
    "systemActions": [],
}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post(SERVICE_PATH)
    def service() -> Any:
        request.get_json()  # the parse is the point: the real service pays it too
        return jsonify(FIXED_RESPONSE)

    return app
