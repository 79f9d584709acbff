"""The policy engine on a made-up third payer: the vocabulary, the decision rules of policy-rules.md §1, the
checks done when a policy file is loaded, and the Decision's contract extension."""
from __future__ import annotations

import dataclasses
import inspect
import tomllib
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from cds_service.decision import Decision
from cds_service.facts.extract import extract_facts
from cds_service.facts.model import BodySize, ClinicalFacts, CycleInfo, Fact, Measured
from cds_service.policies import PolicyFileError, evaluate_policy, load_policy, parse_policy, policy_ids
from cds_service.policies.vocabulary import Context, compile_test
from cds_service.verdict import Verdict
from tests.factories import immunization, medication_request, questionnaire_response, record

START = date(2027, 1, 31)
THIRD_PAYER = """
id = "third-payer"
version = "1"
title = "Made-up plan"
payer_label = "Third Plan"
url = "https://plan.example/policy"
authorization_citation = "T0 (Length of Authorization)"

[[universal]]
id = "no-vaccine"
kind = "universal"
text = "No live vaccine from {days_before_course} days before the course start to {days_after_order} days after the order"
citation = "T1"
missing = "vaccines"
critical = true
fact = "live_vaccine_in_window"
equals = false
days_before_course = 30
days_after_order = 7

[common.adult]
text = "Adult"
citation = "T2"
missing = "date of birth"
fact = "age_years"
at_least = 18

[[indications]]
id = "first"
title = "first use"
citation = "T3"
label_schedule = "standard"
authorization = { anchor = "order", months = 1 }
  [[indications.criteria]]
  use = "adult"
  [[indications.criteria]]
  id = "phase"
  text = "Consolidation or maintenance"
  citation = "T3.a"
  missing = "phase"
  fact = "therapy_phase"
  in = ["consolidation", "maintenance"]
  [[indications.criteria]]
  id = "dose"
  kind = "dose"
  text = "Label dose"
  citation = "T3.b"
  missing = "weight"
  dose = "schedule"

[[indications]]
id = "second"
title = "second use"
citation = "T4"
label_schedule = "relapsed-refractory"
authorization = { anchor = "course", weeks = 2, cycles = 1 }
  [[indications.criteria]]
  use = "adult"
  citation = "T4 (age)"
  [[indications.criteria]]
  id = "ph-or-mrd"
  text = "Ph+ or MRD+"
  citation = "T4.a"
  missing = "Ph or MRD"
  any = [ { id = "ph", fact = "ph_positive", equals = true, missing = "Ph result" }, { id = "mrd", fact = "mrd_detectable", equals = true } ]
  [[indications.criteria]]
  id = "attested-only"
  text = "Attested use"
  citation = "T4.b"
  missing = "attestation"
  fact = "compendia_supported_use"
  equals = true
  if_unknown = "not-met"

[[indications]]
id = "gated"
title = "continuation"
citation = "T5"
request = "renewal"
exclusive_when = "approved-before"
authorization = { anchor = "order", years = 1 }
  [[indications.criteria]]
  id = "approved-before"
  text = "Authorized in the past {look_back_years} year (attested), or approved before"
  citation = "T5.a"
  missing = "prior approval"
  any = [
    { fact = "prior_authorization_on_file", equals = true, look_back_years = 1, if_unknown = "not-met" },
    { fact = "prior_approval", equals = true, look_back_years = 1, if_unknown = "not-met" },
  ]
"""


class Doses:
    """Test double of DoseChecks: one answer for the schedule, remembering what was asked."""

    def __init__(self, status: str = "met") -> None:
        self.status = status
        self.asked: list[str] = []

    def schedule(self, schedule: str) -> Verdict:
        self.asked.append(schedule)
        return Verdict(self.status, ("MedicationRequest/m",), note="28 mcg/day", missing="a current weight")

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        raise AssertionError("not used by this policy")

    def quantity(self, limit: Any) -> Verdict:
        raise AssertionError("not used by this policy")


def policy(text: str = THIRD_PAYER) -> Any:
    return parse_policy(tomllib.loads(text))


def run(prior_approval: bool = False, doses: Doses | None = None, start: date = START, **values: Any) -> Any:
    values = {"live_vaccine_in_window": False, "age_years": 40, **values}
    facts = ClinicalFacts(
        start_date=start, cycle=CycleInfo(number=Fact(3), start=start, course_start=date(2026, 12, 1)),
        body=BodySize(), attested_items=(),
        **{k: v if isinstance(v, Fact) else Fact(v, evidence=(f"Observation/{k}",) if v is not None else ())
           for k, v in values.items()},
    )
    return evaluate_policy(policy(), facts, doses or Doses(), Fact(prior_approval))


def test_a_third_payer_needs_only_a_policy_file() -> None:
    decision = run(therapy_phase="maintenance")
    assert (decision.decision, decision.indication, decision.payer_label) == ("meets-criteria", "first", "Third Plan")
    # Calendar month from Jan 31 ends on the last day of February.
    assert decision.authorization == {"start": "2027-01-31", "end": "2027-02-28", "cycles": None}


class AllMet(Doses):
    """Every dose check met: the shipped policies ask for the ceiling and the quantity too."""

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        return Verdict("met")

    def quantity(self, limit: Any) -> Verdict:
        return Verdict("met")


