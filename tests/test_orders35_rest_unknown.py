"""The days without infusion before a cycle that the record cannot tell (facts/course.py): an earlier cycle whose end
is recorded only to a month or a year, or so many such orders that each day their dates may be is not tried
(course._DAYS_TRIED). With the cycle number attested, the rest had been read on a guess (a denial for a cycle read
to its last day) or, past those days, not checked at all (an approval). It is information
needed: the card asks for the orders' full dates, never a denial; where no day they may be is near this cycle,
nothing is asked."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.facts.label_cycles import LEAST_REST, RESTS, rest_after
from tests.dates_support import answer, covered, example, prefetched, service, summaries
from tests.test_orders33_prior_cycle_ends import ASKED, with_earlier_cycle

__all__ = ["service"]

Json = dict[str, Any]
MANY = "earlier blinatumomab orders dated only to a month or a year"


def _attested_cycle(request: Json, number: int) -> Json:
    """`number` attested as this order's cycle, on 2026-11-30 (after every earlier order's start)."""
    request["prefetch"]["attestations"]["entry"].append({"resource": {
        "resourceType": "QuestionnaireResponse", "id": "cycle-attested", "status": "completed",
        "questionnaire": "http://example.org/fhir/Questionnaire/blinatumomab-coverage-attestation",
        "subject": {"reference": "Patient/example-patient"}, "authored": "2026-11-30",
        "item": [{"linkId": "cycle-number", "answer": [{"valueInteger": number}]}]}})
    return request


def test_an_attested_cycle_number_does_not_decide_the_rest_on_a_guess(service: Any) -> None:
    """Cycle 5 of Nov 1 to "2026-11" before a Dec 1 start: full to Nov 30 (no rest), or interrupted (none owed)."""
    found = answer(service, _attested_cycle(with_earlier_cycle("2026-11-01", "2026-11"), 6))
    assert covered(found) == "conditional", summaries(found)
    assert ASKED in summaries(found) and "without infusion" not in summaries(found)
    # Dated in full, the attested cycle is judged: a full cycle the day before owes its rest.
    dated = answer(service, _attested_cycle(with_earlier_cycle("2026-11-01", "2026-11-30"), 6))
    assert covered(dated) == "not-covered"


def _with_many(request: Json, start: str, end: str, count: int = 40) -> Json:
    """`count` completed copies of the example's cycle-5 order, dated `start` to `end` (only to a month or a year):
    more days in all than course._DAYS_TRIED."""
    cycle_5 = prefetched(request, "medicationRequests")["prior-cycle-5"]
    for number in range(count):
        earlier = copy.deepcopy(cycle_5) | {"id": f"old-{number}", "status": "completed"}
        earlier["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
        request["prefetch"]["medicationRequests"]["entry"].append({"resource": earlier})
    return request


def test_many_partial_dates_near_the_cycle_ask_for_them_with_the_cycle_attested(service: Any) -> None:
    request = _with_many(_attested_cycle(with_earlier_cycle("2026-10-01", "2026-10-28"), 6), "2026-11-01", "2026-11")
    found = answer(service, request)
    assert covered(found) == "conditional", summaries(found)
    assert MANY in summaries(found)


def test_many_partial_dates_long_before_the_cycle_ask_nothing_of_the_rest(service: Any) -> None:
    """Ended in 2025 at the latest: more than 56 days before a Dec 1, 2026 start, whatever day."""
    request = _with_many(_attested_cycle(with_earlier_cycle("2026-10-01", "2026-10-28"), 6), "2025-01", "2025")
    found = answer(service, request)
    assert MANY not in summaries(found), summaries(found)
    assert covered(found) == "covered", summaries(found)


def test_the_rests_are_the_label_cycles_less_their_infusion_days() -> None:
    assert (LEAST_REST, RESTS) == (14, (14, 56))
    assert [rest_after(n) for n in (None, 5, 6)] == [14, 14, 56]
