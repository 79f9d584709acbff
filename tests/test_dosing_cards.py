"""Dose and quantity cards: wording, the dose-check extension, and suggestions that re-check clean."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.cards import dose_card
from cds_service.dosing.plan_limit_card import ceiling_card
from cds_service.dosing.quantity_card import quantity_card
from cds_service.dosing.checks import CycleLines
from cds_service.dosing.compare import Finding, most_severe
from cds_service.dosing.expected import BSA_DOSE_TOLERANCE, FULL_DOSE, FULL_PER_M2, Expected
from cds_service.dosing.text import per_m2_text, texts_apart
from cds_service.facts.model import ClinicalFacts
from cds_service.record import PatientRecord
from tests.factories import body_sizes
from tests.test_dosing_support import (
    COVERAGE_INFORMATION, START, UCUM, apply_suggestion, dose, facts, first_value, line, order, order_checks, rate,
    rate_text, ratio, single_line_order, step_order,
)

ASPIRUS = QuantityLimit(vials=28, units=980, days=42, days_continued=84, continued_from_cycle=6)
CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"


def card_for(order_: dict[str, Any], facts_: ClinicalFacts, schedule: str | None = "standard",
             matched: bool = True) -> dict[str, Any] | None:
    return dose_card(order_, facts_, schedule, matched, "Aspirus Health Plan", order_checks(order_, [order_], facts_))


def quantity_cards_for(group: list[dict[str, Any]], facts_: ClinicalFacts,
                       answered: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The quantity cards of the orders `answered` (all of them by default), as the pipeline asks for them."""
    cycle, chosen = CycleLines(group, facts_), answered or group
    ids = frozenset(id(o) for o in chosen)
    cards = [quantity_card(o, facts_, ASPIRUS, "Aspirus Health Plan", cycle, ids, o is chosen[0]) for o in chosen]
    return [card for card in cards if card is not None]


def quantity_card_for(group: list[dict[str, Any]], facts_: ClinicalFacts) -> dict[str, Any] | None:
    """The one quantity card of the cycle's orders, if any."""
    cards = quantity_cards_for(group, facts_)
    assert len(cards) <= 1
    return cards[0] if cards else None


def assert_clean(resource: dict[str, Any], facts_: ClinicalFacts, schedule: str) -> None:
    """The accepted suggestion passes the schedule and raises no card of its own."""
    assert card_for(resource, facts_, schedule) is None
    assert order_checks(resource, [resource], facts_).schedule(schedule).status == "met"


def test_relapsed_refractory_single_line_becomes_two_lines() -> None:
    facts_ = facts()
    card = card_for(single_line_order(rate(28)), facts_, "relapsed-refractory")
    assert card is not None
    assert card["indicator"] == "warning" and card["selectionBehavior"] == "at-most-one"
    assert card["summary"] == "Dose above label: 28 mcg/day on days 1–7 of cycle 1; label is 9 mcg/day"
    assert card["source"] == {"label": "Aspirus Health Plan",
                              "topic": {"system": CARD_TYPES, "code": "off-guideline", "display": "Off Guideline"}}
    (suggestion,) = card["suggestions"]
    assert suggestion["isRecommended"] is True and suggestion["uuid"] != card["uuid"]
    assert suggestion["label"] == "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28"
    resource = apply_suggestion(card)
    step, full = resource["dosageInstruction"]
    assert step["sequence"] == 1 and step["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-12-01",
                                                                                 "end": "2026-12-07"}
    assert full["sequence"] == 2 and full["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-12-08",
                                                                                 "end": "2026-12-28"}
    assert (first_value(resource, index=0), first_value(resource, index=1)) == (9, 28)
    assert_clean(resource, facts_, "relapsed-refractory")


def test_dose_check_extension_shape() -> None:
    card = card_for(single_line_order(rate(28)), facts(), "relapsed-refractory")
    assert card is not None
    check = card["extension"]["dose-check"]
    assert check == {"ordered": 28.0, "expected": 9.0, "basis": "fixed", "weightKg": 70.0, "bsaM2": None,
                     "days": [1, 7], "findings": [{"ordered": 28.0, "expected": 9.0, "basis": "fixed",
                                                   "weightKg": 70.0, "bsaM2": None, "days": [1, 7]}]}
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": "MedicationRequest/blin-1"}]


def test_child_below_45_kg_gets_the_bsa_dose_in_the_label() -> None:
    facts_ = facts(weight="44.9", bsa="0.93")
    card = card_for(single_line_order(rate(28)), facts_)
    assert card is not None
    # 13.95 rounded down to a tenth (never above the label), said so: the table's label is 13.95
    assert card["suggestions"][0]["label"] == ("Change dose to 13.9 mcg/day (15 mcg/m²/day × 0.93 m² = 13.95, rounded "
                                               "down)")
    assert card["extension"]["dose-check"]["basis"] == "bsa"
    assert card["extension"]["dose-check"]["bsaM2"] == 0.93
    resource = apply_suggestion(card)
    assert first_value(resource) == 13.9
    assert resource["dosageInstruction"][0]["text"] == "blinatumomab continuous IV infusion"  # names no dose
    assert_clean(resource, facts_, "standard")


def test_step_days_in_bsa_dosing_and_caps() -> None:
    facts_ = facts(weight="40", bsa="2.0")  # 5 × 2.0 = 10, capped at 9; 15 × 2.0 = 30, capped at 28
    card = card_for(single_line_order(rate(30)), facts_, "relapsed-refractory")
    assert card is not None
    assert card["suggestions"][0]["label"] == ("Change dose to 9 mcg/day (capped at 9 mcg/day) on days 1–7, "
                                               "then 28 mcg/day (capped at 28 mcg/day) on days 8–28")
    assert_clean(apply_suggestion(card), facts_, "relapsed-refractory")


@pytest.mark.parametrize(("dose_and_rate", "field", "corrected"), [
    (rate(1.5, "ug/h"), "rateQuantity", 1.16),  # 28 / 24, rounded down so never above 28
    (rate_text(35, "mcg/day"), "rateQuantity", 28),
    (ratio(70, "ug", 2, "d"), "rateRatio", 56),
    (rate(0.035, "mg/d"), "rateQuantity", 0.028),
])
def test_correction_keeps_the_orders_representation(dose_and_rate: dict, field: str, corrected: float) -> None:
    facts_ = facts()
    card = card_for(single_line_order(dose_and_rate), facts_)
    assert card is not None
    resource = apply_suggestion(card)
    assert first_value(resource, field) == corrected
    written, corrected_entry = dose_and_rate[field], resource["dosageInstruction"][0]["doseAndRate"][0][field]
    if field == "rateRatio":
        written, corrected_entry = written["numerator"], corrected_entry["numerator"]
        corrected_ratio = resource["dosageInstruction"][0]["doseAndRate"][0][field]
        assert corrected_ratio["denominator"] == dose_and_rate[field]["denominator"]
    assert corrected_entry["unit"] == written["unit"] and corrected_entry.get("code") == written.get("code")
    assert_clean(resource, facts_, "standard")


@pytest.mark.parametrize(("weight", "bsa", "labels", "written"), [
    ("25", "0.932", ["4.66", "13.98"], [4.6, 13.9]),  # review cases: the suggestion's 4.6 beside a label of 4.66
    ("40", "1.333", ["6.665", "19.995"], [6.6, 19.9]),  # and 19.9 beside a label shown as 20
])
def test_the_suggestion_says_the_label_dose_it_rounds_down_as_the_table_shows_it(weight: str, bsa: str,
                                                                                 labels: list[str],
                                                                                 written: list[float]) -> None:
    """The correction is rounded down to a tenth of a microgram (never above the label); its label says so, with the
    label dose exactly as the table shows it, so that the arithmetic reads right."""
    card = card_for(single_line_order(rate(28)), facts(weight=weight, bsa=bsa), "relapsed-refractory")
    assert card is not None
    label = card["suggestions"][0]["label"]
    assert re.findall(r"mcg/day \| ([\d.]+) mcg/day \|", card["detail"]) == labels
    assert re.findall(r"× [\d.]+ m² = ([\d.]+), rounded down", label) == labels
    lines = apply_suggestion(card)["dosageInstruction"]
    assert [d["doseAndRate"][0]["rateQuantity"]["value"] for d in lines] == written
    assert label.startswith(f"Change dose to {written[0]} mcg/day (5 mcg/m²/day × {bsa} m² = {labels[0]}, rounded "
                            "down)")
    assert card["extension"]["dose-check"]["expected"] == float(labels[0])


def test_an_hourly_rate_is_corrected_to_what_a_nurse_programs_and_signed_again_is_clean() -> None:
    """A review case: a 25 kg child (BSA 0.932 m²) ordered the adult's step dose in mcg/h, and the correction wrote
    0.1916 and 0.5791 mcg/h. A rate is rounded down to three significant digits (never above the label), its label
    says the daily dose it gives and the label dose it comes from, and the order it writes raises no card again."""
    steps = order(line(rate(0.375, "ug/h"), "2026-12-01", "2026-12-07", sequence=1) | {"text": "0.375 ug/h IV"},
                  line(rate(1.1666, "ug/h"), "2026-12-08", "2026-12-28", sequence=2) | {"text": "1.1666 ug/h IV"})
    child = facts(weight="25", bsa="0.932")
    card = card_for(steps, child, "relapsed-refractory")
    assert card is not None
    assert card["suggestions"][0]["label"] == (
        "Change dose to 0.191 mcg/h (4.584 mcg/day: 5 mcg/m²/day × 0.932 m² = 4.66, rounded down) on days 1–7, "
        "then 0.579 "
        "mcg/h (13.896 mcg/day: 15 mcg/m²/day × 0.932 m² = 13.98, rounded down) on days 8–28")
    resource = apply_suggestion(card)
    assert [d["doseAndRate"][0]["rateQuantity"]["value"] for d in resource["dosageInstruction"]] == [0.191, 0.579]
    assert [d["text"] for d in resource["dosageInstruction"]] == ["0.191 ug/h IV", "0.579 ug/h IV"]
    assert_clean(resource, child, "relapsed-refractory")


