"""docs/architecture.md: the protocol layer knows nothing about blinatumomab, and the clinical layer nothing about HTTP.
Checked by what importing a module loads, in a fresh interpreter (an import made anywhere below it counts)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROTOCOL = ["validation", "hook_request", "auth", "prefetch", "fhir_client", "bounded_http", "discovery", "feedback",
            "http_errors", "exceptions", "json_codec", "config", "metrics", "record", "printable"]
CLINICAL = ["facts", "policies", "dosing", "cards", "decision", "pipeline", "verdict"]
WEB = ["flask", "werkzeug", "flask_cors", "gunicorn"]


def _loaded(module: str) -> set[str]:
    """The top-level packages and cds_service's own modules that importing `module` loads."""
    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, check=True).stdout
    names = json.loads(out)
    return {n.split(".")[1] if n.startswith("cds_service.") else n.split(".")[0] for n in names}


@pytest.mark.parametrize("module", PROTOCOL)
def test_protocol_modules_load_nothing_clinical(module: str) -> None:
    assert _loaded(f"cds_service.{module}") & set(CLINICAL) == set()


@pytest.mark.parametrize("module", ["facts.extract", "policies.engine", "policies.loading", "dosing.checks",
                                    "decision", "verdict"])
def test_clinical_modules_load_no_web_framework(module: str) -> None:
    assert _loaded(f"cds_service.{module}") & set(WEB) == set()


@pytest.mark.parametrize("module", ["validation", "hook_request", "json_codec", "order_validation"])
def test_request_checks_load_no_database_stack(module: str) -> None:
    """The checks every request passes before any clinical reading: the benchmark's checks-only app measures them
    alone, and with the configuration's URL rule imported from config they had brought SQLAlchemy and Alembic along
    (30 MB more per worker)."""
    assert _loaded(f"cds_service.{module}") & {"sqlalchemy", "alembic", "config", "db"} == set()
