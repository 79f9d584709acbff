"""Numbers shown to clinicians are bounded and readable, however absurd the record (28 mcg in 1e-300 mL makes 6.72 ×
10³⁰³ mcg/day; a value may carry 300 digits): a summary says an implausible dose is one, and the detail names the
value exactly, in powers of ten, cut past twelve digits with the cut marked. The summary had carried a number hundreds
of digits long, or been cut to "Dose above label:…"."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest

from cds_service.dosing.text import IMPLAUSIBLE_DOSE, dose_said, mcg_text, mcg_text_against, texts_apart
from cds_service.facts.quantities import exact_text, refused_text, shown
from tests.test_dosing_concentration import bag, strength, with_contained
from tests.test_pipeline import example, post

SEVENS = int("7" * 300)
_LONGEST = 15  # digits in a row a card may show: "240.777777777" has 12


@pytest.mark.parametrize(("value", "text"), [
    ("240", "240"), ("0.5", "0.5"), ("999999.99", "999999.99"), ("0.000001", "0.000001"),
    ("6.72E+303", "6.72 × 10³⁰³"), ("1E-300", "1 × 10⁻³⁰⁰"), ("1000000", "1 × 10⁶"), ("-3E+10", "-3 × 10¹⁰"),
    ("240." + "7" * 300, "240.777777777…"), ("7" * 300, "7.77777777777… × 10²⁹⁹"),
    ("28.000000000000000001", "28.0000000000…"), ("1E+999998", "1 × 10⁹⁹⁹⁹⁹⁸"),
])
def test_a_value_is_shown_exactly_and_bounded(value: str, text: str) -> None:
    assert exact_text(Decimal(value)) == text


@pytest.mark.parametrize(("value", "text"), [
    ("27.996", "28"), ("6.72E+303", "6.72 × 10³⁰³"), ("1E-300", "0"), ("240." + "7" * 300, "240.78")])
def test_a_dose_is_rounded_unless_implausible(value: str, text: str) -> None:
    assert shown(Decimal(value)) == mcg_text(Decimal(value)) == text


def test_an_implausible_dose_is_said_so_and_its_texts_stay_short() -> None:
    huge = Decimal("6.72E+303")
    assert dose_said(huge, "whatever") == IMPLAUSIBLE_DOSE and dose_said(Decimal(28), "28 mcg/day") == "28 mcg/day"
    assert dose_said(Decimal("999999"), "999999 mcg/day") == "999999 mcg/day"  # large, still a number read
    assert mcg_text_against(huge, Decimal(28)) == "6.72 × 10³⁰³"
    assert texts_apart(huge, Decimal(980)) == ("6.72 × 10³⁰³", "980")


@pytest.mark.parametrize(("raw", "text"), [(SEVENS, "7.77777777777… × 10²⁹⁹"), (1e300, "1 × 10³⁰⁰"),
                                           ("1e999999999", "1 × 10⁹⁹⁹⁹⁹⁹⁹⁹⁹"), (28, ""), (None, ""),
                                           ("many", ""), (True, ""), ("NaN", "")])
def test_a_value_refused_for_its_size_is_named(raw: Any, text: str) -> None:
    assert refused_text(raw) == text


def _longest_digits(answer: dict[str, Any]) -> int:
    """The longest run of digits the cards, and the coverage information's reason, show (the orders the actions
    echo as sent aside)."""
    said = [answer["cards"], [e for a in answer["systemActions"] for ext in a["resource"]["extension"]
                              for e in ext.get("extension", ()) if e["url"] == "reason"]]
    return max(len(run) for run in re.findall(r"[0-9.]+", json.dumps(said, ensure_ascii=False)))


@pytest.mark.parametrize(("volume", "dose"), [(1e-300, "6.72 × 10³⁰³"), ("1e-20", "6.72 × 10²³")])
def test_a_dose_through_a_vanishing_volume_reads_as_implausible(client: Any, volume: Any, dose: str) -> None:
    answer = post(client, with_contained(bag(strength(28, "ug", volume))))
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert card["summary"] == "Dose above label: an implausible dose on days 1–28 of cycle 1; label is 28 mcg/day"
    written = exact_text(Decimal(str(volume)))
    assert f"| days 1–28 | {dose} mcg/day (10 mL/h of 28 mcg per {written} mL) | 28 mcg/day |" in card["detail"]
    assert f"{dose} mcg/day on days 1–28" in answer["cards"][0]["detail"]  # the criterion's note
    assert _longest_digits(answer) <= _LONGEST


def test_a_volume_written_with_300_digits_is_shown_cut(client: Any) -> None:
    answer = post(client, with_contained(bag(strength(28, "ug", "240." + "7" * 300))))
    assert "(10 mL/h of 28 mcg per 240.777777777… mL)" in answer["cards"][0]["detail"]
    assert _longest_digits(answer) <= _LONGEST


def test_a_dose_of_300_digits_is_named_as_implausible_not_as_missing(client: Any) -> None:
    body = example("aspirus-adult-consolidation-mrd-positive")
    body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
        "rateQuantity"]["value"] = SEVENS
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert "- Line 1: an implausible dose value (7.77777777777… × 10²⁹⁹ mcg/day)" in card["detail"]
    assert "no dose value" not in json.dumps(answer) and _longest_digits(answer) <= _LONGEST


def test_a_quantity_of_300_digits_is_named_as_implausible_not_as_missing(client: Any) -> None:
    body = example("aspirus-adult-consolidation-mrd-positive")
    body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]["quantity"]["value"] = SEVENS
    answer = post(client, body)
    assert "an implausible quantity (7.77777777777… × 10²⁹⁹ vials)" in answer["cards"][0]["detail"]
    assert "quantity without a value" not in json.dumps(answer) and _longest_digits(answer) <= _LONGEST
