"""The decision card's label note for a dose the plan's limit allows but the label does not points to the card that
says it: the duplicate card when the copies alone take the dose above the label (no dose card is shown then: the
dose cards judge the cycle as the duplicate card's removal leaves it), the dose card otherwise. It had pointed to a
dose card that was not there."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.dates_support import answer, example, order, service

__all__ = ["service"]

Json = dict[str, Any]


def _child_at(mcg_per_day: int, copies: int) -> Json:
    """Florida Blue consolidation for a child of 25 kg and 130 cm (BSA 0.95 m²: label 14.25 mcg/day), its order at
    `mcg_per_day` with `copies` copies signed beside it (Florida Blue's own limit, 28 mcg/day, added together)."""
    request = example("florida-blue-consolidation")
    request["prefetch"]["patient"]["birthDate"] = "2016-05-10"
    entries = request["prefetch"]["observations"]["entry"]
    weight = entries[0]["resource"]
    weight["valueQuantity"]["value"] = 25
    height = copy.deepcopy(weight) | {"id": "height-1", "code": {"coding": [{"system": "http://loinc.org",
                                                                               "code": "8302-2"}]}}
    height["valueQuantity"] = {"value": 130, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"}
    entries.append({"resource": height})
    line = order(request)["dosageInstruction"][0]
    line["text"] = f"{mcg_per_day} ug/d continuous IV infusion"
    line["doseAndRate"][0]["rateQuantity"]["value"] = mcg_per_day
    for number in range(copies):
        twin = copy.deepcopy(order(request)) | {"id": f"copy-{number}"}
        request["context"]["draftOrders"]["entry"].append({"resource": twin})
    return request


def _decision_and_kinds(found: Json) -> tuple[Json, list[str | None]]:
    [decision] = [card for card in found["cards"] if kind_of(card) == "decision"]
    return decision, [kind_of(card) for card in found["cards"]]


def test_copies_alone_above_the_label_point_to_the_duplicate_card(service: Any) -> None:
    decision, kinds = _decision_and_kinds(answer(service, _child_at(14, copies=1)))
    assert kinds == ["decision", "duplicate-order"]
    assert decision["summary"].startswith("Dose above label (see duplicate card) — Florida Blue: meets criteria")
    assert ("The plan's dose limit is met, but the dose is above the label dose (28 mcg/day on days 1–28; label "
            '14.25 mcg/day): see the card "Likely duplicate order".') in decision["detail"]


def test_an_order_above_the_label_on_its_own_points_to_the_dose_card(service: Any) -> None:
    alone, kinds = _decision_and_kinds(answer(service, _child_at(20, copies=0)))
    assert kinds == ["decision", "dose"]
    assert alone["summary"].startswith("Dose above label (see dose card) — Florida Blue: meets criteria")
    assert "label 14.25 mcg/day): see the dose card." in alone["detail"]
