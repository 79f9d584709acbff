"""A lineage word negated after it in a diagnosis's text ("ALL with T-cell markers negative"), through the endpoint.

fhir-data-profile.md §Diagnosis reads T-lineage words, not negated, as not B-cell precursor. A negation after the word
("markers negative", ": neg", "not expressed") had been missed: the T-cell markers a report found negative read as a
T-lineage ALL, and Aspirus denied the order (B-cell precursor not met). It is negated now, as result text negates a
positive word where it stands (facts/result_text.py); "T-cell ALL" stays T-lineage, and "negative for" still speaks of
what follows it.
"""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.codes import negated
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import decision_of, example, the

ASPIRUS = "aspirus-adult-consolidation-mrd-positive"


def lineage(client: LiveClient, name: str, text: str) -> tuple[str, dict[str, Any]]:
    """The decision and the B-cell precursor criterion with the ALL Condition's text `text` (its code C91.01)."""
    request = example(name)
    the(request, "conditions", "all-1")["code"]["text"] = text
    decision = decision_of(client, request)
    [found] = [c for c in decision["criteria"] if c["id"].endswith(".b-cell-precursor-all")]
    return decision["decision"], found


@pytest.mark.parametrize("text", ["ALL with T-cell markers negative", "ALL, T-cell: neg",
                                  "ALL; T-lineage antigens not expressed"])
def test_t_cell_markers_negative_is_no_t_lineage_asked_never_denied(client: LiveClient, text: str) -> None:
    """Aspirus: no lineage words left and no CD19 result read by it: the lineage is asked for, not denied."""
    decided, found = lineage(client, ASPIRUS, text)
    assert (decided, found["status"]) == ("information-needed", "unknown")


def test_t_cell_markers_negative_beside_cd19_positive_blasts_is_b_lineage(client: LiveClient) -> None:
    """Florida Blue: the CD19+ blasts on record make the lineage B (they had conflicted with the "T-lineage")."""
    decided, found = lineage(client, "florida-blue-mrd-positive", "ALL with T-cell markers negative")
    assert (decided, found["status"]) == ("meets-criteria", "met")
    assert "CD19+ blasts" in found["note"]


def test_t_cell_all_stays_t_lineage(client: LiveClient) -> None:
    decided, found = lineage(client, ASPIRUS, "T-cell ALL, negative for CD19")
    assert (decided, found["status"], found["note"]) == ("criteria-not-met", "not-met", "T-lineage in the diagnosis")


@pytest.mark.parametrize(("text", "expected"), [
    ("T-cell markers negative", True), ("T-cell-negative ALL", True), ("T-cell antigens absent", True),
    ("T-cell ALL", False), ("T-cell negative for CD19", False), ("T-cell negativity", False),
    ("T-cell ALL; T-cell markers negative", False),  # one occurrence not negated: the words still say T-lineage
])
def test_negated_after_the_term(text: str, expected: bool) -> None:
    assert negated(text, "t-cell") is expected
