"""Da Vinci CRD coverage-information system action: one row of the contract's table per outcome, the order
otherwise unchanged, and the CRD invariants."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from cds_service.coverage_info import EXTENSION_URL, coverage_information_action
from tests.crd_invariants import VALUE_TYPES, check_crd_invariants
from cds_service.decision import CriterionResult, Decision

TODAY = date(2026, 11, 21)
QUESTIONNAIRE = "https://cds.example.org/fhir/Questionnaire/blinatumomab-coverage-attestation"
ORDER = {
    "resourceType": "MedicationRequest", "id": "blin-1", "status": "draft", "intent": "order",
    "extension": [{"url": "http://example.org/other", "valueString": "kept"}],
    "dosageInstruction": [{"text": "28 mcg/day"}],
}


def decision(kind: str, **changes: Any) -> Decision:
    values: dict[str, Any] = dict(
        policy_id="aspirus-magellan", policy_version="2023", payer_label="Aspirus Health Plan",
        policy_url="https://aspirushealthplan.com/", decision=kind, request_type="initial",
        indication="adult-relapsed-refractory", indication_title="adult relapsed/refractory ALL", cycle=1,
        authorization={"start": "2026-12-01", "end": "2027-06-29", "cycles": 5} if kind == "meets-criteria" else None,
        criteria=[CriterionResult("quantity", "not-met" if kind == "criteria-not-met" else "met",
                                  "Aspirus II", "At most 28 vials per cycle", kind="quantity",
                                  note="40 vials (1400 mcg)", summary="more than 28 vials per cycle")],
        missing=["MRD result", "current weight"] if kind == "information-needed" else [],
    )
    values.update(changes)
    return Decision(**values)


def action(outcome: Decision | None, unsolicited: bool = True) -> dict[str, Any]:
    return coverage_information_action(ORDER, outcome, "Coverage/cov-1", "assert-1", TODAY, QUESTIONNAIRE, unsolicited)


def subs(result: dict[str, Any]) -> dict[str, Any]:
    extension = result["resource"]["extension"][-1]
    assert extension["url"] == EXTENSION_URL
    assert check_crd_invariants(extension) == []
    # A complex sub-extension (`detail`) by its parts.
    return {p["url"]: next((v for k, v in p.items() if k.startswith("value")), p.get("extension"))
            for p in extension["extension"]}


def test_meets_criteria_is_covered_and_satisfied_until_the_authorization_end() -> None:
    values = subs(action(decision("meets-criteria")))
    assert values["covered"] == "covered"
    assert values["pa-needed"] == "satisfied"
    assert values["satisfied-pa-id"] == "assert-1"
    assert values["expiry-date"] == "2027-06-29"
    assert values["coverage"] == {"reference": "Coverage/cov-1"}
    assert values["date"] == "2026-11-21"
    assert values["coverage-assertion-id"] == "assert-1"
    assert values["billingCode"]["code"] == "J9039"
    assert values["billingCode"]["system"] == "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def test_what_if_call_never_asserts_a_satisfied_authorization() -> None:
    values = subs(action(decision("meets-criteria"), unsolicited=False))
    assert values["pa-needed"] == "auth-needed"
    assert "satisfied-pa-id" not in values
    assert "expiry-date" not in values


def test_information_needed_is_conditional_with_the_questionnaire() -> None:
    values = subs(action(decision("information-needed")))
    assert (values["covered"], values["pa-needed"], values["doc-needed"], values["doc-purpose"],
            values["info-needed"]) == ("conditional", "auth-needed", "clinical", "withpa", "OTH")
    assert values["reason"]["text"] == "Document: MRD result; current weight"
    assert values["questionnaire"] == QUESTIONNAIRE


def test_information_needed_names_the_cards_own_items_apart_from_another_indications() -> None:
    """As the card: the shown indication's items, then what only another indication would need, never one list a
    pharmacist reads as all required."""
    weight = CriterionResult("adult-relapsed-refractory.dose", "unknown", "Aspirus V", "Daily dose per the label",
                             missing="current weight")
    values = subs(action(decision("information-needed", criteria=[weight])))
    assert values["reason"]["text"] == "Document: current weight. Another indication would need: MRD result"


def test_information_needed_with_the_order_failing_its_indication_says_that_first() -> None:
    """The reported indication's clinical criteria are met and its dose schedule is not: correcting the order is the
    way to coverage; the documentation only opens other indications."""
    dose = CriterionResult("pediatric-relapsed-refractory.dose", "not-met", "Aspirus V",
                           "Daily dose per the label schedule", kind="dose", note="28 mcg/day on days 1–7",
                           summary="dose above the label schedule")
    values = subs(action(decision("information-needed", criteria=[dose])))
    assert values["covered"] == "conditional"
    assert values["reason"]["text"] == ("Not met as ordered: dose above the label schedule (28 mcg/day on days 1–7). "
                                        "Or document: MRD result; current weight")


def test_criteria_not_met_is_not_covered_without_pa_needed() -> None:
    values = subs(action(decision("criteria-not-met")))
    assert values["covered"] == "not-covered"
    assert "pa-needed" not in values
    # Only the order's quantity fails: "as ordered", as the card's summary says (a corrected order would be met).
    assert values["reason"]["text"] == "Not met as ordered: more than 28 vials per cycle — 40 vials (1400 mcg)"


def test_the_reason_not_met_says_what_was_found_not_the_rule_it_failed() -> None:
    """Clinician review: "Not met: No live vaccine from 14 days before ..." and "Not met: Order starts within the
    authorization period" read as the opposite of what happened. A finding reads as one: the criterion's summary (the
    failure) with its evidence; a clinical requirement as "requires ...", with what the chart showed."""
    vaccine = CriterionResult("U1", "not-met", "Aspirus III", "No live vaccine from 14 days before the course start",
                              ("Immunization/mmr-1",), kind="universal", critical=True,
                              note="MMR dated 2026-11-24; window between 2026-11-17 and 2026-12-29",
                              summary="live vaccine too close to treatment")
    lineage = CriterionResult("adult.b-cell", "not-met", "Aspirus III", "B-cell precursor ALL, with B-lineage evidence",
                              note="T-lineage in the diagnosis", summary="B-cell precursor ALL")
    period = CriterionResult("adult.authorization-period", "not-met", "Aspirus I",
                             "Order starts within the authorization period", kind="course-limit",
                             summary="order starts after the authorization period ended")
    values = subs(action(decision("criteria-not-met", criteria=[vaccine, lineage, period])))
    assert values["reason"]["text"] == (
        "Not met: (1) live vaccine too close to treatment (MMR dated 2026-11-24; window between 2026-11-17 and "
        "2026-12-29); (2) requires B-cell precursor ALL (chart: T-lineage in the diagnosis); (3) order starts after "
        "the authorization period ended")


def test_evaluation_failure_is_indeterminate_with_a_technical_reason() -> None:
    values = subs(action(None))
    assert values["covered"] == "indeterminate"
    assert "pa-needed" not in values  # CRD 2.2's pa-needed value set has no "indeterminate"
    assert values["reason"]["coding"] == [{"system": "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp",
                                           "code": "technical", "display": "Technical issues"}]


# The extension's elements in the order CRD's StructureDefinition gives them.
ELEMENT_ORDER = ["coverage", "covered", "pa-needed", "doc-needed", "doc-purpose", "info-needed", "billingCode",
                 "reason", "detail", "questionnaire", "date", "coverage-assertion-id", "satisfied-pa-id", "expiry-date"]


@pytest.mark.parametrize(("outcome", "unsolicited"), [
    (decision("meets-criteria"), True), (decision("meets-criteria"), False), (decision("information-needed"), True),
    (decision("information-needed", not_received=["current weight"]), True), (decision("criteria-not-met"), True),
    (None, True),
])
def test_the_elements_come_in_the_extensions_order(outcome: Decision | None, unsolicited: bool) -> None:
    urls = [p["url"] for p in action(outcome, unsolicited)["resource"]["extension"][-1]["extension"]]
    assert urls == sorted(urls, key=ELEMENT_ORDER.index)


@pytest.mark.parametrize("kind", ["meets-criteria", "information-needed", "criteria-not-met", None])
def test_the_order_is_unchanged_except_for_the_added_extension(kind: str | None) -> None:
    before = copy.deepcopy(ORDER)
    result = action(decision(kind) if kind else None)
    assert ORDER == before  # the input is not modified
    resource = result["resource"]
    assert resource["extension"][:-1] == ORDER["extension"]
    assert {k: v for k, v in resource.items() if k != "extension"} == {
        k: v for k, v in ORDER.items() if k != "extension"}
    assert result["type"] == "update"
    assert result["description"]


_CHART_FAILS = [CriterionResult("adult.b-cell", "not-met", "Aspirus III", "B-cell precursor ALL")]


@pytest.mark.parametrize(("kind", "changes", "said"), [
    ("meets-criteria", {}, "meets criteria"), ("information-needed", {}, "documentation needed"),
    ("criteria-not-met", {}, "not covered as ordered"),  # its quantity alone fails
    ("criteria-not-met", {"criteria": _CHART_FAILS}, "not covered")])
def test_the_action_description_says_the_outcome_in_the_cards_words(kind: str, changes: dict[str, Any],
                                                                     said: str) -> None:
    """The clinician's second review: the action read "criteria not met" beside a card saying "not covered"."""
    found = action(decision(kind, **changes))
    assert found["description"].startswith("Coverage information from ") and found["description"].endswith(f": {said}")


