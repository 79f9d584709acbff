"""Data taken out of a valid request gives information needed, or the same decision, never a denial (the project's
rule: missing clinical data is information needed). Each case here was found by deleting one element of an example
request and sending it over HTTP."""
from __future__ import annotations

from typing import Any

from cds_service.facts.labs import undated_relevance
from tests.live_server import LiveClient
from tests.test_pipeline import example, post


def decision_card(response: dict[str, Any]) -> dict[str, Any]:
    return next(card for card in response["cards"] if "coverage-decision" in card.get("extension", {}))


DAYS = ["each dosage line's days (its start and end, or its duration)"]


def without_first_start(name: str, client: LiveClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer to example `name` with its order's first dosage line sent without its boundsPeriod.start, and its
    coverage decision; the decision asks for the lines' days, and no card offers to rewrite the order."""
    request = example(name)
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    del order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"]
    response = post(client, request)
    decision = decision_card(response)["extension"]["coverage-decision"]
    assert (decision["decision"], decision["missing"]) == ("information-needed", DAYS)
    assert not any(card.get("suggestions") for card in response["cards"])
    return response, decision


def test_a_step_dose_line_that_lost_its_start_asks_for_the_days_not_a_denial(client: LiveClient) -> None:
    """The 9 mcg/day line of a relapsed/refractory cycle 1 (days 1-7) sent with its end and no start: day 1 is not the
    28 mcg/day line's start, which made that line days 1-21 and denied the order as 28 mcg/day above the label on
    days 1-7 (offering to rewrite it from the wrong day 1)."""
    response, decision = without_first_start("aspirus-adult-relapsed-refractory-cycle1", client)
    dose = next(c for c in decision["criteria"] if c["id"].endswith("dose-schedule"))
    assert dose["status"] == "unknown"
    assert dose["note"].startswith("dose not readable (line 1: it states an end but no start")
    # The line to correct is the first, whole in the summary: the second's period is right ("lines 1, 2" had said).
    assert response["cards"][1]["summary"] == ("Dose not checked: correct the infusion period of line 1 (it states an "
                                               "end but no start, so the order's days cannot be placed)")


def test_a_single_line_that_lost_its_start_asks_for_the_days_not_a_denial(client: LiveClient) -> None:
    """A consolidation order's one line (2026-12-01 to 12-28) sent with its end and no start: read from the order's
    authoredOn (2026-11-21) it ran to day 38, denied as infusion past day 28 (Aspirus V)."""
    without_first_start("aspirus-adult-consolidation-mrd-positive", client)


def test_a_step_dose_line_with_its_start_is_read_as_before(client: LiveClient) -> None:
    """The same order whole is met: the rule above takes only a line without a start."""
    response = post(client, example("aspirus-adult-relapsed-refractory-cycle1"))
    assert decision_card(response)["extension"]["coverage-decision"]["decision"] == "meets-criteria"


def without(request: dict[str, Any], key: str, resource_id: str, element: str) -> dict[str, Any]:
    """The request with `element` taken out of the resource `resource_id` of its prefetch `key`."""
    for entry in request["prefetch"][key]["entry"]:
        if entry["resource"]["id"] == resource_id:
            del entry["resource"][element]
            return request
    raise AssertionError(resource_id)


def without_drug(request: dict[str, Any], order_id: str) -> dict[str, Any]:
    """The request with the history's order `order_id` naming no drug (its medicationCodeableConcept taken out)."""
    return without(request, "medicationRequests", order_id, "medicationCodeableConcept")


def test_a_tki_order_that_lost_its_drug_leaves_the_combination_unknown(client: LiveClient) -> None:
    """The Ph+ patient's active dasatinib order naming no drug: read as no TKI, the order was denied as Ph+ without a
    TKI (Aspirus III, consolidation MRD-); an order of an unknown drug active at the start may be one."""
    request = without_drug(example("aspirus-adult-consolidation-mrd-negative-ph-positive-tki"), "dasatinib-1")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert any("TKI" in missing for missing in decision["missing"])


def test_an_earlier_cycle_that_lost_its_drug_leaves_the_cycle_number_unknown(client: LiveClient) -> None:
    """Cycle 6 with cycle 2's order naming no drug: counted as cycle 5, an initial request whose authorization had
    ended, a denial; the order may be that earlier cycle."""
    request = without_drug(example("aspirus-relapsed-refractory-cycle6-renewal"), "prior-cycle-2")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed" and decision["cycle"] is None
    assert "cycle number of this order" in decision["missing"]


def test_a_draft_order_naming_no_drug_beside_the_blinatumomab_order_is_ignored(client: LiveClient) -> None:
    """The CDS Hooks sandbox sends an order with no drug before one is chosen: among the orders being signed it is no
    unknown drug, and the blinatumomab order is decided as without it."""
    request = example("aspirus-adult-consolidation-mrd-negative-ph-positive-tki")
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    nameless = {key: order[key] for key in ("resourceType", "status", "intent", "subject")}
    request["context"]["draftOrders"]["entry"].append({"resource": {**nameless, "id": "sandbox-order"}})
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "meets-criteria"


def test_a_tki_order_that_lost_its_status_leaves_the_combination_unknown(client: LiveClient) -> None:
    """The active dasatinib order sent without its status (FHIR requires one): read as neither active nor completed,
    it was dropped and the Ph+ patient denied as without a TKI. It is unreadable now: its code says a TKI."""
    request = example("aspirus-adult-consolidation-mrd-negative-ph-positive-tki")
    del request["prefetch"]["medicationRequests"]["entry"][0]["resource"]["status"]
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert any("TKI" in missing for missing in decision["missing"])


def test_an_earlier_cycle_that_lost_its_status_leaves_the_cycle_number_unknown(client: LiveClient) -> None:
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    del request["prefetch"]["medicationRequests"]["entry"][3]["resource"]["status"]
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed" and decision["cycle"] is None


def observation_without_status(name: str, observation_id: str) -> dict[str, Any]:
    """Example `name` with its Observation `observation_id` sent without its status (FHIR requires one)."""
    return without(example(name), "observations", observation_id, "status")


def test_the_latest_cd19_result_without_its_status_leaves_cd19_unknown(client: LiveClient) -> None:
    """Florida Blue reads the latest blast immunophenotype: the CD19-negative result at relapse sent without its status
    had been passed over, and the CD19+ result at diagnosis approved the order. It may be final: CD19 is unknown."""
    request = observation_without_status("florida-blue-cd19-negative-relapse", "cd19-relapse")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    cd19 = next(c for c in decision["criteria"]
                if c["status"] == "unknown" and "Observation/cd19-relapse" in c["evidence"])
    assert "Observation/cd19-relapse (a CD19 result) could not be read: status is missing" in cd19["note"]


def test_one_of_two_same_day_mrd_results_without_its_status_leaves_mrd_unknown(client: LiveClient) -> None:
    """Two MRD results of one day that disagree leave MRD unknown; the one without its status had been passed over,
    and the other one alone approved the order."""
    request = observation_without_status("aspirus-consolidation-mrd-same-day-conflict", "mrd-2")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert any("Observation/mrd-2" in c["evidence"] for c in decision["criteria"] if c["status"] == "unknown")


def observation_without(name: str, observation_id: str, element: str) -> dict[str, Any]:
    """Example `name` with `element` taken out of its Observation `observation_id`."""
    return without(example(name), "observations", observation_id, element)


def unknown_on(decision: dict[str, Any], reference: str) -> dict[str, Any]:
    """The decision's unknown criterion that names `reference` in its evidence."""
    return next(c for c in decision["criteria"] if c["status"] == "unknown" and reference in c["evidence"])


def test_the_latest_cd19_result_without_its_value_leaves_cd19_unknown(client: LiveClient) -> None:
    """The CD19-negative immunophenotyping at relapse sent without its value: read as a panel not mentioning CD19, it
    was ignored and the CD19+ result at diagnosis approved the order. The latest result decides (fhir-data-profile.md
    §Labs, CD19): one without a value leaves CD19 unknown."""
    request = observation_without("florida-blue-cd19-negative-relapse", "cd19-relapse", "valueString")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert "without a value" in unknown_on(decision, "Observation/cd19-relapse")["note"]


def test_an_earlier_cd19_result_without_its_value_changes_nothing(client: LiveClient) -> None:
    """The CD19+ result at diagnosis without its value: the CD19-negative result at relapse, the latest, still decides
    (not met, as with the value)."""
    request = observation_without("florida-blue-cd19-negative-relapse", "cd19-dx", "valueString")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "criteria-not-met"
    assert any(c["status"] == "not-met" and c["evidence"] == ["Observation/cd19-relapse"] for c in decision["criteria"])


def test_the_latest_cd19_result_without_its_date_leaves_cd19_unknown(client: LiveClient) -> None:
    """The CD19-negative result at relapse sent without its date had been passed over ("cannot be placed in time"),
    and the CD19+ result at diagnosis approved the order: an undated result may be the latest."""
    request = observation_without("florida-blue-cd19-negative-relapse", "cd19-relapse", "effectiveDateTime")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    note = unknown_on(decision, "Observation/cd19-relapse")["note"]
    assert "Observation/cd19-relapse (a CD19 result) could not be read: it has no date" in note


def test_one_of_two_same_day_mrd_results_without_its_date_leaves_mrd_unknown(client: LiveClient) -> None:
    """Of two MRD results that disagree, the undated one had been passed over and the other alone approved the order."""
    request = observation_without("aspirus-consolidation-mrd-same-day-conflict", "mrd-2", "effectiveDateTime")
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert "Observation/mrd-2 (an MRD result) could not be read: it has no date" in unknown_on(
        decision, "Observation/mrd-2")["note"]


def test_a_dated_cd19_result_is_read_as_before(client: LiveClient) -> None:
    decision = decision_card(post(client, example("florida-blue-cd19-negative-relapse")))
    assert decision["extension"]["coverage-decision"]["decision"] == "criteria-not-met"


def dose_summaries(response: dict[str, Any]) -> list[str]:
    return [card["summary"] for card in response["cards"] if card["source"]["topic"]["code"] == "off-guideline"]


def test_a_step_dose_with_the_history_not_received_is_not_called_below_the_label(client: LiveClient) -> None:
    """A relapsed/refractory cycle 1 (9 mcg/day on days 1-7) sent without its medication history: the cycle number is
    unknown, and compared without step days (docs/dosing.md) the step dose had been called "below label ... label is
    28 mcg/day", a finding the missing history made. As cycle 1 it is the label dose."""
    request = example("florida-blue-relapsed-refractory-ph-negative")
    del request["prefetch"]["medicationRequests"]
    response = post(client, request)
    assert decision_card(response)["extension"]["coverage-decision"]["cycle"] is None
    assert dose_summaries(response) == []


def test_a_dose_below_the_label_in_any_cycle_is_still_said_with_the_history_not_received(client: LiveClient) -> None:
    """4 mcg/day on days 1-7 is below the label whatever the cycle: the card stays."""
    request = example("florida-blue-relapsed-refractory-ph-negative")
    del request["prefetch"]["medicationRequests"]
    line = request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]
    line["doseAndRate"][0]["rateQuantity"]["value"] = 4
    assert [s.split(":")[0] for s in dose_summaries(post(client, request))] == ["Dose below label"]


