"""Weight, height and BSA as of the order's start (fhir-data-profile.md §The patient)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from cds_service.dosing.compare import display_number
from cds_service.dosing.text import mcg_text, per_m2_text
from cds_service.facts.body import TALLEST_HEIGHT_CM, largest_bsa, mosteller, weight_text
from cds_service.facts.model import Fact
from cds_service.record import PatientRecord
from tests.factories import body_sizes

START = date(2026, 11, 20)
WEIGHT = ("29463-7", "kg")
HEIGHT = ("8302-2", "cm")
BSA = ("8277-6", "m2")


def obs(ident: str, code: tuple[str, str], value: Any, days_before: int = 1, status: str = "final",
        unit: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code[0]}]},
        "effectiveDateTime": (START - timedelta(days=days_before)).isoformat(),
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit or code[1]},
    }


def record(*observations: dict[str, Any]) -> PatientRecord:
    return PatientRecord(patient={"resourceType": "Patient", "id": "p"}, lists={"observations": list(observations)})


def test_weight_in_kg_is_exact_decimal() -> None:
    size = body_sizes(record(obs("w", WEIGHT, 44.9)), START, 30)
    assert size.weight_kg.value == Decimal("44.9")
    assert size.weight_kg.evidence == ("Observation/w",)


def test_pounds_and_grams_convert_exactly() -> None:
    pounds = body_sizes(record(obs("w", WEIGHT, 99, unit="[lb_av]")), START, 30).weight_kg.value
    assert pounds == Decimal("44.90564463")
    assert pounds < 45  # 99 lb is below the 45 kg boundary without any rounding
    grams = body_sizes(record(obs("w", ("3141-9", "g"), 45000)), START, 30).weight_kg.value
    assert grams == Decimal(45)


@pytest.mark.parametrize(("value", "unit", "shown", "recorded"), [
    (99.2, "[lb_av]", "99.2 lb (44.99 kg)", "99.2 lb"),  # 44.99603 kg: rounded, it read "45 kg", the fixed dose's side
    (99, "lb", "99 lb (44.9 kg)", "99 lb"),
    (44.999, "kg", "44.99 kg", ""),
    (99.21, "[lb_av]", "99.21 lb (45 kg)", "99.21 lb"),  # 45.00090 kg: from 45 kg
    (45000, "g", "45000 g (45 kg)", "45000 g"),
])
def test_a_weight_reads_on_its_side_of_45_kg_and_as_recorded(value: float, unit: str, shown: str,
                                                             recorded: str) -> None:
    """A pharmacist reading "45 kg" expects the fixed 28 mcg/day: a weight below 45 kg is never shown as 45 kg, and
    one recorded in pounds is shown as the chart shows it, in kg after it."""
    size = body_sizes(record(obs("w", WEIGHT, value, unit=unit)), START, 30)
    assert size.weight_kg.note == f"Weight {shown} on 2026-11-19"
    assert size.weight_recorded == recorded
    assert size.weight_kg.value is not None and weight_text(size.weight_kg.value, recorded) == shown


def test_a_height_in_another_unit_is_shown_as_recorded_too() -> None:
    size = body_sizes(record(obs("h", ("8306-3", "[in_i]"), 30)), START, 1)
    assert size.height_cm.note == "Height 30 in (76.2 cm) on 2026-11-19"
    implausible = body_sizes(record(obs("w", WEIGHT, 2000, unit="[lb_av]")), START, 30)
    assert implausible.weight_kg.note == "Weight 2000 lb (907 kg) on 2026-11-19: not a plausible weight"
    assert implausible.weight_recorded == ""  # not used: no weight to show


def test_latest_weight_within_30_days_wins_and_stale_is_ignored() -> None:
    size = body_sizes(record(obs("old", WEIGHT, 50, days_before=20), obs("new", WEIGHT, 48, days_before=2)), START, 40)
    assert size.weight_kg.value == Decimal(48)
    stale = body_sizes(record(obs("w", WEIGHT, 70, days_before=31)), START, 40)
    assert stale.weight_kg.value is None
    edge = body_sizes(record(obs("w", WEIGHT, 70, days_before=30)), START, 40)
    assert edge.weight_kg.value == Decimal(70)


def test_of_one_days_sizes_the_lowest_is_read_whatever_the_order() -> None:
    """44 and 46 kg on one day decided the label dose (per m², or the fixed 28 mcg/day) by the order they came in:
    the lower reads, the smaller dose, either way round; a height likewise."""
    for pair in ((obs("a", WEIGHT, 44), obs("b", WEIGHT, 46)), (obs("b", WEIGHT, 46), obs("a", WEIGHT, 44))):
        size = body_sizes(record(*pair, obs("h1", HEIGHT, 150), obs("h2", HEIGHT, 149)), START, 40)
        assert (size.weight_kg.value, size.weight_kg.evidence) == (Decimal(44), ("Observation/a",))
        assert size.height_cm.value == Decimal(149)


def test_a_stale_weight_is_not_used_but_said() -> None:
    """Asked for a current weight, the clinician is told one is on file but too old (a review case: 80 kg from two
    months before the start, and only "document current weight"). A newer one in the window says nothing of it."""
    stale = body_sizes(record(obs("w", WEIGHT, 176.4, days_before=31, unit="[lb_av]")), START, 40)
    assert stale.weight_kg.value is None and stale.weight_kg.evidence == ("Observation/w",)
    assert stale.weight_kg.note == ("Latest weight 176.4 lb (80.01 kg) on 2026-10-20 is older than 30 days before "
                                    "the start")
    assert stale.weight_recorded == ""
    current = body_sizes(record(obs("old", WEIGHT, 80, days_before=31), obs("new", WEIGHT, 79, days_before=3)), START,
                         40)
    assert current.weight_kg.note == "Weight 79 kg on 2026-11-17"
    implausible = body_sizes(record(obs("w", WEIGHT, 0.001, days_before=31)), START, 40)
    assert implausible.weight_kg == Fact()  # no weight on file to speak of


def test_results_after_the_start_or_not_final_are_ignored() -> None:
    size = body_sizes(record(obs("future", WEIGHT, 70, days_before=-1),
                             obs("prelim", WEIGHT, 60, status="preliminary")),
                      START, 40)
    assert size.weight_kg.value is None
    amended = body_sizes(record(obs("w", WEIGHT, 60, status="amended")), START, 40)
    assert amended.weight_kg.value == Decimal(60)


def test_other_codes_are_not_body_size() -> None:
    other = obs("x", ("2339-0", "kg"), 70)
    assert body_sizes(record(other), START, 40).weight_kg.value is None


def test_height_window_depends_on_age() -> None:
    height = obs("h", HEIGHT, 170, days_before=200)
    assert body_sizes(record(height), START, 40).height_cm.value == Decimal(170)
    assert body_sizes(record(height), START, 12).height_cm.value is None
    assert body_sizes(record(height), START, None).height_cm.value is None
    assert body_sizes(record(height), START, 18).height_cm.value == Decimal(170)  # an adult's window from 18
    assert body_sizes(record(height), START, 17).height_cm.value is None
    inches = body_sizes(record(obs("h", ("8306-3", "[in_i]"), 30)), START, 1).height_cm.value
    assert inches == Decimal("76.2")


def test_recorded_bsa_within_ten_percent_of_mosteller_is_used() -> None:
    computed = mosteller(Decimal(120), Decimal(26))
    assert computed.quantize(Decimal("0.001")) == Decimal("0.931")
    size = body_sizes(record(obs("w", WEIGHT, 26), obs("h", HEIGHT, 120), obs("b", BSA, 1.0)), START, 7)
    assert size.bsa_m2.value == Decimal("1.0")
    assert size.bsa_m2.evidence == ("Observation/b",)
    assert "recorded" in size.bsa_m2.note


def test_implausible_recorded_bsa_is_replaced_by_mosteller() -> None:
    size = body_sizes(record(obs("w", WEIGHT, 26), obs("h", HEIGHT, 120), obs("b", BSA, 1.5)), START, 7)
    assert size.bsa_m2.value == Decimal("0.931")  # Mosteller 0.93095, used as shown: to three decimals
    assert size.bsa_m2.note.startswith("BSA 0.931 m² by Mosteller")
    assert set(size.bsa_m2.evidence) == {"Observation/w", "Observation/h"}
    assert "Mosteller" in size.bsa_m2.note and "differs" in size.bsa_m2.note


@pytest.mark.parametrize(("recorded", "used"), [(1.02, True), (1.03, False), (0.84, True), (0.83, False)])
def test_a_recorded_bsa_is_used_within_ten_percent_of_mosteller(recorded: float, used: bool) -> None:
    """Mosteller 0.931 m² here: 0.838 to 1.024 is within 10%."""
    size = body_sizes(record(obs("w", WEIGHT, 26), obs("h", HEIGHT, 120), obs("b", BSA, recorded)), START, 7)
    assert (size.bsa_m2.evidence == ("Observation/b",)) is used


def test_recorded_bsa_without_height_is_used_unchecked() -> None:
    size = body_sizes(record(obs("w", WEIGHT, 26), obs("b", BSA, 0.95)), START, 7)
    assert size.bsa_m2.value == Decimal("0.95")
    assert "not checked" in size.bsa_m2.note
    assert body_sizes(record(obs("b", BSA, 2.5)), START, 7).bsa_m2.value == Decimal("2.5")  # no weight either


@pytest.mark.parametrize(("weight", "bsa", "used"), [
    (25, 1.5, False),  # Mosteller would need 324 cm
    (25, 1.3, False),  # 243 cm: a height, but a BMI of 4.2 (a review case: dosed by it, 40% above the label)
    (25, 1.10, True), (25, 1.11, False),  # BMI 8.1 and 7.9: the plausible ones begin at 8
    (25, 0.59, True), (25, 0.58, False),  # BMI 99.7 and 106.0: they end at 100
    (200, 3.94, True), (200, 3.95, False),  # 279.4 cm and 280.8 cm: the plausible heights end at 280
])
def test_a_recorded_bsa_without_height_must_fit_the_weight(weight: int, bsa: float, used: bool) -> None:
    """No height to check it by, but the weight still rules out a BSA that no height could give (by Mosteller), or
    none a patient of that weight has: a child dosed by 1.5 m² at 25 kg would get about 1.6 times the label dose. The
    BSA is then unknown, and a height is asked for."""
    size = body_sizes(record(obs("w", WEIGHT, weight), obs("b", BSA, bsa)), START, 7)
    assert (size.bsa_m2.value is not None) is used
    if not used:
        assert size.bsa_m2.evidence == ("Observation/b", "Observation/w")
        assert f"BSA {bsa:g} m² recorded on 2026-11-19: not plausible for weight {weight} kg" in size.bsa_m2.note


@pytest.mark.parametrize("weight", [18, 44.9])
def test_largest_bsa_is_the_largest_used_at_a_weight_without_a_height(weight: float) -> None:
    """The dose checks suppose it for a child weighed without a height (docs/dosing.md): it must be the largest BSA
    this module would use at that weight, computed from the tallest height accepted (18 kg: 1.183216 m², Mosteller
    at 280 cm, is used as 1.183). Recorded without a height, neither it nor 0.001 m² more is used: it would need a
    BMI no patient has (2.3 at 18 kg), and more a taller patient."""
    kg = Decimal(str(weight))
    exact = mosteller(TALLEST_HEIGHT_CM, kg).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    by_height = body_sizes(record(obs("w", WEIGHT, weight), obs("h", HEIGHT, float(TALLEST_HEIGHT_CM))), START, 7)
    recorded = [body_sizes(record(obs("w", WEIGHT, weight), obs("b", BSA, float(bsa))), START, 7).bsa_m2.value
                for bsa in (exact, exact + Decimal("0.001"))]
    assert [by_height.bsa_m2.value, *recorded] == [largest_bsa(kg), None, None]


def test_no_bsa_without_height_or_recorded_value() -> None:
    size = body_sizes(record(obs("w", WEIGHT, 26)), START, 7)
    assert size.bsa_m2.value is None
    stale_bsa = body_sizes(record(obs("b", BSA, 0.9, days_before=31)), START, 7)
    assert stale_bsa.bsa_m2.value is None


@pytest.mark.parametrize(("code", "value"), [
    (WEIGHT, 0.001), (WEIGHT, 1e-300), (WEIGHT, 0), (WEIGHT, -5), (WEIGHT, 800), (HEIGHT, 12), (HEIGHT, 300),
])
def test_the_latest_implausible_size_leaves_it_and_the_bsa_unknown(code: tuple[str, str], value: float) -> None:
    """Not dosed by (a label dose of 0 mcg/day) nor passed over for an older plausible one."""
    older = [obs("w0", WEIGHT, 26, days_before=10), obs("h0", HEIGHT, 120, days_before=10)]
    assert body_sizes(record(*older), START, 7).bsa_m2.value is not None
    size = body_sizes(record(*older, obs("bad", code, value)), START, 7)
    fact = size.weight_kg if code == WEIGHT else size.height_cm
    assert fact.value is None and fact.evidence == ("Observation/bad",) and "not a plausible" in fact.note
    assert size.bsa_m2.value is None and size.bsa_m2.evidence == ("Observation/bad",)


@pytest.mark.parametrize(("value", "plausible"), [(0.3, True), (0.29, False), (700, True), (701, False)])
def test_weights_from_the_smallest_newborns_on_are_plausible(value: float, plausible: bool) -> None:
    assert (body_sizes(record(obs("w", WEIGHT, value)), START, 0).weight_kg.value is not None) is plausible


def test_an_implausible_recorded_bsa_without_height_is_unknown() -> None:
    size = body_sizes(record(obs("w", WEIGHT, 26), obs("b", BSA, 9)), START, 7)
    assert size.bsa_m2.value is None and "not plausible" in size.bsa_m2.note


def test_observations_not_received() -> None:
    size = body_sizes(PatientRecord(patient={"resourceType": "Patient"}, lists={}), START, 40)
    assert not size.weight_kg.received and size.weight_kg.value is None
    assert not size.bsa_m2.received


def test_a_number_in_a_note_rounds_half_up_as_on_the_dose_card() -> None:
    # body notes rounded half to even (1.125 -> "1.12") where dose cards round half up ("1.13"); a weight is cut,
    # never rounded up (test_a_weight_reads_on_its_side_of_45_kg_and_as_recorded)
    size = body_sizes(record(obs("w", WEIGHT, 40.125), obs("b", BSA, 1.1125)), START, 30)
    assert size.weight_kg.note.startswith("Weight 40.12 kg")
    assert size.bsa_m2.note.startswith("BSA 1.113 m²")  # a BSA to three decimals, as the dose card's basis
    assert size.bsa_m2.value == Decimal("1.113")  # and dosed as shown
    assert mcg_text(Decimal("1.125")) == "1.13" and display_number(Decimal("1.125")) == 1.13
    assert per_m2_text(Decimal(15), Decimal("1.1125")) == "15 mcg/m²/day × 1.113 m²"


def test_a_result_is_dated_as_every_observation_is() -> None:
    """codes.effective_date, as data-requirements.md says: body.py read dates its own way and missed
    effectiveInstant and partial dates, and dated a period by its end."""
    instant = obs("w", WEIGHT, 50)
    instant["effectiveInstant"] = instant.pop("effectiveDateTime") + "T08:00:00Z"
    assert body_sizes(record(instant), START, 30).weight_kg.value == Decimal(50)
    period = obs("w", WEIGHT, 50)
    del period["effectiveDateTime"]
    period["effectivePeriod"] = {"start": (START - timedelta(days=1)).isoformat(),
                                 "end": (START + timedelta(days=1)).isoformat()}
    assert body_sizes(record(period), START, 30).weight_kg.value == Decimal(50)
