"""An attested answer that cannot be read leaves the facts of its item unknown (facts/attestations.py): the
clinician's answer may be what overrides the record, so it is neither guessed nor ignored. A readable answer authored
later decides, as the latest answer always does; an item the service does not read, or an answer outside its item's
window, is ignored as before."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.facts.extract import extract_facts
from cds_service.facts.model import ClinicalFacts, Fact, read_within
from tests.factories import answer_item, medication_request, questionnaire_response, record

TODAY = date(2026, 3, 1)
Resource = dict[str, Any]

# linkId -> (the fact it decides, a readable answer and the value it gives, a malformed answer of the item)
ITEMS: dict[str, tuple[str, Any, Any, dict[str, Any]]] = {
    "therapy-phase": ("therapy_phase", "consolidation", "consolidation", {"valueString": "salvage"}),
    "combination": ("combination", "single-agent", "single-agent", {"valueBoolean": False}),
    "cycle-number": ("cycle.number", 2, 2, {"valueString": "2"}),
    "complete-response-to-induction": ("complete_response_to_induction", True, True, {"valueBoolean": "yes"}),
    "induction-ino-mini-hyper-cvd": ("induction_ino_mini_hyper_cvd", False, False, {"valueBoolean": None}),
    "multiagent-chemo-candidate": ("multiagent_chemo_candidate", False, False, {"valueCoding": {"system": "urn:x"}}),
    "mrd-unavailable": ("mrd_unavailable", True, True, {}),
    "mrd-percent": ("mrd_detectable", 0.5, True, {"valueDecimal": 150}),
    "ph-positive": ("ph_positive", False, False, {"valueString": "no"}),
    "b-cell-precursor": ("b_lineage", True, True, {"valueBoolean": "true"}),
    "diagnosed-before-age-1": ("infant_all", False, False, {"valueInteger": 0}),
    "remission-number": ("remission_number", 2, 2, {"valueInteger": 0}),
    "end-of-consolidation-response": ("end_of_consolidation_response", "complete", "complete",
                                      {"valueCoding": {"code": " "}}),
    "tki-failure": ("tki_failure", True, True, {"valueInteger": 1}),
    "prior-authorization-on-file": ("prior_authorization_on_file", True, True, {"valueBoolean": "yes"}),
    "unacceptable-toxicity": ("unacceptable_toxicity", False, False, {"valueBoolean": "no"}),
    "response-or-stabilization": ("response_or_stabilization", True, True, {"valueString": "yes"}),
    "compendia-supported-use": ("compendia_supported_use", True, True, {"valueBoolean": 1}),
}
# Another of the item's codes, for two answers that disagree.
OTHER_CODES = {"therapy-phase": "maintenance", "combination": "with-tki",
               "end-of-consolidation-response": "less-than-complete"}


def _draft(start: str = "2026-03-01", end: str = "2026-03-28") -> Resource:
    return medication_request(start=start, end=end, status="draft", id="draft")


def _facts(*resources: Resource, draft: Resource | None = None) -> ClinicalFacts:
    return extract_facts(record(*resources), [draft or _draft()], TODAY)


def _fact(facts: ClinicalFacts, name: str) -> Fact[Any]:
    holder, _, attribute = name.partition(".")
    found = getattr(getattr(facts, holder), attribute) if attribute else getattr(facts, holder)
    return found if isinstance(found, Fact) else read_within(found, {"look_back_years": 2})


def _response(link_id: str, *answers: dict[str, Any], authored: str = "2026-02-25") -> Resource:
    response = questionnaire_response({}, authored=authored)
    response["item"] = [{"linkId": link_id, "answer": list(answers)}]
    return response


def _readable(link_id: str, value: Any) -> dict[str, Any]:
    answer: dict[str, Any] = answer_item(link_id, value)["answer"][0]
    return answer


def _another(link_id: str, value: Any) -> Any:
    """A readable answer of the item other than `value`."""
    if isinstance(value, bool):
        return not value
    return value + 1 if isinstance(value, (int, float)) else OTHER_CODES[link_id]


def _ref(resource: Resource) -> str:
    return f"QuestionnaireResponse/{resource['id']}"


@pytest.mark.parametrize("link_id", ITEMS)
def test_a_readable_answer_decides_its_fact(link_id: str) -> None:
    name, value, decided, _ = ITEMS[link_id]
    fact = _fact(_facts(_response(link_id, _readable(link_id, value))), name)
    assert (fact.value, fact.attested) == (decided, True)


@pytest.mark.parametrize("link_id", ITEMS)
def test_a_malformed_answer_leaves_its_fact_unknown_and_names_the_response_and_item(link_id: str) -> None:
    name, _, _, malformed = ITEMS[link_id]
    response = _response(link_id, malformed)
    fact = _fact(_facts(response), name)
    assert fact.value is None and fact.evidence[0] == _ref(response)
    assert fact.note.startswith(f"{_ref(response)} (an attestation answering {link_id}) could not be read: "
                                f"the {link_id} answer is not ")
    assert f"a readable {link_id} answer in {_ref(response)}" in fact.missing


@pytest.mark.parametrize("link_id", ITEMS)
def test_a_malformed_answer_is_not_outranked_by_an_earlier_readable_one(link_id: str) -> None:
    name, value, _, malformed = ITEMS[link_id]
    earlier = _response(link_id, _readable(link_id, value), authored="2026-02-20")
    later = _response(link_id, malformed, authored="2026-02-25")
    fact = _fact(_facts(earlier, later), name)
    assert fact.value is None and fact.evidence[0] == _ref(later)


@pytest.mark.parametrize("link_id", ITEMS)
def test_a_readable_later_answer_decides_over_a_malformed_one(link_id: str) -> None:
    name, value, decided, malformed = ITEMS[link_id]
    earlier = _response(link_id, malformed, authored="2026-02-20")
    later = _response(link_id, _readable(link_id, value), authored="2026-02-25")
    fact = _fact(_facts(earlier, later), name)
    assert (fact.value, fact.attested, fact.evidence[0]) == (decided, True, _ref(later))


@pytest.mark.parametrize("link_id", ITEMS)
def test_two_answers_of_one_response_that_disagree_leave_the_fact_unknown(link_id: str) -> None:
    name, value, decided, malformed = ITEMS[link_id]
    response = _response(link_id, _readable(link_id, value), _readable(link_id, _another(link_id, value)))
    fact = _fact(_facts(response), name)
    assert fact.value is None and f"could not be read: the {link_id} answers disagree" in fact.note
    agreeing = _response(link_id, _readable(link_id, value), _readable(link_id, value))
    assert _fact(_facts(agreeing), name).value == decided
    with_malformed = _response(link_id, _readable(link_id, value), malformed)  # which one was meant is not guessed
    assert _fact(_facts(with_malformed), name).value is None


def test_a_malformed_answer_to_an_item_the_service_does_not_read_is_ignored() -> None:
    response = _response("comment", {"valueBoolean": "yes"})
    response["item"].append({"linkId": "tki-failure", "answer": [{"valueBoolean": True}]})
    facts = _facts(response)
    assert (facts.tki_failure.value, facts.tki_failure.attested) == (True, True)


def test_a_malformed_answer_outside_its_items_window_is_ignored() -> None:
    """A readable answer given for an earlier order (cycle-number) or before this course (therapy-phase) would not
    count: a malformed one does not leave the fact unknown."""
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    old = _response("cycle-number", {"valueString": "1"}, authored="2025-12-30")
    old["item"].append({"linkId": "therapy-phase", "answer": [{"valueString": "salvage"}]})
    facts = _facts(first, old, draft=_draft("2026-02-12", "2026-03-11"))
    assert facts.cycle.number.value == 2 and not facts.cycle.number.attested
    assert facts.therapy_phase.note.startswith(f"{_ref(old)} (an attestation answering therapy-phase)")  # counts
    ancient = _response("therapy-phase", {"valueString": "salvage"}, authored="2025-06-01")
    assert not _facts(ancient).therapy_phase.note.startswith(_ref(ancient))