def test_a_third_payer_decides_by_its_own_window_and_look_back() -> None:
    """One record, each plan's numbers: a live vaccine 20 days before the course start is outside Aspirus U1's 14 days
    and inside this plan's 30; an authorization attested for this order counts for this plan's 1 year and Florida
    Blue's 2 (an older answer counts for neither: test_extract.py). The criterion's words give the plan's numbers."""
    start = date(2026, 12, 1)
    rec = record(immunization("03", start - timedelta(days=20)),
                 questionnaire_response({"prior-authorization-on-file": True}, authored="2026-11-20"))
    facts = extract_facts(rec, [medication_request(start="2026-12-01", end="2026-12-28", status="draft")], start)
    third = evaluate_policy(policy(), facts, AllMet(), Fact(False))
    aspirus = evaluate_policy(load_policy("aspirus-magellan"), facts, AllMet(), Fact(False))
    florida = evaluate_policy(load_policy("florida-blue"), facts, AllMet(), Fact(False))

    [vaccine] = [c for c in third.criteria if c.id == "no-vaccine"]
    assert (vaccine.status, third.decision, third.critical) == ("not-met", "criteria-not-met", True)
    assert vaccine.text == "No live vaccine from 30 days before the course start to 7 days after the order"
    assert vaccine.note.endswith("window between 2026-11-01 and 2026-12-08; a start on or after 2026-12-12 would be "
                                 "more than 30 days after it")  # the plan's 30 days, the window's too
    assert next(c.status for c in aspirus.criteria if c.id == "U1") == "met"
    assert [c.text for c in aspirus.criteria if c.id == "U1"] == [
        "No live vaccine from 14 days before the course start through 28 days after this order's start"]

    for plan, text in ((third, "Authorized in the past 1 year (attested)"),
                       (florida, "Blinatumomab authorized in the past 2 years (attested,")):
        [gated] = plan.indications
        assert plan.attested_items == ("prior-authorization-on-file",)
        assert gated.criteria[0].text.startswith(text)


def test_a_met_decision_records_only_the_indication_it_reports() -> None:
    """decision.py: of a met decision, only the reported indication is evaluated and recorded (the audit trail and
    the card read no other); a decision not met keeps every indication, each with its own status."""
    met = run(therapy_phase="maintenance")
    assert (met.decision, [(r.id, r.status) for r in met.indications]) == ("meets-criteria", [("first", "met")])
    not_met = run(therapy_phase="induction")
    assert (not_met.decision, [(r.id, r.status) for r in not_met.indications]) == (
        "criteria-not-met", [("first", "not-met"), ("second", "not-met")])


def test_course_anchored_authorization_in_weeks_and_an_order_after_it() -> None:
    """The course began 2026-12-01 with 2 weeks of authorization; this order starts 2027-01-31, after it ended:
    still the reported indication (its clinical criteria are met), but not covered as ordered."""
    decision = run(therapy_phase="induction", ph_positive=True, compendia_supported_use=True)
    assert (decision.indication, decision.decision, decision.authorization) == ("second", "criteria-not-met", None)
    [lapsed] = [c for c in decision.criteria if c.id == "second.authorization-period"]
    assert (lapsed.status, lapsed.kind) == ("not-met", "course-limit")
    assert lapsed.note == ("this order starts 2027-01-31, when the authorization period 2026-12-01 to 2026-12-15 "
                           "has ended: the plan needs a new request for it")
    assert lapsed.summary == "order starts after the authorization ended (2026-12-15): new request needed"
    assert lapsed.citation == "T0 (Length of Authorization)"  # the policy's section on the length of authorization, not the indication's


@pytest.mark.parametrize(("start", "decision"), [(date(2026, 12, 15), "meets-criteria"),
                                                  (date(2026, 12, 16), "criteria-not-met")])
def test_an_order_starting_on_the_end_date_the_card_shows_is_within_the_period(start: date, decision: str) -> None:
    """End = start + 2 weeks = 2026-12-15, shown as "approved to 2026-12-15" and as the CRD expiry-date: an order
    starting that day was refused as lapsed (pharmacist review B2); one starting the day after is."""
    found = run(start=start, therapy_phase="induction", ph_positive=True, compendia_supported_use=True)
    assert found.decision == decision


def test_with_no_match_the_indication_shown_is_one_whose_clinical_criteria_may_still_hold() -> None:
    # "first" fails only on its dose (its phase unknown); "second" on a clinical criterion, with nothing unknown.
    # The card shows "first" (a maintenance course past its cycle limit is shown as maintenance, not as a relapse).
    decision = run(doses=Doses("not-met"), therapy_phase=None, ph_positive=True, compendia_supported_use=False)
    assert decision.decision == "criteria-not-met"
    assert decision.shown_indication == "first"


def test_inclusion_without_evidence_is_unknown_and_asks_for_it() -> None:
    decision = run(therapy_phase=None)
    assert decision.decision == "information-needed"
    assert decision.indication is None
    assert decision.missing == ["phase"]  # "second" is not-met (no attestation), so it asks nothing


def test_if_unknown_not_met_keeps_an_attestation_only_pathway_from_asking() -> None:
    decision = run(therapy_phase="induction", ph_positive=True)
    second = next(r for r in decision.indications if r.id == "second")
    assert [c.status for c in second.criteria] == ["met", "met", "not-met"]
    assert decision.decision == "criteria-not-met"


