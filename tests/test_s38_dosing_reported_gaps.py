"""Gaps carried in the team's notes that the service turned out to handle already, reproduced through HTTP so that
they stay handled: an order of days 1-28 then 30-35 (one day off is no rest: days past the 28th infusion day), an
84-day supply (Aspirus II: 28 vials per 42-day supply, proportionally more for a longer one, per 84 days from cycle
6), and an authorization ending before the cycle's last infusion day (the decision card and the CRD
coverage-information agree on its dates, for both payers)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from tests.dates_support import CRD_COVERAGE, answer, covered, example, order, service

__all__ = ["service"]

Json = dict[str, Any]
ASPIRUS = "aspirus-adult-consolidation-mrd-positive"  # 28 mcg/day on 2026-12-01..28, 28 vials for 42 days
FLORIDA_BLUE = "florida-blue-consolidation"


def _kinds(found: Json) -> list[str]:
    return [kind_of(card) for card in found["cards"]]


def _coverage(found: Json) -> dict[str, Any]:
    """The first order's coverage-information extension, by sub-extension url (its details' qualification)."""
    resource = found["systemActions"][0]["resource"]
    [info] = [e for e in resource["extension"] if e["url"] == CRD_COVERAGE]
    parts: dict[str, Any] = {}
    for part in info["extension"]:
        if part["url"] == "detail":
            parts["qualification"] = next(p["valueString"] for p in part["extension"] if p["url"] == "qualification")
        else:
            parts[part["url"]] = next(v for k, v in part.items() if k.startswith("value"))
    return parts


@pytest.mark.parametrize("name", [ASPIRUS, FLORIDA_BLUE])
def test_days_1_to_28_then_30_to_35_run_past_the_28th_infusion_day(service: Any, name: str) -> None:
    """One day without infusion is an interruption, not the label's 14-day rest: days 30-35 are infusion days 29-34
    of the same cycle, neither a cycle of their own (no split, no rest card) nor a dose above the label."""
    request = example(name)
    second = copy.deepcopy(order(request)["dosageInstruction"][0])
    second["sequence"] = 2
    second["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-30", "end": "2027-01-04"}
    order(request)["dosageInstruction"].append(second)
    found = answer(service, request)
    assert _kinds(found) == ["decision", "infusion-days"]
    days = found["cards"][1]
    assert days["indicator"] == "warning"
    assert days["summary"] == ("Infusion past day 28 of cycle 1: runs to day 35; label gives 28 infusion days, then 14 "
                               "days without infusion")
    assert "days 30–35 are past\nthe 28th infusion day (2026-12-28)" in days["detail"]
    assert "No one-click end: line 2 starts after it" in days["detail"]  # deleting a line is the prescriber's call
    if name == ASPIRUS:  # Aspirus V's schedule: not covered as ordered; Florida Blue's criterion is its daily limit
        assert covered(found) == "not-covered"
        assert "(days 30–35 past them)" in _coverage(found)["reason"]["text"]


def test_days_30_to_35_as_an_order_of_their_own_start_a_cycle_after_too_short_a_rest(service: Any) -> None:
    """Signed as a second order, days 30-35 follow a full cycle: they begin cycle 2 (facts/course.signed_cycles),
    one day after cycle 1's last infusion day, where the label gives 14."""
    request = example(ASPIRUS)
    later = copy.deepcopy(order(request)) | {"id": "days-30-35"}
    later["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-30", "end": "2027-01-04"}
    request["context"]["draftOrders"]["entry"].append({"resource": later})
    found = answer(service, request)
    assert [card["summary"] for card in found["cards"][1:]] == [
        "Aspirus Health Plan: not covered as ordered — rest too short (1 of 14 days) — cycle 2 order of 28 mcg/day on "
        "days 1–6",
        "Cycle 2 starts after 1 day without infusion: label gives 14 days; start on or after 2027-01-12"]


def _supplied(name: str, vials: int, days: int) -> Json:
    request = example(name)
    dispense = order(request)["dispenseRequest"]
    dispense["quantity"]["value"] = vials
    dispense["expectedSupplyDuration"]["value"] = days
    return request


