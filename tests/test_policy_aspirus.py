"""Aspirus Health Plan (Magellan Rx) policy: every indication, every criterion met / not-met / unknown, course
limits, renewal, age boundaries and authorization dates (policy-rules.md §2, §4)."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from cds_service.facts.model import BodySize, ClinicalFacts, CycleInfo, Fact
from cds_service.policies import evaluate_policy, load_policy
from cds_service.verdict import Verdict

START = date(2026, 12, 1)
POLICY = load_policy("aspirus-magellan")


class Doses:
    """Test double of the DoseChecks protocol: fixed answers."""

    def __init__(self, schedule: str = "met", quantity: str = "met") -> None:
        self.answers = {"schedule": schedule, "quantity": quantity}
        self.asked: list[str] = []

    def schedule(self, schedule: str) -> Verdict:
        self.asked.append(schedule)
        return Verdict(self.answers["schedule"], ("MedicationRequest/blin",), missing="current weight")

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        raise AssertionError("Aspirus has no fixed ceiling")

    def quantity(self, limit: Any) -> Verdict:
        assert (limit.vials, limit.units, limit.days, limit.days_continued) == (28, 980, 42, 84)
        return Verdict(self.answers["quantity"], ("MedicationRequest/blin",))


def make_facts(cycle: int | None = 1, starts: tuple[date, ...] = (), **values: Any) -> ClinicalFacts:
    """Facts of one order; plain values become evidenced Facts, None an unknown Fact."""
    cycle_starts = starts or tuple(START - timedelta(days=42 * (n - 1)) for n in range((cycle or 1), 0, -1))
    info = CycleInfo(number=Fact(cycle), start=START, course_start=cycle_starts[0], cycle_starts=cycle_starts)
    wrapped = {k: v if isinstance(v, Fact) else Fact(v, evidence=(f"Observation/{k}",) if v is not None else ())
               for k, v in values.items()}
    return ClinicalFacts(start_date=START, cycle=info, body=BodySize(), **wrapped)


ADULT = dict(age_years=40, age_months=480, all_diagnosis=True, lymphoblastic_lymphoma=False, b_lineage=True,
             live_vaccine_in_window=False)
CHILD = dict(ADULT, age_years=10, age_months=120)
BASELINES: dict[str, dict[str, Any]] = {
    "adult-consolidation-mrd-positive": dict(ADULT, therapy_phase="consolidation", complete_response_to_induction=True,
                                             mrd_detectable=True, ph_positive=False, combination="single-agent"),
    "adult-consolidation-mrd-negative": dict(ADULT, therapy_phase="consolidation", complete_response_to_induction=True,
                                             mrd_detectable=False, ph_positive=False, combination="single-agent",
                                             induction_ino_mini_hyper_cvd=True, multiagent_chemo_candidate=True),
    "adult-consolidation-mrd-unavailable": dict(ADULT, therapy_phase="consolidation",
                                                complete_response_to_induction=True, mrd_unavailable=True,
                                                ph_positive=False, combination="single-agent",
                                                induction_ino_mini_hyper_cvd=True),
    "adult-maintenance": dict(ADULT, therapy_phase="maintenance", ph_positive=False,
                              combination="alternating-with-pomp", mrd_detectable=False,
                              complete_response_to_induction=True, induction_ino_mini_hyper_cvd=True),
    "adult-relapsed-refractory": dict(ADULT, cycle=6, therapy_phase="relapsed-refractory", ph_positive=False,
                                      combination="single-agent", unacceptable_toxicity=False,
                                      response_or_stabilization=True),
    "pediatric-mrd-positive": dict(CHILD, combination="single-agent", mrd_detectable=True, remission_number=1),
    "pediatric-less-than-cr-ph-positive": dict(CHILD, combination="single-agent",
                                               end_of_consolidation_response="less-than-complete", ph_positive=True),
    "pediatric-relapsed-refractory": dict(CHILD, cycle=6, combination="single-agent",
                                          therapy_phase="relapsed-refractory", unacceptable_toxicity=False,
                                          response_or_stabilization=True),
    "infant-interfant": dict(ADULT, age_years=0, age_months=6, infant_all=True, combination="with-interfant"),
}

# POMP alternation and the Interfant regimen are never inferred: only an attested other use rules them out.
ATTESTED_SINGLE_AGENT = Fact("single-agent", ("QuestionnaireResponse/att",), attested=True)
# One way to make each criterion not-met (the local criterion id is the key).
NOT_MET: dict[str, dict[str, Any]] = {
    "adult-age": {"age_years": 14},
    "pediatric-age": {"age_years": 31},
    "b-cell-precursor-all": {"b_lineage": False},
    "consolidation-phase": {"therapy_phase": "maintenance"},
    "complete-response": {"complete_response_to_induction": False},
    "mrd-positive": {"mrd_detectable": False, "mrd_persistent_or_rising": False},
    "ph-use": {"combination": "with-multiagent-chemo"},
    "use": {"combination": "with-multiagent-chemo"},
    "dose-schedule": {"doses": Doses(schedule="not-met")},
    "not-renewable-after-4": {"cycle": 5},
    "not-renewable-after-5": {"cycle": 6},
    "at-most-9-cycles": {"cycle": 10},
    "single-cycle": {"cycle": 2},
    "mrd-negative": {"mrd_detectable": True},
    "mrd-unavailable": {"mrd_unavailable": False},
    "ph-negative": {"ph_positive": True},
    "ph-positive": {"ph_positive": False},
    "single-agent": {"combination": "with-tki"},
    "ino-induction-or-not-candidate": {"induction_ino_mini_hyper_cvd": False, "multiagent_chemo_candidate": True},
    "maintenance-phase": {"therapy_phase": "consolidation"},
    "alternating-with-pomp": {"combination": ATTESTED_SINGLE_AGENT},
    "mrd-negative-or-unavailable": {"mrd_detectable": True, "mrd_unavailable": False},
    "cr-after-ino-induction": {"induction_ino_mini_hyper_cvd": False},
    "relapsed-refractory-phase": {"therapy_phase": "consolidation"},
    "no-unacceptable-toxicity": {"unacceptable_toxicity": True},
    "response-or-stabilization": {"response_or_stabilization": False},
    "less-than-cr": {"end_of_consolidation_response": "complete"},
    "infant-all": {"infant_all": False},
    "with-interfant": {"combination": ATTESTED_SINGLE_AGENT},
}
# Only an attested end-of-consolidation response or a remission number can settle this one: with remission 3 and
# no end-of-consolidation answer it stays unknown (tested below), it has no realistic not-met case.
NO_NOT_MET = {"remission-or-after-consolidation"}


def evaluate(values: dict[str, Any], prior_approval: bool = False, only: str | None = None) -> Any:
    """The decision; with `only`, of the policy reduced to that indication: a met decision evaluates only the
    indication it reports, so another one is read alone."""
    values = dict(values)
    doses = values.pop("doses", Doses())
    policy = replace(POLICY, indications=tuple(i for i in POLICY.indications if i.id == only)) if only else POLICY
    return evaluate_policy(policy, make_facts(**values), doses, Fact(prior_approval))


def indication_result(decision: Any, indication_id: str) -> Any:
    return next(r for r in decision.indications if r.id == indication_id)


def criterion_status(decision: Any, indication_id: str, local_id: str) -> str:
    result = indication_result(decision, indication_id)
    return next(c.status for c in result.criteria if c.id == f"{indication_id}.{local_id}")


def facts_of(test: dict[str, Any]) -> Iterator[str]:
    """The fact names a criterion's test reads (to make it unknown)."""
    if "fact" in test:
        yield test["fact"]
    for sub in test.get("any", []) + test.get("all", []):
        yield from facts_of(sub)


