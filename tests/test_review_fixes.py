"""Review fixes (odd-but-valid input, exports): each test fails without its fix."""
from __future__ import annotations

from flask.testing import FlaskClient

from tests.dates_support import answer, example, order, service  # noqa: F401


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
