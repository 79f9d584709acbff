"""Clinician and payer-pharmacist review of the quantity and plan-limit cards, through the real endpoint."""
from __future__ import annotations

import copy
from typing import Any

from flask.testing import FlaskClient

from cds_service import SERVICE_ID
from tests.test_facts_review import Request, add, example, the_order


def post(client: FlaskClient, request: Request) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards



# 3. Florida Blue's plan limit from 45 kg


def _florida_blue_per_m2(weight: float, bsa: float) -> Request:
    """Florida Blue's relapsed/refractory example with the full dose written per m² just above 28 mcg/day."""
    request = example("florida-blue-relapsed-refractory-ph-negative")
    full = the_order(request)["dosageInstruction"][1]
    full["doseAndRate"] = [{"rateQuantity": {"value": 15.2, "unit": "mcg/m2/day", "system": "http://unitsofmeasure.org",
                                             "code": "ug/(m2.d)"}}]
    full["text"] = "15.2 mcg/m2/day continuous IV infusion"
    weights = [e["resource"] for e in request["prefetch"]["observations"]["entry"]
               if e["resource"]["code"]["coding"][0]["code"] == "29463-7"]
    weights[0]["valueQuantity"]["value"] = weight
    bsa_observation = copy.deepcopy(weights[0])
    bsa_observation["id"] = "bsa-1"
    bsa_observation["code"] = {"coding": [{"system": "http://loinc.org", "code": "8277-6",
                                           "display": "Body surface area"}]}
    bsa_observation["valueQuantity"] = {"value": bsa, "unit": "m2", "system": "http://unitsofmeasure.org",
                                        "code": "m2"}
    add(request, "observations", bsa_observation)
    return request


def test_florida_blue_limit_for_an_adult_is_the_fixed_28_mcg_per_day(client: FlaskClient) -> None:
    """15.2 mcg/m²/day × 1.87 m² is 28.42 mcg/day: within the label's rounding for 80 kg, above the plan's 28. From
    45 kg the label dose is a fixed 28 mcg/day: the correction writes it in mcg/day, not 14.97 mcg/m²/day."""
    request = _florida_blue_per_m2(80, 1.87)
    [card] = [c for c in post(client, request) if c["source"]["topic"]["code"] == "limits"]
    [suggestion] = card["suggestions"]
    assert suggestion["label"] == "Change to 28 mcg/day"
    rate = suggestion["actions"][0]["resource"]["dosageInstruction"][1]["doseAndRate"][0]["rateQuantity"]
    assert (rate["value"], rate["code"]) == (28, "ug/d")
    assert "fixed dose" in card["detail"]
    the_order(request).update(copy.deepcopy(suggestion["actions"][0]["resource"]))
    again = post(client, request)
    assert again[0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert [c for c in again if c["source"]["topic"]["code"] in ("limits", "off-guideline")] == []