BAG_48_H = {"duration": 48, "durationUnit": "h", "frequency": 1, "period": 48, "periodUnit": "h"}


@pytest.mark.parametrize(("written", "weight", "bsa", "schedule", "label"), [
    # The label names what the action writes, the daily dose it gives and the label dose it was rounded down from.
    (rate(1.5, "ug/h"), "70", None, "standard",
     "Change dose to 1.16 mcg/h (27.84 mcg/day: label 28 mcg/day, rounded down)"),
    (rate_text(1.5, "mcg/hr"), "70", None, "standard",
     "Change dose to 1.16 mcg/h (27.84 mcg/day: label 28 mcg/day, rounded down)"),
    (rate(0.035, "mg/d"), "70", None, "standard", "Change dose to 0.028 mg/day (28 mcg/day)"),
    (ratio(70, "ug", 2, "d"), "70", None, "standard", "Change dose to 56 mcg per 2 days (28 mcg/day)"),
    (ratio(35, "ug", 1, "d"), "70", None, "standard", "Change dose to 28 mcg/day"),
    (dose(70), "70", None, "standard", "Change dose to 56 mcg per 48-hour bag (28 mcg/day)"),
    (rate_text(35, "mcg/day"), "70", None, "standard", "Change dose to 28 mcg/day"),
    (rate(20, "ug/(m2.d)"), "30", "1.1", "standard", "Change dose to 15 mcg/m²/day (16.5 mcg/day at 1.1 m²)"),
    (rate(1.5, "ug/h"), "30", "1.1", "standard",
     "Change dose to 0.687 mcg/h (16.488 mcg/day: 15 mcg/m²/day × 1.1 m² = 16.5, rounded down)"),
    (rate(1.25, "ug/h"), "40", "2.0", "relapsed-refractory",
     "Change dose to 0.375 mcg/h (capped at 9 mcg/day) on days 1–7, then 1.16 mcg/h (27.84 mcg/day: capped at 28 "
     "mcg/day, rounded down) on days 8–28"),
    (rate(1.1667, "ug/h"), "70", None, "relapsed-refractory",  # days 8-28 kept as written
     "Change dose to 0.375 mcg/h (9 mcg/day) on days 1–7, then 1.1667 mcg/h (28 mcg/day) on days 8–28"),
    # From 45 kg a dose per m² is corrected to the fixed dose, in mcg: per day for a rate, else per bag (or dose) or
    # per the ratio's denominator (the BSA plays no part in the label dose).
    (rate(20, "ug/m2/d"), "70", "1.9", "standard", "Change dose to 28 mcg/day"),
    (rate_text(1, "mcg/m2/hr"), "70", "1.9", "standard", "Change dose to 28 mcg/day"),
    (ratio(60, "ug/m2", 2, "d"), "70", "1.9", "standard", "Change dose to 56 mcg per 2 days (28 mcg/day)"),
    (dose(60, "ug/m2"), "70", "1.9", "standard", "Change dose to 56 mcg per 48-hour bag (28 mcg/day)"),
    (rate(16, "ug/m2/d"), "70", "1.9", "relapsed-refractory",
     "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28"),
])
def test_the_suggestion_label_names_the_dose_as_the_action_writes_it(written: dict[str, Any], weight: str,
                                                                     bsa: str | None, schedule: str,
                                                                     label: str) -> None:
    facts_ = facts(weight=weight, bsa=bsa)
    timing = BAG_48_H if "doseQuantity" in written else {}
    card = card_for(order(line(written, "2026-12-01", "2026-12-28", **timing)), facts_, schedule)
    assert card is not None and card["suggestions"][0]["label"] == label
    field = next(iter(written))
    value = first_value(apply_suggestion(card), field)
    assert label.startswith(f"Change dose to {value} ")  # the number the action writes
    assert_clean(apply_suggestion(card), facts_, schedule)


@pytest.mark.parametrize(("repeat", "per"), [
    ({"frequency": 1, "period": 7, "periodUnit": "d", "duration": 168, "durationUnit": "h"}, "196 mcg per 7-day bag"),
    ({"frequency": 1, "period": 1, "periodUnit": "wk", "duration": 1, "durationUnit": "wk"}, "196 mcg per 7-day bag"),
    ({"frequency": 1, "period": 4, "periodUnit": "d", "duration": 96, "durationUnit": "h"}, "112 mcg per 96-hour bag"),
    ({"frequency": 1, "period": 1, "periodUnit": "d", "duration": 24, "durationUnit": "h"}, "28 mcg per 24-hour bag"),
    ({"duration": 1.5, "durationUnit": "d"}, "42 mcg per 36-hour bag"),  # no period: the bag is the dose's span
    ({"frequency": 1, "period": 2, "periodUnit": "d"}, "56 mcg per dose"),  # no bag's duration: a dose every 2 days
    ({"frequency": 1, "period": 7, "periodUnit": "d", "duration": 24, "durationUnit": "h"},
     "196 mcg per dose"),  # a 24-hour infusion weekly is not a continuous bag: read per its period
])
def test_a_dose_per_bag_is_named_by_how_long_the_bag_runs(repeat: dict[str, Any], per: str) -> None:
    """The clinical review (F5): a 7-day bag's suggestion read "196 mcg per dose"; "per 7-day bag" is read faster."""
    days = Decimal(per.split()[0]) / 28
    card = card_for(order(line(dose(35 * days), "2026-12-01", "2026-12-28", **repeat)), facts(weight="70"))
    assert card is not None and card["suggestions"][0]["label"] == f"Change dose to {per} (28 mcg/day)"


def test_a_rate_in_ml_per_hour_gets_no_suggestion_to_label() -> None:
    """mL/h has no concentration to read it by: the dose is not checked, so there is no correction to word."""
    card = card_for(single_line_order(rate(5, "mL/h")), facts())
    assert card is not None and card["indicator"] == "info" and "suggestions" not in card


def test_the_plan_limit_label_names_each_lines_dose_as_written() -> None:
    """Florida Blue's 28 mcg/day: a line in mcg/h is corrected to 1.16 mcg/h, one in mcg/day to 28."""
    two = order(line(rate(1.18, "ug/h"), "2026-12-01", "2026-12-14", 1),
                line(rate(28.4), "2026-12-15", "2026-12-28", 2))
    card = ceiling_card(two, facts(), Decimal(28), "Florida Blue", order_checks(two, [two], facts()), None)
    assert card is not None
    assert card["suggestions"][0]["label"] == ("Change dose to 1.16 mcg/h on days 1–14, 28 mcg/day on days 15–28, "
                                               "within "
                                               "the plan's 28 mcg/day")
    both = order(line(rate(28.4), "2026-12-01", "2026-12-14", 1), line(rate(28.3), "2026-12-15", "2026-12-28", 2))
    card = ceiling_card(both, facts(), Decimal(28), "Florida Blue", order_checks(both, [both], facts()),
                        None)
    assert card is not None
    assert card["suggestions"][0]["label"] == "Change dose to 28 mcg/day (each line)"  # not "..., within the plan's 28"


