"""Through the endpoint: an attested answer that cannot be read is information needed, naming the answer to correct,
where a readable one decides (met or not met) and the record alone would have decided otherwise (facts/attestations.py).
Each case changes one answer of an example request's attestation."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import SERVICE_ID
from tests.test_facts_review import Request, criterion, decisions, example

RENEWAL = "aspirus-relapsed-refractory-cycle6-renewal"
# (example, linkId, criterion, a malformed answer, a readable answer that meets it, one that does not)
CASES = [
    ("aspirus-adult-maintenance", "combination", "alternating-with-pomp", {"valueBoolean": False},
     {"valueString": "alternating-with-pomp"}, {"valueString": "with-multiagent-chemo"}),
    (RENEWAL, "response-or-stabilization", "response-or-stabilization", {"valueString": "yes"},
     {"valueBoolean": True}, {"valueBoolean": False}),
    (RENEWAL, "unacceptable-toxicity", "no-unacceptable-toxicity", {"valueBoolean": "no"},
     {"valueBoolean": False}, {"valueBoolean": True}),
    (RENEWAL, "cycle-number", "at-most-9-cycles", {"valueString": "6"}, {"valueInteger": 6}, {"valueInteger": 10}),
]
IDS = [case[1] for case in CASES]


def _answered(name: str, link_id: str, answer: dict[str, Any]) -> Request:
    """The example `name` with its attestation's answer to `link_id` replaced by `answer`."""
    request = example(name)
    response = request["prefetch"]["attestations"]["entry"][0]["resource"]
    response["item"] = [i for i in response["item"] if i["linkId"] != link_id] + [{"linkId": link_id,
                                                                                    "answer": [answer]}]
    return request


@pytest.mark.parametrize(("name", "link_id", "suffix", "malformed", "meets", "fails"), CASES, ids=IDS)
def test_a_readable_answer_decides_and_a_malformed_one_is_information_needed(
        client: FlaskClient, name: str, link_id: str, suffix: str, malformed: dict[str, Any],
        meets: dict[str, Any], fails: dict[str, Any]) -> None:
    [met] = decisions(client, _answered(name, link_id, meets))
    assert met["decision"] == "meets-criteria"
    [not_met] = decisions(client, _answered(name, link_id, fails))
    assert (not_met["decision"], criterion(not_met, suffix)) == ("criteria-not-met", "not-met")
    [unknown] = decisions(client, _answered(name, link_id, malformed))
    assert (unknown["decision"], criterion(unknown, suffix)) == ("information-needed", "unknown")
    assert f"a readable {link_id} answer in QuestionnaireResponse/attestation-1" in unknown["missing"]


def test_a_later_readable_answer_decides_over_a_malformed_one(client: FlaskClient) -> None:
    request = _answered(RENEWAL, "unacceptable-toxicity", {"valueBoolean": "no"})
    later = {"resourceType": "QuestionnaireResponse", "id": "attestation-2", "status": "completed",
             "questionnaire": "http://example.org/Questionnaire/blinatumomab-coverage-attestation",
             "subject": {"reference": "Patient/example-patient"}, "authored": "2026-11-26",
             "item": [{"linkId": "unacceptable-toxicity", "answer": [{"valueBoolean": False}]}]}
    request["prefetch"]["attestations"]["entry"].append({"resource": later})
    [decision] = decisions(client, request)
    assert decision["decision"] == "meets-criteria"


def test_the_card_asks_for_the_answer_readable(client: FlaskClient) -> None:
    request = _answered(RENEWAL, "unacceptable-toxicity", {"valueBoolean": "no"})
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    assert "a readable unacceptable-toxicity answer in QuestionnaireResponse/attestation-1" in card["summary"]
    assert len(card["summary"]) < 140
    assert "QuestionnaireResponse/attestation-1 (an attestation answering unacceptable-toxicity) could not be read: " \
           "the unacceptable-toxicity answer is not true or false (valueBoolean)" in card["detail"]
