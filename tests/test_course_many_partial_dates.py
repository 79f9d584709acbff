"""Many earlier blinatumomab orders dated only to a month or a year: the cycles are counted by each day each date may
be only up to course._DAYS_TRIED days in all (it had taken seconds a call: 80 year-only ends, 7 s). Past it the
cycle number is asked for with their full dates: information needed, never a denial (40 such orders had been denied
as more than 9 cycles, counted with every end at its latest day)."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.dates_support import answer, example, order, service

__all__ = ["service"]


def _with_year_only_ends(count: int) -> dict[str, Any]:
    """The cycle-6 renewal with `count` completed blinatumomab orders of 2025, each ending "2025"."""
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    bundle = request["prefetch"].setdefault("medicationRequests", {"resourceType": "Bundle", "type": "searchset"})
    entries = bundle.setdefault("entry", [])
    for number in range(count):
        earlier = copy.deepcopy(order(request)) | {"id": f"old-{number}", "status": "completed"}
        for line in earlier["dosageInstruction"]:
            repeat = line["timing"]["repeat"]
            repeat.pop("boundsDuration", None)
            repeat["boundsPeriod"] = {"start": f"2025-{1 + number % 10:02d}-{1 + number % 20:02d}", "end": "2025"}
        entries.append({"resource": earlier})
    return request


def _decision(found: dict[str, Any]) -> dict[str, Any]:
    [card] = [card for card in found["cards"] if kind_of(card) == "decision"]
    return card["extension"]["coverage-decision"]


def _cycle_criterion(decision: dict[str, Any]) -> dict[str, Any]:
    [criterion] = [c for c in decision["criteria"] if c["id"].endswith("at-most-9-cycles")]
    return criterion


def test_many_orders_dated_by_the_year_ask_for_their_dates_not_a_denial(service: Any) -> None:
    for count in (5, 40):
        decision = _decision(answer(service, _with_year_only_ends(count)))
        assert decision["decision"] == "information-needed"
        criterion = _cycle_criterion(decision)
        assert criterion["status"] == "unknown"
        assert {f"MedicationRequest/old-{n}" for n in range(count)} <= set(criterion["evidence"])
        assert f"the full date of {count} earlier blinatumomab orders dated only to a month or a year" in (
            " ".join(decision["missing"]))


def test_one_order_dated_by_the_year_is_still_counted_by_each_day(service: Any) -> None:
    decision = _decision(answer(service, _with_year_only_ends(1)))
    assert not any("earlier blinatumomab orders dated only" in item for item in decision.get("missing", []))