@pytest.mark.parametrize(("weight", "schedule", "label", "written"), [
    # From 45 kg the label dose is a fixed 28 mcg/day: the plan's limit is written so, in mcg/day (clinical review:
    # an 80 kg adult's 15.2 mcg/m²/day became 14.97 mcg/m²/day).
    ("80", "standard", "Change dose to 28 mcg/day", (28, "ug/d")),
    ("45", "relapsed-refractory", "Change dose to 28 mcg/day", (28, "ug/d")),
    # Per m² where the label dose is: under 45 kg, for Interfant at any weight, and with no weight to tell.
    ("44.9", "standard", "Change dose to 14.97 mcg/m²/day, within the plan's 28 mcg/day", (14.97, "ug/(m2.d)")),
    ("80", "interfant", "Change dose to 14.97 mcg/m²/day, within the plan's 28 mcg/day", (14.97, "ug/(m2.d)")),
    (None, "standard", "Change dose to 14.97 mcg/m²/day, within the plan's 28 mcg/day", (14.97, "ug/(m2.d)")),
])
def test_the_plan_limit_of_a_dose_per_m2_is_fixed_from_45_kg(weight: str | None, schedule: str, label: str,
                                                            written: tuple[float, str]) -> None:
    facts_ = facts(weight=weight, bsa="1.87")  # 15.2 mcg/m²/day × 1.87 m² = 28.42 mcg/day
    per_m2 = single_line_order({"rateQuantity": {"value": 15.2, "unit": "mcg/m2/day", "system": UCUM,
                                                 "code": "ug/(m2.d)"}})
    per_m2["dosageInstruction"][0]["text"] = "15.2 mcg/m2/day continuous IV infusion"
    card = ceiling_card(per_m2, facts_, Decimal(28), "Florida Blue", order_checks(per_m2, [per_m2], facts_), schedule)
    assert card is not None
    assert card["suggestions"][0]["label"] == label
    resource = apply_suggestion(card)
    quantity = resource["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]
    assert (quantity["value"], quantity["code"]) == written
    fixed = written[1] == "ug/d"
    assert ("from 45 kg the label dose is a fixed dose in mcg/day" in card["detail"]) is fixed
    assert (resource["dosageInstruction"][0]["text"] == "28 ug/d continuous IV infusion") is fixed
    assert order_checks(resource, [resource], facts_).ceiling(Decimal(28)).status == "met"


def _florida_blue_dose_card(order_: dict[str, Any], facts_: ClinicalFacts,
                            ceiling: Decimal | None) -> dict[str, Any]:
    card = dose_card(order_, facts_, "relapsed-refractory", True, "Florida Blue",
                     order_checks(order_, [order_], facts_), ceiling)
    assert card is not None
    return card


def _rates(resource: dict[str, Any]) -> list[tuple[Any, str]]:
    return [(d["doseAndRate"][0]["rateQuantity"]["value"], d["doseAndRate"][0]["rateQuantity"]["code"])
            for d in resource["dosageInstruction"]]


PLAN_NOTE = "The suggestion sets days 8–28 to the label dose too: within the label's rounding, but above Florida Blue's"


@pytest.mark.parametrize(("written", "kept", "capped"), [
    # 28.32 mcg/day on days 8-28 is within the label's rounding, not within Florida Blue's 28: it had been kept.
    (rate(1.18, "ug/h"), "then 1.18 mcg/h (28.32 mcg/day) on days 8–28",
     "then 1.16 mcg/h (27.84 mcg/day: label 28 mcg/day, rounded down) on days 8–28"),
    (rate(28.4), "then 28.4 mcg/day on days 8–28", "then 28 mcg/day on days 8–28"),
    # 28.0008 mcg/day meets the plan's limit (a conversion's rounding is no dose): kept as written either way.
    (rate(1.1667, "ug/h"), "then 1.1667 mcg/h (28 mcg/day) on days 8–28",
     "then 1.1667 mcg/h (28 mcg/day) on days 8–28"),
])
def test_the_label_correction_keeps_a_day_as_written_only_within_the_plans_ceiling(written: dict[str, Any],
                                                                                  kept: str, capped: str) -> None:
    """Relapsed/refractory cycle 1 written as one line: the step days are corrected, and the other days kept as
    written when within the label; with a payer's daily maximum (Florida Blue, policy-rules.md §3), within it too."""
    one_line = order(line(written, "2026-12-01", "2026-12-28"))
    without = _florida_blue_dose_card(one_line, facts(), None)  # no plan ceiling: Aspirus, or no plan
    assert without["suggestions"][0]["label"].endswith(kept) and PLAN_NOTE not in without["detail"]
    card = _florida_blue_dose_card(one_line, facts(), Decimal(28))
    assert card["suggestions"][0]["label"].endswith(capped)
    assert (PLAN_NOTE in card["detail"]) is (kept != capped)
    resource = apply_suggestion(card)
    assert_clean(resource, facts(), "relapsed-refractory")
    assert order_checks(resource, [resource], facts()).ceiling(Decimal(28)).status == "met"


def test_a_line_the_label_correction_would_not_touch_is_set_within_the_plans_ceiling() -> None:
    """Days 8-28 written on a line of their own at 28.4 mcg/day (within the label) beside step days above it: the
    correction rewrote the step line alone, and the plan refused the order it wrote."""
    two = order(line(rate(28), "2026-12-01", "2026-12-07", 1), line(rate(28.4), "2026-12-08", "2026-12-28", 2))
    assert _rates(apply_suggestion(_florida_blue_dose_card(two, facts(), None))) == [(9, "ug/d"), (28.4, "ug/d")]
    card = _florida_blue_dose_card(two, facts(), Decimal(28))
    assert card["suggestions"][0]["label"] == "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28"
    assert _rates(apply_suggestion(card)) == [(9, "ug/d"), (28, "ug/d")] and PLAN_NOTE in card["detail"]


def test_the_per_m2_correction_without_a_bsa_sets_another_line_within_the_plans_ceiling() -> None:
    """From 45 kg without a BSA, 5 mcg/m²/day on days 1-7 is set to 9 mcg/day; a line of 28.4 mcg/day on days 8-28
    beside it is set to 28 under Florida Blue's limit, and kept where there is none."""
    facts_ = facts(weight="80")
    two = order(line(rate(5, "ug/m2/d"), "2026-12-01", "2026-12-07", 1),
                line(rate(28.4), "2026-12-08", "2026-12-28", 2))
    without = _florida_blue_dose_card(two, facts_, None)
    assert _rates(apply_suggestion(without)) == [(9, "ug/d"), (28.4, "ug/d")] and PLAN_NOTE not in without["detail"]
    card = _florida_blue_dose_card(two, facts_, Decimal(28))
    assert card["summary"].startswith("Dose per m² not checked without a BSA")
    assert _rates(apply_suggestion(card)) == [(9, "ug/d"), (28, "ug/d")] and PLAN_NOTE in card["detail"]


def test_bag_over_48_hours_is_corrected_per_bag() -> None:
    facts_ = facts()
    bag = order(line(dose(70), "2026-12-01", "2026-12-28", duration=48, durationUnit="h", frequency=1, period=48,
                     periodUnit="h"))
    card = card_for(bag, facts_)
    assert card is not None
    resource = apply_suggestion(card)
    assert first_value(resource, "doseQuantity") == 56
    assert_clean(resource, facts_, "standard")


def test_per_m2_order_is_corrected_per_m2() -> None:
    facts_ = facts(weight="30", bsa="0.93")
    card = card_for(single_line_order(rate(20, "ug/m2/d")), facts_)
    assert card is not None
    # The summary reads the dose as written (per m²) first, then what it comes to.
    assert card["summary"] == ("Dose above label: 20 mcg/m²/day (18.6 mcg/day) on days 1–28 of cycle 1; "
                               "label is 15 mcg/m²/day (13.95 mcg/day)")
    resource = apply_suggestion(card)
    assert first_value(resource) == 15
    assert_clean(resource, facts_, "standard")


@pytest.mark.parametrize(("weight", "label", "value", "unit"), [
    # per m², 28 / 1.9 rounded down
    ("44.9", "Change dose to 14.73 mcg/m²/day (27.987 mcg/day: capped at 28 mcg/day, rounded down)", 14.73, "ug/m2/d"),
    ("45", "Change dose to 28 mcg/day", 28, "ug/d"),  # from 45 kg the fixed dose, whatever the BSA
])
def test_a_dose_per_m2_is_corrected_in_mcg_per_day_from_45_kg(weight: str, label: str, value: float,
                                                              unit: str) -> None:
    """An adult's order written per m² was corrected to 14.07 mcg/m²/day (28 mcg/day at 1.989 m²): pharmacy had to
    recompute the label's 28 mcg/day. Below 45 kg the label dose is per m², and stays so."""
    facts_ = facts(weight=weight, bsa="1.9")
    written = order(line(rate(20, "ug/m2/d"), "2026-12-01", "2026-12-28") | {"text": "20 ug/m2/d continuous IV"})
    card = card_for(written, facts_)
    assert card is not None and card["suggestions"][0]["label"] == label
    resource = apply_suggestion(card)
    [corrected] = resource["dosageInstruction"]
    assert corrected["doseAndRate"][0]["rateQuantity"] == {"value": value, "unit": unit, "system": UCUM, "code": unit}
    assert corrected["text"] == f"{value} {unit} continuous IV"
    MedicationRequest.model_validate(resource)  # a valid R4 MedicationRequest, as the update action requires
    assert_clean(resource, facts_, "standard")


@pytest.mark.parametrize(("text", "corrected"), [
    ("16 mcg/m²/day x 28 days", "28 ug/d x 28 days"),
    ("16 mcg/(m2.d), bag changed every 24 h", "28 ug/d, bag changed every 24 h"),
    ("16 per m2 daily", "16 per m2 daily (dose corrected to 28 ug/d)"),  # no unit after the dose: never left per m²
])
def test_a_text_per_m2_corrected_in_mcg_names_the_new_unit(text: str, corrected: str) -> None:
    written = order(line(rate(16, "ug/m2/d"), "2026-12-01", "2026-12-28") | {"text": text})
    card = card_for(written, facts(weight="70", bsa="1.9"))
    assert card is not None
    assert apply_suggestion(card)["dosageInstruction"][0]["text"] == corrected


def test_open_ended_single_line_splits_with_a_duration() -> None:
    facts_ = facts()
    card = card_for(order(line(rate(28), "2026-12-01")), facts_, "relapsed-refractory")
    assert card is not None
    resource = apply_suggestion(card)
    step, full = resource["dosageInstruction"]
    assert step["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-12-01", "end": "2026-12-07"}
    assert full["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-12-08"}
    assert_clean(resource, facts_, "relapsed-refractory")
    no_bounds = card_for(order(line(rate(28))), facts_, "relapsed-refractory")
    assert no_bounds is not None
    split = apply_suggestion(no_bounds)
    assert split["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"]["value"] == 7
    assert_clean(split, facts_, "relapsed-refractory")


def test_suggestion_drops_coverage_information_and_leaves_the_order_unchanged() -> None:
    written = single_line_order(rate(35), extension=[{"url": COVERAGE_INFORMATION, "extension": []},
                                                     {"url": "http://example.org/other", "valueString": "kept"}])
    card = card_for(written, facts())
    assert card is not None
    resource = apply_suggestion(card)
    assert resource["extension"] == [{"url": "http://example.org/other", "valueString": "kept"}]
    assert first_value(written) == 35  # the original order is not modified


@pytest.mark.parametrize(("text", "corrected"), [
    ("35 ug/d continuous IV infusion", "28 ug/d continuous IV infusion"),
    ("35 mcg/day x 28 days", "28 mcg/day x 28 days"),
    ("1 bag (35 mcg) daily for 35 days", "1 bag (28 mcg) daily for 35 days"),  # "for 35 days" counts days
    ("35 mcg per 24 hours, 35 ml", "35 mcg per 24 hours, 35 ml (dose corrected to 28 ug/d)"),
])
def test_summary_fits_and_text_is_updated(text: str, corrected: str) -> None:
    written = order(line(rate(35), "2026-12-01", "2026-12-28") | {"text": text})
    card = card_for(written, facts())
    assert card is not None and len(card["summary"]) < 140
    assert apply_suggestion(card)["dosageInstruction"][0]["text"] == corrected


def test_below_is_info_without_suggestion_only_for_a_matched_indication() -> None:
    card = card_for(single_line_order(rate(20)), facts())
    assert card is not None
    assert card["indicator"] == "info" and "suggestions" not in card and "selectionBehavior" not in card
    assert card["summary"] == "Dose below label: 20 mcg/day on days 1–28 of cycle 1; label is 28 mcg/day"
    assert card["extension"]["dose-check"]["days"] == [1, 28]
    assert card_for(single_line_order(rate(20)), facts(), matched=False) is None
    assert card_for(single_line_order(rate(26)), facts()) is None  # within 10%


@pytest.mark.parametrize(("fact_args", "label"), [({}, FULL_DOSE), ({"weight": "30", "bsa": "1.2"}, FULL_PER_M2 * Decimal("1.2"))],
                         ids=["fixed", "bsa"])
def test_exactly_10_percent_below_the_label_is_no_card_and_less_is_the_below_note(
        fact_args: dict[str, Any], label: Decimal) -> None:
    """Contract, dose cards: "more than 10% below the expected dose" (BSA_DOSE_TOLERANCE) is an info card; a dose exactly
    that much below it is not more."""
    facts_ = facts(**fact_args)
    at_limit = label * (1 - BSA_DOSE_TOLERANCE)
    assert card_for(single_line_order(rate(float(at_limit))), facts_) is None
    below = card_for(single_line_order(rate(float(at_limit - Decimal("0.1")))), facts_)
    assert below is not None and below["indicator"] == "info" and "suggestions" not in below
    assert below["extension"]["dose-check"]["expected"] == float(label)


def test_no_card_without_weight_and_none_at_the_label() -> None:
    assert card_for(single_line_order(rate(28)), facts(weight=None)) is None
    assert card_for(step_order(), facts(weight=None), "relapsed-refractory") is None
    assert card_for(single_line_order(rate(13)), facts(weight="30")) is None  # below 45 kg without BSA
    # 30 kg: at most 15 × 1.528 m² (its BSA at 280 cm) = 22.92 mcg/day, +10% = 25.21: maybe above its BSA dose
    assert card_for(single_line_order(rate(25.2)), facts(weight="30")) is None
    assert card_for(step_order(), facts(), "relapsed-refractory") is None


def test_above_the_maximum_at_any_weight_warns_without_a_suggestion() -> None:
    # 28 mcg/day on the step days of relapsed/refractory cycle 1 is above 9 mcg/day whatever the patient weighs.
    card = card_for(single_line_order(rate(28)), facts(weight=None), "relapsed-refractory")
    assert card is not None and card["indicator"] == "warning"
    assert "suggestions" not in card and "selectionBehavior" not in card
    assert card["summary"] == ("Dose above label maximum: 28 mcg/day on days 1–7; label maximum is 9 mcg/day; "
                               "record a weight")
    assert "Not on file: current weight (within 30 days)." in card["detail"]
    assert card["extension"]["dose-check"]["days"] == [1, 7]
    assert card["extension"]["dose-check"]["weightKg"] is None
    ten_fold = card_for(single_line_order(rate(280)), facts(weight=None), "standard")
    assert ten_fold is not None and "280 mcg/day on days 1–28" in ten_fold["summary"]
    assert ten_fold["summary"] == ("Dose above label maximum: 280 mcg/day on days 1–28; label maximum is 28 mcg/day; "
                                   "record a weight")


def test_below_45_kg_without_height_above_the_label_at_any_height_warns_and_asks_for_a_height() -> None:
    """An adult's 28 mcg/day for an 18 kg child: even at 280 cm, the tallest height accepted, its BSA is 1.183 m², so
    the label dose is at most 17.745 mcg/day (5.915 on the step days). No corrected dose without the BSA."""
    card = card_for(single_line_order(rate(28)), facts(weight="18"), "relapsed-refractory")
    assert card is not None and card["indicator"] == "warning"
    assert "suggestions" not in card and "selectionBehavior" not in card
    # "(+1 more)" had left the clinician to guess what the more was: the other days are named.
    # It opens as every dose card does ("Under 45 kg, dose above..." had read as a dose under 45 kg).
    assert card["summary"] == ("Dose above label at any height: 28 mcg/day on days 1–7 (also above on days 8–28); "
                               "record a height")
    assert "| days 1–7 | 28 mcg/day | 5.915 mcg/day |" in card["detail"]
    assert "| days 8–28 | 28 mcg/day | 17.745 mcg/day |" in card["detail"]
    assert "Even at 280 cm, the tallest height the service accepts, 18 kg gives a BSA of 1.183 m²" in " ".join(
        card["detail"].split())
    assert "Not on file: height or BSA (within 30 days)." in card["detail"]
    check = card["extension"]["dose-check"]
    assert (check["weightKg"], check["bsaM2"], check["basis"], check["expected"]) == (18.0, None, "bsa", 5.915)


@pytest.mark.parametrize(("weight", "value", "card"), [
    ("18", 19.5, False), ("18", 19.6, True),  # at most 17.745 mcg/day at any height, +10%: 19.52
    ("44.9", 28, False), ("44.9", 28.4, True),  # the BSA dose at 280 cm is capped at 28, with no allowance above it
    ("45", 28.4, False),  # from 45 kg: 28 mcg/day +0.5, and the BSA plays no part
])
def test_the_card_above_the_label_at_any_height_has_its_boundaries(weight: str, value: float, card: bool) -> None:
    assert (card_for(single_line_order(rate(value)), facts(weight=weight)) is not None) is card


def test_interfant_without_bsa_is_dosed_per_m2_at_any_weight() -> None:
    card = card_for(single_line_order(rate(28)), facts(weight="8"), "interfant")  # 8 kg: 0.789 m² at 280 cm
    assert card is not None and card["summary"].startswith("Dose above label at any height: ")
    assert "Interfant, the label dose is per m² of body surface" in card["detail"]


def test_unreadable_dose_is_reported() -> None:
    card = card_for(single_line_order(rate(10, "mL/h")), facts())
    assert card is not None
    assert card["indicator"] == "info" and "suggestions" not in card
    assert "could not be read" in card["summary"] and "without a concentration" in card["detail"]


def test_no_schedule_means_the_ceiling_only() -> None:
    assert card_for(single_line_order(rate(28)), facts(), None, matched=False) is None
    over = card_for(single_line_order(rate(30)), facts(), None, matched=False)
    assert over is not None and over["indicator"] == "warning"


def _observation(ident: str, code: str, value: float, unit: str, days_before: int) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": ident, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": (START - timedelta(days=days_before)).isoformat(),
            "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit}}


def _facts_from_observations(*observations: dict[str, Any]) -> ClinicalFacts:
    record = PatientRecord(patient={"resourceType": "Patient"}, lists={"observations": list(observations)})
    base = facts()
    return ClinicalFacts(start_date=START, cycle=base.cycle, body=body_sizes(record, START, 8))


def test_a_dose_card_shows_the_weight_as_recorded_and_on_its_side_of_45_kg() -> None:
    """99.2 lb is 44.996 kg: below 45 kg, dosed by BSA. Shown rounded ("45 kg"), a pharmacist expected the fixed
    dose."""
    light = _facts_from_observations(_observation("w", "29463-7", 99.2, "[lb_av]", 1))
    card = card_for(single_line_order(rate(28)), light, "relapsed-refractory")
    assert card is not None and "height" in card["summary"]
    detail = " ".join(card["detail"].split())
    assert "Weight 99.2 lb (44.99 kg) on 2026-11-30" in detail and "45 kg on" not in detail
    assert "99.2 lb (44.99 kg) gives a BSA of 1.871 m²" in detail
    assert card["extension"]["dose-check"]["weightKg"] == 44.99
    heavy = _facts_from_observations(_observation("w", "29463-7", 176.4, "[lb_av]", 1))
    per_m2 = card_for(order(line(rate(15, "ug/m2/d"), "2026-12-01", "2026-12-28")), heavy)
    assert per_m2 is not None and "(176.4 lb (80.01 kg) on record)" in per_m2["detail"]


def test_stale_weight_gives_no_corrected_dose() -> None:
    stale = _facts_from_observations(_observation("w", "29463-7", 70, "kg", 31))
    unknown = card_for(single_line_order(rate(35)), stale)
    assert unknown is not None and "suggestions" not in unknown and "maximum" in unknown["summary"]
    fresh = _facts_from_observations(_observation("w", "29463-7", 70, "kg", 30))
    known = card_for(single_line_order(rate(35)), fresh)
    assert known is not None and known["suggestions"] and known["summary"].startswith("Dose above label: ")


def test_implausible_recorded_bsa_is_replaced_by_mosteller_in_the_dose() -> None:
    child = _facts_from_observations(_observation("w", "29463-7", 26, "kg", 2),
                                     _observation("h", "8302-2", 120, "cm", 2),
                                     _observation("b", "8277-6", 1.5, "m2", 2))
    card = card_for(single_line_order(rate(20)), child)  # 15 × 1.5 = 22.5 would allow 20; Mosteller 0.93 does not
    assert card is not None and card["indicator"] == "warning"
    assert card["extension"]["dose-check"]["bsaM2"] == 0.931
    assert_clean(apply_suggestion(card), child, "standard")


def test_the_bsa_reads_the_same_everywhere_on_the_card_and_its_arithmetic_checks_by_hand() -> None:
    """44 kg, 178 cm: Mosteller 1.47498 m². The body-size note said 1.47, the basis 1.475 and the label dose 7.37: a
    pharmacist doing 5 × 1.47 got 7.35. The BSA is now used and shown to three decimals, and the card's products are
    those of the numbers it shows."""
    adult = _facts_from_observations(_observation("w", "29463-7", 44, "kg", 2),
                                     _observation("h", "8302-2", 178, "cm", 2))
    card = card_for(step_order(), adult, "relapsed-refractory")
    assert card is not None
    assert set(re.findall(r"([\d.]+) m²", card["detail"] + card["suggestions"][0]["label"])) == {"1.475"}
    assert "BSA 1.475 m² by Mosteller" in card["detail"] and card["extension"]["dose-check"]["bsaM2"] == 1.475
    shown = Decimal("1.475")
    for per_m2, label in ((5, "7.375"), (15, "22.125")):  # exact: a label of 7.38 read as above a 7.3 correction
        assert f"| {per_m2} mcg/m²/day × 1.475 m² |" in card["detail"]
        assert f"{per_m2 * shown:f}" == label and f"| {label} mcg/day |" in card["detail"]
        assert f"{per_m2} mcg/m²/day × 1.475 m² = {label}, rounded down" in card["suggestions"][0]["label"]
    verdict = order_checks(step_order(), [step_order()], adult).schedule("relapsed-refractory")
    assert verdict.note.endswith("(label 22.125 mcg/day) (for weight 44 kg on 2026-11-29; BSA 1.475 m² by Mosteller "
                                 "from height and weight)")


def test_cards_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dose-unreadable.j2").write_text("{% set summary %}Custom {{ reasons|length }}{% endset %}Detail")
    monkeypatch.setenv("CDS_CARDS_DIR", str(tmp_path))
    card = card_for(single_line_order(rate(10, "mL/h")), facts())
    assert card is not None and (card["summary"], card["detail"]) == ("Custom 1", "Detail")


# Quantity


def quantity_order(quantity: float, unit: str = "{vial}", supply: int | None = 42, id: str = "blin-1") -> dict:
    return single_line_order(rate(28), quantity=quantity, quantity_unit=unit, supply_days=supply, id=id)


@pytest.mark.parametrize(("quantity", "unit", "corrected", "label"), [
    (40, "{vial}", 28, "Change quantity to 28 vials"),
    (1400, "ug", 980, "Change quantity to 980 mcg"),
    (1.4, "mg", 0.98, "Change quantity to 0.98 mg"),
])
def test_quantity_card_sets_the_limit_in_the_orders_unit(quantity: float, unit: str, corrected: float,
                                                         label: str) -> None:
    facts_ = facts()
    written = quantity_order(quantity, unit)
    card = quantity_card_for([written], facts_)
    assert card is not None
    assert card["indicator"] == "warning" and card["source"]["topic"]["code"] == "limits"
    assert len(card["summary"]) < 140 and "limit" in card["summary"]
    assert card["suggestions"][0]["label"] == label
    resource = apply_suggestion(card)
    assert resource["dispenseRequest"]["quantity"]["value"] == corrected
    assert resource["dispenseRequest"]["quantity"]["code"] == unit
    assert quantity_card_for([resource], facts_) is None
    assert order_checks(resource, [resource], facts_).quantity(ASPIRUS).status == "met"


def _split_step(step_vials: float, full_vials: float) -> list[dict]:
    """The label's step dose written as two orders: 9 mcg/day on days 1-7, 28 mcg/day on days 8-28."""
    return [order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), id="step", quantity=step_vials),
            order(line(rate(28), "2026-12-08", "2026-12-28", sequence=1), id="full", quantity=full_vials)]


