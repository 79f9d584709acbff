"""A dosage line bounded by its `count` of administrations (4 seven-day bags: 28 days). Its days were read as open,
to the cycle's 28th day, so 5 seven-day bags (to day 35) passed as 28 infusion days; and a correction splitting or
ending the line kept its count, so the step days' line said 4 bags of the step dose and the line after it ran 4
bags from day 8, to day 35. The count now bounds the line's days, and each rewritten line gets its own count (its
text too)."""
from __future__ import annotations

from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest

from tests.dates_support import answer, covered, example, order, prefetched, service, summaries

__all__ = ["service"]

Json = dict[str, Any]
UCUM = "http://unitsofmeasure.org"


def bags(name: str, dose: int, count: int) -> Json:
    """The example's one line as `count` seven-day bags of `dose` mcg from its start, with no end date."""
    request = example(name)
    line = order(request)["dosageInstruction"][0]
    line["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": "ug", "system": UCUM, "code": "ug"}}]
    line["timing"] = {"repeat": {"boundsPeriod": {"start": "2026-12-01"}, "count": count, "countMax": count + 1,
                                 "frequency": 1, "period": 7, "periodUnit": "d", "duration": 7, "durationUnit": "d"}}
    line["text"] = f"{dose} mcg per 7-day bag x {count} bags"
    return request


def lines(found: Json) -> list[Json]:
    [suggestion] = [s for card in found["cards"] for s in card.get("suggestions", [])]
    resource = suggestion["actions"][0]["resource"]
    MedicationRequest.model_validate(resource)
    written: list[Json] = resource["dosageInstruction"]
    return written


def test_four_bags_are_a_cycle(service: Any) -> None:
    found = answer(service, bags("aspirus-adult-consolidation-mrd-positive", 196, 4))
    assert covered(found) == "covered" and len(found["cards"]) == 1


def test_five_bags_run_past_day_28_and_are_ended_on_it(service: Any) -> None:
    found = answer(service, bags("aspirus-adult-consolidation-mrd-positive", 196, 5))
    assert covered(found) == "not-covered" and "runs to day 35" in summaries(found)
    [line] = lines(found)
    repeat = line["timing"]["repeat"]
    assert (repeat["count"], "countMax" in repeat, repeat["boundsPeriod"]["end"]) == (4, False, "2026-12-28")
    assert line["text"].startswith("196 mcg per 7-day bag x 4 bags")


def test_a_split_line_gets_the_count_of_its_own_days(service: Any) -> None:
    found = answer(service, bags("aspirus-relapsed-refractory-single-line-dose-too-high", 196, 4))
    step, full = lines(found)
    assert [step["timing"]["repeat"]["count"], full["timing"]["repeat"]["count"]] == [1, 3]
    assert step["text"] == "63 mcg per 7-day bag x 1 bag (days 1–7)"
    assert full["text"] == "196 mcg per 7-day bag x 3 bags (days 8–28)"
    accepted = bags("aspirus-relapsed-refractory-single-line-dose-too-high", 196, 4)
    order(accepted)["dosageInstruction"] = [step, full]
    again = answer(service, accepted)
    assert covered(again) == "covered" and len(again["cards"]) == 1, summaries(again)


def test_an_earlier_cycle_of_four_bags_owes_its_rest(service: Any) -> None:
    """Cycle 5 as 4 seven-day bags from Nov 1 ran to Nov 28: a Dec 1 start is 2 days without infusion after it (had
    been read as Nov 1 alone, an interrupted cycle: covered)."""
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    cycle_5 = prefetched(request, "medicationRequests")["prior-cycle-5"]
    cycle_5["dosageInstruction"][0]["timing"] = {"repeat": {"boundsPeriod": {"start": "2026-11-01"}, "count": 4,
                                                            "frequency": 1, "period": 7, "periodUnit": "d"}}
    found = answer(service, request)
    assert covered(found) == "not-covered" and "starts after 2 days without infusion" in summaries(found)
