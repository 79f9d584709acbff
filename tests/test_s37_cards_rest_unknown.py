"""With the cycle number not known, one order's lines are told apart into cycles by the label's least rest, 14 days
without infusion (`label_cycles.rest_after`), and the days card states that rest; from relapsed/refractory cycle 6
on it is 56. The split card had offered one click splitting a line after 14 days off into a cycle of its own, which
in cycle 7 on starts a cycle after a short rest where the label has the days past the 28th ended. The split is now
not offered when its cycles rest on that guess (the card says why and asks for the cycle number); a rest of 56 days
or more splits the same whatever the number. The days card says "at least 14 days", and the longer rest."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.live_server import LiveClient
from tests.test_order_spans_cycles import SPLIT, spanning
from tests.test_pipeline import post

Json = dict[str, Any]
EXAMPLE = "aspirus-adult-relapsed-refractory-cycle1"  # 9 mcg/day 2026-12-01..07, 28 mcg/day 12-08..28
AFTER_14_DAYS = ("2027-01-12", "2027-02-08")
AFTER_56_DAYS = ("2027-02-23", "2027-03-22")
PAST_DAY_28 = ("2026-12-29", "2027-01-04")


def _number_unknown(body: Json) -> Json:
    """`body` with an earlier order whose drug is not identified (it may be a prior cycle): the cycle number of the
    order is not known."""
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    earlier = copy.deepcopy(draft) | {"id": "unidentified", "status": "completed"}
    del earlier["medicationCodeableConcept"]
    earlier["medicationReference"] = {"reference": "Medication/not-sent"}
    earlier["dosageInstruction"] = earlier["dosageInstruction"][:1]
    earlier["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-06-01", "end": "2026-06-28"}
    history = body["prefetch"]["medicationRequests"]
    history["entry"].append({"resource": earlier})
    history["total"] = len(history["entry"])
    return body


def _cards(client: LiveClient, body: Json) -> dict[str, Json]:
    return {kind_of(card): card for card in post(client, body)["cards"]}


def test_a_split_resting_on_the_14_day_guess_is_not_offered(client: LiveClient) -> None:
    """The later line's dose above the label: the dose card's correction is withheld beside the split card, as when
    the split is offered, and says what to do first."""
    body = _number_unknown(spanning(EXAMPLE, 56, AFTER_14_DAYS))
    body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][-1]["doseAndRate"][0][
        "rateQuantity"]["value"] = 40
    cards = _cards(client, body)
    split = cards[SPLIT]
    assert split["summary"] == ("Order may cover 2 cycles (from 2026-12-01 and 2027-01-12): document the cycle "
                                "number, then sign again")
    assert not split.get("suggestions")
    assert ("No one-click split: the cycle number is not known, so the cycles are told apart by the label's least "
            "rest, 14 days without infusion; after relapsed/refractory cycle 6 on the rest is 56 days") in \
        split["detail"]
    assert "| the cycle from 2027-01-12 (later lines) |" in split["detail"]
    assert "once the cycle number tells the cycles apart, sign one order per cycle." in split["detail"]
    withheld = cards["dose"]
    assert not withheld.get("suggestions")
    assert ("**No one-click correction here:** this order's dosage lines may fall in 2 cycles (card \"Order may cover"
            "\n2 cycles\"). Document the cycle number, then sign again") in withheld["detail"]


def test_the_decision_asks_for_the_cycle_number_the_split_card_asks_for(client: LiveClient) -> None:
    cards = _cards(client, _number_unknown(spanning(EXAMPLE, 56, AFTER_14_DAYS)))
    assert "cycle number of this order" in cards["decision"]["extension"]["coverage-decision"]["missing"]
    assert not cards[SPLIT].get("suggestions")


def test_the_split_is_offered_when_the_number_is_known_or_the_rest_is_56_days(client: LiveClient) -> None:
    known = _cards(client, spanning(EXAMPLE, 56, AFTER_14_DAYS))[SPLIT]
    assert known["summary"] == "Order covers 2 cycles (from 2026-12-01 and 2027-01-12): sign one order per cycle"
    assert known["suggestions"][0]["label"] == "Split into 2 orders, one per cycle"
    long_rest = _cards(client, _number_unknown(spanning(EXAMPLE, 56, AFTER_56_DAYS)))[SPLIT]
    assert long_rest["summary"].startswith("Order covers 2 cycles")
    assert long_rest["suggestions"]


def test_the_days_card_says_the_rest_it_assumes_without_the_cycle_number(client: LiveClient) -> None:
    unknown = _cards(client, _number_unknown(spanning(EXAMPLE, 56, PAST_DAY_28)))["infusion-days"]
    assert unknown["summary"] == ("Infusion past day 28: runs to day 35; label gives 28 infusion days, then at least "
                                  "14 days without infusion")
    assert ("then at least 14 days without (treatment-free\ninterval; 56 after relapsed/refractory cycle 6 on, and the "
            "cycle number is not known)") in unknown["detail"]
    known = _cards(client, spanning(EXAMPLE, 56, PAST_DAY_28))["infusion-days"]
    assert known["summary"] == ("Infusion past day 28 of cycle 1: runs to day 35; label gives 28 infusion days, then "
                                "14 days without infusion")
