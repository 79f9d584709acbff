"""Data taken out of a valid request gives information needed, or the same decision, never a denial (the project's
rule: missing clinical data is information needed). Each case here was found by deleting one element of an example
request and sending it over HTTP."""
from __future__ import annotations

from typing import Any

from tests.live_server import LiveClient
from tests.test_pipeline import example, post


def decision_card(response: dict[str, Any]) -> dict[str, Any]:
    return next(card for card in response["cards"] if "coverage-decision" in card.get("extension", {}))


def test_a_step_dose_line_that_lost_its_start_asks_for_the_days_not_a_denial(client: LiveClient) -> None:
    """The 9 mcg/day line of a relapsed/refractory cycle 1 (days 1-7) sent with its end and no start: day 1 is not the
    28 mcg/day line's start, which made that line days 1-21 and denied the order as 28 mcg/day above the label on
    days 1-7 (offering to rewrite it from the wrong day 1)."""
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    del order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"]
    response = post(client, request)
    decision = decision_card(response)["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert decision["missing"] == ["each dosage line's days (its start and end, or its duration)"]
    dose = next(c for c in decision["criteria"] if c["id"].endswith("dose-schedule"))
    assert dose["status"] == "unknown" and dose["note"].startswith("Dose not readable (line 1: it states an end but no start")
    assert not any(card.get("suggestions") for card in response["cards"])


def test_a_step_dose_line_with_its_start_is_read_as_before(client: LiveClient) -> None:
    """The same order whole is met: the rule above takes only a line without a start."""
    response = post(client, example("aspirus-adult-relapsed-refractory-cycle1"))
    assert decision_card(response)["extension"]["coverage-decision"]["decision"] == "meets-criteria"
