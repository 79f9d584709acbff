"""The attestation Questionnaire: valid FHIR R4, and exactly the items of the data profile's attestation table."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from fhir.resources.R4B.questionnaire import Questionnaire

from cds_service.facts.attestations import COURSE_ITEMS
from cds_service.questionnaire import QUESTIONNAIRE_ID, QUESTIONS, attestation_questionnaire, questionnaire_url

PROFILE = Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "fhir-data-profile.md"
TYPES = {"valueBoolean": "boolean", "valueInteger": "integer", "valueDecimal": "decimal"}


def profile_items() -> dict[str, tuple[str, list[str]]]:
    """linkId -> (expected item type, answer options) from the table in fhir-data-profile.md §Attestations."""
    section = PROFILE.read_text(encoding="utf-8").split("## Attestations", 1)[1]
    items = {}
    for link_id, answer in re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+) \|", section, flags=re.M):
        options = re.findall(r"`([a-z-]+)`", answer.split(":", 1)[1]) if ":" in answer else []
        value_type = answer.split()[0].rstrip(":")
        items[link_id] = ("choice" if options else TYPES[value_type], options)
    return items


def test_canonical_url() -> None:
    assert questionnaire_url("https://cds.example.org/") == (
        "https://cds.example.org/fhir/Questionnaire/blinatumomab-coverage-attestation")
    resource = attestation_questionnaire("https://cds.example.org")
    assert resource["url"] == questionnaire_url("https://cds.example.org")
    assert resource["id"] == QUESTIONNAIRE_ID


def test_is_a_valid_r4_questionnaire() -> None:
    parsed = Questionnaire.model_validate(attestation_questionnaire("https://cds.example.org"))
    assert parsed.status == "active"
    assert all(item.type in ("boolean", "integer", "decimal", "choice") for item in parsed.item)


@pytest.mark.skipif(not PROFILE.exists(), reason="the shared spec (../shared) is not beside this checkout")
def test_items_match_the_data_profile_table() -> None:
    expected = profile_items()
    assert len(expected) == 18
    items = {i["linkId"]: i for i in attestation_questionnaire("https://cds.example.org")["item"]}
    assert set(items) == set(expected)
    for link_id, (item_type, options) in expected.items():
        assert items[link_id]["type"] == item_type, link_id
        assert [o["valueString"] for o in items[link_id].get("answerOption", [])] == options, link_id


@pytest.mark.parametrize("link_id", sorted(COURSE_ITEMS | {"unacceptable-toxicity", "response-or-stabilization"}))
def test_items_counted_only_for_the_current_course_say_so(link_id: str) -> None:
    """An answer given for an earlier course does not count (docs/data-requirements.md §Attestations): the question
    says which course it asks about, so that a clinician knows to answer again."""
    text = QUESTIONS[link_id]
    assert re.search(r"\bthis (blinatumomab )?course\b|\bnow$", text, re.IGNORECASE), text
