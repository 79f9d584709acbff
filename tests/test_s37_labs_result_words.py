"""A result's words negated where the positive word stands ("Not positive", "Non-detected", "Detected: No"), through
the endpoint.

fhir-data-profile.md §Labs reads the qualitative words of `valueString` too. A positive word was negated only by "no"
or "without" before it in its clause, so "Not positive" and "Non-detected" read as positive, as did a label answered
"no" ("Detected: No"): an MRD-negative patient was MRD positive, approving an MRD-positive consolidation and denying
maintenance. "not" further off still says nothing of the word ("not quantifiable but positive" is positive).
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import decision_of, example, mrd, the
from tests.test_facts_labs import labs, loinc, obs

NEGATIVE = ["Not positive", "Non-detected", "non detected", "MRD detected: No", "Positive = false"]
POSITIVE = ["MRD not quantifiable but positive", "Detected: yes", "Nonspecific pattern; detected"]


def maintenance(client: LiveClient, text: str) -> dict[str, Any]:
    """Aspirus adult maintenance (MRD negative or unavailable), the MRD result's value this text."""
    request = example("aspirus-adult-maintenance")
    mrd(valueString=text)(request)
    return decision_of(client, request)


@pytest.mark.parametrize("text", NEGATIVE)
def test_an_mrd_negated_where_it_stands_is_negative(client: LiveClient, text: str) -> None:
    decision = maintenance(client, text)
    assert decision["decision"] == "meets-criteria"
    [found] = [c for c in decision["criteria"] if c["id"] == "adult-maintenance.mrd-negative-or-unavailable"]
    assert (found["status"], found["note"]) == ("met", "MRD negative (2026-11-15)")


@pytest.mark.parametrize("text", POSITIVE)
def test_a_negation_elsewhere_leaves_the_result_positive(client: LiveClient, text: str) -> None:
    assert maintenance(client, text)["decision"] == "criteria-not-met"


def test_an_mrd_positive_consolidation_is_not_met_on_not_positive(client: LiveClient) -> None:
    request = example("aspirus-adult-consolidation-mrd-positive")
    mrd(valueString="Not positive")(request)
    decision = decision_of(client, request)
    assert decision["indication"] != "adult-consolidation-mrd-positive"


def test_a_ph_result_not_positive_is_negative() -> None:
    """The Ph reader shares the clause reading: a t(9;22) FISH "not positive" is a negative covering both
    breakpoints (Ph-), not Ph+."""
    fish = obs("fish", loinc("21821-4"), "2025-03-01", valueString="BCR-ABL1 fusion not positive")
    assert labs(fish).ph_positive.value is False


@pytest.mark.parametrize(("text", "decided"), [
    ("CD19 not positive on blasts", "criteria-not-met"), ("CD19 positive blasts", "meets-criteria")])
def test_an_immunophenotype_cd19_not_positive_is_no_cd19_positive_disease(client: LiveClient, text: str,
                                                                          decided: str) -> None:
    """Florida Blue Position 1.a (CD19-positive disease): the flow report's "CD19 not positive" had read as CD19+."""
    request = example("florida-blue-mrd-positive")
    the(request, "observations", "cd19-1")["valueString"] = text
    assert decision_of(client, request)["decision"] == decided


SNOMED = "http://snomed.info/sct"


@pytest.mark.parametrize(("codes", "decided"), [
    (["260385009", "10828004"], "information-needed"),  # negative and positive
    (["260385009"], "meets-criteria"),
    (["10828004"], "criteria-not-met"),
])
def test_an_mrd_whose_codings_disagree_is_unread(client: LiveClient, codes: list[str], decided: str) -> None:
    """A valueCodeableConcept coded both negative and positive says neither: read as negative (checked first), it
    had met Aspirus maintenance's MRD negative. Its value is asked for instead."""
    request = example("aspirus-adult-maintenance")
    mrd(valueCodeableConcept={"coding": [{"system": SNOMED, "code": code} for code in codes]})(request)
    decision = decision_of(client, request)
    assert decision["decision"] == decided