def test_each_order_of_a_group_above_its_own_days_is_set_to_them() -> None:
    """8 vials for 7 days at 9 mcg/day and 30 for 21 days at 28 mcg/day: each more than its days use (a bag a day:
    7 and 21). The largest order used to be cut to what the limit left (20 vials), the step order's excess kept."""
    facts_ = facts()
    step, full = _split_step(8, 30)
    cards = quantity_cards_for([step, full], facts_)
    assert [(c["extension"]["davinci-crd.associated-resource"][0]["reference"],
             apply_suggestion(c)["dispenseRequest"]["quantity"]["value"]) for c in cards] == [
        ("MedicationRequest/step", 7), ("MedicationRequest/full", 21)]
    assert quantity_cards_for([apply_suggestion(cards[0]), apply_suggestion(cards[1])], facts_) == []


@pytest.mark.parametrize(("step_vials", "full_vials", "corrected"), [
    (20, 21, [("step", 7)]),  # the review's case: the full-dose order was cut to 8 vials (588 mcg needs 17 at least)
    (3, 30, [("full", 21)]),  # the full-dose order was set to 25: what the limit left, more than its 21 days use
    (25, 8, [("step", 7)]),  # the full-dose order's 8 vials are short of its dose: said, not raised (its bags decide)
    (2, 27, [("full", 21)]),  # 2 vials hold the step's 63 mcg (a 7-day bag): within; 27 is above 21
])
def test_only_an_order_whose_own_quantity_is_wrong_is_corrected(step_vials: int, full_vials: int,
                                                                corrected: list[tuple[str, int]]) -> None:
    cards = quantity_cards_for(_split_step(step_vials, full_vials), facts())
    assert [(apply_suggestion(c)["id"], apply_suggestion(c)["dispenseRequest"]["quantity"]["value"])
            for c in cards if "suggestions" in c] == corrected


