"""Refractory disease is read from a Condition's words (fhir-data-profile.md §Diagnosis: *text* "refractory"), and
like the lineage words only where they are not negated: "B-ALL, not refractory" had made the course relapsed/refractory
and approved it under that pathway (with its step dose), for a patient whose chart says the opposite."""
from __future__ import annotations

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import decision_of, diagnosis, example

@pytest.mark.parametrize("text", ["B-cell precursor ALL, refractory to induction",
                                  "B-cell precursor ALL, primary refractory, not in remission"])
def test_refractory_words_make_the_course_relapsed_refractory(client: LiveClient, text: str) -> None:
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    diagnosis(code="C91.00", status="active", text=text)(request)  # active: no relapse or remission by code
    found = decision_of(client, request)
    assert (found["decision"], found["indication"]) == ("meets-criteria", "adult-relapsed-refractory")


@pytest.mark.parametrize("text", ["B-cell precursor ALL, not refractory", "B-cell precursor ALL, non-refractory"])
def test_negated_refractory_words_are_no_refractory_disease(client: LiveClient, text: str) -> None:
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    diagnosis(code="C91.00", status="active", text=text)(request)
    found = decision_of(client, request)
    assert (found["decision"], found["indication"]) == ("information-needed", None)
    assert "whether the disease is relapsed or refractory" in found["missing"]