@pytest.mark.parametrize("kind", ["meets-criteria", "information-needed", "criteria-not-met"])
def test_the_action_description_says_a_secondary_coverage_as_the_card_does(kind: str) -> None:
    """Staff filing the order read the description: a secondary coverage's decision says so there too, after the
    payer as the card's summary does; a primary (or only) coverage's says nothing of its rank."""
    secondary = coverage_information_action(ORDER, decision(kind), "Coverage/cov-2", "a", TODAY, QUESTIONNAIRE,
                                            secondary=True)["description"]
    primary = action(decision(kind))["description"]
    assert secondary.startswith("Coverage information from Aspirus Health Plan (secondary coverage): ")
    assert primary.startswith("Coverage information from Aspirus Health Plan: ") and "secondary" not in primary
    assert secondary.split(": ", 1)[1] == primary.split(": ", 1)[1]


def test_an_order_without_extensions_gets_one() -> None:
    bare = {"resourceType": "MedicationRequest", "id": "x"}
    result = coverage_information_action(bare, decision("meets-criteria"), "Coverage/c", "a", TODAY, QUESTIONNAIRE)
    assert len(result["resource"]["extension"]) == 1
    assert "extension" not in bare


def test_a_null_extension_list_is_read_as_none() -> None:
    order = {"resourceType": "MedicationRequest", "id": "x", "extension": None}
    result = coverage_information_action(order, decision("meets-criteria"), "Coverage/c", "a", TODAY, QUESTIONNAIRE)
    assert [e["url"] for e in result["resource"]["extension"]] == [EXTENSION_URL]


