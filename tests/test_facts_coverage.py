"""Payer routing (fhir-data-profile.md §Coverage and payer)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest

from cds_service.facts.coverage import (NoPlan, OutOfForce, PayerMatch, Primary, Standing, no_plan, select_payer,
                                       standing)
from cds_service.valuesets import ENV_DIR, get_valuesets
from tests.factories import coverage, medication_request, organization, record

START = date(2026, 3, 1)
ORDER = medication_request(start=START)


@pytest.mark.parametrize(("display", "policy"), [
    ("Aspirus Health Plan", "aspirus-magellan"),
    ("ASPIRUS HEALTH PLAN, INC.", "aspirus-magellan"),
    ("Florida Blue", "florida-blue"),
    ("Blue Cross and Blue Shield of Florida", "florida-blue"),
])
def test_payer_from_payor_display(display: str, policy: str) -> None:
    cov = coverage(display, id="c1")
    match = select_payer(record(cov), ORDER, START)
    assert match is not None and match.policy_id == policy
    assert match.coverage_reference == "Coverage/c1"


def test_unrecognized_or_inactive_or_out_of_period_coverage_is_no_payer() -> None:
    assert select_payer(record(coverage("Acme Health")), ORDER, START) is None
    assert select_payer(record(coverage("Florida Blue", status="cancelled")), ORDER, START) is None
    assert select_payer(record(coverage("Florida Blue", end="2026-02-28")), ORDER, START) is None
    assert select_payer(record(coverage("Florida Blue", start="2026-03-02")), ORDER, START) is None
    assert select_payer(record(coverage("Florida Blue", start="2026-01-01", end="2026-03-01")), ORDER, START)
    assert select_payer(record(not_received=("coverage",)), ORDER, START) is None


def test_payer_from_referenced_or_contained_organization() -> None:
    referenced = coverage(None, payor_reference="Organization/org1")
    match = select_payer(record(referenced, organization("Florida Blue", id="org1")), ORDER, START)
    assert match is not None and match.policy_id == "florida-blue"
    contained = coverage(None, payor_reference="#o", contained=[organization("Aspirus Health Plan", id="o")])
    match = select_payer(record(contained), ORDER, START)
    assert match is not None and match.policy_id == "aspirus-magellan"
    unresolvable = coverage(None, payor_reference="Organization/missing")
    assert select_payer(record(unresolvable), ORDER, START) is None


@pytest.fixture
def operator_payers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    extension = {"name": "payers", "codes": [
        {"system": "http://example.org/payer-id", "code": "FLB-001", "policy": "florida-blue"}]}
    (tmp_path / "payers.json").write_text(json.dumps(extension))
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    get_valuesets.cache_clear()  # read again with the operator file
    yield
    monkeypatch.delenv(ENV_DIR)
    get_valuesets.cache_clear()


def test_payer_from_operator_identifier(operator_payers: None) -> None:
    org = organization(None, id="org1", identifier=("https://example.org/payer-id", "FLB-001"))
    match = select_payer(record(coverage(None, payor_reference="Organization/org1"), org), ORDER, START)
    assert match is not None and match.policy_id == "florida-blue"


def test_payer_memo_keyed_by_name_and_identifiers(operator_payers: None) -> None:
    """The payer lookup is memoized across requests: a name seen before, now with other identifiers, is looked up
    again."""
    plain = organization("Acme Health", id="org1")
    identified = organization("Acme Health", id="org1", identifier=("https://example.org/payer-id", "FLB-001"))
    for org, policy in [(plain, None), (identified, "florida-blue"), (plain, None), (identified, "florida-blue")]:
        match = select_payer(record(coverage(None, payor_reference="Organization/org1"), org), ORDER, START)
        assert (match.policy_id if match else None) == policy


def test_several_coverages_choose_insurance_reference_then_lowest_order_then_first() -> None:
    secondary = coverage("Aspirus Health Plan", id="a", order=2)
    primary = coverage("Florida Blue", id="f", order=1)
    unknown = coverage("Acme Health", id="x", order=0)
    rec = record(secondary, primary, unknown)
    assert select_payer(rec, ORDER, START).policy_id == "florida-blue"  # type: ignore[union-attr]
    insured = medication_request(start=START, insurance=[{"reference": "https://ehr.example/fhir/Coverage/a"}])
    assert select_payer(rec, insured, START).policy_id == "aspirus-magellan"  # type: ignore[union-attr]
    unordered = record(coverage("Aspirus Health Plan", id="a"), coverage("Florida Blue", id="f"))
    assert select_payer(unordered, ORDER, START).coverage_reference == "Coverage/a"  # type: ignore[union-attr]


def test_an_unreadable_primary_coverage_leaves_the_payer_undetermined() -> None:
    """A malformed Coverage (a wrong JSON type where the payer routing reads) may be the primary one: the secondary
    plan's policy must not decide in its place (fhir-data-profile.md §Coverage and payer; shape.py)."""
    primary = coverage("Aspirus Health Plan", id="a", order="1")  # text, not a whole number: its rank is unknown
    secondary = coverage("Florida Blue", id="f", order=2)
    rec = record(primary, secondary)
    assert select_payer(rec, ORDER, START) is None
    why = no_plan(rec, ORDER, START)
    assert (why.reason, why.coverage) == ("coverage-unreadable", "Coverage/a")
    assert why.unreadable is not None and why.unreadable.problem == "order is text, not a whole number"


