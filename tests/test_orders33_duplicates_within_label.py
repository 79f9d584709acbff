"""Identical orders whose sum is the label dose (leftover 3 of the order review). Two 14 mcg/day orders of an adult
give 28 mcg/day, the label dose: likely one dose written as two orders, not a duplicate. The duplicate card's
recommended one-click removal left 14 mcg/day, half the label dose. They are flagged as a likely duplicate only when
their sum is above the label on a day they share, as a child's two 13.9 mcg/day orders at 0.93 m² are."""
from __future__ import annotations

import copy
from typing import Any

from tests.dates_support import answer, example, order, service, summaries

__all__ = ["service"]

Json = dict[str, Any]
DUPLICATE = "Likely duplicate order"


def doubled(name: str, dose: float | None = None) -> Json:
    """The example's order signed twice (the copy with its own id), each line at `dose` mcg/day when given, and
    then half the vials each (28 in all, the cycle's)."""
    request = example(name)
    first = order(request)
    if dose is not None:
        first["dispenseRequest"]["quantity"]["value"] = 14
        for line in first["dosageInstruction"]:
            line["doseAndRate"][0]["rateQuantity"]["value"] = dose
            line["text"] = f"{dose:g} ug/d continuous IV infusion"
    copy_ = copy.deepcopy(first)
    copy_["id"] = "blinatumomab-copy"
    request["context"]["draftOrders"]["entry"].append({"resource": copy_})
    return request


def test_an_adults_two_orders_adding_up_to_the_label_dose_are_no_duplicate(service: Any) -> None:
    found = answer(service, doubled("aspirus-adult-consolidation-mrd-positive", 14))
    assert DUPLICATE not in summaries(found)
    assert not [s for card in found["cards"] for s in card.get("suggestions", [])]
    assert all("meets criteria" in card["summary"] for card in found["cards"])


def test_an_adults_two_full_doses_are_still_a_duplicate(service: Any) -> None:
    found = answer(service, doubled("aspirus-adult-consolidation-mrd-positive"))
    assert DUPLICATE in summaries(found)


def test_a_childs_two_label_doses_are_still_a_duplicate(service: Any) -> None:
    """25 kg, 125 cm (0.932 m²): 4.65 then 13.9 mcg/day is the label's step dose; twice it is above."""
    found = answer(service, doubled("aspirus-pediatric-relapsed-refractory-bsa-step"))
    [card] = [card for card in found["cards"] if card["summary"].startswith(DUPLICATE)]
    assert [a["type"] for a in card["suggestions"][0]["actions"]] == ["delete"]


def test_an_adults_two_lower_doses_are_still_a_duplicate(service: Any) -> None:
    """5 + 5 mcg/day: the copy doubles what may be a deliberate lower dose."""
    found = answer(service, doubled("aspirus-adult-consolidation-mrd-positive", 5))
    assert DUPLICATE in summaries(found)
