"""Florida Blue 09-J2000-26 over HTTP, what test_florida_blue_http.py leaves out: each indication met with its
authorization period on the card and in the CRD coverage information alike (Position, approval durations: 6 months
for initiation, 1 year for continuation), and the criteria whose unknown it does not reach."""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_florida_blue_http import (COMPENDIA, CONSOLIDATION, CONTINUATION, INDUCTION, MRD, PH_POSITIVE, RR, Edit,
                                          attest, diagnosis, dose, drop)
from tests.test_pipeline import example, post

SIX_MONTHS = {"start": "2026-12-01", "end": "2027-06-01", "cycles": None}
ONE_YEAR = {"start": "2026-12-01", "end": "2027-12-01", "cycles": None}
PHASE, LINEAGE = "therapy phase of this course", "lineage of the ALL (immunophenotype)"


def _answer(client: LiveClient, name: str, edits: list[Edit]) -> tuple[dict[str, Any], dict[str, str]]:
    """The decision extension and the coverage-information codes and dates of the example's one order."""
    body = example(name)
    for edit in edits:
        edit(body)
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if "coverage-decision" in c["extension"]]
    [action] = answer["systemActions"]
    [info] = [e for e in action["resource"]["extension"] if e["url"].endswith("ext-coverage-information")]
    codes = {s["url"]: s.get("valueCode") or s.get("valueDate") for s in info["extension"]}
    return card["extension"]["coverage-decision"], codes


def _status(decision: dict[str, Any], result_id: str) -> str:
    return str(next(c["status"] for c in decision["criteria"] if c["id"] == result_id))


@pytest.mark.parametrize(("name", "indication", "kind", "period"), [
    (MRD, "fb-mrd-positive", "initial", SIX_MONTHS),
    (RR, "fb-relapsed-refractory-ph-negative", "initial", SIX_MONTHS),
    (PH_POSITIVE, "fb-relapsed-refractory-ph-positive", "initial", SIX_MONTHS),
    (INDUCTION, "fb-induction-ph-positive-tki", "initial", SIX_MONTHS),
    (CONSOLIDATION, "fb-consolidation-maintenance", "initial", SIX_MONTHS),
    (COMPENDIA, "fb-other-compendia", "initial", SIX_MONTHS),
    (CONTINUATION, "fb-continuation", "renewal", ONE_YEAR),
])
def test_each_indication_met_carries_its_period_to_the_card_and_the_coverage_information(
        client: LiveClient, name: str, indication: str, kind: str, period: dict[str, Any]) -> None:
    decision, codes = _answer(client, name, [])
    assert (decision["decision"], decision["indication"], decision["request"]) == ("meets-criteria", indication, kind)
    assert decision["authorization"] == period
    assert all(c["status"] == "met" for c in decision["criteria"])
    assert (codes["covered"], codes["pa-needed"], codes["expiry-date"]) == ("covered", "satisfied", period["end"])


def test_consolidation_or_maintenance_unknown_asks_for_the_phase(client: LiveClient) -> None:
    """In remission, no phase documented, no MRD: neither consolidation/maintenance nor MRD can be read."""
    decision, codes = _answer(client, CONSOLIDATION, [drop("attestation-1")])
    assert decision["decision"] == "information-needed" and PHASE in decision["missing"]
    assert (codes["covered"], codes["info-needed"]) == ("conditional", "OTH") and "expiry-date" not in codes


def test_consolidation_or_maintenance_met_on_an_attested_consolidation(client: LiveClient) -> None:
    decision, _ = _answer(client, CONSOLIDATION, [attest(therapy_phase="consolidation")])
    assert _status(decision, "fb-consolidation-maintenance.consolidation-or-maintenance") == "met"


def test_an_all_of_unknown_lineage_is_asked_for_its_lineage_once(client: LiveClient) -> None:
    """Indication 1's B-lineage and indication 2's "not B-ALL" read one record: the card asked for it twice, in two
    wordings."""
    decision, _ = _answer(client, COMPENDIA, [diagnosis("Acute lymphoblastic leukemia", "C91.02", "relapse"),
                                              drop("cd19-1")])
    assert decision["decision"] == "information-needed"
    assert [m for m in decision["missing"] if "lineage" in m] == [LINEAGE]


def test_ph_positive_unknown_for_induction(client: LiveClient) -> None:
    decision, _ = _answer(client, INDUCTION, [drop("bcr-abl-1")])
    assert decision["decision"] == "information-needed"
    assert _status(decision, "fb-induction-ph-positive-tki.ph-positive") == "unknown"
    assert _status(decision, "fb-induction-ph-positive-tki.with-tki") == "met"


def test_continuation_dose_unknown_asks_for_the_body_size_not_a_denial(client: LiveClient) -> None:
    decision, codes = _answer(client, CONTINUATION, [dose(15, "ug/m2/d"), drop("weight-1")])
    assert (decision["decision"], decision["indication"], decision["request"]) == (
        "information-needed", "fb-continuation", "renewal")
    assert _status(decision, "fb-continuation.dose-at-most-28") == "unknown"
    assert codes["covered"] == "conditional"


def test_continuation_answered_no_is_judged_on_initiation(client: LiveClient) -> None:
    """Continuation 1 answered no for a first cycle: initiation applies alone (remission, nothing documented)."""
    decision, _ = _answer(client, CONTINUATION, [attest(prior_authorization_on_file=False)])
    assert decision["decision"] == "information-needed" and decision["request"] == "initial"
    assert all(not c["id"].startswith("fb-continuation") for c in decision["criteria"])
