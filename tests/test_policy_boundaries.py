"""Payer pharmacist's boundary cases, sent over HTTP: each policy number read exactly at its cut-off (policy-rules.md
§2-§4). Every example below starts its order on 2026-12-01; each case changes one value of a shipped example and
checks the decision on both sides of the boundary."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.live_server import LiveClient

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
URL = "/cds-services/blinatumomab-coverage"
UCUM = "http://unitsofmeasure.org"
Change = Callable[[dict[str, Any]], None]


def _decision(client: LiveClient, example: str, change: Change) -> dict[str, Any]:
    """The coverage-decision of the example's order once `change` is applied to the request."""
    body = json.loads((EXAMPLES / f"{example}.json").read_text())
    change(body)
    response = client.post(URL, json=body)
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    decision: dict[str, Any] = next(c["extension"]["coverage-decision"] for c in cards
                                    if "coverage-decision" in c.get("extension", {}))
    return decision


def _status(decision: dict[str, Any], suffix: str) -> str:
    return str(next(c["status"] for c in decision["criteria"] if c["id"].endswith(suffix)))


def _resources(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in body["prefetch"][key]["entry"]]


def _resource(body: dict[str, Any], key: str, resource_id: str) -> dict[str, Any]:
    return next(r for r in _resources(body, key) if r["id"] == resource_id)


def _order(body: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = body["context"]["draftOrders"]["entry"][0]["resource"]
    return resource


def _born(day: str) -> Change:
    return lambda body: body["prefetch"]["patient"].update(birthDate=day)


# ---- ages on the order's start (2026-12-01) ----------------------------------------------------------------------

@pytest.mark.parametrize(("born", "status"), [("2011-12-01", "met"), ("2011-12-02", "not-met")])
def test_adult_age_is_met_on_the_fifteenth_birthday(client: LiveClient, born: str, status: str) -> None:
    """Aspirus III (ALL, adult): at least 15 years; maintenance has no pediatric pathway to fall back on."""
    decision = _decision(client, "aspirus-adult-maintenance", _born(born))
    assert _status(decision, "adult-maintenance.adult-age") == status
    assert decision["decision"] == ("meets-criteria" if status == "met" else "criteria-not-met")


@pytest.mark.parametrize(("born", "met"), [("1995-12-02", True), ("1995-12-01", False), ("2026-11-01", True),
                                           ("2026-10-31", True), ("2026-11-02", False)])
def test_pediatric_age_runs_from_one_month_through_thirty_years(client: LiveClient, born: str, met: bool) -> None:
    """Aspirus III (ALL, pediatric) and its AYA note: 1 month old on the same day of the next month, 30 years up
    to the day before the 31st birthday (policy-rules.md §2)."""
    decision = _decision(client, "aspirus-pediatric-less-than-cr-ph-positive", _born(born))
    assert (decision["indication"] == "pediatric-less-than-cr-ph-positive") is met
    assert (decision["decision"] == "meets-criteria") is met


# ---- Florida Blue's MRD of 0.1 % or more, written in the units the profile reads --------------------------------

def _mrd(**value: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        result = _resource(body, "observations", "mrd-1")
        result.pop("valueQuantity")
        result.update(value)
    return change


def _quantity(value: float, unit: str, comparator: str = "") -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return {"valueQuantity": quantity | ({"comparator": comparator} if comparator else {})}


@pytest.mark.parametrize(("value", "met"), [
    (_quantity(0.1, "%"), True), (_quantity(0.001, "1"), True), (_quantity(1000, "/10*6"), True),
    (_quantity(0.1, "%", ">="), True), ({"valueString": "0.10%"}, True),
    (_quantity(1, "10*-3"), True), (_quantity(10, "/10*4"), True), (_quantity(1, "/10^3"), True),
    ({"valueString": "10^-3"}, True), ({"valueString": "1.2 x 10^-3"}, True), ({"valueString": "1E-3"}, True),
    ({"valueString": "9.9 x 10^-4"}, False), ({"valueString": "<1 x 10^-4"}, False),
    (_quantity(0.099, "%"), False), (_quantity(0.00099, "1"), False), (_quantity(999, "/10*6"), False),
    (_quantity(9.9, "/10*4"), False), (_quantity(1, "10*-4"), False), (_quantity(1, "10*-4", "<"), False),
    (_quantity(0.1, "%", "<"), False), ({"valueString": "<0.1%"}, False),
])
def test_florida_blue_mrd_threshold_is_inclusive_in_every_unit(client: LiveClient, value: dict[str, Any],
                                                                 met: bool) -> None:
    """Florida Blue Position 1.b.i: 0.1 % = 10^-3 of cells = 1000 per million, met exactly at it. A UCUM power of
    ten of cells other than a million ("/10*4", "10*-3"), or a fraction in scientific notation ("1.2 x 10^-3"), had
    left the result unreadable: information needed."""
    decision = _decision(client, "florida-blue-mrd-positive", _mrd(**value))
    assert (decision["indication"] == "fb-mrd-positive") is met


# ---- daily dose at its limit ------------------------------------------------------------------------------------

def _dose(mcg_per_day: float) -> Change:
    def change(body: dict[str, Any]) -> None:
        for line in _order(body)["dosageInstruction"]:
            line["doseAndRate"][0]["rateQuantity"]["value"] = mcg_per_day
            line["text"] = f"{mcg_per_day} ug/d continuous IV infusion"
    return change


@pytest.mark.parametrize(("dose", "status"), [(28, "met"), (28.01, "not-met")])
def test_florida_blue_dose_limit_has_no_allowance(client: LiveClient, dose: float, status: str) -> None:
    """Florida Blue Position 1.d: at most 28 mcg/day."""
    assert _status(_decision(client, "florida-blue-consolidation", _dose(dose)), "dose-at-most-28") == status


@pytest.mark.parametrize(("dose", "weight", "status"), [(28.5, 72, "met"), (28.51, 72, "not-met"),
                                                        (28, 45, "met"), (28, 44.99, "not-met")])
def test_aspirus_fixed_dose_allows_rounding_from_45_kg(client: LiveClient, dose: float, weight: float,
                                                       status: str) -> None:
    """Aspirus V: 28 mcg/day from 45 kg (+0.5 mcg/day rounding, policy-rules.md §2); below 45 kg 15 mcg/m²/day."""
    def change(body: dict[str, Any]) -> None:
        _dose(dose)(body)
        _resource(body, "observations", "weight-1")["valueQuantity"]["value"] = weight
    decision = _decision(client, "aspirus-adult-consolidation-mrd-positive", change)
    assert _status(decision, "adult-consolidation-mrd-positive.dose-schedule") == status


def test_a_dose_just_above_the_rounding_allowance_is_shown_beyond_it(client: LiveClient) -> None:
    """28.504 mcg/day is above 28 + 0.5: shown to two decimals ("28.5") the card read as within the allowance."""
    body = json.loads((EXAMPLES / "aspirus-adult-consolidation-mrd-positive.json").read_text())
    _dose(28.504)(body)
    [card] = [c for c in client.post(URL, json=body).get_json()["cards"] if c["summary"].startswith("Dose above")]
    assert "28.504 mcg/day" in card["summary"] and "| 28.504 mcg/day |" in card["detail"]


# ---- quantity per 42-day cycle ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "status"), [(28, "{vial}", "met"), (29, "{vial}", "not-met"),
                                                       (980, "ug", "met"), (981, "ug", "not-met")])