@pytest.mark.parametrize(("ph_positive", "compendia", "asked"), [
    (True, None, ["phase", "attestation"]),  # "second" wants the answer alone: named, though it stays not met
    (None, None, ["phase"]),  # its Ph-or-MRD criterion open too: the answer alone would not meet it
    (True, Fact(False, ("QuestionnaireResponse/q",), attested=True), ["phase"]),  # answered: no
])
def test_an_attestation_only_pathway_is_named_when_its_answer_alone_would_meet_it(
        ph_positive: bool | None, compendia: Fact[bool] | None, asked: list[str]) -> None:
    decision = run(therapy_phase=None, ph_positive=ph_positive, compendia_supported_use=compendia)
    assert decision.decision == "information-needed"
    assert next(r for r in decision.indications if r.id == "second").status == "not-met"
    assert decision.missing == asked


def test_or_group_is_met_by_one_branch_and_keeps_its_evidence() -> None:
    decision = run(therapy_phase="induction", ph_positive=None, mrd_detectable=True, compendia_supported_use=True)
    criterion = next(c for c in decision.criteria if c.id == "second.ph-or-mrd")
    assert criterion.status == "met"
    assert criterion.evidence == ("Observation/mrd_detectable",)


def test_the_innermost_unknown_part_says_what_to_document() -> None:
    decision = run(therapy_phase="induction", compendia_supported_use=True)
    assert decision.decision == "information-needed"
    assert decision.missing == ["Ph result"]  # not the criterion's broader "Ph or MRD"


@pytest.mark.parametrize(("mrd", "not_received"), [(Fact(None), []), (Fact(None, received=False), ["Ph or MRD"])])
def test_an_open_alternative_is_not_received_only_when_its_own_data_was_not(
        mrd: Fact[bool], not_received: list[str]) -> None:
    """"second": Ph- (received, not met) or MRD (unknown): the MRD's data alone says whether the request waits on data
    the EHR did not send; the Ph result ruled out never does."""
    decision = run(therapy_phase="induction", ph_positive=False, mrd_detectable=mrd, compendia_supported_use=True)
    assert (decision.decision, decision.missing, decision.not_received) == (
        "information-needed", ["Ph or MRD"], not_received)


def test_a_use_inferred_against_an_attested_to_exclude_test_asks_for_it_as_received_data() -> None:
    """attested_to_exclude: a phase inferred from the record, not attested, cannot rule the use out: unknown, and asked
    for as data that was received (the attestation is what is missing); attested, it is not met."""
    text = THIRD_PAYER.replace('in = ["consolidation", "maintenance"]',
                               'in = ["consolidation", "maintenance"]\n  attested_to_exclude = true', 1)
    for attested, expected in ((False, ("unknown", "information-needed", ["phase"], [])),
                               (True, ("not-met", "criteria-not-met", [], []))):
        facts = ClinicalFacts(start_date=START, cycle=CycleInfo(number=Fact(3), start=START, course_start=START),
                              body=BodySize(), live_vaccine_in_window=Fact(False), age_years=Fact(40),
                              therapy_phase=Fact("induction", ("Condition/c",), attested=attested))
        decision = evaluate_policy(policy(text), facts, Doses(), Fact(False))
        phase = next(c for c in decision.indications[0].criteria if c.id == "first.phase")
        assert (phase.status, decision.decision, decision.missing, decision.not_received) == expected


def test_universal_not_met_overrides_a_met_indication_and_is_critical() -> None:
    decision = run(therapy_phase="maintenance", live_vaccine_in_window=True)
    assert decision.decision == "criteria-not-met"
    assert decision.critical
    assert decision.indication == "first"
    assert decision.authorization is None


def test_universal_unknown_makes_a_met_indication_information_needed() -> None:
    decision = run(therapy_phase="maintenance", live_vaccine_in_window=Fact(None, received=False))
    assert decision.decision == "information-needed"
    assert decision.missing == ["vaccines"]


def test_dose_failure_keeps_the_clinical_indication_and_its_schedule() -> None:
    doses = Doses("not-met")
    decision = run(therapy_phase="maintenance", doses=doses)
    assert (decision.decision, decision.indication, decision.label_schedule) == (
        "criteria-not-met", "first", "standard")
    assert "standard" in doses.asked


def test_dose_unknown_uses_the_dose_checks_own_missing_text() -> None:
    decision = run(therapy_phase="maintenance", doses=Doses("unknown"))
    assert decision.missing == ["a current weight"]


def test_closest_indication_when_none_matches() -> None:
    decision = run(age_years=10, therapy_phase="induction", ph_positive=True, compendia_supported_use=True)
    assert decision.indication is None
    assert decision.shown_indication == "second"  # only its age fails; "first" fails age and phase
    assert [c.id for c in decision.criteria][1:] == ["second.adult", "second.ph-or-mrd", "second.attested-only"]


def test_the_reported_indication_is_shown_though_another_has_fewer_criteria_not_met() -> None:
    """"first" meets its clinical criteria and fails its dose; "second" fails none, its Ph-or-MRD unknown: the card
    shows the clinical match (policy-rules.md §1), not the pathway with the fewest criteria not met."""
    decision = run(doses=Doses("not-met"), therapy_phase="maintenance", compendia_supported_use=True)
    statuses = {r.id: (r.status, r.clinical_status) for r in decision.indications}
    assert statuses == {"first": ("not-met", "met"), "second": ("unknown", "unknown")}
    assert (decision.decision, decision.indication, decision.shown_indication) == (
        "information-needed", "first", "first")
    assert [c.id for c in decision.criteria][1:] == ["first.adult", "first.phase", "first.dose"]


