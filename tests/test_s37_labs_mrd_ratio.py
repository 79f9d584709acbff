"""An MRD result written as a ratio ("1:10000", as NGS and flow reports give one residual cell in so many), through
the endpoint.

fhir-data-profile.md §Labs normalizes an MRD value to a fraction of cells. A valueRatio whose terms are numbers in
units that are alike or both counts of cells ("1", "cells", "{cells}", none), with a denominator above 0, is that
fraction (numerator / denominator), the numerator's comparator kept; the card shows it as written and as the percent
the criteria compare ("MRD 1:10000 = 0.01%"). Any other ratio (a percent over a count, a bound on the denominator, a
zero denominator) stays unreadable: the result's value is asked for, never a denial (policy-rules.md §1).
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import attest, decision_of, example, mrd

FB_THRESHOLD = "fb-mrd-positive.mrd-at-least-0-1-percent"
ASPIRUS_POSITIVE = "adult-consolidation-mrd-positive.mrd-positive"
ASPIRUS_NEGATIVE = "adult-maintenance.mrd-negative-or-unavailable"
ASKED = "a value in % for the MRD result dated 2026-11-15 (Observation/mrd-1)"


def ratio(numerator: Any, denominator: Any, top: dict[str, Any] | None = None,
          bottom: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valueRatio of `numerator`:`denominator`, each term with the further elements given (unit, comparator)."""
    return {"valueRatio": {"numerator": {"value": numerator, **(top or {})},
                           "denominator": {"value": denominator, **(bottom or {})}}}


def criterion(decision: dict[str, Any], criterion_id: str) -> dict[str, Any]:
    [found] = [c for c in decision["criteria"] if c["id"] == criterion_id]
    return found


def florida_blue(client: LiveClient, value: dict[str, Any]) -> dict[str, Any]:
    """Florida Blue Position 1.b.i (MRD of 0.1% or more), the phase attested as induction so that only the MRD
    pathway is open."""
    request = example("florida-blue-mrd-positive")
    mrd(**value)(request)
    attest(therapy_phase="induction")(request)
    return decision_of(client, request)


CELLS = {"unit": "cells"}
ANNOTATED = {"unit": "cells", "system": "http://unitsofmeasure.org", "code": "{cells}"}


@pytest.mark.parametrize(("value", "note"), [
    (ratio(1, 1000, CELLS, CELLS), "MRD 1:1000 = 0.1%"),
    (ratio(1, 1000, ANNOTATED, ANNOTATED), "MRD 1:1000 = 0.1%"),
    (ratio(3, 1000, {"code": "1"}, CELLS), "MRD 3:1000 = 0.3%"),
])
def test_florida_blue_meets_its_threshold_on_an_mrd_ratio(client: LiveClient, value: dict[str, Any],
                                                          note: str) -> None:
    """0.1% exactly is met (1:1000), shown as the chart wrote it and in percent."""
    decision = florida_blue(client, value)
    found = criterion(decision, FB_THRESHOLD)
    assert (decision["decision"], found["status"], found["evidence"]) == ("meets-criteria", "met",
                                                                          ["Observation/mrd-1"])
    assert found["note"] == f"{note} (2026-11-15)"


@pytest.mark.parametrize("value", [ratio(1, 10000), ratio(1, 10000, {"comparator": "<"})])
def test_florida_blue_does_not_meet_its_threshold_below_it(client: LiveClient, value: dict[str, Any]) -> None:
    """One cell in ten thousand (0.01%), or below it, is under 0.1%: with the MRD pathway the only one open, the
    request is not met, and nothing is asked (an unread ratio asks for its value: the next test)."""
    decision = florida_blue(client, value)
    assert (decision["decision"], decision["missing"]) == ("criteria-not-met", [])


def test_a_ratio_bounded_above_the_threshold_asks_for_a_more_sensitive_result(client: LiveClient) -> None:
    """"<1:100" (below 1%) cannot say whether it is 0.1% or more (fhir-data-profile.md §Labs: "<0.5 %" leaves
    "≥ 0.1%" unknown): a result with a lower detection limit is asked for, not the value the chart holds."""
    decision = florida_blue(client, ratio(1, 100, {"comparator": "<"}))
    found = criterion(decision, FB_THRESHOLD)
    assert (decision["decision"], found["status"]) == ("information-needed", "unknown")
    assert found["note"] == "MRD <1:100 = <1% (2026-11-15)"
    assert ASKED not in decision["missing"]


@pytest.mark.parametrize("value", [
    ratio(1, 1000, {"unit": "%"}, {"unit": "1"}),  # a percent over a count: 0.1% or 0.001%?
    ratio(1, 1000, CELLS, {"unit": "mL"}),
    ratio(1, 0),
    ratio(1, 10000, bottom={"comparator": ">"}),  # "1:>10000": no bound a reader can place
    ratio(-1, 1000),
    {"valueRatio": {"numerator": {"value": 1}}},
])
def test_a_ratio_whose_meaning_is_not_plain_is_asked_for(client: LiveClient, value: dict[str, Any]) -> None:
    decision = florida_blue(client, value)
    assert decision["decision"] == "information-needed"
    assert ASKED in decision["missing"]
    assert criterion(decision, FB_THRESHOLD)["status"] == "unknown"


@pytest.mark.parametrize(("value", "decided", "status", "note"), [
    (ratio(1, 10000), "criteria-not-met", "not-met", "MRD 1:10000 = 0.01%"),
    (ratio(0, 100000, CELLS, CELLS), "meets-criteria", "met", "MRD 0:100000 = 0%"),
    (ratio(1, 100000, {"comparator": "<"}), "meets-criteria", "met", "MRD <1:100000 = <0.001%"),
])
def test_aspirus_maintenance_reads_whether_an_mrd_ratio_is_detectable(client: LiveClient, value: dict[str, Any],
                                                                      decided: str, status: str, note: str) -> None:
    """Aspirus reads MRD by whether it is detectable: one cell in ten thousand is (maintenance asks for MRD negative
    or unavailable: not met); none, or below one in 100,000 ("not detected at that sensitivity"), is not."""
    request = example("aspirus-adult-maintenance")
    mrd(**value)(request)
    decision = decision_of(client, request)
    found = criterion(decision, ASPIRUS_NEGATIVE)
    assert (decision["decision"], found["status"], found["evidence"]) == (decided, status, ["Observation/mrd-1"])
    assert found["note"] == f"{note} (2026-11-15)"


def test_aspirus_consolidation_meets_mrd_positive_on_a_detectable_ratio(client: LiveClient) -> None:
    request = example("aspirus-adult-consolidation-mrd-positive")
    mrd(**ratio(1, 10000, ANNOTATED, ANNOTATED))(request)
    decision = decision_of(client, request)
    found = criterion(decision, ASPIRUS_POSITIVE)
    assert (decision["decision"], found["status"]) == ("meets-criteria", "met")
    assert found["note"] == "MRD 1:10000 = 0.01% (2026-11-15)"


def test_a_ratio_of_a_wrong_json_type_is_unreadable_never_read(client: LiveClient) -> None:
    """A term's value sent as text is a malformed result (shape.py): the MRD facts unknown, the result asked for
    readable, never read as the number the text names."""
    decision = florida_blue(client, ratio("1", 1000))
    assert decision["decision"] == "information-needed"
    assert criterion(decision, FB_THRESHOLD)["status"] == "unknown"
    assert any("Observation/mrd-1 (valueRatio.numerator.value is text, not a number)" in item
               for item in decision["missing"])
