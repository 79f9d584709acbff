"""Metamorphic tests of the clinical reading (tests/test_metamorphic.py): the orders written otherwise. A dose in
another of the forms the profile reads, a quantity or a supply in other units, the days of a line by duration, the
drug by another of its codes, a step dose written as two orders in either order, numbers spelled otherwise: the same
decisions, criteria statuses and dose findings.
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.test_metamorphic import (  # noqa: F401 (service, baseline: the fixtures, shared)
    REQUESTS, SERVICE, UCUM, Json, Transform, _card, _coverage_codes, answer, baseline, clinical, duplicated,
    equivalence_tests, prefetch_reversed, resources, scaled, service, transformed, unrelated_added)


def _order_lines(request: Json) -> Iterator[Json]:
    for entry in request["context"]["draftOrders"].get("entry", []):
        yield from entry["resource"].get("dosageInstruction", [])


def _daily_rates(request: Json) -> Iterator[tuple[Json, Json]]:
    """The draft orders' doses written as a `rateQuantity` in ug/d, each with its dosage line."""
    for line in _order_lines(request):
        for dose in line.get("doseAndRate", []):
            if dose.get("rateQuantity", {}).get("code") == "ug/d":
                yield line, dose


@transformed
def rates_in_mcg(request: Json) -> None:
    """fhir-data-profile.md §The order: `mcg/d` is read as `ug/d`."""
    for _, dose in _daily_rates(request):
        dose["rateQuantity"]["unit"] = dose["rateQuantity"]["code"] = "mcg/d"


@transformed
def rates_per_hour(request: Json) -> None:
    """fhir-data-profile.md §The order: `ug/h` × 24. Only the rates with an exact hourly rate in a few decimals are
    rewritten (9 mcg/day is 0.375 mcg/h; 28 mcg/day has none and is kept per day)."""
    for _, dose in _daily_rates(request):
        rate = dose["rateQuantity"]
        per_hour = Decimal(str(rate["value"])) / 24
        if per_hour == per_hour.quantize(Decimal("0.0001")):
            rate.update({"value": float(per_hour), "unit": "ug/h", "code": "ug/h"})


@transformed
def rates_as_ratios(request: Json) -> None:
    """fhir-data-profile.md §The order: `rateRatio`, mcg per time, is read as `rateQuantity` is."""
    for _, dose in _daily_rates(request):
        value = dose.pop("rateQuantity")["value"]
        dose["rateRatio"] = {"numerator": {"value": value, "unit": "ug", "system": UCUM, "code": "ug"},
                             "denominator": {"value": 1, "unit": "d", "system": UCUM, "code": "d"}}


@transformed
def rates_as_bags(request: Json) -> None:
    """fhir-data-profile.md §The order: a dose per bag with `timing.repeat.duration` is divided over it: a daily rate
    is the same as twice its amount a bag, each bag running 48 hours."""
    for line, dose in _daily_rates(request):
        dose["doseQuantity"] = dose.pop("rateQuantity")
        scaled(dose["doseQuantity"], "2", "ug")
        line["timing"]["repeat"].update({"duration": 48, "durationUnit": "h"})


@transformed
def rates_as_daily_doses(request: Json) -> None:
    """fhir-data-profile.md §The order: a `doseQuantity` in mcg × the doses a day of `timing.repeat` (once a day)."""
    for line, dose in _daily_rates(request):
        dose["doseQuantity"] = dose.pop("rateQuantity")
        scaled(dose["doseQuantity"], "1", "ug")
        line["timing"]["repeat"].update({"frequency": 1, "period": 1, "periodUnit": "d"})


def _bounds_as_durations(request: Json, first_too: bool) -> None:
    for entry in request["context"]["draftOrders"].get("entry", []):
        order = entry["resource"]
        lines = sorted(order.get("dosageInstruction", []), key=lambda line: line.get("sequence", 0))
        periods = [line.get("timing", {}).get("repeat", {}).get("boundsPeriod") for line in lines]
        if not lines or not all(p and "start" in p and "end" in p for p in periods) or not _consecutive(periods):
            continue
        for number, (line, period) in enumerate(zip(lines, periods)):
            if number == 0 and not first_too:
                continue
            days = (date.fromisoformat(period["end"]) - date.fromisoformat(period["start"])).days + 1
            repeat = line["timing"]["repeat"]
            del repeat["boundsPeriod"]
            repeat["boundsDuration"] = {"value": days, "unit": "days", "system": UCUM, "code": "d"}
        if first_too:
            order.setdefault("dispenseRequest", {})["validityPeriod"] = {"start": periods[0]["start"]}


def _consecutive(periods: list[Json]) -> bool:
    """Each period starting the day after the one before it ends, in sequence order."""
    return all(date.fromisoformat(later["start"]) - date.fromisoformat(earlier["end"]) == timedelta(days=1)
               for earlier, later in zip(periods, periods[1:]))


@transformed
def later_lines_by_duration(request: Json) -> None:
    """fhir-data-profile.md §The order: `sequence` and `boundsPeriod`/`boundsDuration` say which days a line covers:
    after the first line, each of consecutive lines as a `boundsDuration` of its days."""
    _bounds_as_durations(request, first_too=False)


