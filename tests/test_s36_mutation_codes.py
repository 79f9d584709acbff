"""Mutants of facts/codes.py (the FHIR readers every fact shares) that the other tests let live, killed through the
endpoint: negation in a diagnosis's words, an ICD-10-CM code written in lower case, and a result dated by the end of
its effectivePeriod alone (fhir-data-profile.md, general rules)."""
from __future__ import annotations

from tests.factories import ICD10
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import ADULT_MRD_POS, BASELINE, decision_of, diagnosis, example, the


def test_refractory_words_affirmed_once_make_the_disease_refractory_though_negated_elsewhere(
        client: LiveClient) -> None:
    """"refractory to induction" states refractory disease; a "not refractory" elsewhere in the same words does not
    undo it (a term counts as negated only where every mention of it is): the relapsed/refractory course is met."""
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    diagnosis(code="C91.00", status="active",
              text="B-cell precursor ALL, refractory to induction (was not refractory to steroid prephase)")(request)
    found = decision_of(client, request)
    assert (found["decision"], found["indication"]) == ("meets-criteria", "adult-relapsed-refractory")


def test_negative_for_t_cell_markers_is_no_t_lineage(client: LiveClient) -> None:
    """"negative for T-cell markers" says what the leukemia is not: the lineage is then not read from the words, and
    with no CD19 result on record it is asked for (information needed), not a T-lineage denial."""
    request = example(BASELINE[ADULT_MRD_POS])
    diagnosis(text="Acute lymphoblastic leukemia, negative for T-cell markers")(request)
    found = decision_of(client, request)
    assert found["decision"] == "information-needed"
    assert "B-cell lineage (immunophenotype)" in found["missing"]


def test_an_icd10_code_in_lower_case_is_read(client: LiveClient) -> None:
    """"c91.01" is C91.01 (ALL in remission): the example still meets its indication."""
    request = example(BASELINE[ADULT_MRD_POS])
    diagnosis(code="c91.01")(request)
    assert the(request, "conditions", "all-1")["code"]["coding"] == [{"system": ICD10, "code": "c91.01"}]
    assert decision_of(client, request)["decision"] == "meets-criteria"


def test_a_result_dated_by_its_effective_period_end_alone_is_dated(client: LiveClient) -> None:
    """The MRD result's collection given as a Period with only its end (2026-11-15): it is dated by it, and decides
    the MRD-positive indication as the same result dated by effectiveDateTime does."""
    request = example(BASELINE[ADULT_MRD_POS])
    result = the(request, "observations", "mrd-1")
    result["effectivePeriod"] = {"end": result.pop("effectiveDateTime")}
    found = decision_of(client, request)
    assert (found["decision"], found["indication"]) == ("meets-criteria", ADULT_MRD_POS)
