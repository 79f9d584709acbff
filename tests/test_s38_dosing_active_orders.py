"""An active blinatumomab order of the record running on the draft's days with other dosage lines: the patient
receives both, so its dose adds to the draft's daily dose (docs/dosing.md, "Lines given together"). It had been read
only for a likely duplicate (the same lines): a 20 mcg/day active order beside a 28 mcg/day draft passed as 28
mcg/day. A draft naming the active order as its `priorPrescription` replaces it: nothing is added."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.dates_support import answer, covered, example, order, service

__all__ = ["service"]

Json = dict[str, Any]
ASPIRUS = "aspirus-adult-consolidation-mrd-positive"  # 72 kg, 28 mcg/day on 2026-12-01..28
FLORIDA_BLUE = "florida-blue-consolidation"  # 28 mcg/day on 2026-12-01..28


def _with_active(name: str, dose: float, start: str = "2026-12-01", end: str = "2026-12-28") -> Json:
    """The example with an active order of the record at `dose` mcg/day from `start` to `end`."""
    return _with_active_in(example(name), dose, start, end)


def _with_active_in(request: Json, dose: float, start: str, end: str) -> Json:
    """`request` with an active copy of its draft at `dose` mcg/day from `start` to `end`."""
    active = copy.deepcopy(order(request)) | {"id": "running", "status": "active"}
    line = active["dosageInstruction"][0]
    line["doseAndRate"][0]["rateQuantity"]["value"] = dose
    line["text"] = f"{dose:g} ug/d continuous IV infusion"
    line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
    request["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": active})
    return request


def _dose_cards(found: Json) -> list[Json]:
    return [card for card in found["cards"] if kind_of(card) == "dose"]


def _criterion_evidence(found: Json) -> str:
    return found["cards"][0]["detail"]


def test_an_active_order_on_the_same_days_adds_to_the_drafts_dose(service: Any) -> None:
    found = answer(service, _with_active(ASPIRUS, 20))
    assert covered(found) == "not-covered"
    [card] = _dose_cards(found)
    assert card["indicator"] == "warning"
    assert card["summary"] == ("Dose above label: 48 mcg/day (this order and an active order together) on days 1–28 "
                               "of cycle 1; label is 28 mcg/day")
    assert "suggestions" not in card  # which order is meant is the prescriber's call
    assert "48 mcg/day (this order and an active blinatumomab order of the record together)" in card["detail"]
    assert "naming it as the prior prescription" in card["detail"]
    # The decision's dose criterion names the active order among its evidence.
    assert "MedicationRequest/running" in _criterion_evidence(found)


def test_florida_blues_daily_limit_counts_the_active_order(service: Any) -> None:
    found = answer(service, _with_active(FLORIDA_BLUE, 20))
    assert covered(found) == "not-covered"
    assert found["cards"][0]["summary"].endswith("except dose above 28 mcg/day")


def test_an_active_order_begun_before_the_draft_adds_on_the_days_they_share(service: Any) -> None:
    """Begun on 2026-11-20, its days before the draft's start are the cycle's days given (the draft starts on infusion
    day 12); its days 2026-12-01..05 run beside the draft's: infusion days 12-16."""
    [card] = _dose_cards(answer(service, _with_active(ASPIRUS, 20, start="2026-11-20", end="2026-12-05")))
    assert card["summary"].startswith("Dose above label: 48 mcg/day (this order and an active order together) on "
                                      "days 12–16 of cycle 1")


def test_a_draft_replacing_the_active_order_is_checked_alone(service: Any) -> None:
    request = _with_active(ASPIRUS, 20)
    order(request)["priorPrescription"] = {"reference": "MedicationRequest/running"}
    found = answer(service, request)
    assert covered(found) == "covered"
    assert not _dose_cards(found)


def test_an_active_order_on_other_days_adds_nothing(service: Any) -> None:
    """An order left active after its cycle (EHRs seldom close them) ran on days before this cycle's: no day shared."""
    found = answer(service, _with_active(ASPIRUS, 20, start="2026-09-01", end="2026-09-28"))
    assert not any("active order" in card["summary"] for card in found["cards"])
    assert "MedicationRequest/running" not in "".join(card["detail"] for card in _dose_cards(found))


def test_a_child_on_two_orders_is_compared_with_the_bsa_dose(service: Any) -> None:
    """Below 45 kg the label dose is 15 mcg/m²/day: 14 mcg/day drafted and 10 active are above it together."""
    request = example("aspirus-pediatric-mrd-positive")
    period = order(request)["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]
    found = answer(service, _with_active_in(request, 10, period["start"], period["end"]))
    [card] = _dose_cards(found)
    assert card["summary"].startswith("Dose above label: 24 mcg/day (this order and an active order together) on days "
                                      "1–28 of cycle 1; label is 13.98 mcg/day")


_BAG = {"resourceType": "Medication", "id": "bag-1",
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1597262"}]},
        "ingredient": [{"itemCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                            "code": "1597256", "display": "blinatumomab"}]},
                        "strength": {"numerator": {"value": 20, "system": "http://unitsofmeasure.org", "code": "ug"},
                                     "denominator": {"value": 240, "system": "http://unitsofmeasure.org",
                                                     "code": "mL"}}}]}


def test_an_active_bag_is_read_with_its_medication_in_the_prefetch(service: Any) -> None:
    """10 mL/h of 20 mcg per 240 mL is 20 mcg/day: its Medication, included in the history's search, is read for both
    whether the order is blinatumomab and its dose (through the server alone, it had not been known as one)."""
    request = _with_active(ASPIRUS, 20)
    active = request["prefetch"]["medicationRequests"]["entry"][-1]["resource"]
    del active["medicationCodeableConcept"]
    active["medicationReference"] = {"reference": "Medication/bag-1"}
    active["dosageInstruction"][0]["doseAndRate"] = [{"rateQuantity": {
        "value": 10, "unit": "mL/h", "system": "http://unitsofmeasure.org", "code": "mL/h"}}]
    request["prefetch"]["medicationRequests"]["entry"].append({"resource": _BAG})
    [card] = _dose_cards(answer(service, request))
    assert card["summary"].startswith("Dose above label: 48 mcg/day (this order and an active order together)")


def test_an_active_order_whose_dose_is_not_read_asks_for_it_never_denies(service: Any) -> None:
    request = _with_active(ASPIRUS, 20)
    del request["prefetch"]["medicationRequests"]["entry"][-1]["resource"]["dosageInstruction"][0]["doseAndRate"]
    found = answer(service, request)
    assert covered(found) == "conditional"
    assert "dose not readable (order running line 1: no dose or rate)" in _criterion_evidence(found)


def test_a_draft_repeating_an_active_order_is_decided_on_the_sum(service: Any) -> None:
    """The same lines: the duplicate card removes the draft in one click, and the decision, as for two drafts, reads
    what signing both gives: 56 mcg/day, not covered as ordered (it had been approved)."""
    request = _with_active(ASPIRUS, 28)
    found = answer(service, request)
    assert covered(found) == "not-covered"
    assert [kind_of(card) for card in found["cards"]] == ["decision", "duplicate-order"]
    assert found["cards"][0]["summary"].endswith("except dose above label on days 1–28")
