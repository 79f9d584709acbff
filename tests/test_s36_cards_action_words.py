"""The coverage-information action says its outcome in the decision card's words: its `description` (what staff
filing the order read) and, for a denial a corrected order would lift, its reason.

A "what if" call (unsolicited-determ false) issues no authorization: the card says "no authorization issued yet" and
the action asserts pa-needed `auth-needed`, yet its description had said "meets criteria" alone. A denial for the
order's dose or quantity alone reads "not covered as ordered" on the card, yet the action had said "not covered" and
"Not met:", as if the drug were denied."""
from __future__ import annotations

from typing import Any

from tests.crd_invariants import check_crd_invariants
from tests.test_pipeline import example, post


def _action(client: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The example's decision card and its one coverage-information action's description and sub-extensions."""
    answer = post(client, example(name))
    (action,) = answer["systemActions"]
    extension = action["resource"]["extension"][-1]
    assert check_crd_invariants(extension) == []
    values = {p["url"]: next((v for k, v in p.items() if k.startswith("value")), None) for p in extension["extension"]}
    return answer["cards"][0], {"description": action["description"], **values}


def test_a_what_if_call_s_action_says_no_authorization_was_issued(client: Any) -> None:
    card, action = _action(client, "what-if-unsolicited-determ-false")
    assert card["summary"].endswith("no authorization issued yet")
    assert action["pa-needed"] == "auth-needed" and "satisfied-pa-id" not in action
    assert action["description"] == \
        "Coverage information from Aspirus Health Plan: meets criteria, no authorization issued yet"


def test_an_approval_s_action_says_meets_criteria_alone(client: Any) -> None:
    _, action = _action(client, "aspirus-adult-relapsed-refractory-cycle1")
    assert action["pa-needed"] == "satisfied"
    assert action["description"] == "Coverage information from Aspirus Health Plan: meets criteria"


def test_a_denial_for_the_order_s_quantity_says_as_ordered_as_the_card_does(client: Any) -> None:
    card, action = _action(client, "aspirus-quantity-over-limit")
    assert card["summary"].startswith("Aspirus Health Plan: not covered as ordered — ")
    assert action["description"] == "Coverage information from Aspirus Health Plan: not covered as ordered"
    assert action["reason"]["text"].startswith("Not met as ordered: more than 28 vials (980 mcg) per cycle — ")


def test_a_denial_on_the_chart_says_not_covered(client: Any) -> None:
    card, action = _action(client, "aspirus-t-cell-all-not-covered")
    assert card["summary"].startswith("Aspirus Health Plan: not covered — ")
    assert action["description"] == "Coverage information from Aspirus Health Plan: not covered"
    assert action["reason"]["text"].startswith("Not met: requires B-cell precursor ALL")
