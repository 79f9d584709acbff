"""A dosage line whose doseAndRate states the dose more than once (an EHR's "ordered" rate beside a "calculated"
dose). Only the first was read: the correction rewrote it and kept the other, so the order written said 9 mcg/day
beside 28 mcg every 24 h on the step days; and a line of 9 mcg/day beside 28 mcg every 24 h passed as 9. Now every
dose in a mass is rewritten with it, and two different doses leave the line unread (never guessed). A pump rate in
mL/h is no dose of its own (a 24-hour bag runs at 10 mL/h at any dose) and stays as written."""
from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from tests.dates_support import answer, covered, example, order, service, summaries

__all__ = ["service"]

Json = dict[str, Any]
UCUM = "http://unitsofmeasure.org"


def quantity(value: float, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def single_line(*entries: Json, **repeat: Any) -> Json:
    """The adult relapsed/refractory cycle-1 example of one line on Dec 1-28, its doseAndRate `entries`."""
    request = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    line = order(request)["dosageInstruction"][0]
    line["doseAndRate"] = list(entries)
    line["timing"]["repeat"].update(repeat)
    return request


def corrected(found: Json) -> Json:
    [suggestion] = [s for card in found["cards"] for s in card.get("suggestions", [])]
    resource: Json = suggestion["actions"][0]["resource"]
    MedicationRequest.model_validate(resource)
    return resource


def values(line: Json) -> list[Any]:
    return [next(iter(entry.values()))["value"] for entry in line["doseAndRate"]]


DAILY = {"frequency": 1, "period": 1, "periodUnit": "d"}


@pytest.mark.parametrize(("other", "repeat", "step_values", "full_values"), [
    ({"doseQuantity": quantity(28, "ug")}, DAILY, [9, 9], [28, 28]),  # both rewritten
    ({"rateQuantity": quantity(1.16, "ug/h")}, {}, [9, 0.375], [28, 1.16]),  # each in its own unit, rounded down
    ({"rateQuantity": quantity(10, "mL/h")}, {}, [9, 10], [28, 10]),  # a pump rate stays
])
def test_a_dose_stated_twice_is_corrected_in_both(service: Any, other: Json, repeat: Json, step_values: list[Any],
                                                  full_values: list[Any]) -> None:
    request = single_line({"rateQuantity": quantity(28, "ug/d")}, other, **repeat)
    step, full = corrected(answer(service, request))["dosageInstruction"]
    assert (values(step), values(full)) == (step_values, full_values)


def test_accepted_and_signed_again_no_dose_card(service: Any) -> None:
    request = single_line({"rateQuantity": quantity(28, "ug/d")}, {"doseQuantity": quantity(28, "ug")}, **DAILY)
    order(request).update(corrected(answer(service, request)))
    again = answer(service, request)
    assert covered(again) == "covered" and len(again["cards"]) == 1


def test_two_different_doses_are_not_read(service: Any) -> None:
    """9 mcg/day on days 1-28 read alone met the step days; the 28 mcg every 24 h beside it is above them."""
    request = single_line({"rateQuantity": quantity(9, "ug/d")}, {"doseQuantity": quantity(28, "ug")}, **DAILY)
    found = answer(service, request)
    assert covered(found) == "conditional"
    assert "Dose not checked: dosage line 1 could not be read" in summaries(found)
    assert "its doseAndRate states two doses (9 and 28 mcg/day)" in found["cards"][1]["detail"]