def test_the_only_coverage_unreadable_is_no_unsupported_plan() -> None:
    rec = record(coverage("Florida Blue", id="f", period={"start": 20260101}))
    assert select_payer(rec, ORDER, START) is None
    assert no_plan(rec, ORDER, START)[:2] == ("coverage-unreadable", "Coverage/f")


def test_an_unreadable_coverage_that_cannot_be_the_one_chosen_does_not_stand_in_the_way() -> None:
    """What can be read of it still counts (unreadable.py): a status or period that puts it out of force, a rank
    behind the primary, or an order that names another Coverage."""
    primary = coverage("Florida Blue", id="f", order=1)
    for other in (coverage("Aspirus Health Plan", id="a", status="cancelled", payor="Aspirus"),
                  coverage("Aspirus Health Plan", id="a", period={"end": "2026-02-28", "start": 5}),
                  coverage("Aspirus Health Plan", id="a", order=2, period={"start": 5})):
        assert select_payer(record(other, primary), ORDER, START) == PayerMatch("florida-blue", "Coverage/f")
    insured = medication_request(start=START, insurance=[{"reference": "Coverage/f"}])
    unranked = coverage("Aspirus Health Plan", id="a", order="1")
    assert select_payer(record(unranked, primary), insured, START) == PayerMatch("florida-blue", "Coverage/f")
    assert select_payer(record(unranked, primary), ORDER, START) is None


def test_a_primary_coverage_whose_payer_was_not_received_leaves_the_payer_undetermined() -> None:
    """The same for a primary Coverage naming its payer only by an Organization that could not be read."""
    primary = coverage(None, id="p", order=1, payor_reference="Organization/missing")
    rec = record(primary, coverage("Florida Blue", id="f", order=2))
    assert select_payer(rec, ORDER, START) is None
    assert no_plan(rec, ORDER, START) == NoPlan("payer-not-received", "Coverage/p")


def test_a_supported_plan_out_of_force_at_the_start_is_named_not_taken_for_no_plan() -> None:
    """Ended before the order's start, or starting after it: the card says so, not "no supported plan" (the audit
    reason stays no-coverage-in-force, with the Coverage)."""
    ended = coverage("Florida Blue", id="f", start="2025-03-01", end="2026-02-28")
    assert no_plan(record(ended), ORDER, START) == NoPlan(
        "no-coverage-in-force", "Coverage/f",
        out_of_force=OutOfForce(PayerMatch("florida-blue", "Coverage/f"), date(2025, 3, 1), date(2026, 2, 28)))
    later = coverage("Aspirus Health Plan", id="a", start="2026-04-01")
    assert no_plan(record(later), ORDER, START).out_of_force == OutOfForce(
        PayerMatch("aspirus-magellan", "Coverage/a"), date(2026, 4, 1), None)
    insured = medication_request(start=START, insurance=[{"reference": "Coverage/a"}])
    assert no_plan(record(ended, later), insured, START).coverage == "Coverage/a"  # the rules of select_payer


def test_only_an_active_coverage_of_a_supported_plan_is_named_out_of_force() -> None:
    for other in (coverage("Acme Health", end="2026-02-28"), coverage("Florida Blue", status="cancelled"),
                  coverage("Florida Blue", status="cancelled", end="2026-02-28")):
        assert no_plan(record(other), ORDER, START) == NoPlan("no-coverage-in-force")
    in_force = coverage("Acme Health", id="x")  # another payer's Coverage in force: still named
    assert no_plan(record(in_force, coverage("Florida Blue", status="cancelled")), ORDER, START) == NoPlan(
        "payer-not-supported", in_force="Coverage/x", in_force_payer="Acme Health")


