"""A dosage line's timing stating a range, or some days of the week only, is not read as one dose a day on every day
of its period. "28 mcg once or twice a day" (frequencyMax 2) had been approved as 28 mcg/day, "every 1 to 2 days"
read at its shortest period, and infusion on weekdays only read as every day: each is now asked for (information
needed, no denial, no one-click fix)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.dates_support import answer, covered, example, order, service, summaries

__all__ = ["service"]

UCUM = "http://unitsofmeasure.org"


def _timed(dose: Any, dose_unit: str, **repeat: Any) -> dict[str, Any]:
    request = example("aspirus-adult-consolidation-mrd-positive")  # 28 mcg/day on days 1-28: meets the criteria
    line = order(request)["dosageInstruction"][0]
    if dose_unit == "ug/d":
        line["doseAndRate"] = [{"rateQuantity": {"value": dose, "unit": dose_unit, "system": UCUM, "code": dose_unit}}]
    else:
        line["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": dose_unit, "system": UCUM, "code": dose_unit}}]
    line["timing"]["repeat"].update(repeat)
    return request


def _criterion(found: dict[str, Any]) -> dict[str, Any]:
    [decision] = [c["extension"]["coverage-decision"] for c in found["cards"] if "coverage-decision" in c["extension"]]
    [dose] = [c for c in decision["criteria"] if c["id"].endswith("dose-schedule")]
    return dose


@pytest.mark.parametrize(("dose", "unit", "repeat", "note"), [
    (28, "ug", {"frequency": 1, "frequencyMax": 2, "period": 1, "periodUnit": "d"},
     "dose not readable (line 1: its frequency is a range: 1 to 2 times)"),
    (28, "ug", {"frequencyMax": 2, "period": 1, "periodUnit": "d"},
     "dose not readable (line 1: its frequency is a range: 1 to 2 times)"),
    (28, "ug", {"frequency": 1, "period": 1, "periodMax": 2, "periodUnit": "d"},
     "dose not readable (line 1: its period is a range: 1 to 2 d)"),
    (56, "ug", {"frequency": 1, "period": 1, "periodUnit": "d", "duration": 48, "durationMax": 72, "durationUnit": "h"},
     "dose not readable (line 1: its bag's duration is a range: 48 to 72 h)"),
    (28, "ug/d", {"dayOfWeek": ["mon", "tue", "wed", "thu", "fri"]},
     "infusion period not readable (line 1: it runs on some days of the week only: mon, tue, wed, thu, fri)"),
])
def test_a_timing_range_or_some_weekdays_are_asked_for(service: Any, dose: int, unit: str, repeat: dict[str, Any],
                                                       note: str) -> None:
    found = answer(service, _timed(dose, unit, **repeat))
    criterion = _criterion(found)
    assert (criterion["status"], criterion["note"]) == ("unknown", note)
    assert covered(found) == "conditional" and "not covered" not in summaries(found)
    assert not [s for card in found["cards"] for s in card.get("suggestions", [])]


@pytest.mark.parametrize("repeat", [
    {"frequency": 1, "frequencyMax": 1, "period": 1, "periodUnit": "d"},  # a range of one value: no range
    {"frequency": 1, "period": 1, "periodMax": 1, "periodUnit": "d"},
    {"frequency": 1, "period": 1, "periodUnit": "d",
     "dayOfWeek": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},  # every day of the week
    {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00"]},
])
def test_a_timing_that_states_one_dose_a_day_still_reads(service: Any, repeat: dict[str, Any]) -> None:
    found = answer(service, _timed(28, "ug", **repeat))
    assert _criterion(found)["status"] == "met" and covered(found) == "covered"


GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"


def _coded(dose: int, *codes: str, **repeat: Any) -> dict[str, Any]:
    request = _timed(dose, "ug", **repeat)
    order(request)["dosageInstruction"][0]["timing"]["code"] = {"coding": [{"system": GTS, "code": c} for c in codes]}
    return request


@pytest.mark.parametrize(("request_", "status"), [
    (_coded(28, "QD"), "met"),  # 28 mcg once a day: had been unread (no frequency and period)
    (_coded(14, "BID"), "met"),
    (_coded(28, "BID"), "not-met"),  # 56 mcg/day
    (_coded(56, "QOD"), "met"),  # 56 mcg every other day, 48-hour bags: 28 mcg/day
    (_coded(28, "QD", frequency=2, period=1, periodUnit="d"), "not-met"),  # the repeat's own timing wins
    (_coded(28, "QD", "BID"), "unknown"),  # codes that disagree: not read
    (_coded(28, "XYZ"), "unknown"),
])
def test_a_timing_code_reads_as_its_frequency_and_period(service: Any, request_: dict[str, Any],
                                                         status: str) -> None:
    assert _criterion(answer(service, request_))["status"] == status
