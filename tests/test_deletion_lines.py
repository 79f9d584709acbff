"""A dosage line stating no days after lines filling the cycle's 28 infusion days (found by tools/deletion_sweep.py,
an emptied line): read as running from day 29, a free-text line ("hold for CRS") beside a 28-day line denied the
order as infusion past day 28 (Aspirus V). Its days cannot be placed: information needed, never a denial."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.dosing.reading import NO_ROOM, read_order_doses
from tests.live_server import LiveClient
from tests.test_pipeline import example, post

NAME = "aspirus-adult-consolidation-mrd-positive"  # one line, 28 mcg/day on days 1-28 (2026-12-01 to 12-28)


def with_line(line: dict[str, Any], position: int = 1) -> dict[str, Any]:
    request = example(NAME)
    request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"].insert(position, line)
    return request


def answer(client: LiveClient, request: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    cards = post(client, request)["cards"]
    decision = next(c for c in cards if "coverage-decision" in c.get("extension", {}))
    return decision["extension"]["coverage-decision"], [card["summary"] for card in cards]


@pytest.mark.parametrize(("line", "position"), [
    ({"text": "hold for CRS grade 3 or higher"}, 1), ({"text": "see protocol"}, 0), ({}, 1),
])
def test_a_line_stating_no_days_after_a_full_cycle_asks_for_its_days(
        client: LiveClient, line: dict[str, Any], position: int) -> None:
    decision, summaries = answer(client, with_line(line, position))
    assert decision["decision"] == "information-needed"
    dose = next(c for c in decision["criteria"] if c["id"].endswith("dose-schedule"))
    assert dose["status"] == "unknown" and NO_ROOM in dose["note"]
    assert summaries[1] == f"Dose not checked: correct the infusion period of line {position + 1}"


def test_the_order_without_it_is_met(client: LiveClient) -> None:
    decision, _ = answer(client, example(NAME))
    assert decision["decision"] == "meets-criteria"


def test_a_line_stating_days_past_the_28th_is_still_past_the_cycle(client: LiveClient) -> None:
    """The rule takes only a line stating no days: one whose period starts on day 29 runs past the 28th infusion
    day, as before."""
    line = copy.deepcopy(example(NAME)["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0])
    line["sequence"] = 2
    line["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-29", "end": "2026-12-30"}
    decision, _ = answer(client, with_line(line))
    dose = next(c for c in decision["criteria"] if c["id"].endswith("dose-schedule"))
    assert (decision["decision"], dose["status"]) == ("criteria-not-met", "not-met")
    assert "runs to day 30" in dose["note"].lower()


def test_a_line_stating_no_days_within_the_cycle_runs_to_its_end() -> None:
    """A last line stating no days after lines ending before day 28 runs on from them, as the profile reads it."""
    order = example(NAME)["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["end"] = "2026-12-07"
    order["dosageInstruction"].append({"doseAndRate": [{"rateQuantity": {"value": 28, "unit": "ug/d"}}]})
    first, second = read_order_doses(order, None)
    assert (first.first_day, first.last_day, second.first_day, second.through) == (1, 7, 8, 28)
    assert second.unreadable == "" and second.placed
