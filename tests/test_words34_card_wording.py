"""Round 4 of the card reading, left to the owners of the facts, the policy files and the coverage information: what
a haematologist reads in two seconds is said in clinical words (a diagnosis, not a FHIR Condition; what a date is;
what to document, never a policy file's shorthand), and the resource ids are left to the pharmacist's detail."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.cards import _coverage_context, _rank
from cds_service.facts.attestations import Attestations
from cds_service.facts.coverage import Primary, Standing
from cds_service.facts.diagnosis import read_diagnosis
from cds_service.policies.loading import load_policy
from cds_service.summary_items import summary_item
from tests.factories import condition, record
from tests.test_pipeline import _with_coverages, example, post


def _decision(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    [card] = [c for c in post(client, body)["cards"] if "coverage-decision" in c["extension"]]
    return card


def _line(card: dict[str, Any], text: str) -> str:
    [line] = [line for line in card["detail"].splitlines() if text in line]
    return line


def _resource(body: dict[str, Any], key: str, rid: str) -> dict[str, Any]:
    [found] = [e["resource"] for e in body["prefetch"][key]["entry"] if e["resource"]["id"] == rid]
    return found


# --- 1. A diagnosis absent from the record is said so, not as a missing FHIR Condition


def test_no_all_diagnosis_is_said_in_clinical_words(client: Any) -> None:
    card = _decision(client, example("florida-blue-other-compendia-lymphoblastic-lymphoma"))
    line = _line(card, "A diagnosis other than B-cell precursor ALL")
    assert line.endswith("; no ALL diagnosis in the record; lymphoblastic lymphoma on record (C83.51)")
    assert "Condition;" not in card["detail"] and "ALL Condition" not in card["detail"]


def test_no_all_diagnosis_at_all_asks_for_one(client: Any) -> None:
    body = example("florida-blue-relapsed-refractory-ph-negative")
    body["prefetch"]["conditions"] |= {"entry": [], "total": 0}  # received: none recorded
    card = _decision(client, body)
    assert card["summary"] == ("Florida Blue: document ALL diagnosis and whether the disease is relapsed or refractory "
                               "to confirm coverage")
    assert "; no ALL diagnosis in the record; **document:** ALL diagnosis" in card["detail"]
    assert " Condition" not in card["detail"]


# --- 2. An inferred phase reads as a sentence after the criterion, not as a second label


def test_an_inferred_consolidation_reads_as_a_sentence(client: Any) -> None:
    card = _decision(client, example("aspirus-adult-consolidation-mrd-positive"))
    line = _line(card, "Used as consolidation therapy")
    assert line.endswith("; consolidation inferred from remission with detectable MRD at the course start; the phase "
                         "is not documented")
    assert "inferred (not documented):" not in card["detail"]
    # Where another indication fails on it, the evidence closes the sentence without a second parenthesis.
    card = _decision(client, example("aspirus-consolidation-cycle5-not-renewable"))
    assert ("adult maintenance: ❌ Used as maintenance therapy (_Aspirus III (ALL, adult), maintenance_): consolidation "
            "inferred from remission with detectable MRD at the course start; the phase is not documented (evidence: "
            "Condition/all-1, Observation/mrd-1)") in card["detail"]


# --- 3. A status record's date says what it is


def test_a_remission_names_its_date_as_the_recorded_date(client: Any) -> None:
    line = _line(_decision(client, example("aspirus-pediatric-mrd-positive")), "In first or second complete remission")
    assert line.endswith("; ALL in remission (C91.01), recorded 2026-10-20; no earlier relapse")


def test_a_remission_dated_by_its_onset_alone_says_onset(client: Any) -> None:
    body = example("aspirus-pediatric-mrd-positive")
    condition = _resource(body, "conditions", "all-1")
    condition["onsetDateTime"] = condition.pop("recordedDate")
    line = _line(_decision(client, body), "In first or second complete remission")
    assert "; ALL in remission (C91.01), onset 2026-10-20; no earlier relapse" in line


def test_a_relapse_deciding_the_phase_is_named_with_its_code_and_date(client: Any) -> None:
    """"relapsed as of the course start" left the pharmacist only a Condition id to check it against."""
    line = _line(_decision(client, example("aspirus-adult-relapsed-refractory-cycle1")), "Relapsed or refractory")
    assert line.endswith("; evidence: Condition/all-1; ALL in relapse (C91.02), recorded 2026-11-10, the latest "
                         "disease status by the course start")


def test_an_infant_all_names_the_onset_it_was_judged_by(client: Any) -> None:
    line = _line(_decision(client, example("aspirus-infant-interfant")), "ALL diagnosed before 1 year of age")
    assert line.endswith("; evidence: Condition/all-1; ALL onset 2026-07-25, before age 1 (C91.00)")
    # Judged by an onsetAge, the age says it; without an onset, the recorded date is named as such.
    months = {"value": 6, "unit": "months", "system": "http://unitsofmeasure.org", "code": "mo"}
    by_age = condition("C91.00", recorded=None, onsetAge=months, id="c1")
    by_recorded = condition("C91.00", recorded="2026-08-01", id="c2")
    for found, note in ((by_age, "ALL onset before age 1 (C91.00)"),
                        (by_recorded, "ALL recorded 2026-08-01, after age 1 (C91.00)")):
        infant = read_diagnosis(record(found), Attestations()).infant_all(date(2025, 6, 15))
        assert infant.note == note


# --- 4. What to document, in words a clinician can act on (the policy file's citation kept)


POLICY_REQUESTS = [
    ("aspirus-magellan", "complete-response", "whether induction gave a complete response",
     "Aspirus III (ALL, adult), consolidation"),
    ("aspirus-magellan", "relapsed-refractory-phase", "whether the disease is relapsed or refractory",
     "Aspirus III (ALL, adult), relapsed or refractory|Aspirus III (ALL, pediatric), relapsed or refractory"),
    ("aspirus-magellan", "alternating-with-pomp", "whether blinatumomab alternates with POMP",
     "Aspirus III (ALL, adult), maintenance"),
    ("aspirus-magellan", "infant-all", "date ALL was diagnosed (before or after age 1)",
     "Aspirus III (ALL, pediatric), Interfant"),
    ("aspirus-magellan", "with-interfant", "whether blinatumomab is given with an Interfant regimen",
     "Aspirus III (ALL, pediatric), Interfant"),
    ("florida-blue", "relapsed-refractory-phase", "whether the disease is relapsed or refractory",
     "Florida Blue Position 1.b.ii|Florida Blue Position 1.b.iii"),
    ("florida-blue", "compendia-supported-use", "whether this is an FDA-labeled or NCCN category 1/2A use",
     "Florida Blue Position 2.a"),
]


def _criteria(policy_id: str) -> list[Any]:
    policy = load_policy(policy_id)
    return [*policy.universal, *(c for indication in policy.indications for c in indication.criteria)]


def _requests(test: Any) -> list[str]:
    """The `missing` texts within a criterion's test (its `any` and `all` parts), at every depth."""
    if isinstance(test, dict):
        own = [str(test["missing"])] if "missing" in test else []
        return own + [text for value in test.values() for text in _requests(value)]
    return [text for part in test for text in _requests(part)] if isinstance(test, (list, tuple)) else []