def test_closest_indication_ties_go_to_the_first_listed() -> None:
    decision = run(age_years=10, therapy_phase="induction", ph_positive=True)
    assert decision.shown_indication == "first"  # two not-met criteria each


def test_closest_indication_on_equal_counts_is_the_one_the_record_follows_furthest() -> None:
    """Each fails one criterion and meets two: "first" on its second (the phase), "second" on its last (the
    attestation), so the record follows "second" further and the card shows it."""
    decision = run(therapy_phase="induction", ph_positive=True, compendia_supported_use=False)
    assert [[c.status for c in r.criteria] for r in decision.indications] == [
        ["met", "not-met", "met"], ["met", "met", "not-met"]]
    assert (decision.decision, decision.indication, decision.shown_indication) == (
        "criteria-not-met", None, "second")


def test_gate_met_evaluates_only_the_gated_indication() -> None:
    decision = run(prior_approval=True, therapy_phase=None)
    assert [r.id for r in decision.indications] == ["gated"]
    assert (decision.decision, decision.request_type) == ("meets-criteria", "renewal")


def test_a_policy_of_only_a_gated_indication_left_aside_is_an_initial_request_not_met() -> None:
    """A continuation-only plan whose gate is not met has no indication to evaluate: not met, nothing shown, and the
    request type of a first request (policy-rules.md §2); with the gate met, the continuation decides (a renewal)."""
    only_gated = THIRD_PAYER[:THIRD_PAYER.index("[[indications]]")] + THIRD_PAYER[
        THIRD_PAYER.index('[[indications]]\nid = "gated"'):]
    facts = ClinicalFacts(start_date=START, cycle=CycleInfo(number=Fact(3), start=START, course_start=START),
                          body=BodySize(), live_vaccine_in_window=Fact(False), age_years=Fact(40))
    for approved, expected in ((False, ("criteria-not-met", "initial", None, [])),
                               (True, ("meets-criteria", "renewal", "gated", ["gated"]))):
        decision = evaluate_policy(policy(only_gated), facts, Doses(), Fact(approved))
        assert (decision.decision, decision.request_type, decision.shown_indication,
                [r.id for r in decision.indications]) == expected


@pytest.mark.parametrize(("reported", "at_least", "at_most"), [
    (Measured(Decimal("0.05")), "met", "not-met"),
    (Measured(Decimal("0.01")), "met", "met"),
    (Measured(Decimal("0.005")), "not-met", "met"),
    (Measured(Decimal("0.01"), "<"), "not-met", "met"),  # not detected at a sensitivity of 0.01
    (Measured(Decimal("0.1"), "<"), "unknown", "unknown"),  # a test too insensitive to say
    (Measured(Decimal("0.005"), ">"), "unknown", "unknown"),
    (Measured(Decimal("0.01"), ">="), "met", "unknown"),
    (Measured(Decimal("0.01"), ">"), "met", "not-met"),
    (Measured(None, positive=True), "unknown", "unknown"),  # detected, no value
    (Measured(None, positive=False), "not-met", "met"),
])
def test_a_threshold_on_a_reported_value_is_three_valued(reported: Measured, at_least: str, at_most: str) -> None:
    for op, expected in (("at_least", at_least), ("at_most", at_most)):
        text = THIRD_PAYER.replace('fact = "mrd_detectable", equals = true', f'fact = "mrd_percent", {op} = 0.01')
        facts = ClinicalFacts(start_date=START, cycle=CycleInfo(number=Fact(1), start=START, course_start=START),
                              body=BodySize(), ph_positive=Fact(False), mrd_percent=Fact(reported))
        decision = evaluate_policy(policy(text), facts, Doses(), Fact(False))
        found = next(r for r in decision.indications if r.id == "second").criteria
        assert next(c for c in found if c.id == "second.ph-or-mrd").status == expected, op


@pytest.mark.parametrize(("reported", "status"), [
    (Measured(Decimal("0.03")), "met"),
    (Measured(Decimal("0.005")), "not-met"),  # below the range
    (Measured(Decimal("0.1")), "not-met"),  # above it
    (Measured(Decimal("0.005"), "<"), "not-met"),
    (Measured(Decimal("0.02"), ">"), "unknown"),  # at least 0.01, perhaps above 0.05
    (Measured(Decimal("0.1"), "<"), "unknown"),
    (Measured(None, positive=True), "unknown"),
])
def test_a_range_is_the_three_valued_and_of_its_bounds(reported: Measured, status: str) -> None:
    text = THIRD_PAYER.replace('fact = "mrd_detectable", equals = true',
                               'fact = "mrd_percent", at_least = 0.01, at_most = 0.05')
    facts = ClinicalFacts(start_date=START, cycle=CycleInfo(number=Fact(1), start=START, course_start=START),
                          body=BodySize(), ph_positive=Fact(False), mrd_percent=Fact(reported))
    decision = evaluate_policy(policy(text), facts, Doses(), Fact(False))
    found = next(r for r in decision.indications if r.id == "second").criteria
    assert next(c for c in found if c.id == "second.ph-or-mrd").status == status