CASES = [(i.id, c) for i in POLICY.indications for c in i.criteria]


@pytest.mark.parametrize("indication_id", list(BASELINES))
def test_every_indication_is_reached(indication_id: str) -> None:
    decision = evaluate(BASELINES[indication_id])
    assert decision.decision == "meets-criteria"
    assert decision.indication == indication_id
    assert decision.authorization is not None
    assert all(c.status == "met" for c in decision.criteria)


NOT_MET_CASES = [(i, c) for i, c in CASES if c.id not in NO_NOT_MET]


@pytest.mark.parametrize(("indication_id", "spec"), NOT_MET_CASES, ids=[f"{i}.{c.id}" for i, c in NOT_MET_CASES])
def test_criterion_not_met(indication_id: str, spec: Any) -> None:
    values = {**BASELINES[indication_id], **NOT_MET[spec.id]}
    alone = evaluate(values, only=indication_id)  # the values may meet another indication
    assert criterion_status(alone, indication_id, spec.id) == "not-met"
    assert indication_result(alone, indication_id).status == "not-met"
    assert evaluate(values).indication != indication_id or spec.kind != "clinical"


# Each other way a criterion is met (a branch of its `any`, a value of its `in` list) from the indication's baseline,
# and the branches' own not-met cases: a branch dropped from the policy file, or a value from a list, fails one.
MET_BY_BRANCH: list[tuple[str, str, dict[str, Any]]] = [
    ("adult-consolidation-mrd-positive", "lymphoblastic lymphoma (Appendix 1)",
     {"all_diagnosis": False, "lymphoblastic_lymphoma": True}),
    ("adult-consolidation-mrd-positive", "persistent or rising MRD", {"mrd_detectable": False,
                                                                     "mrd_persistent_or_rising": True}),
    ("adult-consolidation-mrd-positive", "Ph+ with a TKI", {"ph_positive": True, "combination": "with-tki"}),
    ("adult-consolidation-mrd-positive", "Ph+ alone", {"ph_positive": True, "combination": "single-agent"}),
    ("adult-consolidation-mrd-negative", "Ph+ with a TKI, not a candidate",
     {"ph_positive": True, "combination": "with-tki", "multiagent_chemo_candidate": False}),
    ("adult-consolidation-mrd-negative", "Ph- alone, not a candidate",
     {"induction_ino_mini_hyper_cvd": False, "multiagent_chemo_candidate": False}),
    ("adult-maintenance", "MRD unavailable", {"mrd_detectable": None, "mrd_unavailable": True}),
    ("adult-relapsed-refractory", "Ph+ with a TKI", {"ph_positive": True, "combination": "with-tki"}),
    ("pediatric-mrd-positive", "second remission", {"remission_number": 2}),
    ("pediatric-mrd-positive", "after consolidation, complete response",
     {"remission_number": 3, "end_of_consolidation_response": "complete"}),
    ("pediatric-mrd-positive", "after consolidation, less than complete response",
     {"remission_number": 3, "end_of_consolidation_response": "less-than-complete"}),
]
NOT_MET_BY_BRANCH: list[tuple[str, str, dict[str, Any], str]] = [
    ("adult-consolidation-mrd-negative", "Ph+ with a TKI, a candidate",
     {"ph_positive": True, "combination": "with-tki", "multiagent_chemo_candidate": True}, "not-met"),
    ("adult-consolidation-mrd-negative", "Ph- alone, a candidate, no inotuzumab induction",
     {"induction_ino_mini_hyper_cvd": False, "multiagent_chemo_candidate": True}, "not-met"),
    ("adult-consolidation-mrd-positive", "Ph+ with multi-agent chemotherapy",
     {"ph_positive": True, "combination": "with-multiagent-chemo"}, "not-met"),
    # No answer can leave it not met (NO_NOT_MET): a third remission without the end-of-consolidation response.
    ("pediatric-mrd-positive", "third remission, no end-of-consolidation response",
     {"remission_number": 3, "end_of_consolidation_response": None}, "unknown"),
]


