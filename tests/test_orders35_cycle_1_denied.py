"""Florida Blue cycles 1 and 2 signed in one call, cycle 1 denied (policy-rules.md §3; Florida Blue Position,
continuation 1). Cycle 2 had asked for the prior-authorization answer, as a cycle after earlier ones given, though its
only earlier cycle is cycle 1 of this very call, not approved: its continuation depends on cycle 1. The route is now
closed and said so on its card; cycle 2 is judged on the initiation criteria. With an earlier cycle on record, or
the cycle number attested, earlier cycles were given: the answer is still asked."""
from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.evaluation import OrderOutcome
from cds_service.facts.model import BodySize, ClinicalFacts, CycleInfo, Fact
from cds_service.pipeline import _denied_before
from tests.live_server import LiveClient
from tests.test_cycles_signed_together import by_order, decision
from tests.test_fb34_continuation import ASKED
from tests.test_fb34_cycles_signed_together import CD19_NEGATIVE, EXAMPLE, together
from tests.test_florida_blue_http import result
from tests.test_pipeline import example, post
from tests.test_orders35_rest_unknown import _attested_cycle

START = date(2027, 1, 12)
DEPENDS = "cycle 1, signed in this call, is not covered: this cycle depends on its approval"


def _cycle_1_denied() -> dict[str, Any]:
    body = example(EXAMPLE)
    result("cd19-1", **CD19_NEGATIVE)(body)
    return together(body)


def _cycle_2(client: LiveClient, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    cards = by_order(post(client, body))
    assert decision(cards["blinatumomab-order"])["decision"] == "criteria-not-met"
    [card] = [c for c in cards["cycle-2-order"] if "coverage-decision" in c.get("extension", {})]
    return decision(cards["cycle-2-order"]), card


def test_cycle_2_after_cycle_1_denied_in_the_same_call_says_it_depends_on_it(client: LiveClient) -> None:
    second, card = _cycle_2(client, _cycle_1_denied())
    assert (second["decision"], second["request"], second["missing"]) == ("criteria-not-met", "initial", [])
    # The closest indication is the initiation use, whose CD19 criterion fails as cycle 1's did; the continuation is
    # listed among the others, not met, with why.
    assert any(c["id"] == "fb-relapsed-refractory-ph-negative.cd19-positive" for c in second["criteria"])
    assert DEPENDS in " ".join(card["detail"].split())
    assert ASKED not in card["detail"]


def test_with_the_cycle_number_attested_earlier_cycles_were_given_and_the_answer_is_asked(
        client: LiveClient) -> None:
    """Cycle 3 attested for the call's first cycle: cycles 1 and 2 were given, most often under an authorization.
    The call's first cycle is denied on its dose of 30 mcg/day (and CD19); its second, at 28, asks for the answer."""
    body = _attested_cycle(_cycle_1_denied(), 3)
    for line in body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]:
        line["doseAndRate"][0]["rateQuantity"]["value"] = 30
    second, card = _cycle_2(client, body)
    assert (second["decision"], second["missing"]) == ("information-needed", [ASKED])
    assert DEPENDS not in card["detail"]


def _facts(number: int | None) -> ClinicalFacts:
    return ClinicalFacts(start_date=START, cycle=CycleInfo(number=Fact(number), start=START, course_start=START),
                         body=BodySize())


def test_the_denial_counts_only_when_no_cycle_was_given_before_the_calls_first() -> None:
    denied = {"florida-blue": (OrderOutcome("MedicationRequest/c1", "florida-blue", decision="criteria-not-met",
                                            cycle=1),
                               OrderOutcome("MedicationRequest/c2", "florida-blue", decision="criteria-not-met",
                                            cycle=2))}
    [fact] = _denied_before(denied, _facts(3), 2).values()  # the call's third cycle, cycles 1 and 2 denied
    assert (fact.value, fact.evidence) == (True, ("MedicationRequest/c1", "MedicationRequest/c2"))
    assert fact.note == "cycles 1 and 2, signed in this call, are not covered: this cycle depends on their approval"
    assert _denied_before(denied, _facts(4), 2) == {}  # the call's first is cycle 2: cycle 1 was given
    assert _denied_before(denied, _facts(None), 2) == {}  # the count unknown: the continuation's own test decides
