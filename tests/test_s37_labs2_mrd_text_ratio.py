"""An MRD result written as a ratio in text ("1:10,000", "1/10000"), through the endpoint.

A valueRatio whose meaning is plain is read as the fraction of cells numerator / denominator (tests/
test_s37_labs_mrd_ratio.py). The same ratio sent as valueString had been unreadable, and the card asked for a value the
chart held. It is read now by the same rules (whole numbers, counts of cells, the denominator above 0 and without a
comparator, the numerator's comparator kept); a number a reader cannot be sure of ("1:10.000": 1:10 or, grouped the
European way, 1:10000, either side of Florida Blue's 0.1%) is still asked for by its result and date, never denied
(policy-rules.md §1). A percent in text ("0.01%") was read already.
"""
from __future__ import annotations

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import decision_of, example, mrd
from tests.test_s37_labs_mrd_ratio import ASKED, ASPIRUS_NEGATIVE, FB_THRESHOLD, criterion, florida_blue


@pytest.mark.parametrize(("text", "note"), [
    ("1:1,000", "MRD 1:1000 = 0.1%"), ("1/1000", "MRD 1:1000 = 0.1%"), ("3 : 1000", "MRD 3:1000 = 0.3%"),
    (">1:1000", "MRD >1:1000 = >0.1%"),
])
def test_florida_blue_meets_its_threshold_on_a_ratio_in_text(client: LiveClient, text: str, note: str) -> None:
    decision = florida_blue(client, {"valueString": text})
    found = criterion(decision, FB_THRESHOLD)
    assert (decision["decision"], found["status"], found["evidence"]) == ("meets-criteria", "met",
                                                                          ["Observation/mrd-1"])
    assert found["note"] == f"{note} (2026-11-15)"


@pytest.mark.parametrize("text", ["1:10,000", "1/10000", "<1:10000", "0.01%"])
def test_florida_blue_does_not_meet_its_threshold_below_it(client: LiveClient, text: str) -> None:
    decision = florida_blue(client, {"valueString": text})
    assert (decision["decision"], decision["missing"]) == ("criteria-not-met", [])


@pytest.mark.parametrize("text", [
    "1:10.000",  # 1:10 or 1:10000
    "2:1",  # read as a ratio, then no share of cells (labs._of_cells), as a valueRatio
    "1:1,5", "1:0", "1:>10000", "1:05", "1 in 10,000", "one in ten thousand", "1:1000 cells/mL",
])
def test_a_ratio_in_text_whose_meaning_is_not_plain_is_asked_for_by_its_date(client: LiveClient, text: str) -> None:
    decision = florida_blue(client, {"valueString": text})
    assert decision["decision"] == "information-needed"
    assert ASKED in decision["missing"]
    assert criterion(decision, FB_THRESHOLD)["status"] == "unknown"


def test_aspirus_maintenance_reads_a_detectable_ratio_in_text(client: LiveClient) -> None:
    """Maintenance asks for MRD negative or unavailable: one cell in ten thousand is detectable, not met."""
    request = example("aspirus-adult-maintenance")
    mrd(valueString="1:10,000")(request)
    decision = decision_of(client, request)
    found = criterion(decision, ASPIRUS_NEGATIVE)
    assert (decision["decision"], found["status"], found["note"]) == ("criteria-not-met", "not-met",
                                                                      "MRD 1:10000 = 0.01% (2026-11-15)")

