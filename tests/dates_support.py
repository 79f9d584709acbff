"""What the date tests (tests/test_dates_*.py) share: the service answering the example requests of fhir_examples/
changed in their dates, through Flask's test client, and what they read of its answer.

Each test changes a copy of an example so that one date falls one day (or one hour) either side of a boundary, and
reads what the clinician is told: the coverage code of each order and the cards' summaries.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import close_app, local_settings, make_app

Json = dict[str, Any]
EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
SERVICE = "/cds-services/blinatumomab-coverage"
CRD_COVERAGE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """One app for the module, its answers depending on the request alone: no earlier approval is looked up (one
    test's approval of an example's order would be another test's continuation)."""
    logging.disable(logging.INFO)
    application: Flask = make_app(local_settings(tmp_path_factory.mktemp("dates")))
    application.extensions["cds_service"].store.prior_approval = lambda *_: ()
    yield application.test_client()
    close_app(application)
    logging.disable(logging.NOTSET)


def example(name: str) -> Json:
    found: Json = json.loads((EXAMPLES / f"{name}.json").read_text())
    return found


def prefetched(request: Json, key: str) -> dict[str, Json]:
    """The resources of a prefetch key's Bundle, by id (the dicts of the request: changing one changes it)."""
    return {entry["resource"]["id"]: entry["resource"] for entry in request["prefetch"][key]["entry"]}


def added(request: Json, key: str, resource: Json) -> None:
    request["prefetch"][key]["entry"].append({"resource": resource})


def order(request: Json) -> Json:
    """The request's first draft order."""
    found: Json = request["context"]["draftOrders"]["entry"][0]["resource"]
    return found


def answer(service: FlaskClient, request: Json) -> Json:
    response = service.post(SERVICE, json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    found: Json = response.get_json()
    return found


def covered(found: Json) -> str:
    """The `covered` code of the first order's coverage information."""
    resource = found["systemActions"][0]["resource"]
    [info] = [e for e in resource["extension"] if e["url"] == CRD_COVERAGE]
    return str(next(s["valueCode"] for s in info["extension"] if s["url"] == "covered"))


def summaries(found: Json) -> str:
    """Every card's summary, one a line."""
    return "\n".join(card["summary"] for card in found["cards"])
