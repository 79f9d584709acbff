"""Ph status is judged as of the course start (facts/ph.py): a BCR::ABL1 result whose partial date may be after it
("2026-12" for a course from Dec 1) neither makes the patient Ph+ nor shows Ph-; the card asks for its full date.
Before, such a result was read as of its month's first day: a Ph+ FISH of "2026-12" approved a Ph+ pathway, a
negative one a Ph- pathway.
"""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.dates_support import answer, covered, example, prefetched, service, summaries  # noqa: F401


@pytest.mark.parametrize("name", ["florida-blue-relapsed-refractory-ph-negative",
                                  "florida-blue-induction-ph-positive-with-tki",
                                  "aspirus-adult-consolidation-mrd-negative-ph-positive-tki"])
@pytest.mark.parametrize(("tested", "expected"), [
    ("2026-12", "conditional"),  # Dec 1, or after the course start: was covered
    ("2026", "conditional"),  # was covered
    ("2026-11", "covered"),  # every day of it before the course start
    ("2026-12-01", "covered"),  # the course's first day
    ("2026-12-01T23:30:00-06:00", "covered"),  # Dec 1 as written (Dec 2 in UTC)
])
def test_a_ph_result_whose_partial_date_may_be_after_the_course_start(service: FlaskClient, name: str, tested: str,
                                                                      expected: str) -> None:
    request = example(name)
    prefetched(request, "observations")["bcr-abl-1"]["effectiveDateTime"] = tested
    found = answer(service, request)
    assert covered(found) == expected, summaries(found)
    assert ("the full date of the Ph result dated " in summaries(found)) is (expected == "conditional")