@pytest.mark.parametrize(("policy_id", "criterion", "missing", "citation"), POLICY_REQUESTS,
                         ids=[f"{p}-{c}" for p, c, _, _ in POLICY_REQUESTS])
def test_a_policy_request_is_said_in_words_with_its_citation(policy_id: str, criterion: str, missing: str,
                                                             citation: str) -> None:
    found = [c for c in _criteria(policy_id) if c.id.rsplit(".", 1)[-1] == criterion]
    assert found and {str(c.missing) for c in found} == {missing}
    assert {c.citation for c in found} == set(citation.split("|"))


@pytest.mark.parametrize("policy_id", ["aspirus-magellan", "florida-blue"])
def test_no_policy_request_is_a_question_or_a_note_to_the_service(policy_id: str) -> None:
    """"(complete response?)", "(attestation)": shorthand of the file, not what a clinician is asked to document."""
    for criterion in _criteria(policy_id):
        for missing in [str(criterion.missing), *_requests(criterion.test)]:
            assert "?" not in missing and "(attestation)" not in missing, (criterion.id, missing)


def test_an_unknown_complete_response_is_asked_for_in_words(client: Any) -> None:
    """Consolidation attested, the ALL active (no remission on record) and the response not answered."""
    body = example("aspirus-adult-consolidation-mrd-unavailable")
    condition = _resource(body, "conditions", "all-1")
    condition["code"]["coding"][0]["code"] = "C91.00"
    condition["clinicalStatus"]["coding"][0]["code"] = "active"
    answers = _resource(body, "attestations", "attestation-1")
    answers["item"] = [i for i in answers["item"] if i["linkId"] != "complete-response-to-induction"]
    assert _decision(client, body)["summary"] == (
        "Aspirus Health Plan: document whether induction gave a complete response to confirm coverage")


# --- 5. A full date asked for by what the record is and its date; the ids in the detail for the pharmacist


