"""summary_items.py: a malformed resource's item, as the decision card's summary asks for it, names its element in
words; the words cover every element the shape filter checks, and the request's format as unreadable.py writes it."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.shape import SCHEMAS, problem
from cds_service.facts.unreadable import Unreadable
from cds_service.summary_items import ELEMENT_WORDS, element_words, summary_item


def _paths(schema: Any, prefix: str = "") -> list[str]:
    """The top-level elements of a resource's schema (and of dispenseRequest, whose parts are named apart)."""
    if not isinstance(schema, dict):
        return []
    return [f"{prefix}{key}" for key in schema]


@pytest.mark.parametrize("resource_type", sorted(SCHEMAS))
def test_every_element_the_shape_filter_checks_has_words(resource_type: str) -> None:
    assert [path for path in _paths(SCHEMAS[resource_type]) if not element_words(path)] == []


def test_a_path_is_named_by_its_longest_listed_start() -> None:
    assert element_words("dispenseRequest.quantity.value") == "dispense quantity"
    assert element_words("dispenseRequest.validityPeriod.start") == "validity period"
    assert element_words("clinicalStatus.coding[0].code") == "clinical status"
    assert element_words("contained[0].code") == ""
    assert set(ELEMENT_WORDS.values()) >= {"date given", "clinical status", "value"}


@pytest.mark.parametrize("resource, said", [
    ({"resourceType": "Immunization", "id": "mmr-1", "status": "completed", "occurrenceDateTime": 20261124},
     "a readable date given for Immunization/mmr-1"),
    ({"resourceType": "Observation", "id": "w", "status": "final", "valueQuantity": {"value": "80"}},
     "a readable value for Observation/w"),
    ({"resourceType": "Observation", "id": "m", "status": ["final"]}, "a readable status for Observation/m"),
    ({"resourceType": "Condition", "id": "c", "recordedDate": "2026-1-1"}, "a readable recorded date for Condition/c"),
])
def test_an_unreadable_resource_s_request_is_said_in_words(resource: dict[str, Any], said: str) -> None:
    """As facts/unreadable.py writes the request (the path and what is wrong), the summary's words: no path."""
    request = Unreadable(f"{resource['resourceType']}/{resource['id']}", "x", problem(resource), ()).request
    assert "(" in request and summary_item(request) == said


def test_an_attestation_s_malformed_subject_is_its_patient_reference() -> None:
    request = "a readable QuestionnaireResponse/qr-bad (subject is text, not an object)"
    assert summary_item(request) == "a readable patient reference for QuestionnaireResponse/qr-bad"


def test_a_resource_sent_without_an_id_is_said_in_words_too() -> None:
    """facts/codes.ref names a resource without an id "Observation (no id)": its element is said in words as well,
    not left as the path the summary never shows."""
    resource = {"resourceType": "Observation", "status": "final", "valueQuantity": {"value": "80"}}
    request = Unreadable("Observation (no id)", "x", problem(resource), ()).request
    assert summary_item(request) == "a readable value for Observation (no id)"
