"""Clinician review of the words a card and the coverage information show: one test per finding, each failing
before its fix."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from cds_service.questionnaire import ANSWER_WORDS

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
URL = "/cds-services/blinatumomab-coverage"


def example(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return body


def decision_card(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(URL, json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.get_json()
    return next(c for c in answer["cards"] if "coverage-decision" in c.get("extension", {}))


# An attested answer in words: the codes are what an EHR sends, not what a clinician reads.

def test_an_attested_combination_is_shown_in_words(client: FlaskClient) -> None:
    detail = decision_card(client, example("aspirus-infant-interfant"))["detail"]
    assert "how blinatumomab is used in this order: with an Interfant chemotherapy protocol (answered" in detail
    assert "with-interfant" not in detail


def test_an_attested_end_of_consolidation_response_is_shown_in_words(client: FlaskClient) -> None:
    detail = decision_card(client, example("aspirus-pediatric-less-than-cr-ph-positive"))["detail"]
    assert "response at the end of the consolidation before this course: less than complete response" in detail
    assert "less-than-complete" not in detail


def test_every_answer_code_has_its_own_words() -> None:
    for link_id, words in ANSWER_WORDS.items():
        for code, said in words.items():
            assert said and ("-" not in code or said != code), (link_id, code)


def test_the_multi_agent_chemotherapy_answer_reads_without_a_double_negative(client: FlaskClient) -> None:
    detail = decision_card(client, example("aspirus-adult-consolidation-mrd-negative-ph-positive-tki"))["detail"]
    assert "candidate for multi-agent chemotherapy now: no (answered 2026-11-25)" in detail
    assert "no = not a candidate" not in detail


def test_a_prior_approval_in_the_audit_trail_leads_with_its_date_and_period() -> None:
    """Florida Blue continuation relied on this service's earlier approval: the note said only ids ("(hookInstance
    0456..., coverage assertion 94a7...)"). The date and the period come first; the ids, which `cds-service audit`
    finds, after them."""
    from cds_service.evaluation import EvaluationContext, PriorApproval
    from cds_service.facts.model import read_within
    from cds_service.policies import load_policy
    from cds_service.prior_approval import PriorApprovals
    from cds_service.validation import hook_request

    request = hook_request(example("florida-blue-continuation"), "blinatumomab-coverage")
    earlier = PriorApproval("MedicationRequest/first", datetime(2026, 5, 28, 15, tzinfo=timezone.utc), "0456a3fe",
                            "94a71c07", "2026-06-01", "2026-11-30", "initial")
    ctx = EvaluationContext(date(2026, 12, 1), "http://127.0.0.1", lambda *args: (earlier,), timezone.utc)
    found = PriorApprovals(ctx, request, [], date(2026, 12, 1)).for_policy(
        load_policy("florida-blue"))
    fact = read_within(found, {"look_back_years": 2})
    assert (fact.value, fact.evidence) == (True, ("MedicationRequest/first",))
    assert fact.note == ("initiation approved on 2026-05-28 for 2026-06-01 to 2026-11-30 (this service's records: "
                         "hookInstance 0456a3fe, coverage assertion 94a71c07)")


def test_a_baby_under_a_month_is_given_its_age_in_days_and_the_day_it_is_a_month_old(client: FlaskClient) -> None:
    """"requires age from 1 month ...; chart: born 2026-11-02" left the reader to work out the age and when it is
    enough. The month as the age criterion counts it (codes.completed_months): born Oct 31, a month old on Nov 30."""
    from cds_service.facts.extract import read_birth

    patient = {"resourceType": "Patient", "id": "p", "birthDate": "2026-10-31"}
    under_a_month = read_birth(patient, date(2026, 11, 29)).months.note
    assert under_a_month == "born 2026-10-31 (29 days old; 1 month old on 2026-11-30)"
    assert read_birth(patient, date(2026, 11, 1)).years.note == "born 2026-10-31 (1 day old; 1 month old on 2026-11-30)"
    assert read_birth(patient, date(2026, 11, 30)).months.note == "born 2026-10-31"  # a month old: no more said

    body = example("aspirus-infant-interfant")
    body["prefetch"]["patient"]["birthDate"] = "2026-11-02"  # the order starts 2026-12-01
    card = decision_card(client, body)
    assert card["summary"] == ("Aspirus Health Plan: not covered — requires age 1 month through 30 years; chart: "
                               "born 2026-11-02 (29 days old; 1 month old on 2026-12-02)")
    assert "Patient/example-patient; born 2026-11-02 (29 days old; 1 month old on 2026-12-02)" in card["detail"]


def test_a_florida_blue_renewal_does_not_name_the_cycle_the_record_counts(client: FlaskClient) -> None:
    """"Request: renewal; cycle 1" read as a contradiction: the cycle is the order's within the course the record
    shows, and a continuation's earlier cycles need not be on record. Florida Blue counts no cycles (its authorization
    is a period from the order's start), so its card does not name one; the extension keeps `cycle`. Aspirus, which
    authorizes in cycles, still names it."""
    card = decision_card(client, example("florida-blue-continuation"))
    assert "Request: renewal." in card["detail"] and "cycle 1" not in card["detail"]
    assert card["extension"]["coverage-decision"]["cycle"] == 1
    aspirus = decision_card(client, example("aspirus-relapsed-refractory-cycle6-renewal"))
    assert "Request: renewal; cycle 6." in aspirus["detail"]


def test_a_live_vaccine_denial_says_from_when_a_start_would_be_clear_of_it(client: FlaskClient) -> None:
    """The note gives the next step as information; the summary names the vaccine, its date and that next step (the
    window it was judged in is the detail's)."""
    card = decision_card(client, example("aspirus-live-vaccine-critical"))
    assert ("MMR dated 2026-11-24; window between 2026-11-17 and 2026-12-29; a start on or after 2026-12-09 would be "
            "more than 14 days after it") in card["detail"]
    assert card["summary"] == ("Aspirus Health Plan: not covered — live vaccine too close to treatment (MMR dated "
                               "2026-11-24; start on or after 2026-12-09)")
