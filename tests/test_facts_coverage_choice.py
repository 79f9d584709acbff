"""Payer routing at its edges (fhir-data-profile.md §Coverage and payer): which Coverage the rules choose when one
cannot be read, has no rank or names its payer oddly, and why no plan was chosen. Each case was a mutant of
facts/coverage.py that the other tests let live."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pytest

from cds_service.facts.coverage import NoPlan, OutOfForce, PayerMatch, Standing, no_plan, select_payer, standing
from tests.factories import coverage, medication_request, organization, record
from tests.operator_valuesets import operator_codes

START = date(2026, 3, 1)
ORDER = medication_request(start=START)
PAYER_ID = "https://example.org/payer-id"


def _why(*resources: dict[str, Any], order: dict[str, Any] = ORDER) -> NoPlan:
    rec = record(*resources)
    assert select_payer(rec, order, START) is None
    return no_plan(rec, order, START)


@pytest.mark.parametrize("unreadable", [
    coverage("Florida Blue", id="f", status="cancelled", payor="Florida Blue"),
    coverage("Florida Blue", id="f", end="2026-02-28", payor="Florida Blue"),
])
def test_an_unreadable_coverage_its_status_or_period_puts_out_of_force_is_no_coverage_in_force(
        unreadable: dict[str, Any]) -> None:
    assert _why(unreadable).reason == "no-coverage-in-force"


def test_an_unreadable_coverage_whose_status_cannot_be_read_may_be_in_force() -> None:
    why = _why(coverage("Florida Blue", id="f", status=3))
    assert (why.reason, why.coverage) == ("coverage-unreadable", "Coverage/f")
    assert why.unreadable is not None
    assert why.unreadable.note.startswith("Coverage/f (a Coverage that may be in force) could not be read: status")


def test_an_unreadable_coverage_without_an_id_may_be_the_one_the_order_names() -> None:
    """Its id cannot be read, so any insurance reference may point to it: the named plan cannot be taken as sure."""
    nameless = coverage("Aspirus Health Plan", order=1, payor="Aspirus")
    del nameless["id"]
    insured = medication_request(start=START, insurance=[{"reference": "Coverage/f"}])
    why = _why(nameless, coverage("Florida Blue", id="f", order=2), order=insured)
    assert (why.reason, why.coverage) == ("coverage-unreadable", "Coverage")


def test_an_unreadable_coverage_ranked_true_rather_than_a_number_may_be_the_primary() -> None:
    ranked_true = coverage("Aspirus Health Plan", id="a", order=True)
    why = _why(coverage("Florida Blue", id="f", order=1), ranked_true)
    assert (why.reason, why.coverage) == ("coverage-unreadable", "Coverage/a")


def test_of_two_unreadable_unranked_coverages_the_first_is_named() -> None:
    first, second = (coverage("Florida Blue", id=i, order="1") for i in ("f", "g"))
    assert _why(first, second).coverage == "Coverage/f"


def test_a_ranked_coverage_is_chosen_before_an_unranked_one_received_first() -> None:
    rec = record(coverage("Aspirus Health Plan", id="a"), coverage("Florida Blue", id="f", order=1))
    assert select_payer(rec, ORDER, START) == PayerMatch("florida-blue", "Coverage/f")


def test_a_coverage_naming_no_payor_is_of_an_unsupported_plan() -> None:
    no_payor = coverage(None, id="x")
    del no_payor["payor"]
    assert _why(no_payor) == NoPlan("payer-not-supported", in_force="Coverage/x")


def test_a_payer_organization_read_that_names_no_plan_is_not_supported_not_unreceived() -> None:
    acme = coverage(None, id="x", payor_reference="Organization/o")
    # The Organization's name is the payer the no-plan card names.
    assert _why(acme, organization("Acme Health", id="o")) == NoPlan("payer-not-supported", in_force="Coverage/x",
                                                                      in_force_payer="Acme Health")
    contained = coverage(None, id="x", payor_reference="#o", contained=[organization("Acme Health", id="o")])
    assert _why(contained) == NoPlan("payer-not-supported", in_force="Coverage/x", in_force_payer="Acme Health")


def test_of_two_supported_plans_out_of_force_the_lower_ranked_one_is_named() -> None:
    second = coverage("Aspirus Health Plan", id="a", end="2026-02-28", order=2)
    first = coverage("Florida Blue", id="f", end="2026-02-28", order=1)
    assert _why(second, first).out_of_force == OutOfForce(PayerMatch("florida-blue", "Coverage/f"), None,
                                                          date(2026, 2, 28))


def test_the_standing_of_a_coverage_not_in_force_names_it_without_a_period() -> None:
    """select_payer chose it at the same start, so the pipeline never asks this; asked, nothing is made up."""
    ended = record(coverage("Florida Blue", id="f", start="2025-01-01", end="2026-02-28", order=2))
    assert standing(ended, PayerMatch("florida-blue", "Coverage/f"), START) == Standing("Coverage/f", None, None)


@pytest.fixture
def payer_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from operator_codes(tmp_path, monkeypatch, "payers",
                              [{"system": PAYER_ID, "code": "FLB-001", "policy": "florida-blue"}])


def test_a_payor_identifier_names_the_plan(payer_ids: None) -> None:
    by_identifier = coverage(None, id="f", payor=[{"identifier": {"system": PAYER_ID, "value": "FLB-001"}}])
    assert select_payer(record(by_identifier), ORDER, START) == PayerMatch("florida-blue", "Coverage/f")


@pytest.mark.parametrize(("system", "value"), [("https://example.org/other-id", "FLB-001"), (PAYER_ID, "FLB-002")])
def test_an_identifier_of_another_system_or_value_is_looked_up_apart(payer_ids: None, system: str,
                                                                     value: str) -> None:
    """The payer memo is keyed by each identifier's system and value: one seen before must not answer for it."""
    def payer(identifier: tuple[str, str]) -> str | None:
        org = organization("Acme Health", id="o", identifier=identifier)
        match = select_payer(record(coverage(None, payor_reference="Organization/o"), org), ORDER, START)
        return match.policy_id if match else None

    assert (payer((PAYER_ID, "FLB-001")), payer((system, value))) == ("florida-blue", None)
