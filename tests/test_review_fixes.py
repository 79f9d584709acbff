"""Review fixes (odd-but-valid input, exports): each test fails without its fix."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient

from cds_service.card_kinds import kind_of
from cds_service.facts.course import Cycle, OrderSpan
from tests.dates_support import answer, example, order, service  # noqa: F401
from tests.test_duplicate_orders import with_copies
from tests.test_pipeline import post


def _counted(count: int) -> dict[str, object]:
    """The example order's lines as `count` one-week bags from December 1."""
    request = example("aspirus-adult-maintenance")
    for line in order(request)["dosageInstruction"]:
        repeat = line["timing"]["repeat"]
        repeat.pop("boundsDuration", None)
        repeat.update({"boundsPeriod": {"start": "2026-12-01"}, "count": count, "period": 1, "periodUnit": "wk"})
    return request


def test_a_count_of_a_million_bags_is_read_as_no_count_not_a_technical_fault(service: FlaskClient) -> None:
    # A count whose days run past any calendar had raised OverflowError: "not checked: technical problem".
    found = answer(service, _counted(1_000_000))
    kinds = [card["extension"]["card-kind"] for card in found["cards"]]
    assert "evaluation-failed" not in kinds and "decision" in kinds


def test_a_count_of_four_bags_is_still_read_as_28_days(service: FlaskClient) -> None:
    found = answer(service, _counted(4))
    assert [card["extension"]["card-kind"] for card in found["cards"]] == ["decision"]


def _kinds(found: dict[str, Any]) -> list[str | None]:
    return [kind_of(card) for card in found["cards"]]


def test_a_copy_of_an_order_whose_lines_run_together_is_answered_not_a_technical_fault(client: Any) -> None:
    # The copy's dose checks had been read in the cycle its removal leaves, which has no copy: KeyError.
    found = post(client, with_copies("aspirus-consolidation-lines-together-above-label", "copy"))
    assert _kinds(found) == ["decision", "duplicate-order", "dose"]
    assert found["cards"][2]["summary"].startswith("Dose above label: 34 mcg/day (lines 1 and 2 together)")


def test_order_select_of_such_a_copy_gets_the_duplicate_warning(client: Any) -> None:
    body = with_copies("aspirus-consolidation-lines-together-above-label", "copy")
    body["hook"], body["context"]["selections"] = "order-select", ["MedicationRequest/copy"]
    kinds = _kinds(post(client, body))
    assert "duplicate-order" in kinds and "evaluation-failed" not in kinds


def _days_listed(cycle: Cycle, day: date) -> int:
    """Cycle.infusion_days_before as it was read: every infusion day listed."""
    return len({span.first + timedelta(days=n) for span in cycle.spans
                for n in range((min(span.last, day - timedelta(days=1)) - span.first).days + 1)})


def test_infusion_days_merged_count_each_day_once_as_when_listed() -> None:
    rng = random.Random(7)
    base = date(2026, 1, 1)
    for _ in range(500):
        spans = []
        for n in range(rng.randint(1, 5)):
            first = base + timedelta(days=rng.randint(0, 60))
            spans.append(OrderSpan(f"MedicationRequest/{n}", first, first + timedelta(days=rng.randint(0, 40))))
        cycle = Cycle(spans)
        for day in (base, base + timedelta(days=rng.randint(0, 110)), cycle.last + timedelta(days=1)):
            assert cycle.infusion_days_before(day) == _days_listed(cycle, day)
