"""Where the duplicate card stands when the first order has no decision card (duplicate_answers.py: after the
decision card, else first): with coverage decisions turned off, or for a plan the service does not apply. Mutants of
duplicate_answers.py that the other tests let live (each of their pairs had a decision card first)."""
from __future__ import annotations

from typing import Any

from cds_service.card_kinds import kind_of
from cds_service import SERVICE_NAME
from tests.test_duplicate_orders import references, with_copies
from tests.test_pipeline import post, with_configuration

PAIR = ["MedicationRequest/blinatumomab-order", "MedicationRequest/copy"]


def _shown(answer: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(c["source"]["label"], kind_of(c), c["indicator"]) for c in answer["cards"]]


def test_with_coverage_decisions_turned_off_the_duplicate_warning_comes_first(client: Any) -> None:
    """The EHR asks for dose checks only: the duplicate warning (whose one click fixes the doubled dose) is the one
    card, under the plan's label as the dose card it leaves nothing to say (orders34)."""
    body = with_configuration(with_copies("florida-blue-consolidation", "copy"), **{"coverage-info": False})
    answer = post(client, body)
    assert _shown(answer) == [("Florida Blue", "duplicate-order", "warning")]
    [duplicate] = answer["cards"]
    assert duplicate["summary"].startswith("Likely duplicate order: 2 blinatumomab orders for cycle 1")
    assert references(duplicate) == PAIR
    assert answer["systemActions"] == []


def test_for_a_plan_not_applied_the_duplicate_warning_precedes_the_no_plan_note(client: Any) -> None:
    answer = post(client, with_copies("unknown-payer", "copy"))
    assert _shown(answer) == [(SERVICE_NAME, "duplicate-order", "warning"),
                              (SERVICE_NAME, "no-plan", "info")]
    assert answer["cards"][1]["summary"] == "No supported health plan found: coverage not checked"