@pytest.mark.parametrize(("indication_id", "case", "changes"), MET_BY_BRANCH, ids=[c for _, c, _ in MET_BY_BRANCH])
def test_each_branch_of_a_criterion_meets_it(indication_id: str, case: str, changes: dict[str, Any]) -> None:
    alone = evaluate({**BASELINES[indication_id], **changes}, only=indication_id)
    assert indication_result(alone, indication_id).status == "met", case


@pytest.mark.parametrize(("indication_id", "case", "changes", "status"), NOT_MET_BY_BRANCH,
                         ids=[c for _, c, _, _ in NOT_MET_BY_BRANCH])
def test_a_branch_not_met_leaves_the_indication_not_met(indication_id: str, case: str, changes: dict[str, Any],
                                                        status: str) -> None:
    alone = evaluate({**BASELINES[indication_id], **changes}, only=indication_id)
    assert indication_result(alone, indication_id).status == status, case


@pytest.mark.parametrize(("indication_id", "spec"), CASES, ids=[f"{i}.{c.id}" for i, c in CASES])
def test_criterion_unknown(indication_id: str, spec: Any) -> None:
    values = dict(BASELINES[indication_id])
    values.update({name: None for name in facts_of(dict(spec.test))})
    if "cycle_at_most" in spec.test:
        values["cycle"] = None
    if spec.kind == "dose":
        values["doses"] = Doses(schedule="unknown")
    alone = evaluate(values, only=indication_id)  # the values may meet another indication
    assert criterion_status(alone, indication_id, spec.id) == "unknown"
    assert indication_result(alone, indication_id).status == "unknown"
    assert evaluate(values).decision != "criteria-not-met"