@pytest.mark.parametrize(("unit", "step", "full", "corrected", "label"), [
    ("ug", 700, 735, 245, "Change quantity to 245 mcg"),  # 7 vials' worth: 63 mcg in a bag a day of whole vials
    ("mg", 0.7, 0.735, 0.245, "Change quantity to 0.245 mg"),
])
def test_an_orders_own_need_is_in_its_own_unit(unit: str, step: float, full: float, corrected: float,
                                               label: str) -> None:
    orders = [order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), id="step", quantity=step,
                    quantity_unit=unit),
              order(line(rate(28), "2026-12-08", "2026-12-28", sequence=1), id="full", quantity=full,
                    quantity_unit=unit)]
    [card] = quantity_cards_for(orders, facts())
    assert card["suggestions"][0]["label"] == label
    assert apply_suggestion(card)["dispenseRequest"]["quantity"] == {"value": corrected, "unit": unit,
                                                                     "system": UCUM, "code": unit}


def test_a_quantity_summary_names_the_order_by_its_dose_when_that_fits() -> None:
    """Two cards of one cycle must not read the same: the order's dose in words, or "this order" past 140."""
    two_lines = order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                      line(rate(28), "2026-12-08", "2026-12-14", sequence=2), id="first", quantity=40)
    one_line = order(line(rate(28), "2026-12-15", "2026-12-28", sequence=1), id="second", quantity=30)
    first, second = quantity_cards_for([two_lines, one_line], facts())
    assert first["summary"] == ("Quantity above plan limit: 70 vials in cycle 1, limit 28 vials; this order uses at "
                                "most 14 vials, not 40")
    assert second["summary"] == ("Quantity above plan limit: 70 vials in cycle 1, limit 28 vials; order of 28 mcg/day "
                                 "on days 15–28 uses at most 14 vials, not 30")


def test_orders_within_their_own_days_get_a_card_without_a_correction() -> None:
    """Over the limit though each order holds at most what its own days use (the full-dose order runs days 8-35): no
    order's quantity is wrong on its own, so none is changed; the first order's card says why."""
    step = order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), id="step", quantity=7)
    full = order(line(rate(28), "2026-12-08", "2027-01-04", sequence=1), id="full", quantity=28)
    [card] = quantity_cards_for([step, full], facts())
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": "MedicationRequest/step"}]
    assert "suggestions" not in card and "selectionBehavior" not in card
    assert "Each order holds at most what its own days use" in card["detail"]
    row = "| 28 mcg/day on days 8–35 | 28 vials | 784 mcg: 23 to 28 vials | within what its days use |"
    assert row in card["detail"]


def test_the_quantity_table_of_many_orders_names_a_few_and_this_order() -> None:
    """Twelve orders one day each (28 mcg/day, 3 vials): each above what its day uses (1 vial), each with its card,
    whose table names the first three orders and its own, and counts the others."""
    orders = [order(line(rate(28), f"2026-12-{day:02d}", f"2026-12-{day:02d}", sequence=1), id=f"o{day}",
                    quantity=3) for day in range(1, 13)]
    cards = quantity_cards_for(orders, facts())
    assert [apply_suggestion(c)["dispenseRequest"]["quantity"]["value"] for c in cards] == [1] * 12
    last = cards[-1]["detail"]
    assert [row.split(" |")[0] for row in last.splitlines() if row.startswith("| 28 mcg/day")] == [
        "| 28 mcg/day on day 1", "| 28 mcg/day on day 2", "| 28 mcg/day on day 3",
        "| 28 mcg/day on day 12 (this order)"]
    assert "And 8 more orders of the cycle." in last
    assert all(len(c["summary"]) < 140 for c in cards)