@transformed
def every_line_by_duration(request: Json) -> None:
    """As later_lines_by_duration, the first line too, its start then the order's `dispenseRequest.validityPeriod`
    start (fhir-data-profile.md §The order: the start is the earliest boundsPeriod start, else that)."""
    _bounds_as_durations(request, first_too=True)


@transformed
def dosage_lines_reversed(request: Json) -> None:
    """fhir-data-profile.md §The order: `sequence` and the bounds say which days a line covers, not its place in the
    list."""
    for entry in request["context"]["draftOrders"].get("entry", []):
        lines = entry["resource"].get("dosageInstruction", [])
        if len(lines) > 1 and all("sequence" in line for line in lines):
            lines.reverse()


def _vials_dispensed(request: Json) -> Iterator[Json]:
    """The dispense quantities of the draft orders written in vials (`{vial}`)."""
    for entry in request["context"]["draftOrders"].get("entry", []):
        quantity = entry["resource"].get("dispenseRequest", {}).get("quantity")
        if quantity and quantity.get("code") == "{vial}":
            yield quantity


@transformed
def quantities_in_mcg(request: Json) -> None:
    """Aspirus II (policy-rules.md §2): 28 vials of 35 mcg and 980 J9039 units (mcg) are the same limit; the profile
    reads a dispense quantity in vials or mcg."""
    for quantity in _vials_dispensed(request):
        scaled(quantity, "35", "ug")


@transformed
def quantities_in_mg(request: Json) -> None:
    """As quantities_in_mcg, in mg (fhir-data-profile.md §The order: mg converted)."""
    for quantity in _vials_dispensed(request):
        scaled(quantity, "0.035", "mg")


@transformed
def vials_spelled_otherwise(request: Json) -> None:
    """fhir-data-profile.md §The order: vials as `{vial}`, `vial` or `VIAL`; here the printed unit alone, no code."""
    for quantity in _vials_dispensed(request):
        del quantity["code"]
        quantity.pop("system", None)
        quantity["unit"] = "VIAL"


