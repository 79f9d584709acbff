"""Review: a readable answer authored only to a month or a year within its item's window is ranked as of its first
day (attestations._in_time); when its period runs past the latest answer and that answer says otherwise, either may
be the later one, so the facts of the item are unknown and the card asks for its full date
(attestations._undated_because). A "yes, unacceptable toxicity" of "2026-11" beside a "no" of 2026-11-20 had renewed."""
from __future__ import annotations

import copy

import pytest
from flask.testing import FlaskClient

from tests.test_attest_partial_authored import CRITERION, _decision, _with_toxicity_answer
from tests.test_facts_review import Request, add, criterion

ASKED = "the full date of QuestionnaireResponse/tox-answer (unacceptable-toxicity)"


def _beside(partial: str, value: bool, other: str, other_value: bool) -> Request:
    """The renewal example with an unacceptable-toxicity answer `value` authored `partial` and another,
    `other_value`, authored `other`."""
    request = _with_toxicity_answer(partial, value)
    second = copy.deepcopy(request["prefetch"]["attestations"]["entry"][-1]["resource"])
    second.update(id="tox-other", authored=other, item=[{"linkId": "unacceptable-toxicity",
                                                          "answer": [{"valueBoolean": other_value}]}])
    add(request, "attestations", second)
    return request


def test_a_partial_yes_that_may_be_after_a_no_leaves_the_criterion_unknown(client: FlaskClient) -> None:
    decision = _decision(client, _beside("2026-11", True, "2026-11-20", False))
    assert (decision["decision"], criterion(decision, CRITERION)) == ("information-needed", "unknown")
    assert ASKED in decision["missing"]


@pytest.mark.parametrize(("other", "other_value", "status"), [
    ("2026-12-01T09:00:00Z", False, "met"),  # after the whole month: the "no" is the latest
    ("2026-11-20", True, "not-met"),  # both say yes: whichever is the later, not met
    ("2026-10-20", False, "not-met"),  # before the month: the partial "yes" is the latest
])
def test_a_partial_answer_that_cannot_change_the_latest_is_read(client: FlaskClient, other: str,
                                                               other_value: bool, status: str) -> None:
    decision = _decision(client, _beside("2026-11", True, other, other_value))
    assert criterion(decision, CRITERION) == status
    assert not any("full date" in item for item in decision.get("missing", []))
