"""Light property-based fuzzing of the record read from the EHR's FHIR server (no prefetch sent): an example's
resources, some of them mutated as test_s38_fuzz_hooks.py mutates a request, served by a real FHIR server on
loopback, which may also answer one search or read with an error status, bytes that are no JSON, or JSON that is no
Bundle. The answer keeps the contract as a prefetched request's does: 200 with well-formed cards, or a 4xx
OperationOutcome (412: no patient obtainable); never a 5xx, the fault card or an error logged.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fhir_server import FhirTestServer, prefetched_resources, without_prefetch
from tests.live_server import LiveClient
from tests.test_s38_fuzz_hooks import (NAMES, OTHER_TYPES, REQUESTS, Chooser, DrawChooser, ErrorRecords,  # noqa: F401
                                       fuzzed, mutate, pick, problems, send)

CASES = 60  # light: each case starts a FHIR server of its own
SERVED = [name for name in NAMES if "prefetch" in REQUESTS[name]]
SEARCHED = ("/Coverage", "/Condition", "/Observation", "/MedicationRequest", "/Immunization", "/QuestionnaireResponse",
            "/Medication")
# What a broken server may send with status 200 instead of a Bundle.
ODD_BODIES: tuple[Any, ...] = (*OTHER_TYPES, {"resourceType": "OperationOutcome"},
                               {"resourceType": "Bundle", "entry": [None, 1, {}, {"resource": []}]},
                               {"resourceType": "Bundle", "link": [{"relation": "next", "url": "http://127.0.0.1:1/x"}]})


def served_resources(chooser: Chooser, name: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The example's record, about a third of its resources mutated (each kept under its type and id, which the
    server files it by); what was done."""
    resources = copy.deepcopy(prefetched_resources(REQUESTS[name]["prefetch"]))
    done = []
    for resource in resources:
        if chooser.integer(0, 2) == 0:
            filed = resource["resourceType"], resource["id"]
            done += mutate(chooser, resource)
            resource["resourceType"], resource["id"] = filed
    return resources, done


def add_fault(chooser: Chooser, server: FhirTestServer, patient: str) -> str:
    path = pick(chooser, (*SEARCHED, f"/Patient/{patient}"))
    kind = chooser.integer(0, 2)
    if kind == 0:
        status = pick(chooser, (400, 401, 403, 404, 410, 429, 500, 502, 503))
        server.fault(path, status=status)
        return f"{path} answers {status}"
    if kind == 1:
        server.fault(path, invalid_json=True)
        return f"{path} answers no JSON"
    body = pick(chooser, ODD_BODIES)
    server.fault(path, body=json.dumps(body).encode())
    return f"{path} answers {body!r:.60}"


@settings(max_examples=CASES, derandomize=True, deadline=None, database=None, print_blob=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_record_read_from_an_odd_fhir_server_is_answered_within_the_contract(
        fuzzed: tuple[LiveClient, ErrorRecords], data: st.DataObject) -> None:
    client, errors = fuzzed
    chooser = DrawChooser(data)
    name = pick(chooser, SERVED)
    resources, done = served_resources(chooser, name)
    with FhirTestServer(page_size=chooser.integer(1, 5)) as server:
        server.add(*resources)
        if chooser.integer(0, 2) == 0:
            done.append(add_fault(chooser, server, REQUESTS[name]["context"]["patientId"]))
        errors.records.clear()
        status, mimetype, text = send(client, without_prefetch(REQUESTS[name], server.base_url, None))
    assert problems(status, mimetype, text, list(errors.records)) == [], f"{name} after {done}"