def test_extension_has_the_contract_keys_and_unique_ids() -> None:
    extension = run(therapy_phase="maintenance").as_extension()
    assert {"policy", "decision", "request", "indication", "cycle", "authorization", "criteria",
            "missing"} <= set(extension)
    ids = [c["id"] for c in extension["criteria"]]
    assert ids == ["no-vaccine", "first.adult", "first.phase", "first.dose"]
    assert set(extension["criteria"][0]) >= {"id", "status", "citation", "text", "evidence"}


@pytest.mark.parametrize(("old", "new", "message"), [
    ('fact = "age_years"', 'fact = "age_in_days"', "unknown fact"),
    ('kind = "dose"', 'kind = "cosmetic"', r"criteria\[2\]\.kind: must be one of 'clinical', .*, got 'cosmetic'"),
    ('label_schedule = "standard"', 'label_schedule = "weekly"', r"label_schedule: must be one of .*, got 'weekly'"),
    ('exclusive_when = "approved-before"', 'exclusive_when = "nothing"', "exclusive_when"),
    ('if_unknown = "not-met"', 'if_unknown = "maybe"', "if_unknown"),
    ('at_least = 18', 'greater = 18', r"common\.adult: unknown key 'greater'"),
    ('anchor = "order", months = 1', 'anchor = "moon", months = 1', "anchor"),
    ('label_schedule = "standard"\n', '', "needs the indication's label_schedule"),
    # Values that could never match, silently: checked against the fact's type and vocabulary.
    ('in = ["consolidation", "maintenance"]', 'in = ["consolidation", "maintainance"]', "therapy_phase is one of"),
    ('in = ["consolidation", "maintenance"]', 'in = "maintenance"', r"\.in: must be a list, got 'maintenance'"),
    ('fact = "therapy_phase"', 'fact = "remission_number"', "remission_number is a whole number"),
    ('fact = "compendia_supported_use"\n  equals = true', 'fact = "compendia_supported_use"\n  equals = "yes"',
     "compendia_supported_use is true or false"),
    ('fact = "compendia_supported_use"\n  equals = true', 'fact = "compendia_supported_use"\n  equals = 1',
     "compendia_supported_use is true or false"),
    ('fact = "age_years"\nat_least = 18', 'fact = "age_years"\nat_least = true',
     "at_least: must be a number, got True"),
    ('fact = "age_years"\nat_least = 18', 'fact = "compendia_supported_use"\nat_least = 1',
     "compendia_supported_use has no order"),
    ('fact = "age_years"\nat_least = 18', 'fact = "mrd_percent"\nequals = 0.1', "known within bounds"),
    ('fact = "age_years"\nat_least = 18', 'fact = "start_date"\nat_least = 18', "unknown fact"),
    # A windowed fact is read with its policy's numbers: all of them, whole, within reach; no other test takes them.
    ('days_after_order = 7\n', '', "live_vaccine_in_window needs days_before_course and days_after_order"),
    ('days_after_order = 7', 'days_after_order = 7.5', "days_after_order: must be a whole number, got 7.5"),
    ('days_after_order = 7', 'days_after_order = 7.0', "days_after_order: must be a whole number, got 7.0"),
    ('days_after_order = 7', 'days_after_order = -7', "days_after_order: must be at least 0, got -7"),
    ('days_after_order = 7', 'days_after_order = 3661', "days_after_order: must be at most 3660, got 3661"),
    ('look_back_years = 1', 'look_back_years = 1000', "look_back_years: must be at most 100, got 1000"),
    ('at_least = 18', 'at_least = 18\nlook_back_years = 2', "age_years takes no window"),
    ('look_back_years = 1', 'days_after_order = 7', "prior_authorization_on_file needs look_back_years"),
    ('fact = "prior_approval", equals = true, look_back_years = 1', 'fact = "prior_approval", equals = true',
     "prior_approval needs look_back_years"),
    ('missing = "prior approval"\n  any', 'missing = "prior approval"\n  look_back_years = 1\n  any',
     r"criteria\[0\]: 'look_back_years' goes only with 'fact'"),
    # The criterion's words name only numbers its test gives.
    ('Authorized in the past {look_back_years} year', 'Authorized in the past {days_after_order} days',
     "{days_after_order} names no single window number of its test"),
])
def test_policy_file_mistakes_are_caught_at_load(old: str, new: str, message: str) -> None:
    assert old in THIRD_PAYER
    with pytest.raises(PolicyFileError, match=message):
        policy(THIRD_PAYER.replace(old, new, 1))


def test_a_schedule_test_inside_a_group_also_needs_the_label_schedule() -> None:
    text = THIRD_PAYER.replace('label_schedule = "standard"\n', '', 1).replace(
        'dose = "schedule"', 'any = [ { dose = "schedule" }, { fact = "ph_positive", equals = true } ]', 1)
    with pytest.raises(PolicyFileError, match="needs the indication's label_schedule"):
        policy(text)


QUANTITY = """
[[universal]]
id = "quantity"
kind = "quantity"
text = "Quantity"
citation = "T9"
missing = "quantity"
quantity = {limit}
"""