def test_dose_schedule_asked_is_the_indications_label_schedule() -> None:
    for indication_id, schedule in (("infant-interfant", "interfant"), ("adult-relapsed-refractory",
                                     "relapsed-refractory"), ("adult-consolidation-mrd-positive", "standard")):
        doses = Doses()
        evaluate({**BASELINES[indication_id], "doses": doses})
        assert schedule in doses.asked


# --- Ph status and the use (Aspirus III: adult consolidation MRD+, adult relapsed/refractory) ------------------

PH_RESULT = "Ph / BCR::ABL1 result (t(9;22) FISH or karyotype, or p190 and p210 PCR)"
PH_USE = [("adult-consolidation-mrd-positive", "ph-use"), ("adult-relapsed-refractory", "use")]


@pytest.mark.parametrize(("indication_id", "criterion"), PH_USE)
def test_a_single_agent_needs_no_ph_result(indication_id: str, criterion: str) -> None:
    """Ph+ "with or without a TKI" and Ph- as a single agent: a single agent is covered whatever the Ph status."""
    decision = evaluate({**BASELINES[indication_id], "ph_positive": None})
    assert (decision.decision, decision.indication) == ("meets-criteria", indication_id)
    assert criterion_status(decision, indication_id, criterion) == "met"
    assert PH_RESULT not in decision.missing


@pytest.mark.parametrize(("indication_id", "criterion"), PH_USE)
def test_with_a_tki_the_ph_result_is_asked_for(indication_id: str, criterion: str) -> None:
    decision = evaluate({**BASELINES[indication_id], "ph_positive": None, "combination": "with-tki"})
    assert decision.decision == "information-needed"
    assert criterion_status(decision, indication_id, criterion) == "unknown"
    assert PH_RESULT in decision.missing


@pytest.mark.parametrize(("indication_id", "criterion"), PH_USE)
@pytest.mark.parametrize(("ph_positive", "combination"), [(False, "with-tki"), (True, "with-multiagent-chemo")])
def test_a_use_the_ph_status_does_not_cover_is_not_met(indication_id: str, criterion: str, ph_positive: bool,
                                                       combination: str) -> None:
    values = {**BASELINES[indication_id], "ph_positive": ph_positive, "combination": combination}
    alone = evaluate(values, only=indication_id)
    assert criterion_status(alone, indication_id, criterion) == "not-met"
    assert evaluate(values).indication != indication_id


@pytest.mark.parametrize(("indication_id", "criterion"), PH_USE)
def test_an_unknown_use_asks_how_blinatumomab_is_used(indication_id: str, criterion: str) -> None:
    decision = evaluate({**BASELINES[indication_id], "ph_positive": None, "combination": None})
    assert criterion_status(decision, indication_id, criterion) == "unknown"
    assert "how blinatumomab is used (single agent or combination)" in decision.missing


@pytest.mark.parametrize(("remission_number", "asked"), [
    (3, "response at the end of consolidation"),  # the remission answered: only the other alternative is open
    (None, "remission number, or response at the end of consolidation"),
])
def test_the_pediatric_mrd_remission_criterion_asks_only_for_what_is_still_open(remission_number: int | None,
                                                                              asked: str) -> None:
    """A third remission attested had the card ask again for "remission number, or the response at the end of
    consolidation" (clinical review)."""
    decision = evaluate({**BASELINES["pediatric-mrd-positive"], "remission_number": remission_number},
                        only="pediatric-mrd-positive")
    assert criterion_status(decision, "pediatric-mrd-positive", "remission-or-after-consolidation") == "unknown"
    assert decision.missing == [asked]


# --- universal criterion and quantity -------------------------------------------------------------------------

def test_live_vaccine_is_critical_not_met_with_the_clinical_indication_reported() -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "live_vaccine_in_window": True})
    assert decision.decision == "criteria-not-met"
    assert decision.critical
    assert decision.indication == "adult-relapsed-refractory"
    assert decision.authorization is None


