"""Round 4 of reading the cards as a busy haematologist signing the order and as the pharmacist verifying it: a
criterion reading several facts says what they share once, the summary's list of what to document reads as a list,
and the order is named by what was ordered and when, its id left for the pharmacist."""
from __future__ import annotations

import copy
from typing import Any

from tests.test_pipeline import example, post


def _decision(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    [card] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    return card


def _line(card: dict[str, Any], text: str) -> str:
    [line] = [line for line in card["detail"].splitlines() if text in line]
    return line


def _keeping(body: dict[str, Any], key: str, *ids: str) -> dict[str, Any]:
    """The request with only the resources `ids` of the prefetch `key` (received: none else recorded)."""
    changed = copy.deepcopy(body)
    bundle = changed["prefetch"][key]
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] in ids]
    bundle["total"] = len(bundle["entry"])
    return changed


def _without(body: dict[str, Any], key: str, *ids: str) -> dict[str, Any]:
    """The request without the resources `ids` (all, when none is named) of the prefetch `key`."""
    kept = [e["resource"]["id"] for e in body["prefetch"][key]["entry"] if ids and e["resource"]["id"] not in ids]
    return _keeping(body, key, *kept)


# --- MRD: a criterion reading both MRD facts ("negative or unavailable") says what they share once


def test_maintenance_without_an_mrd_result_says_so_once(client: Any) -> None:
    card = _decision(client, _without(example("aspirus-adult-maintenance"), "observations", "mrd-1"))
    line = _line(card, "MRD negative or unavailable")
    assert line.startswith("- ❓ unknown: MRD negative or unavailable")
    assert line.count("no MRD result") == 1 and "; no MRD result on record; **document:**" in line


