"""What the fuzz tests (test_s38_fuzz_hooks.py) found, each minimised to the request that showed it, through HTTP."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_service.facts import course, coverage
from tests.live_server import LiveClient
from tests.test_pipeline import example, post

UCUM = "http://unitsofmeasure.org"
# bounds[x] that state no days the dose check reads: a Period with neither start nor end, and a Range of durations.
@pytest.mark.parametrize("bounds", [("boundsPeriod", {}), ("boundsPeriod", {"id": "days"}),
                                    ("boundsRange", {"low": {"value": 28, "unit": "d", "system": UCUM, "code": "d"}})])
def test_a_split_line_states_its_days_in_one_bounds_only(client: LiveClient, bounds: tuple[str, Any]) -> None:
    """A line above the label from day 1 whose bounds state no days read is split, its step days given a
    boundsDuration: that had been written beside the line's own bounds[x], two values of one choice element, and
    the EHR refuses the suggested MedicationRequest (fhir.resources: "Any of one field value is expected")."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    [line] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    repeat = line["timing"]["repeat"]
    repeat.pop("boundsPeriod")
    repeat[bounds[0]] = bounds[1]
    answer = post(client, body)
    resources = [action["resource"] for card in answer["cards"] for suggestion in card.get("suggestions", [])
                 for action in suggestion["actions"] if "resource" in action]
    assert resources  # the split is suggested
    for resource in resources:
        MedicationRequest.model_validate(resource)
    step = resources[0]["dosageInstruction"][0]["timing"]["repeat"]
    assert [key for key in step if key.startswith("bounds")] == ["boundsDuration"]


@pytest.mark.parametrize("payer", ["Aspirus Health Plan", "Acme Health"])  # a plan chosen; no plan (which in force)
def test_the_coverages_are_read_once_for_all_the_orders_of_a_call(client: LiveClient, monkeypatch: pytest.MonkeyPatch,
                                                                  payer: str) -> None:
    """Each order had read every Coverage again, two or three times (choosing its payer, then its standing or why
    no plan): 50 orders beside the 54,000 Coverages a 10 MB body holds kept a worker 14 s, near gunicorn's 30 s
    timeout on a slower machine. What is read of the Coverages at a start is read once a call."""
    checked: list[int] = []  # how many Coverages each shape check was given
    chosen: list[object] = []  # each order's choice among the Coverages
    well_formed, well_formed_only, choose = coverage._WELL_FORMED, coverage.well_formed_only, coverage._chosen
    monkeypatch.setattr(coverage, "_WELL_FORMED", lambda c: checked.append(1) or well_formed(c))
    monkeypatch.setattr(coverage, "well_formed_only", lambda cs: checked.append(len(cs)) or well_formed_only(cs))
    monkeypatch.setattr(coverage, "_chosen", lambda *args: chosen.append(args) or choose(*args))
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    entries = body["context"]["draftOrders"]["entry"]
    entries += [copy.deepcopy(entries[0]) for _ in range(4)]
    for number, entry in enumerate(entries):
        entry["resource"]["id"] = f"blinatumomab-order-{number}"
    [covered] = body["prefetch"]["coverage"]["entry"]
    covered["resource"]["payor"] = [{"display": payer}]
    copies = body["prefetch"]["coverage"]["entry"]
    copies += [copy.deepcopy(covered) for _ in range(99)]
    for number, entry in enumerate(copies):
        entry["resource"]["id"], entry["fullUrl"] = f"coverage-{number}", f"urn:uuid:coverage-{number}"
    post(client, body)
    assert len(chosen) >= 5  # every order's payer chosen
    assert sum(checked) <= 3 * 100  # the 100 Coverages read at most thrice in all, not thrice for each order


def test_many_earlier_orders_on_the_same_days_are_grouped_without_merging_them_again_for_each(
        client: LiveClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Grouping the earlier orders into cycles merged the cycle's spans again for each order it took: quadratic,
    25,000 orders on the same days (a 10 MB body) held a worker 97 s, past gunicorn's 30 s timeout (0.4 s now)."""
    merges: list[int] = []
    merged = course.Cycle.infusion_days_before
    monkeypatch.setattr(course.Cycle, "infusion_days_before",
                        lambda cycle, day: merges.append(len(cycle.spans)) or merged(cycle, day))
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    [earlier, *_] = body["prefetch"]["medicationRequests"]["entry"]
    copies = [copy.deepcopy(earlier) for _ in range(2000)]
    for number, entry in enumerate(copies):
        entry["resource"]["id"], entry["fullUrl"] = f"earlier-{number}", f"urn:uuid:earlier-{number}"
    body["prefetch"]["medicationRequests"]["entry"] = copies
    answer = post(client, body)
    assert answer["cards"]  # answered
    assert sum(merges) < 10 * 2000  # a few merges of the 2,000 spans, not one for each
