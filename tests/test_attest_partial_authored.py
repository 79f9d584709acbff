"""A readable answer whose response is authored only to a month or a year ("2026-01") may have been given on any day
of it. Where that period straddles the start of its item's window (an unacceptable toxicity counts from the course
start, 2026-01-05 in the renewal example), the answer may or may not count: its facts are unknown and the card asks
for the answer with its full date (facts/attestations.py `_undatable`). Read as of its first day, a "yes,
unacceptable toxicity" of "2026-01" had been dropped as older than the course, and the renewal approved."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.test_facts_review import Request, add, criterion, decisions, example

RENEWAL = "aspirus-relapsed-refractory-cycle6-renewal"
CRITERION = "no-unacceptable-toxicity"


def _with_toxicity_answer(authored: str, value: bool, id: str = "tox-answer") -> Request:
    """The renewal example (course from 2026-01-05, cycle 6) with a second attestation answering
    unacceptable-toxicity `value`, authored `authored`."""
    request = example(RENEWAL)
    response = copy.deepcopy(request["prefetch"]["attestations"]["entry"][0]["resource"])
    response.update(id=id, authored=authored, item=[{"linkId": "unacceptable-toxicity",
                                                     "answer": [{"valueBoolean": value}]}])
    add(request, "attestations", response)
    return request


def _decision(client: FlaskClient, request: Request) -> dict[str, Any]:
    [decision] = decisions(client, request)
    return decision


@pytest.mark.parametrize("authored", ["2026-01", "2026"])
def test_a_yes_dated_only_to_a_period_straddling_the_course_start_is_asked_again(client: FlaskClient,
                                                                                 authored: str) -> None:
    decision = _decision(client, _with_toxicity_answer(authored, True))
    assert (decision["decision"], criterion(decision, CRITERION)) == ("information-needed", "unknown")
    asked = "the full date of QuestionnaireResponse/tox-answer (unacceptable-toxicity)"
    assert asked in decision["missing"]


def test_a_yes_dated_to_a_month_inside_the_course_counts(client: FlaskClient) -> None:
    decision = _decision(client, _with_toxicity_answer("2026-02", True))
    assert (decision["decision"], criterion(decision, CRITERION)) == ("criteria-not-met", "not-met")


def test_a_yes_dated_to_a_month_before_the_course_does_not_count(client: FlaskClient) -> None:
    before = _decision(client, _with_toxicity_answer("2025-12", True))
    without = _decision(client, example(RENEWAL))
    assert criterion(before, CRITERION) == criterion(without, CRITERION) != "not-met"
    assert not any("full date" in item for item in before.get("missing", []))


def test_a_full_dated_answer_after_the_period_outranks_it(client: FlaskClient) -> None:
    request = _with_toxicity_answer("2026-01", True)
    later = copy.deepcopy(request["prefetch"]["attestations"]["entry"][-1]["resource"])
    later.update(id="tox-later", authored="2026-11-25", item=[{"linkId": "unacceptable-toxicity",
                                                               "answer": [{"valueBoolean": False}]}])
    add(request, "attestations", later)
    decision = _decision(client, request)
    assert criterion(decision, CRITERION) == "met"
    assert not any("full date" in item for item in decision.get("missing", []))


def test_the_note_says_the_answer_cannot_be_placed_in_time_not_that_it_could_not_be_read(client: FlaskClient) -> None:
    response = client.post("/cds-services/blinatumomab-coverage", json=_with_toxicity_answer("2026-01", True))
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    detail = " ".join(card["detail"].split())
    assert ("QuestionnaireResponse/tox-answer (an attestation answering unacceptable-toxicity) cannot be placed in "
            "time: its date 2026-01 may fall before 2026-01-05") in detail
    assert "tox-answer (an attestation answering unacceptable-toxicity) could not be read" not in detail