def test_maintenance_with_a_detectable_mrd_names_the_result_once(client: Any) -> None:
    body = example("aspirus-adult-maintenance")
    [mrd] = [e["resource"] for e in body["prefetch"]["observations"]["entry"] if e["resource"]["id"] == "mrd-1"]
    mrd.pop("valueCodeableConcept", None)
    mrd["valueQuantity"] = {"value": 0.05, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    line = _line(_decision(client, body), "MRD negative or unavailable")
    assert line.startswith("- ❌ not met: MRD negative or unavailable")
    assert line.endswith("; MRD 0.05% (2026-11-15)")  # not "…; MRD result on record (2026-11-15)" besides


def test_the_mrd_unavailable_pathway_ruled_out_names_the_result_that_did_it(client: Any) -> None:
    card = _decision(client, example("aspirus-consolidation-lines-together-above-label"))
    assert ("- adult consolidation, MRD unavailable: ❌ MRD result explicitly unavailable (_Aspirus III (ALL, adult), "
            "consolidation, MRD unavailable_): MRD 0.05% (2026-11-15) (evidence: Observation/mrd-1)") in card["detail"]


def test_maintenance_with_an_mrd_negative_result_is_met_on_it(client: Any) -> None:
    line = _line(_decision(client, example("aspirus-adult-maintenance")), "MRD negative or unavailable")
    assert line.startswith("- ✅ met:") and line.endswith("; evidence: Observation/mrd-1; MRD negative (2026-11-15)")


# --- The summary's list of what to document reads as one list, not as several requests


def test_two_items_to_document_are_joined_by_and(client: Any) -> None:
    card = _decision(client, _without(example("aspirus-adult-consolidation-mrd-positive"), "conditions"))
    assert card["summary"] == ("Aspirus Health Plan: document ALL diagnosis and therapy phase of this course to "
                               "confirm coverage")


def test_items_fitted_beside_no_hint_are_still_a_list(client: Any) -> None:
    """Too long beside what another indication would need, the items alone still fit: "and", not "; "."""
    body = _keeping(example("florida-blue-mrd-positive"), "observations", "weight-1")  # no lab result
    assert _decision(client, body)["summary"] == (
        "Florida Blue: document laboratory result showing CD19+ blasts and quantitative MRD result (%) to confirm "
        "coverage")


def test_data_not_received_are_named_as_the_detail_lists_them(client: Any) -> None:
    body = example("aspirus-adult-maintenance")
    for key in ("observations", "conditions"):
        del body["prefetch"][key]
    card = _decision(client, body)
    assert card["summary"] == ("Aspirus Health Plan: coverage not determined, EHR did not send diagnoses, lab results "
                               "and vital signs")
    assert "**Not received from the EHR**: diagnoses, lab results and vital signs (" in card["detail"]


def test_a_list_of_one_two_and_three() -> None:
    from cds_service.cards import _summary_request
    from cds_service.sentences import listed
    assert [listed(items) for items in (["A"], ["A", "B"], ["A", "B", "C"])] == ["A", "A and B", "A; B and C"]
    # Items beyond the room are counted after those named, which stay apart by "; ".
    long = ["x" * 40, "y" * 40, "z" * 40]
    assert _summary_request(long, [], 40) == (f"{'x' * 40}; {'y' * 40} and 1 more item", "")


# --- A result asked about by what it is and its date: its id is the pharmacist's, in the detail


def _observation(body: dict[str, Any], oid: str) -> dict[str, Any]:
    [found] = [e["resource"] for e in body["prefetch"]["observations"]["entry"] if e["resource"]["id"] == oid]
    return found


def test_an_mrd_result_dated_by_month_is_asked_for_by_its_date(client: Any) -> None:
    body = example("aspirus-adult-consolidation-mrd-positive")
    _observation(body, "mrd-1")["effectiveDateTime"] = "2026-12"  # Dec 1, the course start, or after it
    card = _decision(client, body)
    # The result first: on Dec 1 and detectable, it settles the phase too (facts/phase.py).
    assert card["summary"] == ("Aspirus Health Plan: document the full date of the MRD result dated 2026-12 and "
                               "therapy phase of this course to confirm coverage")
    assert "\n- the full date of the MRD result dated 2026-12 (Observation/mrd-1)\n" in card["detail"]


def test_a_cd19_result_without_its_value_is_asked_for_by_its_date(client: Any) -> None:
    body = example("florida-blue-relapsed-refractory-ph-negative")
    cd19 = _observation(body, "cd19-1")
    for key in [key for key in cd19 if key.startswith("value")]:
        del cd19[key]
    card = _decision(client, body)
    assert card["summary"] == ("Florida Blue: document the value of the CD19 result on blasts dated 2026-11-12 to "
                               "confirm coverage")
    assert ("**document:** the value of the CD19 result on blasts dated 2026-11-12 (Observation/cd19-1)"
            in card["detail"])


def test_the_summary_leaves_only_closing_references_to_the_detail() -> None:
    from cds_service.summary_items import summary_item
    assert summary_item("the full date of the MRD results dated 2026-12 (Observation/a, Observation/b)") == \
        "the full date of the MRD results dated 2026-12"
    # Not a closing list of references: as it is (an item naming a resource by its id alone says nothing else).
    for item in ("the full date of MedicationRequest/dasatinib-1", "quantitative MRD result (%)",
                 "the full date of QuestionnaireResponse/tox-answer (unacceptable-toxicity)"):
        assert summary_item(item) == item


# --- The order answered: what was ordered and when it starts, its id last


def _order_line(client: Any, body: dict[str, Any]) -> str:
    return _line(_decision(client, body), "Order: ")


def test_the_order_is_named_by_its_dosage_and_start_before_its_id(client: Any) -> None:
    assert _order_line(client, example("aspirus-adult-relapsed-refractory-cycle1")) == (
        "Order: 9 mcg/day continuous IV infusion; 28 mcg/day continuous IV infusion — starts 2026-12-01 "
        "(MedicationRequest/blinatumomab-order)")


def test_an_order_started_by_month_says_no_day(client: Any) -> None:
    body = example("aspirus-adult-maintenance")
    [line] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    line["timing"]["repeat"]["boundsPeriod"]["start"] = "2026-12"  # a month: no day to name
    assert _order_line(client, body) == "Order: 28 mcg/day continuous IV infusion (MedicationRequest/blinatumomab-order)"


def test_an_order_without_dosage_text_is_said_by_its_dose_and_days(client: Any) -> None:
    body = example("aspirus-adult-maintenance")
    del body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["text"]
    assert _order_line(client, body) == ("Order: 28 mcg/day on days 1–28 (line 1, no text) — starts 2026-12-01 "
                                         "(MedicationRequest/blinatumomab-order)")


# --- A dose card offering no correction says what to do, when it fits


def test_a_summary_tail_is_left_out_whole_when_it_does_not_fit(tmp_path: Any, monkeypatch: Any) -> None:
    from cds_service.card_text import SUMMARY_LIMIT, render_card
    template = '{% set summary %}{{ head }}{% endset %}{% set summary_tail %}; do this{% endset %}detail'
    (tmp_path / "tail.j2").write_text(template)
    monkeypatch.setenv("CDS_CARDS_DIR", str(tmp_path))
    fits = "x" * (SUMMARY_LIMIT - 1 - len("; do this"))
    assert render_card("tail.j2", head=fits).summary == fits + "; do this"
    assert render_card("tail.j2", head=fits + "y").summary == fits + "y"  # not cut in, nor cutting the account


def test_an_unreadable_dose_says_what_to_write_and_leaves_the_elements_to_the_ehr_team(client: Any) -> None:
    body = example("aspirus-adult-maintenance")
    [line] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    line["doseAndRate"][0]["rateQuantity"].update(unit="xx", code="xx")
    [dose] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["summary"] == "Dose not checked: dosage line 1 could not be read; write the dose in mcg/day"
    words, ehr = dose["detail"].split("For the EHR team: ")
    assert "Write the dose in mcg/day or mcg/h, as a dose" in words and "`" not in words  # no element names for the clinician
    assert "rateQuantity `ug/d` or `ug/h`" in ehr and "`ingredient.strength`" in ehr


def test_a_partial_mrd_date_says_which_day_it_may_be_after(client: Any) -> None:
    body = example("aspirus-adult-consolidation-mrd-positive")
    _observation(body, "mrd-1")["effectiveDateTime"] = "2026-12"
    line = _line(_decision(client, body), "MRD positive, or persistent")
    assert "; MRD 0.05% (2026-12): may be after the course start 2026-12-01;" in line


# --- Notes of the service: what happened in words, the FHIR elements for the EHR team


def test_an_unidentified_drug_is_said_in_words_its_elements_left_to_the_ehr_team(client: Any) -> None:
    body = example("aspirus-relapsed-refractory-cycle10-exceeds-limit")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/eblinatumomab"}
    [card] = post(client, body)["cards"]
    words, ehr = card["detail"].split("For the EHR team: ")
    assert "the service cannot tell whether this is blinatumomab" in " ".join(words.split())
    assert "not a denial" in words
    assert not any(name in words for name in ("draftOrders", "prefetch", "medicationCodeableConcept", "Medication "))
    assert "medicationCodeableConcept" in ehr and "draftOrders" in ehr