def test_a_signed_again_order_carries_only_the_new_assertion_for_its_coverage() -> None:
    """The earlier answer for the same coverage is replaced; another coverage's (another payer's) is kept."""
    first = action(decision("information-needed"))["resource"]
    other_payer = copy.deepcopy(first["extension"][-1])
    other_payer["extension"][0]["valueReference"]["reference"] = "Coverage/secondary"
    signed_again = {**first, "extension": [*first["extension"], other_payer]}
    result = coverage_information_action(signed_again, decision("meets-criteria"), "Coverage/cov-1", "assert-2",
                                         TODAY, QUESTIONNAIRE)
    extensions = result["resource"]["extension"]
    assert extensions[0] == ORDER["extension"][0] and extensions[1] == other_payer
    assert [e["url"] for e in extensions] == ["http://example.org/other", EXTENSION_URL, EXTENSION_URL]
    assert subs(result)["coverage-assertion-id"] == "assert-2" and subs(result)["covered"] == "covered"


def test_a_signed_again_order_of_a_coverage_without_an_id_carries_only_the_new_assertion() -> None:
    """A Coverage sent without an id is named by a display: the earlier answer for it, named so too, is replaced
    (matched by a reference alone, it was kept, and the order carried two answers for one coverage)."""
    first = coverage_information_action(ORDER, decision("information-needed"), "Coverage (no id)", "assert-1", TODAY,
                                        QUESTIONNAIRE)["resource"]
    other_payer = copy.deepcopy(first["extension"][-1])
    other_payer["extension"][0]["valueReference"] = {"reference": "Coverage/secondary"}
    signed_again = {**first, "extension": [*first["extension"], other_payer]}
    assert _kept_beside_the_new_assertion(signed_again, "Coverage (no id)") == other_payer


def _kept_beside_the_new_assertion(signed_again: dict[str, Any], coverage: str) -> dict[str, Any]:
    """`signed_again` answered met for `coverage`: the one earlier assertion kept beside the new one."""
    result = coverage_information_action(signed_again, decision("meets-criteria"), coverage, "assert-2", TODAY,
                                         QUESTIONNAIRE)
    extensions = result["resource"]["extension"]
    assert [e["url"] for e in extensions] == ["http://example.org/other", EXTENSION_URL, EXTENSION_URL]
    assert subs(result)["coverage-assertion-id"] == "assert-2"
    return dict(extensions[1])


def extension_of(*parts: tuple[str, str]) -> dict[str, Any]:
    base = [("coverage", {"reference": "Coverage/c"}), ("date", "2026-11-21"), ("coverage-assertion-id", "a")]
    return {"url": EXTENSION_URL,
            "extension": [{"url": u, VALUE_TYPES.get(u, "valueCode"): v} for u, v in base + list(parts)]}


