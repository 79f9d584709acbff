"""Florida Blue Position, continuation 1, for a patient mid-course (policy-rules.md §3): earlier cycles on record but
no answer on a prior authorization. An order alone proves no authorization, so the continuation is not presumed; but
it is the route such a patient most often has, so the card asks for the answer, and a denial on the initiation
criteria waits for it (information needed, never a denial while it is open). A first cycle is judged as before."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from cds_service.facts.model import BodySize, ClinicalFacts, CycleInfo, Fact
from cds_service.policies import evaluate_policy, load_policy
from tests.live_server import LiveClient
from tests.test_florida_blue_http import Body, attest
from tests.test_pipeline import covered_value, example, post
from tests.test_policy_florida_blue import B_ALL, CeilingOnly

POLICY = load_policy("florida-blue")
START, COURSE = date(2026, 12, 1), date(2026, 10, 1)
ASKED = "prior authorization of blinatumomab by any health plan in the past 2 years"
RELAPSE_PH_NEG = dict(B_ALL, therapy_phase="relapsed-refractory", ph_positive=False)


def decide(cycle: Fact[int], prior_approval: Fact[bool] = Fact(False), **values: Any) -> Any:
    starts = (START,) if cycle.value == 1 else (COURSE, START)
    facts = ClinicalFacts(
        start_date=START, cycle=CycleInfo(number=cycle, start=START, course_start=starts[0], cycle_starts=starts),
        body=BodySize(), **{k: v if isinstance(v, Fact) else Fact(v, (f"Observation/{k}",)) for k, v in values.items()})
    return evaluate_policy(POLICY, facts, CeilingOnly(), prior_approval)


def gate(decision: Any) -> str:
    [continuation] = [r for r in decision.indications if r.id == "fb-continuation"]
    return str(next(c.status for c in continuation.criteria if c.id == "fb-continuation.prior-approval"))


def test_mid_course_a_denial_on_initiation_waits_for_the_prior_authorization_answer() -> None:
    decision = decide(Fact(2, ("MedicationRequest/cycle-1",)), **{**RELAPSE_PH_NEG, "cd19_positive": False})
    assert (decision.decision, decision.request_type, decision.indication) == ("information-needed", "renewal", None)
    assert gate(decision) == "unknown" and decision.missing == [ASKED]
    assert decision.shown_indication == "fb-continuation"


def test_mid_course_initiation_met_still_approves_initiation() -> None:
    decision = decide(Fact(2), **RELAPSE_PH_NEG)
    assert (decision.decision, decision.indication, decision.request_type) == (
        "meets-criteria", "fb-relapsed-refractory-ph-negative", "initial")
    assert decision.authorization == {"start": "2026-12-01", "end": "2027-06-01", "cycles": None}


def test_mid_course_initiation_unknown_asks_for_both_routes() -> None:
    decision = decide(Fact(3), **{**RELAPSE_PH_NEG, "cd19_positive": None})
    assert decision.decision == "information-needed"
    assert decision.missing[0] == "laboratory result showing CD19+ blasts" and decision.missing[-1] == ASKED


@pytest.mark.parametrize(("cycle", "answer", "prior_approval"), [
    (Fact(1), None, Fact(False)),  # a first cycle: judged on initiation alone, as before
    (Fact(2), False, Fact(False)),  # mid-course, answered no: the continuation is closed
    (Fact(None, note="drug of an earlier order not identified"), None, Fact(False)),  # no evidence of a later cycle
    (Fact(1), None, Fact(note="this service's records of earlier approvals could not be read")),
])
def test_the_gate_closes_and_a_denial_stands(cycle: Fact[int], answer: bool | None,
                                            prior_approval: Fact[bool]) -> None:
    decision = decide(cycle, prior_approval, prior_authorization_on_file=answer,
                      **{**RELAPSE_PH_NEG, "cd19_positive": False})
    assert decision.decision == "criteria-not-met"
    assert all(r.id != "fb-continuation" for r in decision.indications)


def test_mid_course_answered_yes_is_a_continuation() -> None:
    decision = decide(Fact(2), prior_authorization_on_file=True, **{**RELAPSE_PH_NEG, "cd19_positive": False})
    assert (decision.decision, decision.indication, decision.request_type) == (
        "meets-criteria", "fb-continuation", "renewal")
    assert decision.authorization == {"start": "2026-12-01", "end": "2027-12-01", "cycles": None}


# Over HTTP: the CD19-negative relapse example (a denial as a first cycle) with an earlier cycle on record.

def with_cycle_1_on_record(body: Body) -> Body:
    """A completed cycle 1 (2026-10-01 to 10-28) of the same order: the draft order is cycle 2."""
    earlier = copy.deepcopy(body["context"]["draftOrders"]["entry"][0]["resource"])
    line = earlier["dosageInstruction"][-1]
    line["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-10-01", "end": "2026-10-28"}
    earlier.update(id="cycle-1", status="completed", dosageInstruction=[line])
    bundle = body["prefetch"]["medicationRequests"]
    bundle["entry"].append({"resource": earlier})
    bundle["total"] = len(bundle["entry"])
    return body


def _answer(client: LiveClient, body: Body) -> tuple[dict[str, Any], dict[str, Any]]:
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if "coverage-decision" in c["extension"]]
    [action] = answer["systemActions"]
    return card, action


def _expiry(action: dict[str, Any]) -> str | None:
    [info] = [e for e in action["resource"]["extension"] if e["url"].endswith("ext-coverage-information")]
    return next((s["valueDate"] for s in info["extension"] if s["url"] == "expiry-date"), None)


def test_over_http_a_first_cycle_cd19_negative_is_denied(client: LiveClient) -> None:
    card, action = _answer(client, example("florida-blue-cd19-negative-relapse"))
    assert card["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    assert covered_value(action) == "not-covered"


def test_over_http_mid_course_the_card_asks_for_the_prior_authorization(client: LiveClient) -> None:
    card, action = _answer(client, with_cycle_1_on_record(example("florida-blue-cd19-negative-relapse")))
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["request"]) == ("information-needed", "renewal")
    assert decision["missing"] == [ASKED]
    assert card["summary"] == f"Florida Blue: document {ASKED} to confirm coverage"
    [criterion] = [c for c in decision["criteria"] if c["id"] == "fb-continuation.prior-approval"]
    assert (criterion["status"], criterion["citation"]) == ("unknown", "Florida Blue Position, continuation 1")
    assert "CD19 negative" in card["detail"]  # why initiation does not apply is still shown
    assert covered_value(action) == "conditional" and _expiry(action) is None


def test_over_http_mid_course_answered_yes_is_a_one_year_continuation(client: LiveClient) -> None:
    body = with_cycle_1_on_record(example("florida-blue-cd19-negative-relapse"))
    attest(prior_authorization_on_file=True)(body)
    card, action = _answer(client, body)
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["indication"], decision["request"]) == (
        "meets-criteria", "fb-continuation", "renewal")
    assert decision["authorization"] == {"start": "2026-12-01", "end": "2027-12-01", "cycles": None}
    assert covered_value(action) == "covered" and _expiry(action) == "2027-12-01"


def test_over_http_an_attested_later_cycle_with_no_orders_on_record_asks_too(client: LiveClient) -> None:
    """Earlier cycles given elsewhere (under another plan, the guideline's "another health plan"): the cycle number
    attested is the evidence."""
    body = example("florida-blue-cd19-negative-relapse")
    attest(therapy_phase="relapsed-refractory")(body)
    [response] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    response["item"].append({"linkId": "cycle-number", "answer": [{"valueInteger": 3}]})
    card, _ = _answer(client, body)
    assert card["extension"]["coverage-decision"]["missing"] == [ASKED]