def test_quantity_over_with_orders_on_the_same_days_suggests_no_cut() -> None:
    """The clinician's second review: a 9 mcg/day order on days 1-7 beside a 28 mcg/day one on days 1-28 had the
    quantity card recommend cutting the 28-day order to 26 vials, leaving its own infusion short; the overlap (a dose
    card of its own) is what to correct."""
    facts_ = facts()
    overlapping = [order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), id="step", quantity=3),
                   quantity_order(28, id="full")]
    card = quantity_card_for(overlapping, facts_)
    assert card is not None and card["indicator"] == "warning" and "suggestions" not in card
    assert "correct or cancel the overlapping order first" in card["detail"]


def test_quantity_within_limit_or_unreadable_gives_no_card() -> None:
    assert quantity_card_for([quantity_order(28)], facts()) is None
    assert quantity_card_for([quantity_order(56, supply=84)], facts()) is None
    assert quantity_card_for([quantity_order(40, "mL")], facts()) is None


def test_quantity_in_84_day_cycles() -> None:
    cycle_6 = facts(cycle=6)
    card = quantity_card_for([quantity_order(40, supply=84)], cycle_6)
    assert card is not None and apply_suggestion(card)["dispenseRequest"]["quantity"]["value"] == 28
    # The days are the limit's (its window here), not said of the order: its supply may be shorter (42 days).
    shorter = quantity_card_for([quantity_order(40, supply=42)], cycle_6)
    assert shorter is not None and shorter["summary"] == (
        "Quantity above plan limit: 40 vials (1400 mcg) in cycle 6; limit is 28 vials (980 mcg) for the 84-day supply")
    assert quantity_card_for([quantity_order(40, supply=84)], facts(cycle=5)) is None


def test_a_quantity_just_above_a_proportional_limit_reads_above_it() -> None:
    """A 43-day supply allows 980 x 43 / 42 = 1003.33 mcg (28.667 vials): 1003.334 mcg ordered had shown as "1003.33
    mcg" beside a limit of "1003.33 mcg". The numbers take the decimals that tell them apart, as a dose does; the
    vials are the whole vials the quantity takes (orders34: 1003.5 mcg had read "28.671 vials")."""
    card = quantity_card_for([quantity_order(1003.334, "ug", supply=43)], facts())
    assert card is not None and card["summary"] == (
        "Quantity above plan limit: 29 vials (1003.334 mcg, rounded up) in cycle 1; limit is 28.67 vials (1003.333 "
        "mcg) for the 43-day supply")
    assert "- Allowed for the 43-day supply: 28.67 vials (1003.333 mcg)." in card["detail"]


@pytest.mark.parametrize(("value", "limit", "shown"), [
    ("40", "28", ("40", "28")),
    ("28.6714", "28.666667", ("28.671", "28.667")),
    ("28.66672", "28.666667", ("28.66672", "28.66667")),  # never one side alone: 28.6667 would read below 28.67
    ("28.6666671", "28.666667", ("28.666667", "28.666667")),  # a millionth apart: no closer is shown
    ("28.67", "28.67", ("28.67", "28.67")),
])
def test_texts_apart_gives_both_numbers_the_decimals_that_tell_them_apart(value: str, limit: str,
                                                                           shown: tuple[str, str]) -> None:
    assert texts_apart(Decimal(value), Decimal(limit)) == shown


def test_dates_of_a_continued_cycle() -> None:
    # An order continuing cycle 1 after 3 infusion days: its first day is cycle day 4, so days 4-7 take the step dose.
    continued = facts(start=date(2026, 12, 10), days_before=3)
    card = card_for(order(line(rate(28), "2026-12-10", "2026-12-30")), continued, "relapsed-refractory")
    assert card is not None and card["extension"]["dose-check"]["days"] == [4, 7]
    resource = apply_suggestion(card)
    assert resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-12-10",
                                                                                   "end": "2026-12-13"}
    # The order's own first day is cycle day 4: its texts count the cycle's days, and say so.
    texts = [line_["text"] for line_ in resource["dosageInstruction"]]
    assert texts == ["blinatumomab continuous IV infusion (cycle days 4–7) (dose corrected to 9 ug/d)",
                     "blinatumomab continuous IV infusion (cycle days 8–24)"]
    assert_clean(resource, continued, "relapsed-refractory")


def test_order_without_dosage_is_reported() -> None:
    card = card_for(order(), facts())
    assert card is not None and card["indicator"] == "info" and "no dosage instruction" in card["detail"]


def test_only_the_off_line_of_a_step_order_changes_and_the_label_names_its_days() -> None:
    facts_ = facts()
    written = order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                    line(rate(30), "2026-12-08", "2026-12-28", sequence=2))
    card = card_for(written, facts_, "relapsed-refractory")
    assert card is not None
    assert card["suggestions"][0]["label"] == "Change dose to 28 mcg/day on days 8–28"
    resource = apply_suggestion(card)
    assert [first_value(resource, index=i) for i in (0, 1)] == [9, 28]
    assert resource["dosageInstruction"][0] == written["dosageInstruction"][0]
    assert_clean(resource, facts_, "relapsed-refractory")


def test_interfant_dose_follows_bsa_for_any_weight() -> None:
    infant = facts(weight="8", bsa="0.38")
    assert card_for(single_line_order(rate(5.7)), infant, "interfant") is None
    card = card_for(single_line_order(rate(9)), infant, "interfant")
    assert card is not None
    assert card["suggestions"][0]["label"] == "Change dose to 5.7 mcg/day (15 mcg/m²/day × 0.38 m²)"
    assert_clean(apply_suggestion(card), infant, "interfant")


def test_a_per_m2_dose_is_explained_with_a_bsa_precise_enough_to_check() -> None:
    """15 × 0.932 = 13.98: with the BSA to two decimals (0.93) the product would not match the card's 13.98."""
    assert per_m2_text(Decimal(15), Decimal("0.9318")) == "15 mcg/m²/day × 0.932 m²"
    assert per_m2_text(Decimal(5), Decimal("1.2")) == "5 mcg/m²/day × 1.2 m²"


def test_every_range_above_the_label_is_in_the_summary_when_it_fits() -> None:
    """Both lines too high: a clinician correcting days 1-7 from the summary must not miss days 8-28."""
    both_high = order(line(rate(15), "2026-12-01", "2026-12-07", sequence=1),
                      line(rate(35), "2026-12-08", "2026-12-28", sequence=2))
    card = card_for(both_high, facts(), "relapsed-refractory")
    assert card is not None
    assert card["summary"] == ("Dose above label: 15 mcg/day on days 1–7 (label 9 mcg/day); "
                               "35 mcg/day on days 8–28 (label 28 mcg/day)")


@pytest.mark.parametrize(("written", "facts_", "expected"), [
    # A day range added to a split line must not hide its dose: "28 mcg/day (days 8–28)" names 28 twice.
    ({"text": "28 mcg/day"}, facts(weight="25", bsa="0.932"),
     ["4.6 mcg/day (days 1–7)", "13.9 mcg/day (days 8–28)"]),
    # A stated length becomes the line's own.
    ({"text": "28 mcg/day x 28 days"}, facts(), ["9 mcg/day x 7 days (days 1–7)", "28 mcg/day x 21 days (days 8–28)"]),
    # The patient's instruction is kept in step too.
    ({"text": "28 mcg/day", "patientInstruction": "Pump delivers 28 mcg every 24 hours"}, facts(),
     ["9 mcg/day (days 1–7)", "28 mcg/day (days 8–28)"]),
])
def test_split_line_texts_state_their_own_dose_and_days(written: dict[str, Any], facts_: ClinicalFacts,
                                                        expected: list[str]) -> None:
    single = order(line(rate(28), "2026-12-01", "2026-12-28", sequence=1) | written)
    card = card_for(single, facts_, "relapsed-refractory")
    assert card is not None
    lines = apply_suggestion(card)["dosageInstruction"]
    assert [item["text"] for item in lines] == expected
    if "patientInstruction" in written:
        assert [item["patientInstruction"] for item in lines] == ["Pump delivers 9 mcg every 24 hours (days 1–7)",
                                                                  "Pump delivers 28 mcg every 24 hours (days 8–28)"]


@pytest.mark.parametrize(("dose_and_rate", "text", "corrected"), [
    (rate(0.028, "mg/d"), "0.028 mg/day", "0.009 mg/day (days 1–7)"),  # exact, not rounded to 0.01
    (rate(1.1667, "ug/h"), "1.1667 mcg/hr continuous", "0.375 mcg/hr continuous (days 1–7)"),
])
def test_corrected_text_writes_the_coded_value_exactly(dose_and_rate: dict[str, Any], text: str,
                                                       corrected: str) -> None:
    card = card_for(order(line(dose_and_rate, "2026-12-01", "2026-12-28", sequence=1) | {"text": text}), facts(),
                    "relapsed-refractory")
    assert card is not None
    step = apply_suggestion(card)["dosageInstruction"][0]
    assert step["text"] == corrected and f"{step['doseAndRate'][0]['rateQuantity']['value']}" in corrected


def test_an_open_ended_line_split_writes_no_empty_timing() -> None:
    card = card_for(order(line(rate(28))), facts(), "relapsed-refractory")
    assert card is not None
    step, rest = apply_suggestion(card)["dosageInstruction"]
    assert step["timing"]["repeat"]["boundsDuration"]["value"] == 7 and "timing" not in rest


def overlapping_lines(first: Any = 28, second: Any = 20) -> dict[str, Any]:
    """One order, two lines on the same days 1-28."""
    return order(line(rate(first), "2026-12-01", "2026-12-28", 1), line(rate(second), "2026-12-01", "2026-12-28", 2))


