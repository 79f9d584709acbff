"""Florida Blue guideline 09-J2000-26: every initiation use, indication 2, continuation, criteria met / not-met /
unknown and authorization lengths (policy-rules.md §3, §4)."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.facts.model import BodySize, ClinicalFacts, CycleInfo, Fact, Measured, Windowed
from cds_service.policies import evaluate_policy, load_policy
from cds_service.policies.model import fact_tests
from cds_service.verdict import Verdict

START = date(2026, 12, 1)
POLICY = load_policy("florida-blue")
EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"


class CeilingOnly:
    """Test double of DoseChecks: Florida Blue asks only for the 28 mcg/day ceiling."""

    def __init__(self, answer: str = "met") -> None:
        self.answer = answer

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        assert mcg_per_day == Decimal(28)
        return Verdict(self.answer, ("MedicationRequest/blin",), note="28 mcg/day ordered")

    def schedule(self, schedule: str) -> Verdict:
        raise AssertionError("Florida Blue has no label schedule criterion")

    def quantity(self, limit: Any) -> Verdict:
        raise AssertionError("Florida Blue has no quantity limit")


def decide(values: dict[str, Any], prior_approval: bool | Fact[bool] | Windowed[bool] = False,
           only: str | None = None) -> Any:
    """The decision; with `only`, of the policy reduced to that indication: a met decision evaluates only the
    indication it reports, so another one is read alone. `prior_approval`: the audit trail's answer, or whether it
    found one."""
    values = dict(values)
    doses = values.pop("doses", CeilingOnly())
    facts = ClinicalFacts(
        start_date=START, cycle=CycleInfo(number=Fact(1), start=START, course_start=START, cycle_starts=(START,)),
        body=BodySize(),
        **{k: v if isinstance(v, Fact) else Fact(v, evidence=(f"Observation/{k}",) if v is not None else ())
           for k, v in values.items()},
    )
    policy = replace(POLICY, indications=tuple(i for i in POLICY.indications if i.id == only)) if only else POLICY
    found = Fact(prior_approval) if isinstance(prior_approval, bool) else prior_approval
    return evaluate_policy(policy, facts, doses, found)


MRD_0_5, MRD_0_05 = Measured(Decimal("0.5")), Measured(Decimal("0.05"))  # % of cells
B_ALL = dict(all_diagnosis=True, b_lineage=True, cd19_positive=True, lymphoblastic_lymphoma=False)
BASELINES: dict[str, dict[str, Any]] = {
    "fb-mrd-positive": dict(B_ALL, mrd_percent=MRD_0_5, therapy_phase="consolidation"),
    "fb-relapsed-refractory-ph-negative": dict(B_ALL, therapy_phase="relapsed-refractory", ph_positive=False),
    "fb-relapsed-refractory-ph-positive": dict(B_ALL, therapy_phase="relapsed-refractory", ph_positive=True,
                                               tki_failure=True),
    "fb-induction-ph-positive-tki": dict(B_ALL, therapy_phase="induction", ph_positive=True, combination="with-tki"),
    "fb-consolidation-maintenance": dict(B_ALL, therapy_phase="maintenance", mrd_percent=MRD_0_05),
    "fb-other-compendia": dict(all_diagnosis=False, lymphoblastic_lymphoma=True, compendia_supported_use=True),
    "fb-continuation": dict(prior_authorization_on_file=True),
}
NOT_MET: dict[str, dict[str, Any]] = {
    # T-lineage ALL: the not-met the record can give (diagnosis.py reads "no ALL" as unknown, never as False).
    "b-cell-precursor-all": {"b_lineage": Fact(False, ("Condition/t-all",), note="T-lineage in the diagnosis")},
    "cd19-positive": {"cd19_positive": False},
    "mrd-at-least-0-1-percent": {"mrd_percent": MRD_0_05},
    "relapsed-refractory-phase": {"therapy_phase": "consolidation"},
    "ph-negative": {"ph_positive": True},
    "ph-positive": {"ph_positive": False},
    "tki-failure": {"tki_failure": False},
    "induction-phase": {"therapy_phase": "consolidation"},
    "with-tki": {"combination": "single-agent"},
    "consolidation-or-maintenance": {"therapy_phase": "induction"},
    "dose-at-most-28": {"doses": CeilingOnly("not-met")},
    "compendia-supported-use": {"compendia_supported_use": False},
    # B-cell precursor ALL on record: indication 1's diagnosis, which an attestation of another use must not bypass.
    "not-b-all": {"all_diagnosis": True, "b_lineage": True},
    "prior-approval": {"prior_authorization_on_file": False},
}
# An exclusion, met without contrary evidence: unknown only when the Conditions were not received.
UNKNOWN_WHEN_NOT_RECEIVED = {"not-b-all"}
CASES = [(i.id, c) for i in POLICY.indications for c in i.criteria]


def status_of(decision: Any, indication_id: str, local_id: str) -> str:
    result = next(r for r in decision.indications if r.id == indication_id)
    return next(c.status for c in result.criteria if c.id == f"{indication_id}.{local_id}")


@pytest.mark.parametrize("indication_id", list(BASELINES))
def test_every_indication_is_reached(indication_id: str) -> None:
    decision = decide(BASELINES[indication_id])
    assert (decision.decision, decision.indication) == ("meets-criteria", indication_id)
    assert decision.payer_label == "Florida Blue"


@pytest.mark.parametrize(("indication_id", "spec"), CASES, ids=[f"{i}.{c.id}" for i, c in CASES])
def test_criterion_not_met(indication_id: str, spec: Any) -> None:
    values = {**BASELINES[indication_id], **NOT_MET[spec.id]}
    decision = decide(values)
    if spec.id == "prior-approval":  # the gate closes: continuation is skipped, initiation is evaluated
        assert all(r.id != "fb-continuation" for r in decision.indications)
        return
    alone = decide(values, only=indication_id)  # the values may meet another indication
    assert status_of(alone, indication_id, spec.id) == "not-met"
    assert decision.indication != indication_id or spec.kind != "clinical"


@pytest.mark.parametrize(("indication_id", "spec"), CASES, ids=[f"{i}.{c.id}" for i, c in CASES])
def test_criterion_unknown(indication_id: str, spec: Any) -> None:
    values = dict(BASELINES[indication_id])
    not_clinical = {"prior_approval", "earlier_cycle_denied", "cycle_number"}
    names = {test["fact"] for test in fact_tests(spec.test)} - not_clinical
    unknown = Fact(received=False) if spec.id in UNKNOWN_WHEN_NOT_RECEIVED else None
    values.update({name: unknown for name in names})
    if spec.kind == "dose":
        values["doses"] = CeilingOnly("unknown")
    decision = decide(values)
    if spec.id == "prior-approval":  # a first cycle: not answered, the gate closes (test_fb34_* for mid-course)
        assert all(r.id != "fb-continuation" for r in decision.indications)
        return
    expected = "not-met" if spec.id == "compendia-supported-use" else "unknown"
    alone = decide(values, only=indication_id)  # the values may meet another indication
    assert status_of(alone, indication_id, spec.id) == expected


def test_cd19_missing_asks_for_the_lab_result_without_an_indication() -> None:
    decision = decide({**BASELINES["fb-mrd-positive"], "cd19_positive": None})
    assert decision.decision == "information-needed"
    assert decision.indication is None
    assert "laboratory result showing CD19+ blasts" in decision.missing


def test_cd19_negative_is_not_met() -> None:
    decision = decide({**BASELINES["fb-relapsed-refractory-ph-negative"], "cd19_positive": False})
    assert decision.decision == "criteria-not-met"
    assert decision.indication is None


def test_no_compendia_attestation_does_not_ask_for_one() -> None:
    decision = decide({**BASELINES["fb-mrd-positive"], "mrd_percent": None,
                       "therapy_phase": "induction", "ph_positive": False})
    assert decision.decision == "information-needed"
    assert "whether this is an FDA-labeled or NCCN category 1/2A use" not in decision.missing
    assert decision.missing == ["quantitative MRD result (%)"]


def test_dose_above_28_reports_the_indication() -> None:
    decision = decide({**BASELINES["fb-mrd-positive"], "doses": CeilingOnly("not-met")})
    assert decision.decision == "criteria-not-met"
    assert decision.indication == "fb-mrd-positive"
    assert decision.label_schedule == "standard"


COMPENDIA = "whether this is an FDA-labeled or NCCN category 1/2A use"
# What the facts give for a lymphoblastic lymphoma with no ALL on record (diagnosis.py).
LYMPHOMA = dict(all_diagnosis=Fact(None, note=("no ALL diagnosis in the record; lymphoblastic lymphoma on record "
                                               "(C83.51)"),
                                   missing="ALL diagnosis, if ALL (lymphoblastic lymphoma on record)"),
                lymphoblastic_lymphoma=True, b_lineage=True, cd19_positive=None, therapy_phase="consolidation")


@pytest.mark.parametrize(("changes", "asked"), [
    ({}, [COMPENDIA]),
    ({"compendia_supported_use": Fact(False, ("QuestionnaireResponse/q",), attested=True)}, []),  # answered: no
    # The answer alone would not meet it: the dose unread (asked for all the same), or above 28 mcg/day.
    ({"doses": CeilingOnly("unknown")}, []),
    ({"doses": CeilingOnly("not-met")}, []),
])
def test_a_lymphoma_without_all_is_pointed_to_indication_2(changes: dict[str, Any], asked: list[str]) -> None:
    """Lymphoblastic lymphoma with no ALL on record, no answer about another labeled or NCCN use: the card asked only
    for indication 1's B-ALL evidence, though indication 2, which that answer alone would meet, is the plan's route.
    It stays not met (policy-rules.md §3: it must not turn a denial into a request); what to document names it."""
    decision = decide({**LYMPHOMA, **changes})
    other = next(r for r in decision.indications if r.id == "fb-other-compendia")
    assert other.status == "not-met"
    assert [item for item in decision.missing if item in asked] == asked
    assert (COMPENDIA in decision.missing) == bool(asked)
    if asked:
        assert decision.decision == "information-needed"
        assert decision.missing[0] == "ALL diagnosis, if ALL (lymphoblastic lymphoma on record)"


def test_lymphoblastic_lymphoma_is_only_indication_2() -> None:
    decision = decide({**BASELINES["fb-other-compendia"], "compendia_supported_use": None, "b_lineage": True,
                       "cd19_positive": True, "therapy_phase": "relapsed-refractory", "ph_positive": False})
    assert decision.decision == "criteria-not-met"


# --- continuation -----------------------------------------------------------------------------------------------

def test_continuation_from_the_audit_trail() -> None:
    decision = decide({}, prior_approval=True)
    assert (decision.decision, decision.indication, decision.request_type) == (
        "meets-criteria", "fb-continuation", "renewal")
    assert decision.authorization == {"start": "2026-12-01", "end": "2027-12-01", "cycles": None}
    assert [r.id for r in decision.indications] == ["fb-continuation"]


def test_continuation_needs_the_dose_ceiling() -> None:
    decision = decide({"prior_authorization_on_file": True, "doses": CeilingOnly("not-met")})
    assert decision.decision == "criteria-not-met"
    assert decision.indication == "fb-continuation"


def test_without_prior_approval_initiation_applies() -> None:
    decision = decide(BASELINES["fb-relapsed-refractory-ph-negative"], prior_approval=False)
    assert decision.request_type == "initial"
    assert "fb-continuation" not in [r.id for r in decision.indications]


def test_an_attested_authorization_outside_its_window_is_said_only_where_it_left_the_continuation_aside() -> None:
    """The facts name an answer outside its window as the evidence of an unknown fact (facts/extract.py): the
    decision says it, with the continuation it did not open. Not when this service's records opened the
    continuation all the same, nor for an unknown fact without an answer behind it."""
    old = Fact(None, ("QuestionnaireResponse/old",), note="authorized: yes, answered 2024-11-30, too old")
    values = {**BASELINES["fb-relapsed-refractory-ph-negative"], "prior_authorization_on_file": old}
    decision = decide(values)
    assert (decision.decision, decision.request_type) == ("meets-criteria", "initial")
    assert decision.not_counted == ("authorized: yes, answered 2024-11-30, too old; continuation of therapy not "
                                    "applied (Florida Blue Position, continuation 1): the other indications are "
                                    "evaluated",)
    assert decide(values, prior_approval=True).not_counted == ()  # continuation by the initial approval
    assert decide({**values, "prior_authorization_on_file": Fact(None, note="not answered")}).not_counted == ()


@pytest.mark.parametrize(("authored", "continued"), [("2025-01-10", False), ("2026-11-25", True)])
def test_an_attested_prior_authorization_counts_when_given_for_this_order(client: FlaskClient, authored: str,
                                                                         continued: bool) -> None:
    """"Authorized in the past two years" as of an answer 23 months old vouches for one almost four years before the
    order (2026-12-01, cycle 1): only an answer for this course (from 30 days before its start) counts. An older one
    is as if not given: initiation is evaluated, never a denial from its age."""
    body = json.loads((EXAMPLES / "florida-blue-continuation.json").read_text())
    [answers] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    answers["authored"] = authored
    decision = _decision(client, body)
    assert (decision["indication"] == "fb-continuation", decision["request"]) == (
        (True, "renewal") if continued else (False, "initial"))
    if continued:
        [gate] = [c for c in decision["criteria"] if c["id"] == "fb-continuation.prior-approval"]
        assert gate["status"] == "met" and gate["note"].endswith(f"(answered {authored})")
    else:
        assert "fb-continuation.prior-approval" not in [c["id"] for c in decision["criteria"]]


@pytest.mark.parametrize("indication_id", [i for i in BASELINES if i != "fb-continuation"])
def test_initiation_authorization_is_6_months_from_the_order_start(indication_id: str) -> None:
    """Every initiation indication, 1 and 2 (policy-rules.md §4), not only the first: each states its own length."""
    decision = decide(BASELINES[indication_id])
    assert decision.indication == indication_id
    assert decision.authorization == {"start": "2026-12-01", "end": "2027-06-01", "cycles": None}


# --- the MRD threshold of 1.b.i, as the policy file states it ---------------------------------------------------

MRD_INDICATION = next(i for i in POLICY.indications if i.id == "fb-mrd-positive")
MRD_SPEC = next(c for c in MRD_INDICATION.criteria if c.test.get("fact") == "mrd_percent")
MRD_THRESHOLD = Decimal(str(MRD_SPEC.test["at_least"]))  # % of cells, read from florida-blue.toml
JUST_BELOW = MRD_THRESHOLD - MRD_THRESHOLD / 100
# In induction and Ph-, no other use of indication 1 can be met: the MRD criterion alone decides.
MRD_ONLY = dict(B_ALL, therapy_phase="induction", ph_positive=False)


@pytest.mark.parametrize(("percent", "status", "outcome"), [(MRD_THRESHOLD, "met", "meets-criteria"),
                                                            (JUST_BELOW, "not-met", "criteria-not-met")])
def test_mrd_at_the_policys_threshold_is_met_and_just_below_it_is_not(percent: Decimal, status: str,
                                                                      outcome: str) -> None:
    decision = decide({**MRD_ONLY, "mrd_percent": Measured(percent)})
    assert status_of(decision, "fb-mrd-positive", MRD_SPEC.id) == status
    assert decision.decision == outcome


def test_the_mrd_threshold_applied_is_the_one_the_card_states() -> None:
    """The prescriber reads the threshold in the criterion's text and the indication's title (the card shows both):
    an edit of `at_least` alone would decide on a number the card does not show (policy-rules.md §3: 0.1%)."""
    stated = {Decimal(n) for n in re.findall(r"(\d+(?:\.\d+)?)\s*%", f"{MRD_SPEC.text} {MRD_INDICATION.title}")}
    assert stated == {MRD_THRESHOLD}


@pytest.mark.parametrize(("percent", "indication"), [(MRD_THRESHOLD, "fb-mrd-positive"),
                                                     (JUST_BELOW, "fb-consolidation-maintenance")])
def test_an_mrd_result_at_the_threshold_is_read_from_the_record_and_met(client: FlaskClient, percent: Decimal,
                                                                       indication: str) -> None:
    """The example in remission with MRD 0.5%: its result moved to the policy's threshold, and just below it (then
    only the consolidation use of the same patient is met)."""
    body = json.loads((EXAMPLES / "florida-blue-mrd-positive.json").read_text())
    [mrd] = [e["resource"] for e in body["prefetch"]["observations"]["entry"] if e["resource"]["id"] == "mrd-1"]
    mrd["valueQuantity"]["value"] = float(percent)
    decision = _decision(client, body)
    assert (decision["decision"], decision["indication"]) == ("meets-criteria", indication)
    if indication == "fb-mrd-positive":
        [criterion] = [c for c in decision["criteria"] if c["id"] == MRD_SPEC.result_id]
        assert (criterion["status"], criterion["evidence"]) == ("met", ["Observation/mrd-1"])


# --- B-cell precursor ALL: the not-met the record can give (T-lineage), policy-rules.md §3 -----------------------

def test_t_lineage_all_is_not_b_cell_precursor_all(client: FlaskClient) -> None:
    """diagnosis.py never finds "no ALL" (a problem list without it does not rule it out): what makes the criterion
    not-met is T-lineage in the diagnosis. With no CD19 result on record, that lineage stands."""
    body = json.loads((EXAMPLES / "florida-blue-relapsed-refractory-ph-negative.json").read_text())
    [condition] = [e["resource"] for e in body["prefetch"]["conditions"]["entry"]]
    condition["code"]["text"] = "T-cell acute lymphoblastic leukemia"
    body["prefetch"]["observations"]["entry"] = [e for e in body["prefetch"]["observations"]["entry"]
                                                 if e["resource"]["id"] != "cd19-1"]
    decision = _decision(client, body)
    assert (decision["decision"], decision["indication"]) == ("criteria-not-met", None)
    [lineage] = [c for c in decision["criteria"] if c["id"].endswith(".b-cell-precursor-all")]
    assert (lineage["status"], lineage["evidence"]) == ("not-met", [f"Condition/{condition['id']}"])


def _decision(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    decision: dict[str, Any] = card["extension"]["coverage-decision"]
    return decision


@pytest.mark.parametrize(("diagnosis", "decision"), [
    (dict(all_diagnosis=True, b_lineage=True, cd19_positive=False), "criteria-not-met"),  # CD19-negative B-ALL
    (dict(all_diagnosis=None, lymphoblastic_lymphoma=True), "meets-criteria"),  # lymphoblastic lymphoma
    (dict(all_diagnosis=True, b_lineage=Fact(False, ("Condition/t",), note="T-lineage")), "meets-criteria"),
    (dict(all_diagnosis=True, b_lineage=None), "information-needed"),  # ALL of unknown lineage: its lineage asked
])
def test_an_attested_other_use_does_not_cover_b_all(diagnosis: dict[str, Any], decision: str) -> None:
    """Indication 2 is for diagnoses not listed in indication 1: an attestation of another use approved a CD19-negative
    B-ALL relapse (an anti-CD19 drug). Met for a lymphoma or T-lineage ALL, as before."""
    found = decide({**diagnosis, "therapy_phase": "relapsed-refractory", "compendia_supported_use": True})
    assert found.decision == decision
    assert found.indication == ("fb-other-compendia" if decision == "meets-criteria" else None)


def _full_dose(rate: dict[str, Any], start: str) -> dict[str, Any]:
    """The example's days 8-28 line (sequence 2) at `rate` from `start`."""
    return {"text": f"{rate['value']} {rate['unit']} continuous IV infusion",
            "timing": {"repeat": {"boundsPeriod": {"start": start, "end": "2026-12-28"}}},
            "doseAndRate": [{"rateQuantity": {"system": "http://unitsofmeasure.org", **rate}}]}


