"""A draft repeating an active blinatumomab order of the record (the same dosage lines: the patient would receive
both). Two drafts adding up to the label dose are likely one dose written as two orders (test_orders33_duplicates_
within_label), but an order already running is not part of what the clinician is writing: re-ordered, it is given
twice whatever the sum. It had been flagged only when the sum was off the label. A draft naming the active order as
its `priorPrescription` replaces it: no duplicate, whatever its lines."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.dates_support import answer, example, order, service

__all__ = ["service"]

Json = dict[str, Any]
ADULT = "aspirus-adult-consolidation-mrd-positive"  # 28 mcg/day on 2026-12-01..28


def _at(request: Json, dose: float) -> None:
    """The draft at `dose` mcg/day."""
    for line in order(request)["dosageInstruction"]:
        line["doseAndRate"][0]["rateQuantity"]["value"] = dose
        line["text"] = f"{dose:g} ug/d continuous IV infusion"


def _running(dose: float, **changes: Any) -> Json:
    """The adult example with an active order of the record that the draft repeats, both at `dose` mcg/day."""
    request = example(ADULT)
    _at(request, dose)
    active = copy.deepcopy(order(request)) | {"id": "running", "status": "active"}
    request["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": active})
    order(request).update(changes)
    return request


def _duplicate_cards(found: Json) -> list[Json]:
    return [card for card in found["cards"] if kind_of(card) == "duplicate-order"]


def test_a_draft_repeating_an_active_order_is_told_though_the_sum_is_the_label_dose(service: Any) -> None:
    """14 + 14 mcg/day is the adult's label dose: the running order is still repeated."""
    for dose in (14, 28):
        [card] = _duplicate_cards(answer(service, _running(dose)))
        assert card["summary"] == ("Likely duplicate order: repeats an active blinatumomab order for cycle 1 (same "
                                   "dosage lines)")
        [suggestion] = card["suggestions"]
        assert [a["resourceId"] for a in suggestion["actions"]] == ["MedicationRequest/blinatumomab-order"]


def test_two_drafts_adding_up_to_the_label_dose_are_still_no_duplicate(service: Any) -> None:
    request = example(ADULT)
    _at(request, 14)
    twin = copy.deepcopy(order(request)) | {"id": "second-half"}
    request["context"]["draftOrders"]["entry"].append({"resource": twin})
    assert not _duplicate_cards(answer(service, request))


def test_a_draft_replacing_the_active_order_is_no_duplicate_of_it(service: Any) -> None:
    replacing = {"priorPrescription": {"reference": "MedicationRequest/running"}}
    for dose in (14, 28):
        assert not _duplicate_cards(answer(service, _running(dose, **replacing)))
    absolute = {"priorPrescription": {"reference": "https://ehr.example.org/fhir/MedicationRequest/running/_history/3"}}
    assert not _duplicate_cards(answer(service, _running(28, **absolute)))
    # Another order named as the one replaced: the running one is still repeated.
    other = {"priorPrescription": {"reference": "MedicationRequest/an-older-one"}}
    assert len(_duplicate_cards(answer(service, _running(28, **other)))) == 1