@pytest.mark.parametrize(("part", "problem"), [
    ({"url": "expiry-date", "valueString": "2027-01-01"}, "expiry-date: ['valueString'] where CRD 2.2 has valueDate"),
    ({"url": "questionnaire", "valueUri": "https://q"}, "where CRD 2.2 has valueCanonical"),
    ({"url": "covered"}, "covered: [] where CRD 2.2 has valueCode"),
    ({"url": "made-up", "valueCode": "x"}, "no such sub-extension"),
])
def test_a_sub_extension_of_another_value_type_is_refused(part: dict[str, Any], problem: str) -> None:
    extension = extension_of(("covered", "covered"), ("pa-needed", "no-auth"))
    extension["extension"].append(part)
    assert any(problem in found for found in check_crd_invariants(extension))


@pytest.mark.parametrize(("parts", "problem"), [
    ((("covered", "not-covered"), ("pa-needed", "auth-needed")), "crd-ci-q2"),
    ((("covered", "covered"),), "always says whether prior authorization is needed"),
    ((("covered", "conditional"), ("pa-needed", "auth-needed")), "conditional needs info-needed"),
    ((("covered", "covered"), ("pa-needed", "no-auth"), ("info-needed", "OTH")), "crd-ci-q3"),
    ((("covered", "covered"), ("pa-needed", "satisfied")), "crd-ci-q5"),
    ((("covered", "covered"), ("pa-needed", "auth-needed"), ("satisfied-pa-id", "x")), "crd-ci-q5"),
    ((("covered", "covered"), ("pa-needed", "no-auth"), ("questionnaire", "q")), "crd-ci-q1"),
    ((("covered", "maybe"), ("pa-needed", "no-auth")), "not a CRD code"),
    ((("covered", "indeterminate"),), "indeterminate needs a reason"),
    ((("covered", "covered"), ("pa-needed", "indeterminate")), "pa-needed must be one CRD code"),
    ((("covered", "covered"), ("covered", "covered"), ("pa-needed", "no-auth")), "exactly once"),
    ((("covered", "conditional"), ("pa-needed", "auth-needed"), ("info-needed", "OTH")), "crd-ci-q6"),
    ((("covered", "covered"), ("pa-needed", "auth-needed"), ("doc-needed", "clinical"), ("doc-purpose", "withpa")),
     "crd-ci-q8"),
    ((("covered", "not-covered"), ("reason", {"coding": [{"code": "x"}]})), "crd-ci-q7"),
    ((("covered", "not-covered"), ("coverage", {"reference": "Coverage/"})), "not a Coverage's literal reference"),
])
def test_invariant_violations_are_reported(parts: tuple[tuple[str, str], ...], problem: str) -> None:
    problems = check_crd_invariants(extension_of(*parts))
    assert any(problem in p for p in problems), problems


def test_a_valid_extension_has_no_problems() -> None:
    assert check_crd_invariants(extension_of(("covered", "covered"), ("pa-needed", "no-auth"))) == []


def test_not_received_is_said_apart_from_what_the_chart_lacks() -> None:
    """coverage_info._not_received: an item the EHR did not send is a technical issue; the others are to document."""
    outcome = decision("information-needed", not_received=["current weight"])
    reason = subs(action(outcome))["reason"]
    assert reason["coding"][0]["code"] == "technical"
    assert reason["text"] == "Not received from the EHR: current weight. Also to document: MRD result"


def test_an_earlier_assertion_whose_coverage_is_not_a_reference_is_kept() -> None:
    """coverage_info._same_coverage: an earlier assertion naming its coverage by no Reference object (another
    system's, malformed) is not this coverage's: it is kept beside the new one."""
    first = action(decision("information-needed"))["resource"]
    malformed = copy.deepcopy(first["extension"][-1])
    malformed["extension"][0]["valueReference"] = "Coverage/cov-1"
    signed_again = {**ORDER, "extension": [*ORDER["extension"], malformed]}
    assert _kept_beside_the_new_assertion(signed_again, "Coverage/cov-1") == malformed


def test_a_finding_s_note_reads_on_inside_the_reason() -> None:
    """Card review: a note written to stand alone ("Starts after 2 days without infusion ...") read as "(Starts
    after ...)" inside the reason's sentence; an abbreviation opening a note keeps its capitals."""
    rest = CriterionResult("adult.dose-schedule", "not-met", "Aspirus V", "Daily dose per the label schedule",
                           kind="course-limit", summary="rest too short (2 of 14 days)",
                           note="Starts after 2 days without infusion")
    bsa = CriterionResult("adult.quantity", "not-met", "Aspirus II", "At most 28 vials per cycle",
                          kind="course-limit", summary="more than 28 vials per cycle", note="BSA 1.9 m² on 2026-11-20")
    values = subs(action(decision("criteria-not-met", criteria=[rest, bsa])))
    assert values["reason"]["text"] == (
        "Not met: (1) rest too short (2 of 14 days) — starts after 2 days without infusion; (2) more than 28 vials per "
        "cycle (BSA 1.9 m² on 2026-11-20)")