def test_a_ph_result_dated_by_month_is_asked_for_by_its_date(client: Any) -> None:
    body = example("florida-blue-relapsed-refractory-ph-negative")
    _resource(body, "observations", "bcr-abl-1")["effectiveDateTime"] = "2026-12"
    card = _decision(client, body)
    assert card["summary"] == ("Florida Blue: document the full date of the Ph result dated 2026-12 to confirm "
                               "coverage")
    assert "the full date of the Ph result dated 2026-12 (Observation/bcr-abl-1)" in card["detail"]


def test_a_relapse_dated_by_month_is_asked_for_by_what_it_is() -> None:
    """The disease status a relapse dated "2026-12" leaves unknown for a course from Dec 1 (the phase criteria ask
    for its full date: tests/test_words35_partial_status_dates.py)."""
    remission = condition("C91.01", recorded="2026-10-20", clinical_status="remission", id="all-1")
    relapse = condition("C91.02", recorded="2026-12", clinical_status="relapse", id="relapse-1")
    status = read_diagnosis(record(remission, relapse), Attestations()).status_as_of(date(2026, 12, 1))
    asked = "the full date of the ALL relapse recorded 2026-12"  # the remission's date is a full one
    assert status.value is None and status.missing == f"{asked} (Condition/relapse-1)"
    assert summary_item(status.missing) == asked
    lymphoma = condition("C83.51", recorded="2026-12", clinical_status="relapse", id="lbl-1")
    status = read_diagnosis(record(lymphoma), Attestations()).status_as_of(date(2026, 12, 1))
    assert status.missing == "the full date of the lymphoblastic lymphoma relapse recorded 2026-12 (Condition/lbl-1)"


def test_an_infant_onset_dated_by_month_is_asked_for_by_its_date(client: Any) -> None:
    body = example("aspirus-infant-interfant")
    body["prefetch"]["patient"]["birthDate"] = "2025-06-15"
    condition = _resource(body, "conditions", "all-1")
    del condition["recordedDate"]
    condition["onsetDateTime"] = "2026-06"  # the first birthday, Jun 15, within it
    card = _decision(client, body)
    assert card["summary"] == ("Aspirus Health Plan: document the full date of the ALL onset dated 2026-06 to confirm "
                               "coverage")
    assert "the full date of the ALL onset dated 2026-06 (Condition/all-1)" in card["detail"]


# --- 6. A secondary coverage in words: its rank, and the primary's payer named


def _secondary_line(client: Any, order: int | None, *others: tuple[str, str, int | None]) -> str:
    body = _with_coverages(example("florida-blue-relapsed-refractory-ph-negative"), order, *others)
    detail = " ".join(post(client, body)["cards"][0]["detail"].replace("*", "").split())
    return detail[detail.index("Secondary coverage:"):].split(" Order: ")[0]


def test_a_secondary_coverage_names_an_unsupported_primary_and_shows_no_raw_order(client: Any) -> None:
    line = _secondary_line(client, 2, ("acme", "Acme Health", 1))
    assert line == ("Secondary coverage: this decision is Florida Blue's, the patient's secondary coverage "
                    "(Coverage/coverage-1); the primary coverage, Acme Health (Coverage/acme: a plan this service "
                    "does not check), pays first, and its rules apply before Florida Blue's: check them first "
                    "(coordination of benefits).")
    assert "order" not in line.replace("coordination", "")


def test_a_supported_primary_is_named_by_its_plan_and_not_said_unchecked(client: Any) -> None:
    body = _with_coverages(example("florida-blue-relapsed-refractory-ph-negative"), 2,
                           ("aspirus", "Aspirus Health Plan", 1))
    body["context"]["draftOrders"]["entry"][0]["resource"]["insurance"] = [{"reference": "Coverage/coverage-1"}]
    detail = " ".join(post(client, body)["cards"][0]["detail"].split())
    assert "the primary coverage, Aspirus Health Plan (Coverage/aspirus), pays first" in detail
    assert "does not check" not in detail


def test_a_third_coverage_is_said_ranked_third(client: Any) -> None:
    line = _secondary_line(client, 3, ("acme", "Acme Health", 2), ("other", "Other Health", 1))
    assert "secondary coverage (Coverage/coverage-1, ranked 3rd); the primary coverage, Other Health" in line


def test_a_primary_naming_no_payer_is_said_by_its_coverage() -> None:
    said = _coverage_context(Standing("Coverage/c2", None, None, 2, True, Primary("Coverage/c1", 1, None)),
                             date(2026, 12, 1), None)
    assert said is not None and (said["rank"], said["primary_payer"], said["primary_plan"]) == ("", "", "")


def test_ranks_in_words() -> None:
    assert [_rank(n) for n in (None, 1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "", "", "", "ranked 3rd", "ranked 4th", "ranked 11th", "ranked 12th", "ranked 13th", "ranked 21st",
        "ranked 22nd", "ranked 23rd", "ranked 101st", "ranked 111th"]