def test_a_flow_panel_grouping_its_results_leaves_cd19_to_its_members(client: LiveClient) -> None:
    """An immunophenotyping panel (LOINC 101119-6) sent as a group of results (`hasMember`), with no value of its own:
    its results are its members, the CD19+ one read on its own. Read as a CD19 result without a value, the panel had
    left CD19 unknown and asked for its value (fhir-data-profile.md §Labs: results not mentioning CD19 are ignored)."""
    request = example("florida-blue-relapsed-refractory-ph-negative")
    request["prefetch"]["observations"]["entry"].append({"resource": {
        "resourceType": "Observation", "id": "flow-panel", "status": "final",
        "subject": {"reference": "Patient/example-patient"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "101119-6"}],
                 "text": "Leukemia/lymphoma immunophenotyping"},
        "effectiveDateTime": "2026-11-12", "hasMember": [{"reference": "Observation/cd19-1"}]}})
    decision = decision_card(post(client, request))["extension"]["coverage-decision"]
    assert decision["decision"] == "meets-criteria"


def test_a_dose_below_the_label_from_day_8_is_said_with_the_history_not_received(client: LiveClient) -> None:
    """9 mcg/day on days 1-28 is below the label on days 8-28 whatever the cycle (cycle 1's step dose ends on day 7).
    With the cycle number unknown the finding (days 1-28 against 28 mcg/day) had been dropped whole for its days 1-7,
    below the label only if this is not cycle 1: the days below in any cycle are said."""
    request = example("florida-blue-relapsed-refractory-ph-negative")
    del request["prefetch"]["medicationRequests"]
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"] = order["dosageInstruction"][:1]
    order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["end"] = "2026-12-28"
    summaries = dose_summaries(post(client, request))
    assert [s.split(":")[0] for s in summaries] == ["Dose below label"]
    assert "days 8–28" in summaries[0]