def test_vaccine_history_not_received_asks_for_it() -> None:
    unknown = Fact(None, received=False)
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "live_vaccine_in_window": unknown})
    assert decision.decision == "information-needed"
    assert decision.indication == "adult-relapsed-refractory"
    assert decision.missing == ["immunization history (live vaccines)"]
    assert not decision.critical


def test_quantity_over_limit_is_not_met_but_not_critical() -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "doses": Doses(quantity="not-met")})
    assert decision.decision == "criteria-not-met"
    assert not decision.critical
    assert decision.indication == "adult-relapsed-refractory"
    assert [c.id for c in decision.not_met_criteria()] == ["quantity"]


def test_indication_reported_although_dose_fails() -> None:
    decision = evaluate({**BASELINES["adult-consolidation-mrd-positive"], "doses": Doses(schedule="not-met")})
    assert decision.decision == "criteria-not-met"
    assert decision.indication == "adult-consolidation-mrd-positive"
    assert decision.label_schedule == "standard"
    assert decision.missing == []


# --- course limits and renewal --------------------------------------------------------------------------------

def test_consolidation_cycle_5_is_not_renewable() -> None:
    decision = evaluate({**BASELINES["adult-consolidation-mrd-positive"], "cycle": 5})
    assert decision.decision == "criteria-not-met"
    assert decision.indication == "adult-consolidation-mrd-positive"
    assert decision.request_type == "initial"


@pytest.mark.parametrize("cycle", [6, 7, 8, 9])
def test_relapsed_refractory_cycles_6_to_9_are_renewals(cycle: int) -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "cycle": cycle})
    assert decision.decision == "meets-criteria"
    assert decision.request_type == "renewal"
    assert decision.authorization["cycles"] == 2


def test_relapsed_refractory_cycle_10_exceeds_the_limit() -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "cycle": 10})
    assert decision.decision == "criteria-not-met"
    assert decision.request_type == "renewal"
    assert decision.indication == "adult-relapsed-refractory"


def test_renewal_criteria_do_not_apply_before_cycle_6() -> None:
    values = {**BASELINES["adult-relapsed-refractory"], "cycle": 5, "response_or_stabilization": None}
    decision = evaluate(values)
    assert decision.decision == "meets-criteria"
    assert decision.request_type == "initial"
    assert not any(c.kind == "renewal" for c in decision.criteria)


def test_renewal_with_toxicity_to_judge_asks_about_it() -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "unacceptable_toxicity": None})
    assert decision.decision == "information-needed"
    assert decision.indication == "adult-relapsed-refractory"
    assert "whether the toxicity recorded was unacceptable" in decision.missing  # the policy's words, facts unnamed


def test_maintenance_cycle_6_is_not_met_and_5_is_met() -> None:
    assert evaluate({**BASELINES["adult-maintenance"], "cycle": 6}).decision == "criteria-not-met"
    assert evaluate({**BASELINES["adult-maintenance"], "cycle": 5}).decision == "meets-criteria"


def test_interfant_cycle_2_is_not_met() -> None:
    decision = evaluate({**BASELINES["infant-interfant"], "cycle": 2})
    assert decision.decision == "criteria-not-met"
    assert decision.indication == "infant-interfant"


def test_pediatric_mrd_positive_without_remission_or_consolidation_answer_is_unknown() -> None:
    values = {**BASELINES["pediatric-mrd-positive"], "remission_number": 3}
    decision = evaluate(values)
    assert criterion_status(decision, "pediatric-mrd-positive", "remission-or-after-consolidation") == "unknown"
    values["end_of_consolidation_response"] = "complete"
    assert evaluate(values).indication == "pediatric-mrd-positive"


# --- ages -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("years", "months", "expected"), [(0, 0, "not-met"), (0, 1, "met")])
def test_pediatric_lower_bound_is_one_month(years: int, months: int, expected: str) -> None:
    decision = evaluate({**BASELINES["infant-interfant"], "age_years": years, "age_months": months})
    assert criterion_status(decision, "infant-interfant", "pediatric-age") == expected


@pytest.mark.parametrize(("years", "adult", "pediatric"), [(14, "not-met", "met"), (15, "met", "met"),
                                                           (30, "met", "met"), (31, "met", "not-met")])
def test_adult_and_pediatric_age_boundaries(years: int, adult: str, pediatric: str) -> None:
    values = {**BASELINES["adult-relapsed-refractory"], "age_years": years, "age_months": years * 12}
    adult_alone = evaluate(values, only="adult-relapsed-refractory")  # each of them is met at some age
    assert criterion_status(adult_alone, "adult-relapsed-refractory", "adult-age") == adult
    pediatric_alone = evaluate(values, only="pediatric-relapsed-refractory")
    assert criterion_status(pediatric_alone, "pediatric-relapsed-refractory", "pediatric-age") == pediatric


