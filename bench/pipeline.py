"""The in-process request paths under test, each taking the raw request body (JSON parsing included).

- `direct`: the validation and evaluation functions, as the route calls them: what the clinical code costs.
- `flask`: the whole WSGI app through Flask's test client (adds routing, the response, metrics, the audit hand-off).
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any, Callable

from bench.workload import SERVICE_ID, SERVICE_PATH

BASE_URL = "http://127.0.0.1:8080"

Call = Callable[[bytes], dict[str, Any]]


class BenchError(RuntimeError):
    """The service did not answer a benchmark request as the contract says: the numbers would be meaningless."""


def flask_call() -> Call:
    """Posts a body to the service through the test client; returns the parsed response.

    The app reads its settings (CDS_DATABASE_URL) from the environment when created here.
    """
    from cds_service.app import create_app

    client = create_app().test_client()

    def call(body: bytes) -> dict[str, Any]:
        response = client.post(SERVICE_PATH, data=body, content_type="application/json")
        if response.status_code != 200:
            raise BenchError(f"service answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
        return response.get_json()

    return call


def direct_call() -> Call:
    """JSON parsing, validation, the PatientRecord from prefetch and `evaluate`: no Flask, no database.

    The garbage collector runs as in a worker (`settle_collector`): at Python's defaults, full collections re-scan
    every loaded module's objects, which a worker has frozen, and a call's time would depend on them.
    """
    from cds_service.app import settle_collector
    from cds_service.config_constants import DEFAULT_FETCH_BUDGET_SECONDS
    from cds_service.evaluation import EvaluationContext
    from cds_service.pipeline import evaluate
    from cds_service.prefetch import RecordLoader
    from cds_service.validation import hook_request, parse_json_object

    def call(body: bytes) -> dict[str, Any]:
        request = hook_request(parse_json_object(body), SERVICE_ID)
        load_record = RecordLoader(request, lambda server: False, DEFAULT_FETCH_BUDGET_SECONDS)  # all prefetched
        result = evaluate(request, load_record, EvaluationContext(today=date.today(), base_url=BASE_URL))
        return {"cards": result.cards, "systemActions": result.system_actions}

    settle_collector()
    return call


PIPELINES: dict[str, Callable[[], Call]] = {"direct": direct_call, "flask": flask_call}


def describe(response: dict[str, Any]) -> str:
    """A one-line summary of what the pipeline did, so a run on a placeholder pipeline is visible as such."""
    cards = response.get("cards") or []
    decisions = [
        str((card.get("extension") or {}).get("coverage-decision", {}).get("decision"))
        for card in cards
        if isinstance(card.get("extension"), dict) and "coverage-decision" in card["extension"]
    ]
    text = f"{len(cards)} card(s), {len(response.get('systemActions') or [])} system action(s)"
    return text + (f", decision {', '.join(decisions)}" if decisions else "")


def encode(request: dict[str, Any]) -> bytes:
    return json.dumps(request).encode()
