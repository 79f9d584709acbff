"""An attested MRD percent (the `mrd-percent` answer) outside 0-100, through the endpoint.

A charted MRD value that is no share of cells (below 0, above 100%) is unread and asked for (labs._of_cells); the
attested one is held to the same range where the answer is read (attestations._parse): unread, its QuestionnaireResponse
named and a readable answer asked for, never read as MRD negative (-0.5) or far above Florida Blue's 0.1% (150).
The bounds themselves are shares of cells and read. No code changed for this: the range check was in place; these
tests hold it through HTTP.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import attest, decision_of, drop, example
from tests.test_s37_labs_mrd_ratio import FB_THRESHOLD, criterion


def florida_blue(client: LiveClient, percent: float) -> dict[str, Any]:
    """Florida Blue 1.b.i with no MRD result charted: the attested percent is the MRD value."""
    request = example("florida-blue-mrd-positive")
    drop(request, "observations", "mrd-1")
    attest(therapy_phase="induction", mrd_percent=percent)(request)
    return decision_of(client, request)


@pytest.mark.parametrize("percent", [-0.5, -0.0001, 100.0001, 150.0])
def test_an_attested_mrd_percent_outside_0_to_100_is_asked_for_again(client: LiveClient, percent: float) -> None:
    decision = florida_blue(client, percent)
    found = criterion(decision, FB_THRESHOLD)
    assert (decision["decision"], found["status"]) == ("information-needed", "unknown")
    assert "the mrd-percent answer is not a number from 0 to 100" in found["note"]
    assert any(item.startswith("a readable mrd-percent answer in QuestionnaireResponse/")
               for item in decision["missing"])


@pytest.mark.parametrize(("percent", "decided", "status"), [
    (100.0, "meets-criteria", "met"), (0.0, "criteria-not-met", None), (0.1, "meets-criteria", "met")])
def test_the_bounds_are_shares_of_cells_and_read(client: LiveClient, percent: float, decided: str,
                                                 status: str | None) -> None:
    decision = florida_blue(client, percent)
    assert (decision["decision"], decision["missing"]) == (decided, [])
    if status is not None:
        assert criterion(decision, FB_THRESHOLD)["status"] == status
