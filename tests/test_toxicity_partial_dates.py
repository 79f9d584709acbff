"""A toxicity dated only to a month or a year is judged by a "no unacceptable toxicity" answer only when every day
its date may stand for is on or before the answer's day (facts/toxicity.py `_judged`): "2026-11" beside an answer of
2026-11-15 may be a later event, never judged, so the renewal's criterion stays unknown, naming the event with its
date as recorded. Through the endpoint: the Aspirus cycle 6 renewal (course from 2026-01-05, answer of 2026-11-25),
with a grade 3 CRS to judge."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.facts.attestations import Attestations
from cds_service.facts.toxicity import unacceptable_toxicity
from tests.factories import condition, questionnaire_response, record
from tests.test_facts_review import Request, add, criterion, decisions, example
from tests.test_facts_unreadable import _broken

CRITERION = "no-unacceptable-toxicity"
ANSWERED = "2026-11-25"


def _renewal(recorded: str | None, answer: Any = False, code: str = "D89.833", authored: str = ANSWERED,
             broken: bool = False) -> Request:
    """The renewal example with an `answer` to unacceptable-toxicity authored `authored` (None: not answered) and a
    CRS `code` dated `recorded` (None: no CRS); `broken`: its clinical status malformed (the shape filter leaves it
    out, unreadable.py)."""
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    response = request["prefetch"]["attestations"]["entry"][0]["resource"]
    response["authored"] = authored
    if answer is not None:
        response["item"].append({"linkId": "unacceptable-toxicity", "answer": [{"valueBoolean": answer}]})
    if recorded is not None:
        crs = condition(code, recorded=recorded, id="crs-1", text="Cytokine release syndrome, grade 3",
                        subject={"reference": "Patient/example-patient"})
        add(request, "conditions", _broken(crs, "clinicalStatus", value="active") if broken else crs)
    return request


def _decided(client: FlaskClient, request: Request) -> tuple[str, str, dict[str, Any]]:
    [decision] = decisions(client, request)
    return decision["decision"], criterion(decision, CRITERION), decision


@pytest.mark.parametrize(("recorded", "status"), [
    ("2026-10", "met"),  # the previous month: every day of it is before the answer
    ("2026-11", "unknown"),  # the answer's month: it may be after the 25th
    ("2026-12", "unknown"),  # the next month
    ("2026", "unknown"),  # the answer's year
    ("2025", "met"),  # a year before the course: not of this course at all
    ("2026-11-25", "met"),  # the answer's day: judged
    ("2026-11-26", "unknown"),  # the day after
    ("2026-11-25T23:00:00Z", "met"),  # a time on the answer's day: judged, as the day is
], ids=["previous-month", "same-month", "next-month", "same-year", "previous-year", "same-day", "next-day",
        "same-day-time"])
def test_a_no_judges_only_events_every_day_of_whose_date_is_by_its_day(client: FlaskClient, recorded: str,
                                                                        status: str) -> None:
    decision, found, _ = _decided(client, _renewal(recorded))
    assert (decision, found) == ({"met": "meets-criteria", "unknown": "information-needed"}[status], status)


def test_the_event_is_named_with_its_date_as_recorded(client: FlaskClient) -> None:
    _, _, decision = _decided(client, _renewal("2026-11"))
    assert decision["missing"] == ["whether the toxicity recorded was unacceptable"]
    response = client.post("/cds-services/blinatumomab-coverage", json=_renewal("2026-11"))
    detail = response.get_json()["cards"][0]["detail"]
    assert ("dated only to a month or year that may fall after the answer of 2026-11-25 (no unacceptable "
            "toxicity): Cytokine release syndrome, grade 3 (2026-11)") in detail
    assert "2026-11-01" not in detail  # never a day the clinician did not write
    _, _, year = _decided(client, _renewal("2026"))
    assert year["decision"] == "information-needed"


@pytest.mark.parametrize(("recorded", "status"), [("2026-11", "not-met"), ("2026-10", "not-met")])
def test_a_yes_stands_and_a_grade_4_dated_to_a_month_of_the_course_is_not_met(client: FlaskClient, recorded: str,
                                                                              status: str) -> None:
    assert _decided(client, _renewal(recorded, answer=True))[:2] == ("criteria-not-met", status)
    assert _decided(client, _renewal(recorded, code="D89.834"))[:2] == ("criteria-not-met", status)


def test_an_answer_on_the_last_day_of_the_month_judges_the_month(client: FlaskClient) -> None:
    assert _decided(client, _renewal("2026-11", authored="2026-11-30"))[:2] == ("meets-criteria", "met")
    assert _decided(client, _renewal("2026-11", authored="2026-11-29"))[:2] == ("information-needed", "unknown")


def test_without_an_answer_a_partial_dated_event_is_asked_about(client: FlaskClient) -> None:
    assert _decided(client, _renewal("2026-10", answer=None))[:2] == ("information-needed", "unknown")


@pytest.mark.parametrize(("recorded", "status"), [("2026-10", "met"), ("2026-11", "unknown"), ("2026", "unknown")])
def test_an_unreadable_event_dated_to_a_month_is_judged_as_a_readable_one(client: FlaskClient, recorded: str,
                                                                          status: str) -> None:
    """A Condition the shape filter left out (toxicity.unreadable_relevance): its partial date may fall after the
    answer as well."""
    assert _decided(client, _renewal(recorded, broken=True))[1] == status


def test_the_note_splits_later_events_from_those_that_may_be_later() -> None:
    later = condition("G92.03", recorded="2026-03-20", text="ICANS, grade 3")
    month = condition("K85.90", recorded="2026-03", text="Acute pancreatitis")
    before = condition("D70.1", recorded="2026-02", text="Neutropenia")
    answer = questionnaire_response({"unacceptable-toxicity": False}, authored="2026-03-15")
    rec = record(later, month, before, answer)
    fact = unacceptable_toxicity(rec, date(2026, 1, 1), Attestations.from_record(rec))
    assert fact.value is None
    assert fact.evidence == (f"Condition/{later['id']}", f"Condition/{month['id']}",
                             f"QuestionnaireResponse/{answer['id']}")
    assert fact.note == ("recorded after the answer of 2026-03-15 (no unacceptable toxicity): ICANS, grade 3 "
                         "(2026-03-20); dated only to a month or year that may fall after the answer of 2026-03-15 "
                         "(no unacceptable toxicity): Acute pancreatitis (2026-03)")
