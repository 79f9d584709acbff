"""A recorded MedicationRequest whose drug cannot be read because its element is malformed (medicationCodeableConcept
null, of a wrong type) may be any drug, as one naming no drug is (facts/medications.py): found by
tools/deletion_sweep.py, where a prior cycle's order with a null drug was passed over, cycle 10 counted as 9 and the
order approved as a renewal (Aspirus IV: more than 9 cycles is not met)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.facts.extract import extract_facts
from tests.factories import medication_request, record
from tests.live_server import LiveClient
from tests.test_pipeline import example, post

CYCLE_10 = "aspirus-relapsed-refractory-cycle10-exceeds-limit"


def decision(client: LiveClient, request: dict[str, Any]) -> dict[str, Any]:
    card = next(c for c in post(client, request)["cards"] if "coverage-decision" in c.get("extension", {}))
    found: dict[str, Any] = card["extension"]["coverage-decision"]
    return found


def with_drug(value: Any) -> dict[str, Any]:
    """The cycle 10 request with its first prior cycle's medicationCodeableConcept set to `value`."""
    request = example(CYCLE_10)
    order = request["prefetch"]["medicationRequests"]["entry"][0]["resource"]
    assert order["id"] == "prior-cycle-1"
    order["medicationCodeableConcept"] = value
    return request


def test_cycle_10_as_sent_is_not_met(client: LiveClient) -> None:
    found = decision(client, example(CYCLE_10))
    assert found["decision"] == "criteria-not-met"
    assert next(c for c in found["criteria"] if c["id"].endswith("at-most-9-cycles"))["status"] == "not-met"


@pytest.mark.parametrize("value", [None, 12345, "blinatumomab", {"coding": 7}])
def test_a_prior_cycle_whose_drug_is_unreadable_leaves_the_cycle_count_unknown(client: LiveClient,
                                                                                value: Any) -> None:
    found = decision(client, with_drug(value))
    assert found["decision"] == "information-needed"
    cycles = next(c for c in found["criteria"] if c["id"].endswith("at-most-9-cycles"))
    assert cycles["status"] == "unknown" and cycles["evidence"][0] == "MedicationRequest/prior-cycle-1"
    assert "an order of a drug not identified" in cycles["note"]


def test_a_tki_order_whose_drug_is_unreadable_leaves_the_combination_unknown() -> None:
    """Active at the start, it may be a TKI (or chemotherapy): the combination is not single agent."""
    tki = medication_request("475342", start="2026-02-01")  # dasatinib, still taken
    tki["medicationCodeableConcept"]["coding"] = 7
    draft = medication_request(start="2026-03-01", end="2026-03-28", status="draft", id="draft")
    facts = extract_facts(record(tki), [draft], date(2026, 3, 1))
    assert facts.combination.value is None and facts.combination.evidence[0] == f"MedicationRequest/{tki['id']}"
    assert facts.cycle.number.value is None