def test_lines_running_together_above_the_label_warn_without_a_suggestion() -> None:
    """28 + 20 mcg/day is 48 a day; which line to change is the prescriber's call, so nothing one-click."""
    card = card_for(overlapping_lines(), facts())
    assert card is not None and card["indicator"] == "warning"
    assert "suggestions" not in card and "selectionBehavior" not in card
    assert card["summary"] == ("Dose above label: 48 mcg/day (lines 1 and 2 together) on days 1–28 of cycle 1; "
                               "label is 28 mcg/day")
    assert "| days 1–28 | 48 mcg/day (lines 1 and 2 together) | 28 mcg/day |" in card["detail"]
    assert "This card suggests no dose change" in card["detail"]
    assert card["extension"]["dose-check"]["ordered"] == 48.0
    assert "below" not in card["detail"]  # the 20 mcg/day line is never "below label" on days it adds to another


def test_orders_running_together_each_get_the_warning() -> None:
    """The other order is said in words a clinician reads (its id is nothing they see); one with the same lines is
    said to look like a duplicate."""
    first = order(line(rate(28), "2026-12-01", "2026-12-28"), id="blin-a")
    second = order(line(rate(20), "2026-12-01", "2026-12-28"), id="blin-b")
    for checked in (first, second):
        doses = order_checks(checked, [first, second], facts())
        card = dose_card(checked, facts(), "standard", True, "Florida Blue", doses)
        assert card is not None and card["indicator"] == "warning" and "suggestions" not in card
        assert card["summary"] == ("Dose above label: 48 mcg/day (2 blinatumomab orders together) on days 1–28 of "
                                   "cycle 1; label is 28 mcg/day")
        assert ("| days 1–28 | 48 mcg/day (this order and the other blinatumomab order being signed together) | "
                "28 mcg/day |") in card["detail"]
        assert "blin-" not in card["detail"] + card["summary"]


def test_a_duplicate_order_is_said_to_look_like_one() -> None:
    first = step_order()
    copy_ = step_order() | {"id": "blin-dup"}
    card = dose_card(first, facts(), "relapsed-refractory", True, "X", order_checks(first, [first, copy_], facts()))
    assert card is not None and "blin-dup" not in card["summary"] + card["detail"]
    assert "(this order and a likely duplicate order)" in card["summary"] and len(card["summary"]) < 140
    assert ("| days 8–28 | 56 mcg/day (this order and the other blinatumomab order being signed, which has the same "
            "dosage lines: likely a duplicate order) | 28 mcg/day |") in card["detail"]
    # The same days, other lines: another order, not a duplicate; a third copy: two duplicates (it had been counted
    # as an order given together, the duplicate card's removal of both copies left unsaid); a copy and another
    # order: counted, never a duplicate.
    other = order(line(rate(9), "2026-12-01", "2026-12-28"), id="other")
    card = dose_card(first, facts(), "relapsed-refractory", True, "X", order_checks(first, [first, other], facts()))
    assert card is not None and "duplicate" not in card["summary"] + card["detail"]
    group = [first, copy_, step_order() | {"id": "third"}]
    card = dose_card(first, facts(), "relapsed-refractory", True, "X", order_checks(first, group, facts()))
    assert card is not None and "(this order and 2 likely duplicates)" in card["summary"]
    assert "(this order and 2 other blinatumomab orders being signed, which have the same dosage lines: likely " \
        "duplicate orders)" in card["detail"]
    group = [first, copy_, other]
    card = dose_card(first, facts(), "relapsed-refractory", True, "X", order_checks(first, group, facts()))
    assert card is not None and "duplicate" not in card["summary"] + card["detail"]
    assert "(this order and 2 other blinatumomab orders being signed together)" in card["detail"]


def test_the_card_of_one_of_many_orders_reads_as_that_of_a_few() -> None:
    """300 orders on the same days: each card counts the others, so it reads as the card of 30 orders, numbers aside
    (it used to name the 299 others, on each of the 300 cards). Each order's own days, not copies of one another."""
    def card_text(count: int) -> str:
        group = [order(line(rate(28), "2026-12-01", f"2026-12-{28 - i % 2}"), id=f"o{i}") for i in range(count)]
        card = dose_card(group[-1], facts(), "standard", True, "Florida Blue", order_checks(group[-1], group,
                                                                                               facts()))
        assert card is not None and card["indicator"] == "warning" and len(card["summary"]) < 140
        return str(card["detail"])

    many = card_text(300)
    assert "(this order and 299 other blinatumomab orders being signed together)" in many
    assert re.sub(r"\d+", "#", many) == re.sub(r"\d+", "#", card_text(30))


def test_a_line_alone_on_its_other_days_keeps_its_own_finding() -> None:
    """Relapsed/refractory cycle 1: one 28 mcg/day line (above on the step days 1-7) and a second order on days
    15-20; the card names both ranges, and offers no correction that would leave the sum."""
    first = order(line(rate(28), "2026-12-01", "2026-12-28"), id="a")
    second = order(line(rate(10), "2026-12-15", "2026-12-20"), id="b")
    doses = order_checks(first, [first, second], facts())
    card = dose_card(first, facts(), "relapsed-refractory", True, "X", doses)
    assert card is not None and "suggestions" not in card
    assert [f["days"] for f in card["extension"]["dose-check"]["findings"]] == [[1, 7], [15, 20]]
    assert [f["ordered"] for f in card["extension"]["dose-check"]["findings"]] == [28.0, 38.0]


def test_a_sum_below_the_label_is_the_below_note_and_a_sum_at_it_no_card() -> None:
    low = card_for(overlapping_lines(5, 5), facts())
    assert low is not None and low["indicator"] == "info" and "suggestions" not in low
    assert low["summary"] == ("Dose below label: 10 mcg/day (lines 1 and 2 together) on days 1–28 of cycle 1; "
                              "label is 28 mcg/day")
    assert card_for(overlapping_lines(14, 14), facts()) is None  # each line alone would be "below label"


def test_a_summary_too_short_for_every_range_names_the_most_severe() -> None:
    """A duplicate of the step-dose order: 18 against 9 mcg/day on days 1-7, 56 against 28 on days 8-28. The summary
    has room for one: the one most above the label (as many times the label, and more mcg/day over), not the first;
    the detail and the dose-check extension keep every range in day order."""
    first = step_order()
    group = [first, step_order() | {"id": "blin-dup"}]
    card = dose_card(first, facts(), "relapsed-refractory", True, "X", order_checks(first, group, facts()))
    assert card is not None
    assert card["summary"] == ("Dose above label: 56 mcg/day (this order and a likely duplicate order) on days 8–28 "
                               "of cycle 1; label is 28 mcg/day; also above on days 1–7")
    check = card["extension"]["dose-check"]
    assert check["days"] == [1, 7] and [f["days"] for f in check["findings"]] == [[1, 7], [8, 28]]
    assert card["detail"].index("| days 1–7 |") < card["detail"].index("| days 8–28 |")
    without_weight = dose_card(first, facts(weight=None), "relapsed-refractory", True, "X",
                               order_checks(first, group, facts(weight=None)))
    assert without_weight is not None
    # The other days give way, whole, to what to record (as at any height), which the summary has no room for both.
    assert without_weight["summary"] == ("Dose above label maximum: 56 mcg/day (this order and a likely duplicate "
                                         "order) on days 8–28; label maximum is 28 mcg/day; record a weight")
    without_height = dose_card(first, facts(weight="30"), "relapsed-refractory", True, "X",
                               order_checks(first, group, facts(weight="30")))
    assert without_height is not None
    assert without_height["summary"] == ("Dose above label at any height: 56 mcg/day (this order and a likely "
                                         "duplicate order) on days 8–28 (also above on days 1–7); record a height")


@pytest.mark.parametrize(("step", "full", "worst"), [
    (5, 28, "56 mcg/day (this order and a likely duplicate order) on days 8–28 of cycle 1; label is 28 mcg/day"),
    (9, 25, "18 mcg/day (this order and a likely duplicate order) on days 1–7 of cycle 1; label is 9 mcg/day"),
])
def test_the_most_severe_is_the_largest_ratio_to_the_label(step: int, full: int, worst: str) -> None:
    """10 against 9 mcg/day is less severe than 56 against 28; 18 against 9 (twice) more than 50 against 28, though
    that is more mcg/day over."""
    lines = order(line(rate(step), "2026-12-01", "2026-12-07", 1), line(rate(full), "2026-12-08", "2026-12-28", 2))
    group = [lines, lines | {"id": "blin-dup"}]
    card = dose_card(lines, facts(), "relapsed-refractory", True, "X", order_checks(lines, group, facts()))
    other = "days 1–7" if "days 8–28" in worst else "days 8–28"
    assert card is not None and card["summary"] == f"Dose above label: {worst}; also above on {other}"


def test_of_findings_equally_severe_the_earliest_is_the_most_severe() -> None:
    expected = Expected(Decimal(28), "fixed", Decimal(28))
    early, late = (Finding("above", 0, first, first + 6, Decimal(40), expected) for first in (1, 15))
    assert most_severe([early, late]) is early


def test_lines_running_together_above_the_maximum_without_a_weight() -> None:
    card = card_for(overlapping_lines(), facts(weight=None))
    assert card is not None and card["indicator"] == "warning" and "suggestions" not in card
    assert card["summary"] == ("Dose above label maximum: 48 mcg/day (lines 1 and 2 together) on days 1–28; label "
                               "maximum is 28 mcg/day; record a weight")