@pytest.mark.parametrize("limit", [
    "{ vials = 28, units = 980 }",
    "{ vials = 28, units = 980, days = 42, days_continued = 84 }",
    '{ vials = 28, units = 980, days = "42" }',
    "{ vials = 28, units = 980, days = 0 }",
    "{ vials = 28, units = 980, days = 42, weeks = 6 }",
    "28",
])
def test_quantity_limit_mistakes_are_caught_at_load(limit: str) -> None:
    with pytest.raises(PolicyFileError, match="quantity"):
        policy(THIRD_PAYER + QUANTITY.format(limit=limit))


def test_a_quantity_limit_with_one_window_for_every_cycle() -> None:
    limit = policy(THIRD_PAYER + QUANTITY.format(limit="{ vials = 20, units = 700, days = 28 }")).quantity_limit
    assert (limit.vials, limit.citation, limit.window(1), limit.window(9), limit.window(None)) == (20, "T9", 28, 28, 28)
    aspirus = load_policy("aspirus-magellan").quantity_limit
    assert (aspirus.window(5), aspirus.window(6), aspirus.window(None)) == (42, 84, 42)


CEILING = """
  [[indications.criteria]]
  id = "ceiling"
  kind = "dose"
  text = "At most {mcg} mcg/day"
  citation = "T8"
  missing = "dose"
  dose = "ceiling"
  mcg_per_day = {mcg}
"""
UNIVERSAL_CEILING = """
[[universal]]
id = "ceiling"
kind = "dose"
text = "At most 20 mcg/day"
citation = "T8"
missing = "dose"
dose = "ceiling"
mcg_per_day = 20
"""


def _in_every_indication(text: str, criterion: str) -> str:
    """`criterion` appended to each indication of `text` (each ends where the next [[indications]] begins)."""
    head, *indications = text.split("\n[[indications]]")
    return head + "".join(f"\n[[indications]]{body.rstrip()}{criterion}" for body in indications)


@pytest.mark.parametrize(("text", "message"), [
    # Inside any/all: the card would apply a limit the policy applies only on one branch.
    (THIRD_PAYER.replace('dose = "schedule"', 'all = [ { dose = "schedule" }, { dose = "ceiling", '
                                              'mcg_per_day = 20 } ]', 1), "whole test, not part of any/all"),
    (THIRD_PAYER + QUANTITY.format(limit="{ vials = 20, units = 700, days = 28 }").replace(
        "quantity = { vials = 20, units = 700, days = 28 }",
        "any = [ { quantity = { vials = 20, units = 700, days = 28 } }, { fact = \"ph_positive\", equals = true } ]"),
     "whole test, not part of any/all"),
    # The quantity card applies one limit to every order of the cycle.
    (THIRD_PAYER + QUANTITY.format(limit="{ vials = 20, units = 700, days = 28 }").replace(
        "[[universal]]\nid = \"quantity\"", "  [[indications.criteria]]\n  id = \"quantity\""),
     "criterion 'gated.quantity': a quantity limit belongs in \\[\\[universal\\]\\]"),
    (THIRD_PAYER + QUANTITY.format(limit="{ vials = 20, units = 700, days = 28 }")
     + QUANTITY.format(limit="{ vials = 10, units = 350, days = 28 }").replace('id = "quantity"', 'id = "q2"'),
     "one quantity limit per policy"),
    # The plan-limit card applies one ceiling to every order.
    (THIRD_PAYER + CEILING.format(mcg=20), "indication 'first' has no dose ceiling"),
    (_in_every_indication(THIRD_PAYER, CEILING.format(mcg=20)).replace("mcg_per_day = 20", "mcg_per_day = 25", 1),
     r"dose ceilings \['20', '25'\]: one daily ceiling per policy"),
    (THIRD_PAYER + QUANTITY.format(limit="{ vials = 20, units = 700, days = 28 }") + "from_cycle = 2\n",
     "criterion 'quantity': a dose ceiling or a quantity limit cannot have from_cycle"),
    (THIRD_PAYER + UNIVERSAL_CEILING.replace("mcg_per_day = 20\n", ""),
     r"universal\[1\]: required key 'mcg_per_day' missing \(dose = 'ceiling' gives its daily maximum"),
    (THIRD_PAYER.replace('dose = "schedule"', 'dose = "schedule"\n  mcg_per_day = 20', 1),
     "mcg_per_day goes with dose = 'ceiling'"),
    # The gate of an exclusive indication is evaluated in every cycle (the engine looks for its result).
    (THIRD_PAYER.replace('missing = "prior approval"', 'missing = "prior approval"\n  from_cycle = 2', 1),
     "criterion 'gated.approved-before': the exclusive_when criterion cannot have from_cycle"),
    # A result is named "<indication>.<criterion>": the card tells the policy-level ones by their id without a dot.
    (THIRD_PAYER.replace('id = "no-vaccine"', 'id = "no.vaccine"', 1),
     r"universal\[0\]\.id: must match .*, got 'no.vaccine' \(.*results are named '<indication>.<criterion>'\)"),
    (THIRD_PAYER.replace('id = "second"', 'id = "second.use"', 1), r"indications\[1\]\.id: .*got 'second.use'"),
])
def test_shapes_the_engine_or_the_cards_do_not_support_are_refused_at_load(text: str, message: str) -> None:
    with pytest.raises(PolicyFileError, match=message):
        policy(text)