def test_age_15_to_30_matches_adult_first() -> None:
    values = {**BASELINES["adult-relapsed-refractory"], "age_years": 20, "age_months": 240}
    assert evaluate(values).indication == "adult-relapsed-refractory"
    alone = evaluate(values, only="pediatric-relapsed-refractory")
    assert indication_result(alone, "pediatric-relapsed-refractory").status == "met"


def test_age_14_relapsed_refractory_is_pediatric() -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "age_years": 14, "age_months": 170})
    assert decision.indication == "pediatric-relapsed-refractory"


# --- authorization (policy-rules.md §4) -------------------------------------------------------------------------

def test_consolidation_authorization_is_24_weeks_from_the_course_start() -> None:
    decision = evaluate({**BASELINES["adult-consolidation-mrd-positive"], "cycle": 3})
    course_start = START - timedelta(days=84)
    assert decision.authorization == {"start": course_start.isoformat(),
                                      "end": (course_start + timedelta(weeks=24)).isoformat(), "cycles": 4}


def test_relapsed_refractory_cycle_1_authorization() -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "cycle": 1})
    assert decision.authorization == {"start": "2026-12-01", "end": "2027-06-29", "cycles": 5}


@pytest.mark.parametrize(("cycle", "first"), [(6, 6), (7, 6), (8, 8), (9, 8)])
def test_renewal_starts_at_its_first_cycle(cycle: int, first: int) -> None:
    starts = tuple(date(2026, 1, 1) + timedelta(days=50 * n) for n in range(cycle))
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "cycle": cycle, "starts": starts})
    begin = starts[first - 1]
    assert decision.authorization == {"start": begin.isoformat(),
                                      "end": (begin + timedelta(weeks=24)).isoformat(), "cycles": 2}


# policy-rules.md §1 tables: each indication's authorization, initial at cycle 1 and the renewal at cycle 6.
AUTHORIZATIONS = [
    ("adult-consolidation-mrd-positive", 1, 24, 4), ("adult-consolidation-mrd-negative", 1, 24, 4),
    ("adult-consolidation-mrd-unavailable", 1, 24, 4), ("adult-maintenance", 1, 30, 5),
    ("adult-relapsed-refractory", 1, 30, 5), ("adult-relapsed-refractory", 6, 24, 2),
    ("pediatric-mrd-positive", 1, 24, 4), ("pediatric-less-than-cr-ph-positive", 1, 24, 4),
    ("pediatric-relapsed-refractory", 1, 30, 5), ("pediatric-relapsed-refractory", 6, 24, 2),
    ("infant-interfant", 1, 4, 1),
]


@pytest.mark.parametrize(("indication_id", "cycle", "weeks", "cycles"), AUTHORIZATIONS)
def test_each_indications_authorization_length(indication_id: str, cycle: int, weeks: int, cycles: int) -> None:
    starts = tuple(START - timedelta(days=42 * (cycle - n)) for n in range(1, cycle + 1))
    decision = evaluate({**BASELINES[indication_id], "cycle": cycle, "starts": starts})
    assert decision.indication == indication_id
    begin = starts[-1] if cycle > 1 else START
    assert decision.authorization == {"start": begin.isoformat(), "end": (begin + timedelta(weeks=weeks)).isoformat(),
                                      "cycles": cycles}


def test_renewal_with_attested_cycle_beyond_the_counted_ones_starts_at_this_cycle() -> None:
    decision = evaluate({**BASELINES["adult-relapsed-refractory"], "cycle": 7, "starts": (START,)})
    assert decision.authorization["start"] == START.isoformat()


def test_interfant_authorization_is_28_days() -> None:
    decision = evaluate(BASELINES["infant-interfant"])
    assert decision.authorization == {"start": "2026-12-01", "end": "2026-12-29", "cycles": 1}


def test_criteria_ids_are_unique_within_a_decision() -> None:
    for values in BASELINES.values():
        ids = [c.id for c in evaluate(values).criteria]
        assert len(ids) == len(set(ids))


# --- adult relapsed/refractory with inotuzumab ozogamicin + mini-hyper-CVD (Ph+ or Ph-) ------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"


