"""Card words a clinician reads without the service's vocabulary: the request type, the label's step-dose cap, the
quantity limit's supply, and a dose card above the label at any height opening as every dose card does."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from cds_service.dosing.quantity import VIAL_MCG
from cds_service.dosing.split import quantity_text
from tests.test_dosing_cards import quantity_cards_for
from tests.test_dosing_support import facts, line, order, rate
from tests.test_pipeline import example, post


def _cards(client: Any, name: str) -> list[dict[str, Any]]:
    return list(post(client, example(name))["cards"])


def test_an_initial_request_says_it_is_for_an_initial_authorization(client: Any) -> None:
    [decision] = _cards(client, "aspirus-adult-maintenance")
    assert "Request: initial authorization; cycle 1." in decision["detail"]
    [renewal] = _cards(client, "aspirus-relapsed-refractory-cycle6-renewal")
    assert "Request: renewal; cycle 6." in renewal["detail"]


def test_the_label_rules_say_the_step_dose_cap_in_words(client: Any) -> None:
    """"never above 28 (9) mcg/day" left the reader to work out what the 9 was."""
    _, dose = _cards(client, "aspirus-relapsed-refractory-single-line-dose-too-high")
    detail = " ".join(dose["detail"].split())
    assert "never above 28 mcg/day (9 on the step days)" in detail and "28 (9)" not in detail


def test_the_quantity_limit_is_for_the_orders_supply(client: Any) -> None:
    """"limit is 28 vials (980 mcg) for 42 days" read as 42 days of treatment."""
    _, quantity = _cards(client, "aspirus-quantity-over-limit")
    assert quantity["summary"] == ("Quantity above plan limit: 40 vials (1400 mcg) in cycle 1; limit is 28 vials "
                                   "(980 mcg) for the 42-day supply")
    assert "- Allowed for the 42-day supply: 28 vials (980 mcg)." in quantity["detail"]


def test_a_dose_above_the_label_at_any_height_opens_as_a_dose_card(client: Any) -> None:
    """"Under 45 kg, dose above label at any height" read as a dose under 45 kg; the why is the detail's."""
    _, dose = _cards(client, "florida-blue-child-no-height-dose-above-label-at-any-height")
    assert dose["summary"].startswith("Dose above label at any height: 28 mcg/day on days 8–28")
    assert "Under 45 kg, the label dose is per m² of body surface" in " ".join(dose["detail"].split())


def test_a_quantity_of_one_vial_is_said_in_the_singular() -> None:
    """Twelve one-day orders of 3 vials, above the cycle's 28: each day uses 1, and "Change quantity to 1 vials" had
    been each card's button."""
    orders = [order(line(rate(28), f"2026-12-{day:02d}", f"2026-12-{day:02d}", sequence=1), id=f"o{day}",
                    quantity=3) for day in range(1, 13)]
    cards = quantity_cards_for(orders, facts())
    assert len(cards) == 12 and {c["suggestions"][0]["label"] for c in cards} == {"Change quantity to 1 vial"}


def test_a_split_order_of_one_vial_is_said_in_the_singular() -> None:
    written = order(line(rate(28), "2026-12-01", "2026-12-01", sequence=1), id="o1", quantity=1)
    assert quantity_text(Decimal(1), written) == "1 vial"
    assert quantity_text(Decimal(2), written) == "2 vials"