def test_an_84_day_supply_allows_56_vials_in_cycles_1_to_5(service: Any) -> None:
    """Aspirus II, 28 vials per 42-day supply; policy-rules.md §2: a longer supply allows proportionally more."""
    found = answer(service, _supplied(ASPIRUS, 56, 84))
    assert covered(found) == "covered"
    assert "quantity-limit" not in _kinds(found)
    found = answer(service, _supplied(ASPIRUS, 57, 84))
    assert covered(found) == "not-covered" and "quantity-limit" in _kinds(found)


def test_an_84_day_supply_allows_28_vials_from_cycle_6(service: Any) -> None:
    """Aspirus II, 980 units per 84 days in cycles 6-9: an 84-day supply is the window itself."""
    name = "aspirus-relapsed-refractory-cycle6-renewal"
    assert covered(answer(service, _supplied(name, 28, 84))) == "covered"
    found = answer(service, _supplied(name, 56, 84))
    assert covered(found) == "not-covered"
    [card] = [card for card in found["cards"] if kind_of(card) == "quantity-limit"]
    assert card["summary"] == ("Quantity above plan limit: 56 vials (1960 mcg) in cycle 6; limit is 28 vials (980 mcg) "
                               "for the 84-day supply")


def _relapsed_cycle_5() -> Json:
    """Relapsed/refractory cycle 5 begun late: the initial authorization runs 30 weeks from the course start
    (2026-05-10 to 2026-12-06, policy-rules.md §4), and this cycle's infusion to 2026-12-28."""
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    for entry in request["prefetch"]["conditions"]["entry"]:
        entry["resource"]["recordedDate"] = "2026-05-01"
    draft = order(request)
    draft["dosageInstruction"] = draft["dosageInstruction"][-1:]
    cycles = (("2026-05-10", "2026-06-06"), ("2026-06-21", "2026-07-18"), ("2026-08-02", "2026-08-29"),
              ("2026-09-13", "2026-10-10"), ("2026-12-01", "2026-12-28"))
    for number, (start, end) in enumerate(cycles, 1):
        given = draft if number == 5 else copy.deepcopy(draft) | {"id": f"cycle-{number}", "status": "completed"}
        given["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
        if number < 5:
            request["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": given})
    return request


def test_an_authorization_ending_mid_cycle_has_the_same_dates_on_the_card_and_the_coverage_information(
        service: Any) -> None:
    found = answer(service, _relapsed_cycle_5())
    card = found["cards"][0]
    assert card["summary"] == ("Aspirus Health Plan: meets criteria (adult relapsed/refractory ALL), approved to "
                               "2026-12-06; infusion runs to 2026-12-28")
    assert "Authorization: 2026-05-10 to 2026-12-06 (5 cycles)." in card["detail"]
    assert "the authorization ends 2026-12-06, before this cycle's last infusion day, 2026-12-28" in card["detail"]
    assert card["extension"]["coverage-decision"]["authorization"] == {"start": "2026-05-10", "end": "2026-12-06",
                                                                       "cycles": 5}
    coverage = _coverage(found)
    assert coverage["covered"] == "covered" and coverage["expiry-date"] == "2026-12-06"
    assert coverage["qualification"] == "Blinatumomab cycles authorized from 2026-05-10 to 2026-12-06"


@pytest.mark.parametrize("name, end", [(FLORIDA_BLUE, "2027-06-01"), ("florida-blue-continuation", "2027-12-01")])
def test_florida_blues_authorization_from_the_orders_start_covers_its_cycle(service: Any, name: str, end: str) -> None:
    """Florida Blue authorizes from the order's start (6 months, or a year on continuation; policy-rules.md §4): a
    cycle's 28 infusion days never outlast it, and the card and the coverage information give the same end."""
    found = answer(service, example(name))
    card = found["cards"][0]
    assert f"approved to {end}" in card["summary"] and "infusion runs to" not in card["summary"]
    assert f"Authorization: 2026-12-01 to {end}." in card["detail"] and "mid-cycle" not in card["detail"]
    assert _coverage(found)["expiry-date"] == end
