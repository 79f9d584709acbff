"""Review of the dose and quantity checks against fhir-data-profile.md §The order, through the real endpoint.

Each test starts from an example request whose order is written correctly (relapsed/refractory cycle 1: 9 mcg/day on
days 1-7, then 28 mcg/day) and writes it the way another EHR would.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest
from flask.testing import FlaskClient

from cds_service import SERVICE_ID
from tests.test_facts_review import Request, example, the_order


def answer(client: FlaskClient, request: Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(decision extensions, dose cards) of the response."""
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = response.get_json()["cards"]
    decisions = [c["extension"]["coverage-decision"] for c in cards if "coverage-decision" in c.get("extension", {})]
    doses = [c for c in cards if "dose-check" in c.get("extension", {})]
    return decisions, doses


def _bounds(request: Request, line: int, start: str, end: str) -> None:
    the_order(request)["dosageInstruction"][line]["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}


def test_bags_changed_at_the_same_time_of_day_cover_whole_days(client: FlaskClient) -> None:
    # A 7-day step from 08:00 to 08:00 is days 1-7; the full dose starts on day 8 at 08:00.
    request = example()
    _bounds(request, 0, "2026-12-01T08:00:00-05:00", "2026-12-08T08:00:00-05:00")
    _bounds(request, 1, "2026-12-08T08:00:00-05:00", "2026-12-29T08:00:00-05:00")
    [decision], doses = answer(client, request)
    assert decision["decision"] == "meets-criteria"
    assert doses == []


def test_a_step_dose_running_into_day_8_is_still_seen(client: FlaskClient) -> None:
    # 28 mcg/day from 12-08 14:00: day 8 (from 08:00) is partly at 9 mcg/day, never above the label.
    request = example()
    _bounds(request, 0, "2026-12-01T08:00:00Z", "2026-12-08T14:00:00Z")
    _bounds(request, 1, "2026-12-01T08:00:00Z", "2026-12-29T08:00:00Z")
    _, [dose] = answer(client, request)
    assert dose["indicator"] == "warning"  # the second line covers days 1-28 at 28 mcg/day: above on days 1-7
    assert dose["extension"]["dose-check"]["days"] == [1, 7]


@pytest.mark.parametrize(("end", "reason"), [("2026-12-01T09:00:00Z", "its end is before its start"),
                                             ("2026-12-01T10:00:00Z", "it ends at the moment it starts")])
def test_a_timed_period_ending_at_or_before_its_start_is_not_read(client: FlaskClient, end: str, reason: str) -> None:
    # One 28 mcg/day line hung at 10:00, ending at 09:00 (or 10:00) that day: read as day 1, it had been above the
    # label with a correction to 9 mcg/day. As the date form ending before its start: not read, information needed.
    # What to do is to correct the period (the reviewer's timed_end_before_start): both cards had asked for the dose
    # in mcg/day, which it is.
    request = example()
    order = the_order(request)
    order["dosageInstruction"] = order["dosageInstruction"][1:]
    _bounds(request, 0, "2026-12-01T10:00:00Z", end)
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    [decision, dose] = response.get_json()["cards"]
    found = decision["extension"]["coverage-decision"]
    period = f"a corrected infusion period for dosage line 1 ({reason})"
    assert (found["decision"], found["missing"]) == ("information-needed", [period])
    assert decision["summary"] == f"Aspirus Health Plan: document {period} to confirm coverage"
    assert dose["indicator"] == "info" and "suggestions" not in dose
    assert dose["summary"] == f"Dose not checked: correct the infusion period of line 1 ({reason})"
    assert f"Line 1: {reason}" in dose["detail"] and "Write the dose" not in dose["detail"]


def _quantity(request: Request, quantity: dict[str, Any]) -> None:
    the_order(request)["dispenseRequest"]["quantity"] = quantity


def test_a_quantity_coded_in_another_system_is_read_from_its_unit_string(client: FlaskClient) -> None:
    request = example()
    _quantity(request, {"value": 30, "unit": "vial", "system": "http://ncimeta.nci.nih.gov", "code": "C48672"})
    [decision], _ = answer(client, request)
    assert decision["decision"] == "criteria-not-met"  # 30 vials: over the 28-vial limit, read, not unknown
    assert next(c for c in decision["criteria"] if c["id"] == "quantity")["status"] == "not-met"


def test_vials_written_as_vial_s_are_read(client: FlaskClient) -> None:
    request = example()
    _quantity(request, {"value": 28, "unit": "vial(s)"})
    [decision], _ = answer(client, request)
    assert decision["decision"] == "meets-criteria"


def test_a_rate_coded_in_a_local_system_is_read_from_its_unit_string(client: FlaskClient) -> None:
    request = example()
    rate = the_order(request)["dosageInstruction"][1]["doseAndRate"][0]["rateQuantity"]
    rate.update({"value": 56, "unit": "mcg/day", "system": "urn:oid:1.2.840.114350.1.13.0.1.7.4.698084.10656",
                 "code": "3086"})
    _, [dose] = answer(client, request)
    assert dose["extension"]["dose-check"]["ordered"] == 56


def test_absurdly_large_numbers_are_unreadable_not_a_failure(client: FlaskClient) -> None:
    request = example()
    the_order(request)["dosageInstruction"][1]["doseAndRate"][0]["rateQuantity"]["value"] = 1e300  # beyond any dose
    the_order(request)["dispenseRequest"]["quantity"]["value"] = 1e300
    [decision], doses = answer(client, request)
    assert decision["decision"] == "information-needed"
    statuses = {c["id"].rsplit(".", 1)[-1]: c["status"] for c in decision["criteria"]}
    assert statuses["dose-schedule"] == "unknown"
    assert statuses["quantity"] == "unknown"
    assert doses == []


def test_the_step_dose_suggestion_for_a_timed_period_passes_the_check_itself(client: FlaskClient) -> None:
    # One 28 mcg/day line from 08:00 on day 1 to 08:00 after day 28: the suggestion splits it at 08:00 on day 8.
    request = example()
    order = the_order(request)
    order["dosageInstruction"] = order["dosageInstruction"][1:]
    _bounds(request, 0, "2026-12-01T08:00:00Z", "2026-12-29T08:00:00Z")
    _, [dose] = answer(client, request)
    corrected = dose["suggestions"][0]["actions"][0]["resource"]
    step, full = (line["timing"]["repeat"]["boundsPeriod"] for line in corrected["dosageInstruction"])
    assert step["end"] == full["start"]
    order.clear()
    order.update(corrected)
    [decision], doses = answer(client, request)
    assert doses == []
    assert decision["decision"] == "meets-criteria"


def test_an_adults_dose_per_m2_is_corrected_in_mcg_per_day_and_signs_clean(client: FlaskClient) -> None:
    """From 45 kg the label dose is fixed: an order written per m² is corrected to 9 then 28 mcg/day, not to
    4.524 and 14.07 mcg/m²/day. Signed again, the corrected order passes the endpoint's check of a blinatumomab order
    (an R4 MedicationRequest, fhir.resources) and the label."""
    request = example("aspirus-adult-relapsed-refractory-dose-per-m2-too-high")
    _, [dose] = answer(client, request)
    corrected = dose["suggestions"][0]["actions"][0]["resource"]
    rates = [line["doseAndRate"][0]["rateQuantity"] for line in corrected["dosageInstruction"]]
    assert rates == [{"value": mcg, "unit": "ug/d", "system": "http://unitsofmeasure.org", "code": "ug/d"}
                     for mcg in (9, 28)]
    assert [line["text"] for line in corrected["dosageInstruction"]] == ["9 ug/d continuous IV infusion",
                                                                         "28 ug/d continuous IV infusion"]
    the_order(request).clear()
    the_order(request).update(corrected)
    [decision], doses = answer(client, request)
    assert doses == [] and decision["decision"] == "meets-criteria"


def _full_dose_line(request: Request) -> dict[str, Any]:
    line: dict[str, Any] = the_order(request)["dosageInstruction"][1]
    return line


def _bag(request: Request) -> None:
    line = _full_dose_line(request)
    line["doseAndRate"] = [{"doseQuantity": {"value": 112, "unit": "mcg"}}]
    line["timing"]["repeat"].update({"frequency": 1, "period": 48, "periodUnit": "h", "duration": 48,
                                     "durationUnit": "h"})


def _ratio(request: Request) -> None:
    _full_dose_line(request)["doseAndRate"] = [{"rateRatio": {"numerator": {"value": 56, "unit": "mcg"},
                                                              "denominator": {"value": 24, "unit": "h"}}}]


def _hourly(request: Request) -> None:
    _full_dose_line(request)["doseAndRate"] = [{"rateQuantity": {"value": 2.5, "unit": "mcg/hr"}}]


def _per_m2(request: Request) -> None:
    _full_dose_line(request)["doseAndRate"] = [{"rateQuantity": {"value": 30, "unit": "mcg/m2/day",
                                                                 "code": "ug/(m2.d)"}}]


@pytest.mark.parametrize(("name", "change"), [
    ("aspirus-adult-relapsed-refractory-cycle1", _bag),
    ("aspirus-adult-relapsed-refractory-cycle1", _ratio),
    ("aspirus-adult-relapsed-refractory-cycle1", _hourly),
    ("aspirus-pediatric-relapsed-refractory-bsa-step", _per_m2),
], ids=["48 h bag", "rate ratio", "mcg/hr", "mcg/m2/day"])
def test_applying_a_dose_suggestion_clears_the_dose_finding(client: FlaskClient, name: str,
                                                            change: Callable[[Request], None]) -> None:
    request = example(name)
    change(request)
    _, [dose] = answer(client, request)
    assert dose["indicator"] == "warning"
    corrected = dose["suggestions"][0]["actions"][0]["resource"]
    the_order(request).clear()
    the_order(request).update(corrected)
    _, doses = answer(client, request)
    assert [d["extension"]["dose-check"] for d in doses if d["indicator"] == "warning"] == []


@pytest.mark.parametrize(("repeat", "label"), [
    ({"frequency": 1, "period": 7, "periodUnit": "d", "duration": 168, "durationUnit": "h"},
     "Change dose to 196 mcg per 7-day bag (28 mcg/day)"),
    ({"frequency": 1, "period": 7, "periodUnit": "d"}, "Change dose to 196 mcg per dose (28 mcg/day)"),
])
def test_a_bag_dose_is_offered_per_bag(client: FlaskClient, repeat: dict[str, Any], label: str) -> None:
    """The clinical review (F5): 245 mcg in a 7-day bag (35 mcg/day) read "Change dose to 196 mcg per dose"; the bag's
    days are what the prescriber wrote. A dose every 7 days with no bag's duration stays "per dose"."""
    request = example("aspirus-adult-consolidation-mrd-positive")
    [written] = the_order(request)["dosageInstruction"]
    written["timing"]["repeat"].update(repeat)
    written["doseAndRate"] = [{"doseQuantity": {"value": 245, "unit": "ug", "system": "http://unitsofmeasure.org",
                                                "code": "ug"}}]
    _, [dose] = answer(client, request)
    assert [suggestion["label"] for suggestion in dose["suggestions"]] == [label]