def test_a_policy_level_ceiling_or_one_in_every_indication_is_the_policys_ceiling() -> None:
    assert policy(THIRD_PAYER + UNIVERSAL_CEILING).dose_ceiling == Decimal(20)
    assert policy(_in_every_indication(THIRD_PAYER, CEILING.format(mcg=25))).dose_ceiling == Decimal(25)
    assert load_policy("florida-blue").dose_ceiling == Decimal(28) and policy().dose_ceiling is None


def test_shipped_policies_load_once() -> None:
    assert policy_ids() == ["aspirus-magellan", "florida-blue"]
    assert load_policy("florida-blue") is load_policy("florida-blue")
    with pytest.raises(KeyError):
        load_policy("../secrets")


def test_quantity_limit_of_the_policy_files() -> None:
    limit = load_policy("aspirus-magellan").quantity_limit
    assert (limit.vials, limit.units, limit.days, limit.days_continued, limit.continued_from_cycle) == (
        28, 980, 42, 84, 6)
    assert load_policy("florida-blue").quantity_limit is None


def test_only_a_policy_with_a_continuation_reads_the_audit_trail() -> None:
    assert load_policy("florida-blue").reads_prior_approval
    assert not load_policy("aspirus-magellan").reads_prior_approval


def test_an_unknown_fact_that_says_what_would_decide_it_is_asked_for_that() -> None:
    precise = Fact(None, ("Observation/x",), missing="the phase of this course, in the prescriber's words")
    decision = run(therapy_phase=precise)
    assert next(c for c in decision.criteria if c.id == "first.phase").missing == precise.missing
    assert precise.missing in decision.missing
    assert next(c for c in run(therapy_phase=None).criteria if c.id == "first.phase").missing == "phase"


def test_the_criteria_of_a_cycle_are_those_from_whose_cycle_on_they_apply() -> None:
    """Policy.by_cycle, worked out at load, picks what filtering would: a criterion with from_cycle from that cycle
    on, every one when the cycle is unknown; the indications gated by exclusive_when apart from the others."""
    renewal = THIRD_PAYER.replace('missing = "Ph or MRD"', 'missing = "Ph or MRD"\n  from_cycle = 4', 1).replace(
        'missing = "attestation"', 'missing = "attestation"\n  from_cycle = 2', 1)
    policies = [policy(), policy(renewal), load_policy("aspirus-magellan"), load_policy("florida-blue")]
    assert {c.from_cycle for i in policies[1].indications for c in i.criteria} == {None, 2, 4}
    for loaded in policies:
        for cycle in (None, -1, 0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 12):
            stage = loaded.by_cycle.of(cycle)
            assert [i for i, _ in stage.gated] == [i for i in loaded.indications if i.exclusive_when]
            assert [i for i, _ in stage.ungated] == [i for i in loaded.indications if not i.exclusive_when]
            picked = [(loaded.universal, stage.universal), *((i.criteria, a) for i, a in stage.gated + stage.ungated)]
            for criteria, (applying, runs) in picked:
                assert applying == tuple(
                    c for c in criteria if c.from_cycle is None or cycle is None or cycle >= c.from_cycle)
                assert runs == tuple(c.run for c in applying)