def test_a_supported_plan_out_of_force_is_named_beside_another_plan_in_force() -> None:
    """The clinical review: a lapsed Florida Blue Coverage was named only when no Coverage was in force; beside an
    unsupported plan's Coverage in force the card said only "no supported plan". The reason stays
    payer-not-supported (one is in force); the lapsed Coverage is named, and the one in force too."""
    acme = coverage("Acme Health", id="x", start="2026-03-01")
    ended = coverage("Florida Blue", id="f", start="2025-03-01", end="2026-02-28")
    lapsed = OutOfForce(PayerMatch("florida-blue", "Coverage/f"), date(2025, 3, 1), date(2026, 2, 28))
    assert no_plan(record(acme, ended), ORDER, START) == NoPlan(
        "payer-not-supported", "Coverage/f", out_of_force=lapsed, in_force="Coverage/x", in_force_payer="Acme Health")
    later = coverage("Aspirus Health Plan", id="a", start="2026-04-01")
    why = no_plan(record(acme, later), ORDER, START)
    assert (why.coverage, why.in_force) == ("Coverage/a", "Coverage/x") and why.out_of_force is not None
    # The Coverage in force named is the one the rules would choose among them: the lowest order.
    first, primary = coverage("Acme Health", id="x", order=2), coverage("Other Health", id="y", order=1)
    assert no_plan(record(first, primary, ended), ORDER, START).in_force == "Coverage/y"
    # A supported plan's Coverage in force on the start day (its last day) is chosen: no no-plan card at all.
    assert select_payer(record(acme, coverage("Florida Blue", end="2026-03-01")), ORDER, START) is not None


def test_the_standing_of_the_coverage_chosen_gives_its_period() -> None:
    """The decision card reads the period of the Coverage the payer rules chose (a partial end is its last day)."""
    chosen = coverage("Florida Blue", id="f", start="2026-01-01", end="2026-03")
    other = coverage("Florida Blue", id="g", end="2026-02-28")  # out of force: not the one chosen
    match = select_payer(record(other, chosen), ORDER, START)
    assert match is not None
    assert standing(record(other, chosen), match, START) == Standing("Coverage/f", date(2026, 1, 1),
                                                                     date(2026, 3, 31))
    open_ended = coverage("Florida Blue", id="f")
    assert standing(record(open_ended), PayerMatch("florida-blue", "Coverage/f"), START) == Standing(
        "Coverage/f", None, None)


def test_the_standing_says_whether_the_coverage_chosen_is_secondary() -> None:
    """Coverage.order ranks the Coverages in force: the one chosen is secondary when ranked after the first, or after
    another in force (named, with its plan when supported); unranked, only after one ranked first."""
    def rank(chosen: dict[str, object], *others: dict[str, object]) -> tuple[int | None, bool, object]:
        rec = record(*others, chosen)
        found = standing(rec, PayerMatch("florida-blue", str(chosen["resourceType"]) + "/f"), START)
        return found.order, found.secondary, found.primary

    acme = coverage("Acme Health", id="x", order=1)
    acme_first = Primary("Coverage/x", 1, None, "Acme Health")  # its payer named, though no plan this service checks
    assert rank(coverage("Florida Blue", id="f", order=2), acme) == (2, True, acme_first)
    assert rank(coverage("Florida Blue", id="f", order=2)) == (2, True, None)
    assert rank(coverage("Florida Blue", id="f"), acme) == (None, True, acme_first)
    aspirus = coverage("Aspirus Health Plan", id="a", order=1)
    assert rank(coverage("Florida Blue", id="f", order=3), coverage("Acme Health", order=2), aspirus) == (
        3, True, Primary("Coverage/a", 1, "aspirus-magellan", "Aspirus Health Plan"))
    for chosen, others in ((coverage("Florida Blue", id="f"), ()),
                           (coverage("Florida Blue", id="f", order=1), (acme,)),  # tied: not after it
                           (coverage("Florida Blue", id="f"), (coverage("Acme Health", order=2),)),
                           (coverage("Florida Blue", id="f", order=1), (coverage("Acme Health", end="2026-02-28",
                                                                                 order=0),))):  # out of force
        assert rank(chosen, *others)[1:] == (False, None)


def test_an_insurance_reference_to_a_version_of_the_coverage_chooses_it() -> None:
    """facts/coverage._points_to: a versioned reference (`_history`) points to the Coverage, relative or absolute."""
    rec = record(coverage("Aspirus Health Plan", id="a", order=2), coverage("Florida Blue", id="f", order=1))
    for reference in ("Coverage/a/_history/3", "https://ehr.example/fhir/Coverage/a/_history/3"):
        insured = medication_request(start=START, insurance=[{"reference": reference}])
        match = select_payer(rec, insured, START)
        assert match is not None
        assert (match.policy_id, match.coverage_reference) == ("aspirus-magellan", "Coverage/a")


def test_coverage_not_received_is_said_as_such() -> None:
    assert no_plan(record(not_received=("coverage",)), ORDER, START) == NoPlan("coverage-not-received")