@transformed
def supply_in_weeks(request: Json) -> None:
    """An expected supply duration of whole weeks in `wk` (UCUM): the same length of time (the profile reads the
    duration; its unit is a UCUM time unit, facts/quantities.py)."""
    for entry in request["context"]["draftOrders"].get("entry", []):
        supply = entry["resource"].get("dispenseRequest", {}).get("expectedSupplyDuration")
        if supply and supply.get("code") == "d" and supply["value"] % 7 == 0:
            supply.update({"value": supply["value"] // 7, "unit": "weeks", "code": "wk"})


@transformed
def supply_in_hours(request: Json) -> None:
    """An expected supply duration in hours: the same length of time (`h`, UCUM)."""
    for entry in request["context"]["draftOrders"].get("entry", []):
        supply = entry["resource"].get("dispenseRequest", {}).get("expectedSupplyDuration")
        if supply and supply.get("code") == "d":
            supply.update({"value": supply["value"] * 24, "unit": "hours", "code": "h"})


BLINATUMOMAB_NAMES: tuple[Json, ...] = (
    {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "55513-0160-01"}]},
    {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "55513016001"}]},
    {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "5551316001"}]},
    {"coding": [{"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "J9039"}]},
    {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1597267"}]},
    {"text": "BLINCYTO 35 mcg powder for injection"},
)


def _named(concept: Json) -> Callable[[Json], None]:
    def blinatumomab_named_otherwise(request: Json) -> None:
        """fhir-data-profile.md §The order: blinatumomab by any of its RxNorm, NDC (any form) or HCPCS codes, or by
        its name in the text."""
        for resource in resources(request):
            medication = resource.get("medicationCodeableConcept", {})
            codes = {c.get("code") for c in medication.get("coding", [])}
            if "1597262" in codes or "1597258" in codes:
                resource["medicationCodeableConcept"] = copy.deepcopy(concept)
    return blinatumomab_named_otherwise


def _renaming(concept: Json) -> Transform:
    transform = transformed(_named(concept))
    codes = [coding["code"] for coding in concept.get("coding", [])]
    transform.__name__ = f"blinatumomab_as_{codes[0] if codes else 'text'}"
    return transform


BLINATUMOMAB_RENAMINGS = [_renaming(concept) for concept in BLINATUMOMAB_NAMES]


# --- The tests --------------------------------------------------------------------------------------------------------

EQUIVALENT: tuple[Transform, ...] = (
    rates_in_mcg, rates_per_hour, rates_as_ratios, rates_as_bags, rates_as_daily_doses, later_lines_by_duration,
    every_line_by_duration, dosage_lines_reversed, quantities_in_mcg, quantities_in_mg, vials_spelled_otherwise,
    supply_in_weeks, supply_in_hours, *BLINATUMOMAB_RENAMINGS)
# The transformations whose answer is worded otherwise, on purpose, and why (as test_metamorphic.WORDED_OTHERWISE).
WORDED_OTHERWISE: dict[Transform, str] = {
    rates_per_hour: "a correction is suggested in the order's own unit: 1.16 mcg/h",
    rates_as_bags: "a correction is suggested as the order writes its dose: 56 mcg per 48-hour bag",
    rates_as_daily_doses: "a correction is suggested as the order writes its dose: 28 mcg per dose",
    quantities_in_mcg: "a quantity correction is suggested in the order's own unit: 980 mcg",
    quantities_in_mg: "a quantity correction is suggested in the order's own unit: 0.98 mg",
    dosage_lines_reversed: "the decision card quotes the order's dosage texts in the order's own order",
}
test_an_equivalent_request_is_decided_alike, test_an_equivalent_request_is_answered_in_the_same_words = (
    equivalence_tests(EQUIVALENT, WORDED_OTHERWISE))


# --- Several orders in one Bundle -------------------------------------------------------------------------------------


@transformed
def draft_orders_reversed(request: Json) -> None:
    """fhir-data-profile.md §The order: blinatumomab orders of one Bundle are one cycle from the earliest start,
    whatever their order. Each order keeps its own answer; the cards come in the Bundle's order, so the answer is
    compared order by order (`by_order`)."""
    request["context"]["draftOrders"]["entry"].reverse()


def split_in_two(request: Json) -> Json | None:
    """The step dose written as two orders (fhir-data-profile.md §The order: blinatumomab orders of one Bundle are one
    cycle): the first dosage line, with the dispense, and the lines after it, without one. None for a request with
    no blinatumomab order of several lines."""
    copied = copy.deepcopy(request)
    entries = copied["context"]["draftOrders"].get("entry", [])
    for number, entry in enumerate(entries):
        order = entry["resource"]
        lines = order.get("dosageInstruction", [])
        if order.get("resourceType") == "MedicationRequest" and len(lines) > 1:
            rest = copy.deepcopy({key: value for key, value in order.items() if key != "dispenseRequest"})
            rest.update({"id": f"{order['id']}-2", "dosageInstruction": lines[1:]})
            order["dosageInstruction"] = lines[:1]
            entries.insert(number + 1, {"resource": rest})
            selections = copied["context"].get("selections")
            if selections:
                selections.append(f"MedicationRequest/{rest['id']}")
            return copied
    return None


def by_order(found: Json) -> dict[str, list[Any]]:
    """The clinical answer per order (the cards and actions naming it), for answers listing orders differently."""
    orders: dict[str, list[Any]] = {}
    for card in found["cards"]:
        names = sorted(r["reference"] for r in card.get("extension", {}).get("davinci-crd.associated-resource", []))
        orders.setdefault(" ".join(names), []).append(_card(card))
    for action in found["systemActions"]:
        orders.setdefault(f"MedicationRequest/{action['resource']['id']}", []).append(
            _coverage_codes(action["resource"]))
    return orders


SPLIT = {name: split for name, request in REQUESTS.items() if (split := split_in_two(request)) is not None}


@pytest.mark.parametrize("transform", [draft_orders_reversed, prefetch_reversed, duplicated, unrelated_added],
                         ids=lambda t: t.__name__)
def test_orders_of_one_bundle_are_answered_alike_whatever_their_order(service: FlaskClient,
                                                                      transform: Transform) -> None:
    """A step dose written as two orders (`split_in_two`), listed either way round, each order with an unrelated
    draft order or record around: each order's answer is its own (compared order by order: the cards come in the
    Bundle's order)."""
    assert len(SPLIT) >= 10
    different = [name for name, request in SPLIT.items()
                 if by_order(answer(service, transform(request))) != by_order(answer(service, request))]
    assert different == []


# --- Numbers ----------------------------------------------------------------------------------------------------------

QUANTITY_VALUE = re.compile(r'("value": )(-?\d+(?:\.\d+)?)(?=[,}])')


def respelled(text: str, spelling: str) -> str:
    """Every Quantity value of a request's JSON text written with an exponent ("e": 5E-2) or trailing zeros ("0":
    0.05000, 28.000)."""
    def written(match: re.Match[str]) -> str:
        value = match.group(2)
        other = f"{Decimal(value):E}" if spelling == "e" else value + ("000" if "." in value else ".000")
        return match.group(1) + other
    return QUANTITY_VALUE.sub(written, text)


@pytest.mark.parametrize("spelling", ["e", "0"], ids=["exponent", "trailing zeros"])
def test_a_number_is_read_as_its_value_however_written(service: FlaskClient, baseline: dict[str, Json],
                                                       spelling: str) -> None:
    """JSON numbers (RFC 8259): 0.05, 5E-2 and 0.05000 are one value. Every Quantity's value (weights, heights,
    doses, quantities, MRD) rewritten so, in the request's text."""
    different = []
    for name, request in REQUESTS.items():
        response = service.post(SERVICE, data=respelled(json.dumps(request), spelling), content_type="application/json")
        assert response.status_code == 200, (name, response.get_data(as_text=True))
        if clinical(response.get_json()) != clinical(baseline[name]):
            different.append(name)
    assert different == []