def test_aspirus_quantity_limit_is_28_vials_or_980_units(client: LiveClient, value: int, unit: str,
                                                         status: str) -> None:
    """Aspirus II: 28 vials of 35 mcg = 980 J9039 units per 42 days."""
    def change(body: dict[str, Any]) -> None:
        _order(body)["dispenseRequest"]["quantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    assert _status(_decision(client, "aspirus-adult-consolidation-mrd-positive", change), "quantity") == status


# ---- the live-vaccine window of U1 (course start 2026-12-01) ----------------------------------------------------

def _vaccine(day: str, cvx: str = "03") -> Change:
    def change(body: dict[str, Any]) -> None:
        vaccine = _resource(body, "immunizations", "mmr-1")
        vaccine["occurrenceDateTime"] = day
        vaccine["vaccineCode"] = {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]}
    return change


@pytest.mark.parametrize(("day", "status"), [("2026-11-16", "met"), ("2026-11-17", "not-met"),
                                             ("2026-12-29", "not-met"), ("2026-12-30", "met")])
def test_live_vaccine_window_includes_both_ends(client: LiveClient, day: str, status: str) -> None:
    """Aspirus III (Universal Criteria): 14 days before the course start through 28 days after the order's start."""
    assert _status(_decision(client, "aspirus-live-vaccine-critical", _vaccine(day)), "U1") == status


@pytest.mark.parametrize("cvx", ["26", "85", "88", "89", "91", "92", "128", "129", "999"])
def test_a_vaccine_that_may_have_been_live_asks_whether_it_was(client: LiveClient, cvx: str) -> None:
    """policy-rules.md §2 U1: a vaccine of unspecified formulation in the window is unknown. Influenza, polio,
    typhoid, cholera, hepatitis A, VEE and Japanese encephalitis of unspecified formulation may each have been a live
    one (intranasal influenza, oral polio, oral typhoid, SA14-14-2 JE...), and CVX 999 is an unknown vaccine: they
    had passed U1 as met."""
    decision = _decision(client, "aspirus-live-vaccine-critical", _vaccine("2026-11-24", cvx))
    assert (_status(decision, "U1"), decision["decision"]) == ("unknown", "information-needed")


@pytest.mark.parametrize("cvx", ["141", "998"])
def test_an_inactivated_vaccine_or_none_given_passes_u1(client: LiveClient, cvx: str) -> None:
    assert _status(_decision(client, "aspirus-live-vaccine-critical", _vaccine("2026-11-24", cvx)), "U1") == "met"


# ---- Aspirus IV renewal: an answer judges the events recorded by its day ----------------------------------------

@pytest.mark.parametrize(("recorded", "status"), [("2026-09-01", "met"), ("2026-09-02", "unknown")])
def test_a_renewal_no_does_not_clear_a_toxicity_recorded_after_it(client: LiveClient, recorded: str,
                                                                  status: str) -> None:
    """The relapsed/refractory cycle 6 example (course from 2026-01-05): "no unacceptable toxicity" answered on
    2026-09-01, a grade 3 CRS recorded that day or the next."""
    def change(body: dict[str, Any]) -> None:
        answers = _resources(body, "attestations")[0]
        answers["authored"] = "2026-09-01"
        answers["item"].append({"linkId": "unacceptable-toxicity", "answer": [{"valueBoolean": False}]})
        crs = {"resourceType": "Condition", "id": "crs-1", "subject": {"reference": "Patient/example-patient"},
               "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D89.833"}]},
               "recordedDate": recorded}
        body["prefetch"]["conditions"]["entry"].append({"resource": crs})
    decision = _decision(client, "aspirus-relapsed-refractory-cycle6-renewal", change)
    assert _status(decision, "no-unacceptable-toxicity") == status
    assert decision["decision"] == ("meets-criteria" if status == "met" else "information-needed")