MCG_H_118 = {"value": 1.18, "unit": "ug/h", "code": "ug/h"}  # 28.32 mcg/day
MCG_DAY_284 = {"value": 28.4, "unit": "ug/d", "code": "ug/d"}


@pytest.mark.parametrize(("step", "full", "label", "values"), [
    # One line on days 1-28 (fb5_rr_118mcgh, fb3_rr_284_single): split, its days 8-28 had been kept as written.
    (None, _full_dose(MCG_H_118, "2026-12-01"),
     "Change dose to 0.375 mcg/h (9 mcg/day) on days 1–7, then 1.16 mcg/h (27.84 mcg/day: label 28 mcg/day, rounded "
     "down) on days 8–28", [0.375, 1.16]),
    (None, _full_dose(MCG_DAY_284, "2026-12-01"),
     "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28", [9, 28]),
    # The days 8-28 line of its own, which the correction of the step line had left alone.
    (28, _full_dose(MCG_DAY_284, "2026-12-08"), "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28",
     [9, 28]),
])
def test_the_label_dose_correction_signed_again_is_covered(client: FlaskClient, step: int | None,
                                                           full: dict[str, Any], label: str,
                                                           values: list[float]) -> None:
    """Relapsed/refractory cycle 1 with days 8-28 within the label's rounding but above the plan's 28 mcg/day
    (Florida Blue Position 1.d): the label card's one suggestion sets every line within both, so that signing it
    again gives no dose card and no plan dose limit card (it had given "not covered" and "Change dose to 1.166
    mcg/h")."""
    body = json.loads((EXAMPLES / "florida-blue-relapsed-refractory-ph-negative.json").read_text())
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    step_line, full_line = order["dosageInstruction"]
    full_line.update(full)
    if step is None:
        order["dosageInstruction"] = [full_line]
    else:
        step_line["doseAndRate"][0]["rateQuantity"]["value"] = step
    first = client.post("/cds-services/blinatumomab-coverage", json=body).get_json()["cards"]
    assert first[0]["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    [suggestion] = [s for card in first for s in card.get("suggestions") or ()]
    assert suggestion["label"] == label
    corrected = suggestion["actions"][0]["resource"]
    assert [d["doseAndRate"][0]["rateQuantity"]["value"] for d in corrected["dosageInstruction"]] == values
    body["context"]["draftOrders"]["entry"][0]["resource"] = corrected
    again = client.post("/cds-services/blinatumomab-coverage", json=body).get_json()["cards"]
    assert [card["source"]["topic"]["code"] for card in again] == ["coverage-info"]
    assert again[0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"
