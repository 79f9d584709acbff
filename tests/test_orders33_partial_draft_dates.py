"""A draft blinatumomab order whose dosage period is dated only to a month or a year (leftover 1 of the order
review). Read from its first day, "2026-12" placed a step dose's days 1-7 and an end past day 28 on a guess: a line
ending "2026-12" was read to December 31, "runs to day 31", not covered as ordered, with a one-click end on day 28.
The days are asked for instead (information needed, no one-click fix); a full date is read as before."""
from __future__ import annotations

from typing import Any

from tests.dates_support import answer, covered, example, order, service, summaries

__all__ = ["service"]

Json = dict[str, Any]
ASKED = "document each dosage line's days (its start and end, or its duration)"
PERIOD = "correct the infusion period of line {} (its start or end is only a month or a year"


def step_dose(line: int, bound: str, value: str) -> Json:
    """The relapsed/refractory cycle-1 example (9 mcg/day on Dec 1-7, 28 on Dec 8-28), one bound changed."""
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    order(request)["dosageInstruction"][line]["timing"]["repeat"]["boundsPeriod"][bound] = value
    return request


def suggestions(found: Json) -> list[Json]:
    return [s for card in found["cards"] for s in card.get("suggestions", [])]


def test_a_full_date_is_read_as_before(service: Any) -> None:
    found = answer(service, step_dose(1, "end", "2026-12-28"))
    assert covered(found) == "covered" and len(found["cards"]) == 1


def test_an_end_given_as_a_month_is_asked_for_not_denied_past_day_28(service: Any) -> None:
    found = answer(service, step_dose(1, "end", "2026-12"))
    assert covered(found) == "conditional"
    assert ASKED in summaries(found) and PERIOD.format(2) in summaries(found)
    assert "past day 28" not in summaries(found) and not suggestions(found)


def test_a_start_given_as_a_month_is_asked_for_not_approved(service: Any) -> None:
    """Dec 1 read from "2026-12" approved the step dose; started Dec 4 it would be 28 mcg/day on days 5-7."""
    found = answer(service, step_dose(0, "start", "2026-12"))
    assert covered(found) == "conditional"
    assert PERIOD.format(1) in summaries(found) and not suggestions(found)


def test_a_year_alone_is_asked_for_too(service: Any) -> None:
    found = answer(service, step_dose(1, "end", "2026"))
    assert covered(found) == "conditional" and PERIOD.format(2) in summaries(found)


def test_a_line_stating_no_dates_after_a_month_only_start_of_the_order_keeps_its_correction(service: Any) -> None:
    """An order without dosage dates counts its days from its start, whichever day of the month that is: 28
    mcg/day on days 1-7 of cycle 1 is above the step dose on any of them, and corrected in cycle days."""
    request = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    written = order(request)
    del written["dosageInstruction"][0]["timing"]
    written["dispenseRequest"]["validityPeriod"] = {"start": "2026-12"}
    found = answer(service, request)
    assert covered(found) == "not-covered"
    [suggestion] = suggestions(found)
    [first, second] = suggestion["actions"][0]["resource"]["dosageInstruction"]
    assert "boundsPeriod" not in first["timing"]["repeat"] and first["timing"]["repeat"]["boundsDuration"]["value"] == 7
