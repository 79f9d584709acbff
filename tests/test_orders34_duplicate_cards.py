"""A likely duplicate order is one problem to a clinician: the decision card (coverage as ordered), one duplicate card
with the one-click removal, and a dose or quantity card only where the order kept still needs one (judged as the
removal leaves the cycle). Two copies had given four cards (decision, duplicate, doubled dose, doubled quantity). A
draft repeating an active blinatumomab order of the record is a duplicate too: the active order is kept, the draft
removed; nothing had been said."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.dates_support import answer, example, order, service

__all__ = ["service"]

Json = dict[str, Any]
ASSOCIATED = "davinci-crd.associated-resource"


def with_copy(name: str) -> Json:
    request = example(name)
    twin = copy.deepcopy(order(request))
    twin["id"] = "copy"
    request["context"]["draftOrders"]["entry"].append({"resource": twin})
    return request


def kinds(found: Json) -> list[str | None]:
    return [kind_of(card) for card in found["cards"]]


def test_two_copies_within_the_label_are_the_decision_and_the_duplicate_card(service: Any) -> None:
    found = answer(service, with_copy("aspirus-adult-relapsed-refractory-cycle1"))
    assert kinds(found) == ["decision", "duplicate-order"]
    [suggestion] = found["cards"][1]["suggestions"]
    assert [(a["type"], a["resourceId"]) for a in suggestion["actions"]] == [("delete", "MedicationRequest/copy")]
    # Each order keeps its coverage information: signed as they are, the doses add up.
    assert len(found["systemActions"]) == 2


def test_the_kept_orders_own_dose_correction_stays_beside_the_duplicate_card(service: Any) -> None:
    """28 mcg/day on days 1-7 of cycle 1, twice: the copy's removal leaves 28 against the label's 9, which the dose
    card corrects in one click on the order kept (it had said 56 mcg/day together, with no correction)."""
    found = answer(service, with_copy("aspirus-relapsed-refractory-single-line-dose-too-high"))
    assert kinds(found) == ["decision", "duplicate-order", "dose"]
    dose = found["cards"][2]
    assert dose["summary"] == "Dose above label: 28 mcg/day on days 1–7 of cycle 1; label is 9 mcg/day"
    assert [entry["reference"] for entry in dose["extension"][ASSOCIATED]] == [
        f"MedicationRequest/{order(with_copy('aspirus-relapsed-refractory-single-line-dose-too-high'))['id']}"]
    [suggestion] = dose["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update" and action["resource"]["id"] != "copy"


def test_the_kept_orders_own_quantity_is_corrected_not_the_doubled_one(service: Any) -> None:
    """40 vials twice: the quantity card reads the order kept, 40 vials against 28, and sets it to 28; the doubled
    80 vials are the duplicate card's."""
    found = answer(service, with_copy("aspirus-quantity-over-limit"))
    assert kinds(found) == ["decision", "duplicate-order", "quantity-limit"]
    quantity = found["cards"][2]
    assert quantity["summary"].startswith("Quantity above plan limit: 40 vials (1400 mcg) in cycle 1")
    assert [s["label"] for s in quantity["suggestions"]] == ["Change quantity to 28 vials"]


def _with_active(name: str, **changes: Any) -> Json:
    request = example(name)
    active = copy.deepcopy(order(request)) | {"id": "running", "status": "active"} | changes
    request["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": active})
    return request


def test_a_draft_repeating_an_active_order_is_removed_in_one_click(service: Any) -> None:
    found = answer(service, _with_active("aspirus-adult-relapsed-refractory-cycle1"))
    [duplicate] = [card for card in found["cards"] if kind_of(card) == "duplicate-order"]
    assert duplicate["summary"] == ("Likely duplicate order: repeats an active blinatumomab order for cycle 1 (same "
                                    "dosage lines)")
    draft = f"MedicationRequest/{order(example('aspirus-adult-relapsed-refractory-cycle1'))['id']}"
    [suggestion] = duplicate["suggestions"]
    assert [(a["type"], a["resourceId"]) for a in suggestion["actions"]] == [("delete", draft)]
    detail = " ".join(duplicate["detail"].split())
    assert "The active blinatumomab order MedicationRequest/running has the same dosage lines as this draft order" in (
        detail)
    assert "| MedicationRequest/running |" in detail and "| active, kept |" in detail


def test_an_order_not_active_or_not_on_the_same_days_is_no_duplicate(service: Any) -> None:
    name = "aspirus-adult-relapsed-refractory-cycle1"
    ended = answer(service, _with_active(name, status="completed"))
    lines = copy.deepcopy(order(example(name))["dosageInstruction"])
    for line in lines:  # a day later: other days of the cycle
        period = line["timing"]["repeat"]["boundsPeriod"]
        period["start"], period["end"] = period["start"][:8] + "0" + str(int(period["start"][8:]) + 1), period["end"]
    later = answer(service, _with_active(name, dosageInstruction=lines))
    malformed = answer(service, _with_active(name, dosageInstruction={"text": "not a list"}))
    for found in (ended, later, malformed):
        assert "duplicate-order" not in kinds(found)