def test_an_undated_mrd_not_performed_leaves_only_mrd_unavailable_unknown(client: LiveClient) -> None:
    """An MRD Observation saying none was done (dataAbsentReason), undated: it is never the latest MRD value
    (fhir-data-profile.md §Labs, MRD: unavailable only when explicit), so the dated 0.05% still approves the
    MRD-positive consolidation; it had made MRD detectable and the therapy phase unknown. Whether MRD is unavailable is
    unknown."""
    request = example("aspirus-adult-consolidation-mrd-positive")
    request["prefetch"]["observations"]["entry"].append({"resource": {
        "resourceType": "Observation", "id": "mrd-x", "status": "final",
        "subject": {"reference": "Patient/example-patient"}, "code": {"text": "MRD by flow cytometry (bone marrow)"},
        "dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                         "code": "not-performed"}]}}})
    assert decision_card(post(client, request))["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    not_done = request["prefetch"]["observations"]["entry"][-1]["resource"]
    relevance = undated_relevance(not_done)
    assert relevance is not None and [b.fact for b in relevance.bearings] == ["mrd_unavailable"]
    del not_done["dataAbsentReason"]
    not_done["valueQuantity"] = {"value": 0.05, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    relevance = undated_relevance(not_done)
    assert relevance is not None and "mrd_detectable" in [b.fact for b in relevance.bearings]