@pytest.mark.parametrize("ph_positive", [False, True, None])
def test_relapsed_refractory_with_ino_mini_hyper_cvd_is_met_whatever_the_ph(ph_positive: bool | None) -> None:
    """With inotuzumab + mini-hyper-CVD neither Ph pathway is met (they need single agent, or a TKI / single agent):
    the combination alone meets the use criterion."""
    values = {**BASELINES["adult-relapsed-refractory"], "cycle": 1, "ph_positive": ph_positive,
              "combination": "with-ino-mini-hyper-cvd"}
    decision = evaluate(values)
    assert (decision.decision, decision.indication) == ("meets-criteria", "adult-relapsed-refractory")
    assert criterion_status(decision, "adult-relapsed-refractory", "use") == "met"


def _medication_order(id: str, rxnorm: str, name: str, start: str, end: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": id, "status": "active", "intent": "order",
            "subject": {"reference": "Patient/example-patient"},
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": rxnorm}], "text": name},
            "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": start, "end": end}}}}]}


@pytest.mark.parametrize("source", ["record", "attestation"])
def test_a_ph_negative_relapse_treated_with_ino_mini_hyper_cvd_meets_the_relapsed_pathway(
        client: FlaskClient, source: str) -> None:
    """The Ph- relapsed cycle-1 example, blinatumomab given with inotuzumab + vincristine active at its start
    (fhir-data-profile.md §Medications), or with that combination attested: the relapsed/refractory use is met
    through its inotuzumab + mini-hyper-CVD branch, the only one a Ph- patient not on a single agent can meet."""
    body = json.loads((EXAMPLES / "aspirus-adult-relapsed-refractory-cycle1.json").read_text())
    if source == "record":
        body["prefetch"]["medicationRequests"]["entry"] = [
            {"resource": _medication_order("ino-1", "1942950", "inotuzumab ozogamicin", "2026-11-30", "2026-12-14")},
            {"resource": _medication_order("vcr-1", "11202", "vincristine", "2026-11-30", "2026-12-14")}]
        evidence = ["MedicationRequest/ino-1", "MedicationRequest/vcr-1"]
    else:
        body["prefetch"]["attestations"]["entry"] = [{"resource": {
            "resourceType": "QuestionnaireResponse", "id": "att-1", "status": "completed", "authored": "2026-11-25",
            "questionnaire": "http://example.org/fhir/Questionnaire/blinatumomab-coverage-attestation",
            "subject": {"reference": "Patient/example-patient"},
            "item": [{"linkId": "combination", "answer": [{"valueString": "with-ino-mini-hyper-cvd"}]}]}}]
        evidence = ["QuestionnaireResponse/att-1"]
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert response.status_code == 200
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["indication"]) == ("meets-criteria", "adult-relapsed-refractory")
    criteria = {c["id"]: c for c in decision["criteria"]}
    assert criteria["adult-relapsed-refractory.use"]["status"] == "met"
    assert sorted(criteria["adult-relapsed-refractory.use"]["evidence"]) == evidence


# --- an unknown OR asks only for the alternatives still open ------------------------------------------------------

INDUCTION, CANDIDACY = "induction regimen", "candidacy for multi-agent chemotherapy"


@pytest.mark.parametrize(("induction", "candidate", "asked"), [
    (False, None, CANDIDACY),  # the induction known, not inotuzumab + mini-hyper-CVD: only the candidacy is open
    (None, True, INDUCTION),  # a candidate for multi-agent chemotherapy: only the induction regimen is open
    (None, None, f"{INDUCTION}, or {CANDIDACY}"),
])
@pytest.mark.parametrize("indication_id", ["adult-consolidation-mrd-unavailable", "adult-consolidation-mrd-negative"])
def test_the_induction_or_candidacy_criterion_asks_only_for_what_is_still_open(
        indication_id: str, induction: bool | None, candidate: bool | None, asked: str) -> None:
    """The card asked for "induction regimen, or candidacy for multi-agent chemotherapy" whichever was answered: the
    alternatives carried no `missing`, so the criterion's own, naming both, was asked for."""
    values = {**BASELINES[indication_id], "ph_positive": False, "combination": "single-agent",
              "induction_ino_mini_hyper_cvd": induction, "multiagent_chemo_candidate": candidate}
    decision = evaluate(values, only=indication_id)
    assert decision.decision == "information-needed"
    assert decision.missing == [asked]
