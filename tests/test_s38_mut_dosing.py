"""Mutation testing of s38's active orders beside the drafts (dosing/checks.CycleLines.running, together.py,
duplicates.running_orders, label_dose_cards.py): the cases no test told apart from a mutant, over HTTP."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.dates_support import order
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (the fixture)
from tests.test_cycles_signed_together import with_cycle_2
from tests.test_dosing_concentration import bag, quantity, strength
from tests.test_duplicate_orders import duplicate_cards, with_copies
from tests.test_pipeline import example, post

Json = dict[str, Any]
ASPIRUS = "aspirus-adult-consolidation-mrd-positive"  # 72 kg, 28 mcg/day on 2026-12-01..28


def _dose_cards(found: Json) -> list[Json]:
    return [card for card in found["cards"] if kind_of(card) == "dose"]


def _active(request: Json, dose: float, start: str, end: str) -> Json:
    """An active order of the record: the request's first draft with one line of `dose` mcg/day from `start` to
    `end`, added to the history."""
    active = copy.deepcopy(order(request))
    line = active["dosageInstruction"][0]
    line["doseAndRate"][0]["rateQuantity"]["value"] = dose
    line["text"] = f"{dose:g} ug/d continuous IV infusion"
    line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
    active |= {"id": "running", "status": "active", "dosageInstruction": [line]}
    request["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": active})
    return active


def test_an_active_order_still_adds_once_a_drafts_copy_is_removed(client: Any) -> None:
    """Two copies of a 28 mcg/day draft and an active 10 mcg/day order: the duplicate card removes the copy, and the
    order kept still runs beside the active one (38 mcg/day), which the cycle's reading without the copy had dropped."""
    request = with_copies(ASPIRUS, "copy")
    _active(request, 10, "2026-12-01", "2026-12-28")
    found = post(client, request)
    assert len(duplicate_cards(found)) == 1
    [card] = _dose_cards(found)
    assert card["summary"] == ("Dose above label: 38 mcg/day (this order and an active order together) on days 1–28 "
                               "of cycle 1; label is 28 mcg/day")


def test_an_active_order_replaced_by_a_draft_of_another_cycle_adds_to_no_cycle(client: Any) -> None:
    """Cycles 1 and 2 signed together, the cycle 2 order naming the active order as its priorPrescription: signing
    replaces it, so it runs beside neither cycle's order (any draft of the call replaces it, not only its cycle's)."""
    request = with_cycle_2()
    _active(request, 20, "2026-12-08", "2026-12-28")
    request["context"]["draftOrders"]["entry"][1]["resource"]["priorPrescription"] = {
        "reference": "MedicationRequest/running"}
    found = post(client, request)
    assert not _dose_cards(found)
    assert found["cards"][0]["summary"].startswith("Aspirus Health Plan: meets criteria")


def _with_second_draft(request: Json, dose: float) -> Json:
    """`request` with a second draft: a copy of its first at `dose` mcg/day on the same days."""
    entry = copy.deepcopy(request["context"]["draftOrders"]["entry"][0])
    line = entry["resource"]["dosageInstruction"][0]
    line["doseAndRate"][0]["rateQuantity"]["value"] = dose
    line["text"] = f"{dose:g} ug/d continuous IV infusion"
    entry["resource"]["id"] = "second"
    request["context"]["draftOrders"]["entry"].append(entry)
    return request



def _two_drafts_beside(client: Any, dose: float, start: str, end: str) -> list[Json]:
    """The dose cards of 28 and 20 mcg/day drafted on 2026-12-01..28 beside an active order of `dose` mcg/day."""
    request = _with_second_draft(example(ASPIRUS), 20)
    _active(request, dose, start, end)
    return _dose_cards(post(client, request))

def test_two_drafts_beside_an_active_order_on_other_days_are_two_orders_being_signed(client: Any) -> None:
    """An active order of the record on September's days shares none with the two drafts (28 + 20 mcg/day): their
    cards say two orders being signed, not an active one, and do not ask to replace it."""
    cards = _two_drafts_beside(client, 20, "2026-09-01", "2026-09-28")
    assert len(cards) == 2
    for card in cards:
        assert "48 mcg/day (2 blinatumomab orders together)" in card["summary"]
        assert "active" not in card["detail"]


