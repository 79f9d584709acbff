"""Pharmacist review of the policy logic and the decision cards against policy-rules.md and fhir-data-profile.md:
one test per disagreement found, each failing before its fix."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.cards import decision_card
from cds_service.decision import CriterionResult, Decision
from cds_service.evaluation import INITIAL, NOT_MET_DECISION
from cds_service.facts.model import Fact
from cds_service.policies import evaluate_policy, load_policy
from cds_service.verdict import NOT_MET, Verdict
from tests.test_cards import CHECKED
from tests.test_policy_aspirus import make_facts as facts  # plain values are record-derived, not attested

ASPIRUS = load_policy("aspirus-magellan")
EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
URL = "/cds-services/blinatumomab-coverage"


class DosesMet:
    """DoseChecks answering every dose and quantity check with met (the dose is not what these tests are about)."""

    def schedule(self, schedule: str) -> Verdict:
        return Verdict("met", ("MedicationRequest/blin",))

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        return Verdict("met", ("MedicationRequest/blin",))

    def quantity(self, limit: Any) -> Verdict:
        return Verdict("met", ("MedicationRequest/blin",))


ADULT: dict[str, Any] = dict(age_years=40, age_months=486, all_diagnosis=True, lymphoblastic_lymphoma=False, b_lineage=True,
             live_vaccine_in_window=False)
MAINTENANCE: dict[str, Any] = dict(ADULT, therapy_phase="maintenance", ph_positive=False, mrd_detectable=False,
                   complete_response_to_induction=True, induction_ino_mini_hyper_cvd=True)
INFANT: dict[str, Any] = dict(ADULT, age_years=0, age_months=7, infant_all=True, therapy_phase="induction")


def attested(value: Any) -> Fact[Any]:
    return Fact(value, ("QuestionnaireResponse/att",), attested=True)


# fhir-data-profile.md §Medications: "alternating with POMP" and "with an Interfant regimen" are never inferred
# (attested, else unknown). A combination read from the record cannot rule them out: never an auto-denial.

def test_maintenance_with_a_record_derived_combination_asks_for_the_pomp_attestation() -> None:
    for inferred in ("single-agent", "with-multiagent-chemo"):  # oral POMP drugs active at the start date
        decision = evaluate_policy(ASPIRUS, facts(**MAINTENANCE, combination=inferred), DosesMet(), Fact(False))
        assert decision.decision == "information-needed", inferred
        assert "whether blinatumomab alternates with POMP" in decision.missing


def test_maintenance_with_an_attested_other_combination_is_not_met() -> None:
    decision = evaluate_policy(ASPIRUS, facts(**MAINTENANCE, combination=attested("single-agent")), DosesMet(), Fact(False))
    assert decision.decision == "criteria-not-met"


def test_maintenance_attested_alternating_with_pomp_meets() -> None:
    decision = evaluate_policy(ASPIRUS, facts(**MAINTENANCE, combination=attested("alternating-with-pomp")),
                               DosesMet(), Fact(False))
    assert (decision.decision, decision.indication) == ("meets-criteria", "adult-maintenance")


def test_infant_with_a_record_derived_combination_asks_for_the_interfant_attestation() -> None:
    decision = evaluate_policy(ASPIRUS, facts(**INFANT, combination="single-agent"), DosesMet(), Fact(False))
    assert decision.decision == "information-needed"
    assert "whether blinatumomab is given with an Interfant regimen" in decision.missing
    interfant = next(r for r in decision.indications if r.id == "infant-interfant")
    assert interfant.status == "unknown"


# policy-rules.md §2: relapsed/refractory cycles 6 and later are renewal requests, also while information is needed.

def test_relapsed_refractory_cycle_7_needing_information_is_a_renewal_request() -> None:
    # With a TKI the use needs Ph+ (a single agent would be met whatever the Ph status).
    values: dict[str, Any] = dict(ADULT, therapy_phase="relapsed-refractory", ph_positive=None, combination="with-tki",
                  unacceptable_toxicity=False, response_or_stabilization=True)
    decision = evaluate_policy(ASPIRUS, facts(cycle=7, **values), DosesMet(), Fact(False))
    assert decision.decision == "information-needed"
    assert decision.indication is None
    assert decision.request_type == "renewal"
    assert decision.as_extension()["request"] == "renewal"


def test_consolidation_cycle_1_needing_information_stays_initial() -> None:
    values: dict[str, Any] = dict(ADULT, therapy_phase="consolidation", complete_response_to_induction=True, mrd_detectable=None,
                  ph_positive=False, combination="single-agent")
    decision = evaluate_policy(ASPIRUS, facts(cycle=1, **values), DosesMet(), Fact(False))
    assert (decision.decision, decision.request_type) == ("information-needed", "initial")


# Card wording (service-contract.md Response item 1; policy-rules.md §1 "meets X except the dose").

def _post_example(client: FlaskClient, name: str) -> dict[str, Any]:
    body = json.loads((EXAMPLES / f"{name}.json").read_text())
    response = client.post(URL, json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.get_json()
    return next(c for c in answer["cards"] if "coverage-decision" in c.get("extension", {}))


def test_live_vaccine_window_is_worded_between_and(client: FlaskClient) -> None:
    card = _post_example(client, "aspirus-live-vaccine-critical")
    assert card["indicator"] == "critical"
    assert "MMR dated 2026-11-24; window between 2026-11-17 and 2026-12-29" in card["detail"]
    # Which vaccine, when, and the start that clears it: what a clinician acts on (the window is the detail's).
    assert "(MMR dated 2026-11-24; start on or after 2026-12-09)" in card["summary"]
    assert " to 2026-12-29" not in card["detail"]
    assert len(card["summary"]) < 140


def test_denial_on_a_course_limit_says_which_indication_is_otherwise_met(client: FlaskClient) -> None:
    card = _post_example(client, "aspirus-consolidation-cycle5-not-renewable")
    assert "not covered — meets adult consolidation, MRD positive except more than 4 cycles" in card["summary"]
    assert len(card["summary"]) < 140


@pytest.mark.parametrize("name", ["aspirus-relapsed-refractory-single-line-dose-too-high", "florida-blue-dose-above-28",
                                  "aspirus-quantity-over-limit"])
def test_a_denial_for_the_orders_dose_or_quantity_says_as_ordered(client: FlaskClient, name: str) -> None:
    """A corrected order is covered: "not covered" alone reads as a denial of the drug."""
    card = _post_example(client, name)
    assert card["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    assert ": not covered as ordered — meets " in card["summary"] and len(card["summary"]) < 140


def test_a_chart_that_fails_too_is_not_covered_whatever_the_order_says(client: FlaskClient) -> None:
    """T-cell ALL ordered above the quantity limit: the quantity is the first failure (a policy-level criterion), yet
    correcting it would not get coverage, so the summary must not say "as ordered"."""
    body = json.loads((EXAMPLES / "aspirus-t-cell-all-not-covered.json").read_text())
    for entry in body["context"]["draftOrders"]["entry"]:
        entry["resource"]["dispenseRequest"]["quantity"] = {"value": 40, "unit": "vial",
                                                            "system": "http://unitsofmeasure.org", "code": "{vial}"}
    response = client.post(URL, json=body)
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    assert ["quantity" in c["id"] for c in card["extension"]["coverage-decision"]["criteria"]
            if c["status"] == "not-met"].count(True) == 1
    assert card["summary"].startswith("Aspirus Health Plan: not covered — ")


def test_every_except_summary_fits_without_being_cut() -> None:
    """Each indication with each of its failing non-clinical criteria (and the policy's quantity limit): the decision
    card's summary keeps the failure whole, beside the indication when it fits: a cut summary loses its reason."""
    for policy in (ASPIRUS, load_policy("florida-blue")):
        phrases = [c for c in policy.universal if c.kind == "quantity"]
        for indication in policy.indications:
            for failing in phrases + [c for c in indication.criteria if c.kind != "clinical"]:
                reason = failing.summary or failing.text
                assert not reason[0].isupper(), failing.id  # reads on after "except"
                result = CriterionResult(failing.result_id, NOT_MET, failing.citation, failing.text,
                                         kind=failing.kind, summary=failing.summary)
                decision = Decision(policy.id, policy.version, policy.payer_label, policy.url, NOT_MET_DECISION,
                                    INITIAL, indication.id, indication.title, 1, None, [result], [])
                card = decision_card(decision, facts(**MAINTENANCE), {"id": "blin"}, "http://cds.example.org",
                                     CHECKED)
                summary = card["summary"]
                assert len(summary) < 140, summary
                assert summary.endswith((f" — meets {indication.title} except {reason}", f" — {reason}")), summary


def test_every_clinical_denial_summary_keeps_its_reason_whole() -> None:
    """Each clinical criterion that can deny (not a continuation gate, whose failure sends the order to initiation):
    its reason ("requires ...", the summary else the text) fits the decision card's summary whole. Aspirus III's
    MRD-negative Ph/use criterion (187 characters) was cut in the middle of its reason."""
    for policy in (ASPIRUS, load_policy("florida-blue")):
        for indication in policy.indications:
            for failing in (c for c in indication.criteria if c.kind == "clinical"):
                if failing.id == indication.exclusive_when:
                    continue
                result = CriterionResult(failing.result_id, NOT_MET, failing.citation, failing.text,
                                         kind=failing.kind, summary=failing.summary)
                decision = Decision(policy.id, policy.version, policy.payer_label, policy.url, NOT_MET_DECISION,
                                    INITIAL, indication.id, indication.title, 1, None, [result], [])
                summary = decision_card(decision, facts(**MAINTENANCE), {"id": "blin"}, "http://cds.example.org",
                                        CHECKED)["summary"]
                assert "…" not in summary and len(summary) < 140, (failing.result_id, summary)


def test_the_mrd_negative_ph_use_summary_keeps_every_condition_that_denies() -> None:
    """Second review: "requires Ph+ with a TKI, or Ph- as a single agent" read as met by a Ph- single-agent patient
    who is a candidate for multi-agent chemotherapy after standard induction, whom the criterion denies."""
    [criterion] = [c for i in ASPIRUS.indications if i.id == "adult-consolidation-mrd-negative" for c in i.criteria
                   if c.id == "ph-use"]
    for condition in ("Ph+ with TKI", "Ph- alone", "not a multi-agent chemo candidate", "after ino induction"):
        assert condition in criterion.summary


# The card shows the closest indication when none is clinically met. Florida Blue indication 2 is a catch-all that is
# not-met by default (no attestation): it must not hide the real reason (here CD19-negative B-ALL) from the card.

def test_florida_blue_denial_shows_the_b_all_failure_not_the_catch_all() -> None:
    values: dict[str, Any] = dict(ADULT, cd19_positive=False, therapy_phase="relapsed-refractory", ph_positive=None)
    decision = evaluate_policy(load_policy("florida-blue"), facts(**values), DosesMet(), Fact(False))
    assert decision.decision == "criteria-not-met"
    assert decision.shown_indication == "fb-relapsed-refractory-ph-negative"
    card = decision_card(decision, facts(**values), {"id": "blin"}, "http://cds.example.org", CHECKED)
    assert card["summary"] == "Florida Blue: not covered — requires CD19+ disease on the latest immunophenotype"


def test_a_clinical_denial_says_what_the_record_showed_when_it_fits(client: FlaskClient) -> None:
    card = _post_example(client, "aspirus-t-cell-all-not-covered")
    assert card["summary"] == ("Aspirus Health Plan: not covered — requires B-cell precursor ALL; "
                               "chart: T-lineage in the diagnosis")


def test_a_criterion_read_on_after_requires_starts_lowercase_unless_an_abbreviation() -> None:
    """v17 of the clinician's review: "requires Age from 1 month ..." read as a typo."""
    from cds_service.sentences import mid_sentence

    assert mid_sentence("Age from 1 month through 30 years") == "age from 1 month through 30 years"
    assert mid_sentence("Used as consolidation therapy") == "used as consolidation therapy"
    assert mid_sentence("Weight 25 kg on 2026-11-20") == "weight 25 kg on 2026-11-20"  # a body size in a dose note
    assert mid_sentence("In first or second complete remission") == "in first or second complete remission"
    assert mid_sentence("At most 4 cycles") == "at most 4 cycles"
    for kept in ("Ph+ with or without a TKI", "CD19+ disease", "B-cell precursor ALL", "ALL in remission",
                 "MRD positive", "Ph- as a single agent", "Ph status", "Hb 9 g/dL", "TKI failure",
                 "BSA 0.93 m² by Mosteller", ""):
        assert mid_sentence(kept) == kept


def test_florida_blue_lymphoblastic_lymphoma_denial_points_to_indication_2() -> None:
    values: dict[str, Any] = dict(ADULT, all_diagnosis=False, lymphoblastic_lymphoma=True, compendia_supported_use=None)
    decision = evaluate_policy(load_policy("florida-blue"), facts(**values), DosesMet(), Fact(False))
    assert decision.decision == "criteria-not-met"
    card = decision_card(decision, facts(**values), {"id": "blin"}, "http://cds.example.org", CHECKED)
    assert card["summary"].endswith("requires B-cell precursor ALL (lymphoblastic lymphoma only under indication 2)")


# Aspirus adult consolidation: with no MRD result at all, the MRD-unavailable pathway is still open (it needs an
# explicit statement, fhir-data-profile.md §Labs), so the card must offer it next to the MRD result.

def test_consolidation_without_mrd_asks_for_the_result_or_that_it_is_unavailable() -> None:
    values: dict[str, Any] = dict(ADULT, therapy_phase="consolidation", complete_response_to_induction=True,
                                  mrd_detectable=None, mrd_unavailable=False, ph_positive=False,
                                  combination="single-agent", multiagent_chemo_candidate=False)
    decision = evaluate_policy(ASPIRUS, facts(**values), DosesMet(), Fact(False))
    assert decision.decision == "information-needed"
    assert decision.missing[0] == "MRD result (or that it is unavailable)"
    assert "MRD result" not in decision.missing