def test_decision_init_is_the_dataclass_fields() -> None:
    """Decision writes its own __init__ (decision.py says why): its parameters are the fields, in order, with their
    defaults (a new empty list for a list field with a default), so construction, equality and dataclasses.replace
    behave as the generated one would, and it stays frozen."""
    fields = dataclasses.fields(Decision)
    parameters = list(inspect.signature(Decision.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [
        None if f.default_factory is list else inspect.Parameter.empty if f.default is dataclasses.MISSING
        else f.default for f in fields]
    decision = run(therapy_phase="maintenance")
    assert vars(decision) == {f.name: getattr(decision, f.name) for f in fields}
    assert dataclasses.replace(decision) == decision and dataclasses.replace(decision, cycle=4) != decision
    bare = Decision(*(f"{f.name}" for f in fields[:12]))
    assert (bare.not_received, bare.indications, bare.attested_items) == ([], [], ())
    assert bare.not_received is not Decision(*(f"{f.name}" for f in fields[:12])).not_received
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.cycle = 4  # type: ignore[misc]


def test_criteria_with_the_same_test_share_one_compiled_test() -> None:
    """An evaluation runs a test once, whichever criteria share it (vocabulary.Context memoizes by the compiled test):
    the same test is one function, a dose schedule test one per label schedule."""
    aspirus = load_policy("aspirus-magellan")
    criteria = {(i.id, c.id): c for i in aspirus.indications for c in i.criteria}
    adult = [i.id for i in aspirus.indications if i.id.startswith("adult-")]
    assert len({id(criteria[i, "adult-age"].run) for i in adult}) == 1
    assert criteria["adult-maintenance", "b-cell-precursor-all"].run is criteria[
        "pediatric-mrd-positive", "b-cell-precursor-all"].run  # another citation, the same test
    schedules = {i.label_schedule: criteria[i.id, "dose-schedule"].run for i in aspirus.indications
                 if (i.id, "dose-schedule") in criteria}
    assert len(schedules) > 1 and len(set(map(id, schedules.values()))) == len(schedules)
    assert criteria["adult-consolidation-mrd-positive", "ph-use"].run is not criteria[
        "adult-consolidation-mrd-negative", "ph-use"].run


class _Doses:
    """Dose checks that answer every schedule with one verdict."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict

    def schedule(self, schedule: str) -> Verdict:
        return self.verdict


_SUB = {"id": "sub", "missing": "the sub-test's"}


@pytest.mark.parametrize("test, fact, verdict, status, missing", [
    ({**_SUB, "fact": "ph_positive", "equals": True}, Fact(None, missing="the fact's"), None, "unknown", "the fact's"),
    ({**_SUB, "fact": "ph_positive", "equals": True}, Fact(None), None, "unknown", "the sub-test's"),
    ({**_SUB, "fact": "ph_positive", "equals": True}, Fact(True), None, "met", ""),
    ({**_SUB, "fact": "ph_positive", "equals": True}, Fact(False), None, "not-met", ""),
    ({**_SUB, "fact": "ph_positive", "equals": True, "attested_to_exclude": True}, Fact(False), None, "unknown",
     "the sub-test's"),
    ({**_SUB, "fact": "ph_positive", "equals": True, "if_unknown": "not-met"}, Fact(None), None, "not-met", ""),
    ({**_SUB, "any": [{"fact": "ph_positive", "equals": True}]}, Fact(None), None, "unknown", "the sub-test's"),
    ({**_SUB, "any": [{"fact": "ph_positive", "equals": True, "missing": "the child's"}]}, Fact(None), None,
     "unknown", "the child's"),
    ({**_SUB, "all": [{"fact": "ph_positive", "equals": True}]}, Fact(False), None, "not-met", ""),
    ({**_SUB, "dose": "schedule"}, Fact(), Verdict("unknown"), "unknown", "the sub-test's"),
    ({**_SUB, "dose": "schedule"}, Fact(), Verdict("unknown", missing="the check's"), "unknown", "the check's"),
    ({**_SUB, "dose": "schedule"}, Fact(), Verdict("met"), "met", ""),
])
def test_a_sub_test_asks_for_its_missing_only_when_unknown_and_no_part_says(
        test: dict[str, Any], fact: Fact[bool], verdict: Verdict | None, status: str, missing: str) -> None:
    """The innermost unknown part that says what to document is asked for; else the sub-test's own `missing`; a
    met or not-met outcome asks for nothing (vocabulary.compile_test writes it into the test's unknown outcome)."""
    facts, doses = SimpleNamespace(ph_positive=fact), _Doses(verdict or Verdict("met"))
    ctx = Context(facts, doses, Fact())  # type: ignore[arg-type]
    outcome = compile_test(test, "standard")(ctx)
    assert (outcome.status, outcome.missing) == (status, missing)


@pytest.mark.parametrize("test, status, notes", [
    # An unknown OR: the alternatives ruled out say why, beside the one left open ("third remission" is shown).
    ({"any": [{"fact": "remission_number", "in": [1, 2]}, {"fact": "ph_positive", "equals": True}]}, "unknown",
     ("remission 3 attested", "no Ph result")),
    # A met OR keeps its met branches only; a not-met AND its failing ones.
    ({"any": [{"fact": "remission_number", "in": [3]}, {"fact": "ph_positive", "equals": True}]}, "met",
     ("remission 3 attested",)),
    ({"all": [{"fact": "remission_number", "in": [1, 2]}, {"fact": "ph_positive", "equals": True}]}, "not-met",
     ("remission 3 attested",)),
])
def test_a_group_shows_what_decided_it(test: dict[str, Any], status: str, notes: tuple[str, ...]) -> None:
    facts = SimpleNamespace(remission_number=Fact(3, ("QuestionnaireResponse/qr",), note="remission 3 attested"),
                            ph_positive=Fact(None, note="no Ph result"))
    outcome = compile_test(test, "standard")(Context(facts, _Doses(Verdict("met")), Fact()))  # type: ignore[arg-type]
    assert (outcome.status, outcome.notes) == (status, notes)


_PH, _MRD, _CR = ({"fact": name, "equals": True} for name in ("ph_positive", "mrd_detectable", "cd19_positive"))


@pytest.mark.parametrize("children, asked", [
    # Not met (Ph-): never asked for; the open one that says is, one that says nothing is left out.
    ([{**_PH, "missing": "Ph"}, {**_MRD, "missing": "MRD"}, _CR], "MRD"),
    # Any open alternative would settle it: each that says is asked for, once.
    ([{**_MRD, "missing": "MRD"}, {**_CR, "missing": "CD19"}], "MRD, or CD19"),
    ([{**_MRD, "missing": "MRD"}, {**_CR, "missing": "MRD"}], "MRD"),
    # No open alternative says: the group's own `missing`.
    ([{**_PH, "missing": "Ph"}, _MRD], "the group's"),
])
def test_an_unknown_or_asks_for_each_open_alternative_that_says(children: list[dict[str, Any]], asked: str) -> None:
    """An unknown OR asked for its first open alternative that said, or, when none did, for its own `missing`, which
    names every alternative, those already not met too."""
    facts = SimpleNamespace(ph_positive=Fact(False), mrd_detectable=Fact(None), cd19_positive=Fact(None))
    test = {"missing": "the group's", "any": children}
    outcome = compile_test(test, "standard")(Context(facts, _Doses(Verdict("met")), Fact()))  # type: ignore[arg-type]
    assert (outcome.status, outcome.missing) == ("unknown", asked)