def test_two_drafts_and_an_active_order_on_the_same_days_are_said_as_being_signed_or_active(client: Any) -> None:
    """28 + 20 mcg/day drafted and 10 active: each draft's card names the two others as being signed or active, and
    asks to replace the active one if that is meant."""
    cards = _two_drafts_beside(client, 10, "2026-12-01", "2026-12-28")
    assert len(cards) == 2
    for card in cards:
        assert "58 mcg/day (3 blinatumomab orders together)" in card["summary"]
        assert "this order and 2 other blinatumomab orders being signed or active together" in card["detail"]
        assert "naming it as the prior prescription" in card["detail"]


def test_an_active_order_on_the_later_days_of_a_card_is_still_said(client: Any) -> None:
    """28 mcg/day drafted on days 1-28, a second draft of 20 on days 1-14 and an active order of 10 on days 15-28:
    the first draft's card finds both ranges above the label, and says how to replace the active order, which runs
    on its second range only."""
    request = _with_second_draft(example(ASPIRUS), 20)
    second = request["context"]["draftOrders"]["entry"][1]["resource"]
    second["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": "2026-12-14"}
    _active(request, 10, "2026-12-15", "2026-12-28")
    found = post(client, request)
    first = f"MedicationRequest/{order(request)['id']}"
    [card] = [card for card in _dose_cards(found)
              if card["extension"]["davinci-crd.associated-resource"] == [{"reference": first}]]
    assert "| days 15–28 | 38 mcg/day (this order and an active blinatumomab order of the record together) |" \
        in card["detail"]
    assert "An active blinatumomab order of the record runs with this one on days 15–28, and" in card["detail"]
    assert "naming it as the prior prescription" in card["detail"]


def test_an_order_on_hold_adds_nothing(client: Any) -> None:
    """An order of the record on hold is not running: only an active one adds to the draft's dose."""
    request = example(ASPIRUS)
    _active(request, 20, "2026-12-01", "2026-12-28")["status"] = "on-hold"
    found = post(client, request)
    assert not _dose_cards(found)
    assert found["cards"][0]["summary"].startswith("Aspirus Health Plan: meets criteria")


def test_the_order_being_signed_found_active_in_the_record_is_not_added_to_itself(client: Any) -> None:
    """The history holding the draft itself as active (a change signed under the order's id): it is the order being
    signed, not one running beside it, so its dose is counted once and no duplicate is told."""
    request = example(ASPIRUS)
    _active(request, 28, "2026-12-01", "2026-12-28")["id"] = order(request)["id"]
    found = post(client, request)
    assert [kind_of(card) for card in found["cards"]] == ["decision"]
    assert found["cards"][0]["summary"].startswith("Aspirus Health Plan: meets criteria")



def test_an_active_bag_known_by_its_display_is_read_with_the_medication_read_to_know_it(
        client: Any, fhir_server: FhirTestServer) -> None:
    """An active bag in mL/h known as blinatumomab by its reference's display, its Medication only on the server: the
    Medication is read once to know the order (dosing/duplicates.running_orders), and its strength reads the dose,
    10 mL/h of 20 mcg per 240 mL = 20 mcg/day, 48 with the draft's (it had been read, then not used: the dose was
    asked for in mcg/day)."""
    fhir_server.add(bag(strength(20, "ug"), id="ebag"))
    request = example(ASPIRUS)
    active = _active(request, 20, "2026-12-01", "2026-12-28")
    del active["medicationCodeableConcept"]
    active["medicationReference"] = {"reference": "Medication/ebag", "display": "BLINATUMOMAB 20 MCG IN NS 240 ML IVPB"}
    active["dosageInstruction"][0]["doseAndRate"] = [{"rateQuantity": quantity(10, "mL/h")}]
    request["fhirServer"] = fhir_server.base_url
    found = post(client, request)
    [card] = _dose_cards(found)
    assert card["summary"].startswith("Dose above label: 48 mcg/day (this order and an active order together)")
    assert fhir_server.paths() == ["/Medication/ebag"]