@pytest.mark.parametrize(("written", "schedule", "summary", "label", "value", "unit"), [
    (rate(15, "ug/m2/d"), "standard", "Dose per m² not checked without a BSA; from 45 kg the label dose is 28 mcg/day",
     "Change dose to 28 mcg/day", 28, "ug/d"),
    (dose(30, "ug/m2"), "standard", "Dose per m² not checked without a BSA; from 45 kg the label dose is 28 mcg/day",
     "Change dose to 56 mcg per dose (28 mcg/day)", 56, "ug"),
    (rate(15, "ug/m2/d"), "relapsed-refractory",
     "Dose per m² not checked without a BSA; from 45 kg the label dose is 9 mcg/day on days 1–7, 28 mcg/day on days "
     "8–28", "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28", 9, "ug/d"),
])
def test_a_dose_per_m2_without_a_bsa_from_45_kg_is_offered_the_fixed_dose(
        written: dict[str, Any], schedule: str, summary: str, label: str, value: float, unit: str) -> None:
    """An 80 kg adult ordered 15 mcg/m²/day without a height was told to write the dose "in mcg/day", though it was
    written: only a BSA is missing, and from 45 kg the label dose is fixed whatever the BSA."""
    facts_ = facts(weight="45")
    repeat = {"frequency": 1, "period": 2, "periodUnit": "d"} if "doseQuantity" in written else {}
    card = card_for(order(line(written, "2026-12-01", "2026-12-28", **repeat)), facts_, schedule)
    assert card is not None and card["indicator"] == "warning" and card["summary"] == summary
    assert "cannot be converted to mcg/day" in card["detail"] and "(45 kg on record)" in card["detail"]
    assert card["suggestions"][0]["label"] == label
    resource = apply_suggestion(card)
    field = "doseQuantity" if "doseQuantity" in written else "rateQuantity"
    assert resource["dosageInstruction"][0]["doseAndRate"][0][field] == {"value": value, "unit": unit,
                                                                         "system": UCUM, "code": unit}
    MedicationRequest.model_validate(resource)
    assert_clean(resource, facts_, schedule)


@pytest.mark.parametrize(("per_m2", "offered"), [("13.5", True), ("13.4", False), ("5", False)])
def test_a_dose_per_m2_well_below_the_label_without_a_bsa_is_not_raised(per_m2: str, offered: bool) -> None:
    """More than 10% below the label's 15 mcg/m²/day may be deliberate: no correction up to 28 mcg/day, a height or
    BSA is asked for instead."""
    card = card_for(single_line_order(rate(float(per_m2), "ug/m2/d")), facts(weight="80", cycle=2))
    assert card is not None and card["indicator"] == ("warning" if offered else "info")
    assert bool(card.get("suggestions")) is offered
    assert offered or "record a height or BSA to check it" in card["detail"]


def test_a_dose_per_m2_without_a_bsa_below_45_kg_asks_for_a_height() -> None:
    # 44.9 kg: the label dose is per m², unknown without a BSA; at most 15 mcg/m²/day is not above it at any height.
    assert card_for(single_line_order(rate(15, "ug/m2/d")), facts(weight="44.9", cycle=2)) is None


def test_a_dose_per_m2_without_a_bsa_beside_another_line_is_not_corrected() -> None:
    both = order(line(rate(15, "ug/m2/d"), "2026-12-01", "2026-12-28"), line(rate(9), "2026-12-01", "2026-12-28"))
    card = card_for(both, facts(weight="80", cycle=2))
    assert card is not None and card["indicator"] == "info" and "suggestions" not in card


# A line stating no end runs until a later line takes over (docs/dosing.md "Which days a line runs"), for the label
# comparison and its correction as for the sums.

OPEN_STEP = order(line(rate(9), "2026-12-01", None, 1), line(rate(28), "2026-12-08", "2026-12-28", 2))


@pytest.mark.parametrize("group", [
    [OPEN_STEP],
    [order(line(rate(9), "2026-12-01", None, 1), line(rate(28), "2026-12-08", None, 2))],  # neither states an end
])
def test_a_step_dose_line_stating_no_end_is_not_below_the_label_on_the_later_lines_days(group: list[dict]) -> None:
    """9 mcg/day from day 1, then 28 mcg/day from day 8: the label's step dose. The first line had been compared on
    days 1-28, and an info card said 9 mcg/day on days 8-28 was below the label, a dose not ordered."""
    checked = group[0]
    assert card_for(checked, facts(), "relapsed-refractory") is None
    assert order_checks(checked, group, facts()).findings("relapsed-refractory")[1] == []


def test_an_order_stating_no_end_before_another_orders_later_start_is_not_below_the_label() -> None:
    """The step dose written as two orders, the first stating no end: the second order's start ends it."""
    first = order(line(rate(9), "2026-12-01"), id="a")
    second = order(line(rate(28), "2026-12-08", "2026-12-28"), id="b")
    assert order_checks(first, [first, second], facts()).findings("relapsed-refractory")[1] == []


def test_a_line_stating_no_end_above_the_label_before_a_later_line_is_corrected_on_its_own_days() -> None:
    """28 mcg/day from day 1 (no end), then 28 mcg/day from day 8: above the step dose on days 1-7 only. The
    correction had split the first line at day 8 into a 28 mcg/day line of its own beside the second line, 56 mcg/day
    on days 8-28 in one click; it now sets the first line to 9 mcg/day, and the second line still takes over."""
    checked = order(line(rate(28), "2026-12-01", None, 1), line(rate(28), "2026-12-08", "2026-12-28", 2))
    card = card_for(checked, facts(), "relapsed-refractory")
    assert card is not None and card["summary"].startswith("Dose above label: 28 mcg/day on days 1–7 of cycle 1")
    [suggestion] = card["suggestions"]
    assert suggestion["label"] == "Change dose to 9 mcg/day on days 1–7"
    written = apply_suggestion(card)["dosageInstruction"]
    assert [(line_["doseAndRate"][0]["rateQuantity"]["value"], line_["timing"]["repeat"]["boundsPeriod"])
            for line_ in written] == [
        (9, {"start": "2026-12-01"}), (28, {"start": "2026-12-08", "end": "2026-12-28"})]


def test_an_order_stating_no_end_above_the_label_before_another_orders_start_is_corrected_on_its_own_days() -> None:
    """The step dose as two orders, the first 28 mcg/day from day 1 with no end: corrected to 9 mcg/day, the second
    order still taking over at day 8 (the correction had added a 28 mcg/day line from day 8 beside it)."""
    first = order(line(rate(28), "2026-12-01"), id="a")
    second = order(line(rate(28), "2026-12-08", "2026-12-28"), id="b")
    checks_ = order_checks(first, [first, second], facts())
    card = dose_card(first, facts(), "relapsed-refractory", True, "Aspirus Health Plan", checks_)
    assert card is not None and card["suggestions"][0]["label"] == "Change dose to 9 mcg/day"
    assert [(line_["doseAndRate"][0]["rateQuantity"]["value"], line_["timing"]["repeat"]["boundsPeriod"])
            for line_ in apply_suggestion(card)["dosageInstruction"]] == [(9, {"start": "2026-12-01"})]


def test_a_summary_too_short_for_every_range_below_the_label_names_the_other_days_below() -> None:
    """A child's doses per m² below the label on the step days and after: both ranges in full do not fit, and the
    other days are named as below (not "above", nor "(+1 more day range)")."""
    child = facts(weight="25", bsa="0.932")
    two = order(line(rate(2, "ug/m2/d"), "2026-12-01", "2026-12-07", 1),
                line(rate(5, "ug/m2/d"), "2026-12-08", "2026-12-28", 2))
    card = card_for(two, child, "relapsed-refractory")
    assert card is not None and card["summary"].startswith("Dose below label: ")
    assert card["summary"].endswith("; also below on days 1–7") and len(card["summary"]) < 140


def test_a_label_dose_at_its_cap_says_capped_not_a_bare_number() -> None:
    """"28 mcg/day (cap 28)" gave the cap without its unit, and as a second number beside the same one."""
    card = card_for(single_line_order(rate(40)), facts(weight="44.9", bsa="1.9"))
    assert card is not None and "| days 1–28 | 40 mcg/day | 28 mcg/day (capped) | 15 mcg/m²/day × 1.9 m² |" in (
        card["detail"])


def test_a_dose_correction_s_action_counts_the_lines_of_the_corrected_order() -> None:
    """"(4 dosage lines)" beside a correction of 3 of them read as the lines changed."""
    card = card_for(single_line_order(rate(28)), facts(), "relapsed-refractory")
    assert card is not None
    [action] = card["suggestions"][0]["actions"]
    assert action["description"].endswith("on the days it was above (the corrected order has 2 dosage lines)")


def test_other_days_too_long_for_the_summary_are_counted_not_cut() -> None:
    """A duplicate of an order of four weekly lines: the worst range and the three others' days do not fit in 140
    characters. A cut ("also above on days 8–14, 15–21…") left days 22–28 out; how many others is said instead."""
    lines = order(line(rate(20), "2026-12-01", "2026-12-07", 1), line(rate(40), "2026-12-08", "2026-12-14", 2),
                  line(rate(42), "2026-12-15", "2026-12-21", 3), line(rate(44), "2026-12-22", "2026-12-28", 4))
    group = [lines, lines | {"id": "blin-dup"}]
    card = dose_card(lines, facts(), "relapsed-refractory", True, "X", order_checks(lines, group, facts()))
    assert card is not None
    assert card["summary"] == ("Dose above label: 40 mcg/day (this order and a likely duplicate order) on days 1–7; "
                               "label is 9 mcg/day; also above on 3 other day ranges")
