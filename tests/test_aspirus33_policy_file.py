"""The Aspirus policy file read beside the policy. Each criterion cites the part of the policy it reads
(policy-rules.md: cite the section in every criterion), so a pharmacist finds it: the adult or pediatric ALL
criteria of Aspirus III as the indication sits, the diagnosis with Appendix 1 (its code list, lymphoblastic lymphoma
included), the dose Aspirus V, the cycle limits Aspirus I and IV, the renewal Aspirus IV, the quantity Aspirus II,
the universal criterion Aspirus III.

The relapsed/refractory phase of the adult pathway had cited "Aspirus III, relapsed or refractory disease" (neither
section of Aspirus III), the pediatric diagnosis criteria dropped Appendix 1, and the MRD-unavailable pathway's
induction-or-candidacy criterion cited the consolidation section without its MRD-unavailable line.

And the file reads no fact the policy does not ask about (no CD19, prior TKI or prescriber criterion).
"""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.policies import load_policy
from cds_service.policies.model import CriterionSpec, IndicationSpec

POLICY = load_policy("aspirus-magellan")
SECTION_BY_KIND = {"dose": "Aspirus V", "course-limit": "Aspirus I and IV", "renewal": "Aspirus IV"}


def _criteria() -> list[tuple[str, CriterionSpec]]:
    return [(indication.id, criterion) for indication in POLICY.indications for criterion in indication.criteria]


@pytest.mark.parametrize(("indication", "criterion"), _criteria(), ids=lambda value: getattr(value, "id", value))
def test_every_criterion_cites_its_section(indication: str, criterion: CriterionSpec) -> None:
    if criterion.kind in SECTION_BY_KIND:
        assert criterion.citation.startswith(SECTION_BY_KIND[criterion.kind])
        return
    assert criterion.kind == "clinical"
    group = "(ALL, adult)" if indication.startswith("adult-") else "(ALL, pediatric)"
    assert criterion.citation.startswith(f"Aspirus III {group}"), criterion.citation
    if criterion.id.endswith("b-cell-precursor-all"):
        assert criterion.citation.endswith("; Appendix 1")


@pytest.mark.parametrize("indication", [i for i in POLICY.indications if i.id.startswith("adult-consolidation")],
                         ids=lambda indication: indication.id)
def test_a_consolidation_criterion_of_one_mrd_line_cites_that_line(indication: IndicationSpec) -> None:
    """The MRD+, MRD- and MRD-unavailable lines each have their own use criteria: those cite their line."""
    line = {"adult-consolidation-mrd-positive": "MRD+", "adult-consolidation-mrd-negative": "MRD-",
            "adult-consolidation-mrd-unavailable": "MRD unavailable"}[indication.id]
    shared = ("adult-age", "b-cell-precursor-all", "consolidation-phase", "complete-response", "dose-schedule",
              "not-renewable-after-4")
    for criterion in indication.criteria:
        if criterion.id not in shared:
            assert criterion.citation.endswith(f"consolidation, {line}"), criterion.id


def test_the_policy_level_criteria_cite_aspirus_ii_and_iii() -> None:
    assert {c.id: c.citation for c in POLICY.universal} == {
        "U1": "Aspirus III (Universal Criteria)", "quantity": "Aspirus II (Dosing Limits)"}


def _facts_read(test: Any) -> set[str]:
    found = {test["fact"]} if "fact" in test else set()
    for sub in [*test.get("any", []), *test.get("all", [])]:
        found |= _facts_read(sub)
    return found


def test_the_policy_asks_nothing_it_does_not_state() -> None:
    """Aspirus III has no CD19, prior TKI, prescriber or compendia criterion (those are Florida Blue's, or no one's):
    an Aspirus card never asks for them. Every fact it reads is one of these."""
    read = set().union(*(_facts_read(c.test) for c in POLICY.universal),
                       *(_facts_read(c.test) for _, c in _criteria()))
    assert read == {
        "live_vaccine_in_window", "age_years", "age_months", "all_diagnosis", "lymphoblastic_lymphoma", "b_lineage",
        "therapy_phase", "complete_response_to_induction", "combination", "induction_ino_mini_hyper_cvd",
        "multiagent_chemo_candidate", "unacceptable_toxicity", "response_or_stabilization", "mrd_detectable",
        "mrd_persistent_or_rising", "ph_positive", "mrd_unavailable", "remission_number",
        "end_of_consolidation_response", "infant_all"}
