"""docs/architecture.md: the protocol layer knows nothing about blinatumomab, and the clinical layer nothing about HTTP.
Checked by what importing a module loads, in a fresh interpreter (an import made anywhere below it counts)."""
from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import cds_service

# The protocol layer: knows nothing about blinatumomab.
PROTOCOL = ["validation", "hook_request", "auth", "jwks", "prefetch", "fhir_client", "bounded_http", "discovery",
            "feedback", "http_errors", "exceptions", "json_codec", "config", "metrics", "record", "printable", "urls",
            "card_config", "schema_checks", "schema_messages", "log_format", "gunicorn_config", "config_constants"]
# What both sides use, loaded by the protocol layer too: clinical knowledge in them would reach it.
SHARED = ["evaluation",  # the seam's types and vocabulary
          "audit", "audit_writer", "audit_health", "audit_queries", "audit_rows", "audit_answer", "audit_export",
          "audit_words", "db", "db_errors", "db_schema", "db_sqlite", "db_writes", "db_postgres", "db_models",
          "override_reasons", "file_schemas"]
# Where the two sides are joined, by design: the composition roots (the app, the command line) and the route that
# calls pipeline.evaluate (docs/architecture.md). Not checked.
SEAM = ["app", "routes", "cli", "cli_serve", "cli_evaluate", "cli_check", "cli_audit"]
# Everything else is clinical: a new module is, until it is listed above.
CLINICAL = sorted({m.name for m in pkgutil.iter_modules(cds_service.__path__)} - {*PROTOCOL, *SHARED, *SEAM})
WEB = ["flask", "werkzeug", "flask_cors", "gunicorn"]


def _loaded(module: str) -> set[str]:
    """The top-level packages and cds_service's own modules ("cds_service.<module or package>") that importing
    `module` loads: the top-level package `cards` (the templates) is not the module cds_service.cards."""
    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, check=True).stdout
    names = json.loads(out)
    return {".".join(n.split(".")[:2]) if n.startswith("cds_service.") else n.split(".")[0] for n in names}


def test_every_module_is_classified_and_the_clinical_side_is_found() -> None:
    listed = [*PROTOCOL, *SHARED, *SEAM]
    assert len(listed) == len(set(listed))
    assert set(listed) <= {m.name for m in pkgutil.iter_modules(cds_service.__path__)}
    assert {"facts", "policies", "dosing", "cards", "card_text", "decision", "pipeline", "verdict", "valuesets",
            "draft_orders", "order_validation", "order_answers", "fault_answers", "questionnaire", "coverage_info",
            "label_safety"} <= set(CLINICAL)


@pytest.mark.parametrize("module", PROTOCOL + SHARED)
def test_protocol_modules_load_nothing_clinical(module: str) -> None:
    assert _loaded(f"cds_service.{module}") & {f"cds_service.{m}" for m in CLINICAL} == set()


@pytest.mark.parametrize("module", ["facts.extract", "policies.engine", "policies.loading", "dosing.checks",
                                    "decision", "verdict"])
def test_clinical_modules_load_no_web_framework(module: str) -> None:
    assert _loaded(f"cds_service.{module}") & set(WEB) == set()


@pytest.mark.parametrize("module", ["validation", "hook_request", "json_codec", "order_validation"])
def test_request_checks_load_no_database_stack(module: str) -> None:
    """The checks every request passes before any clinical reading: the benchmark's checks-only app measures them
    alone, and with the configuration's URL rule imported from config they had brought SQLAlchemy and Alembic along
    (30 MB more per worker)."""
    assert _loaded(f"cds_service.{module}") & {"sqlalchemy", "alembic", "cds_service.config", "cds_service.db"} == set()
