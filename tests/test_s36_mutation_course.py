"""Mutants of facts/course.py that the other tests let live, killed through the endpoint: the days without infusion
before a cycle when the cycle before ended on a day recorded only as a month (fhir-data-profile.md §Course and
cycles; dosing/rest.py). The label owes 14 days without infusion after a full cycle (cycles 1-6): exactly 14 are
enough, 13 are not."""
from __future__ import annotations

from typing import Any

from tests.dates_support import prefetched
from tests.live_server import LiveClient
from tests.test_course_many_partial_dates import _with_year_only_ends
from tests.test_orders33_prior_cycle_ends import with_earlier_cycle
from tests.test_orders35_rest_unknown import _attested_cycle
from tests.test_s36_mutation_checks import RR_DOSE, criterion, decision_and_summary

FULL_DATE = "the full date of the blinatumomab order ended 2026-11 (MedicationRequest/prior-cycle-5)"


def cycle_6_from(start: str, end: str) -> dict[str, Any]:
    """The relapsed/refractory cycle-6 renewal example, its order moved to `start`-`end`, after a cycle 5 from Nov 3 to
    a day of November: full (28 infusion days) only when it ended on Nov 30, interrupted on any earlier day."""
    request = with_earlier_cycle("2026-11-03", "2026-11")
    line = request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]
    line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
    return request


def test_fourteen_days_off_after_a_month_end_leave_no_rest_in_doubt(client: LiveClient) -> None:
    """Cycle 6 from Dec 15: ended Nov 30 (full), 14 days without infusion came before it, the label's rest; ended any
    earlier day, it was interrupted and owed none. Whichever day, the rest is enough: met, the date not asked for."""
    decision, _ = decision_and_summary(client, cycle_6_from("2026-12-15", "2027-01-11"))
    assert criterion(decision, RR_DOSE)["status"] == "met"
    assert decision["decision"] == "meets-criteria"


def test_thirteen_days_off_after_a_month_end_ask_for_the_full_date(client: LiveClient) -> None:
    """Cycle 6 from Dec 14: ended Nov 30, 13 days off are short of the rest; ended earlier, none was owed. The day
    decides, so the card asks for it: unknown, never a denial on a guess."""
    decision, _ = decision_and_summary(client, cycle_6_from("2026-12-14", "2027-01-10"))
    assert criterion(decision, RR_DOSE)["status"] == "unknown"
    assert decision["decision"] == "information-needed"
    assert decision["missing"] == [FULL_DATE]


def test_a_full_cycle_ended_fourteen_days_before_leaves_no_rest_in_doubt_beside_many_undated_orders(
        client: LiveClient) -> None:
    """Five earlier orders dated only to the year 2025 are past the days the cycles are counted by (course._DAYS_TRIED):
    the rest is then asked for with their full dates only when an earlier order may end within the label's 14 days
    before this cycle. Cycle 6 attested; cycle 5 ran Oct 20 to Nov 16, exactly 14 days before Dec 1: none does, so the
    dose is met on the rest known."""
    request = _with_year_only_ends(5)
    cycle_5 = prefetched(request, "medicationRequests")["prior-cycle-5"]
    cycle_5["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-10-20", "end": "2026-11-16"}
    decision, _ = decision_and_summary(client, _attested_cycle(request, 6))
    assert criterion(decision, RR_DOSE)["status"] == "met"
    assert decision["decision"] == "meets-criteria"
