"""Weight, height and body surface area as of the order's start (fhir-data-profile.md §The patient).

Which Observations count is data (value set `body-size`); whether a result is a weight, a height or a BSA is told
by its unit, and conversions are exact (Decimal), so the dose checks compare the converted weight with their 45 kg
boundary unrounded. A BSA (recorded, or Mosteller's square root) is used as it is shown, to three decimals
(`BSA_PLACES`), so that a card's per-m² arithmetic checks by hand.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from cds_service.facts.codes import add_months, effective_date, ref, to_decimal
from cds_service.facts.labs import BODY_SIZE, observation_kinds
from cds_service.facts.model import BodySize, Fact
from cds_service.facts.observations import ObservationIndex
from cds_service.facts.quantities import BSA_PLACES, cut, rounded, unit_text
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.record import PatientRecord
from cds_service.valuesets import get_valuesets

WEIGHT_WINDOW = timedelta(days=30)
BSA_WINDOW = timedelta(days=30)
# Calendar months (codes.add_months), as the profile says "12 months": 365 days had left out the day 12 months
# before a start whose year holds a Feb 29 (a height of 2027-03-01 for a start on 2028-03-01).
ADULT_HEIGHT_MONTHS = 12
ADULT_AGE = 18  # from this age a height counts for ADULT_HEIGHT_MONTHS
CHILD_HEIGHT_WINDOW = timedelta(days=30)
RECORDED_BSA_TOLERANCE = Decimal("0.10")  # how far a recorded BSA may be from Mosteller's and still be used
# The tallest height accepted (the tallest person on record measured 272 cm). The dose checks suppose it for a child
# weighed without a height or BSA (`largest_bsa`): at that weight no accepted height gives a larger Mosteller BSA, and
# a BSA recorded without a height that would need a taller patient is not used, so a dose above the label at this
# height is above it whatever height is recorded. A realistic height for the weight would catch more overdoses, but
# would be a guess that a tall, thin child could prove wrong: the card says "at any height".
TALLEST_HEIGHT_CM = Decimal(280)
# Values no patient has (the smallest live-born infants weigh about 0.3 kg, BSA 0.05 m²): typing or unit errors. The
# latest such one leaves its size unknown rather than letting an older one decide, or dosing by it (a weight of
# 0.001 kg had given a label dose of 0 mcg/day, and so a denial).
_PLAUSIBLE: dict[str, tuple[Decimal, Decimal]] = {
    "weight": (Decimal("0.3"), Decimal(700)), "height": (Decimal(20), TALLEST_HEIGHT_CM),
    "bsa": (Decimal("0.05"), Decimal(5)),
}
# The body mass index a weight and a height implied by a recorded BSA must give (kg/m²): below 8 no patient is, the
# smallest preterm infants included (about 8), above 100 hardly any. Outside it the BSA is not the patient's.
_PLAUSIBLE_BMI = (Decimal(8), Decimal(100))
# An unreadable weight, height or BSA (unreadable.py) may be the latest of any of them: its unit tells which.
_UNREADABLE = Relevance("a weight, height or BSA", tuple(Bearing(f"body.{size}") for size in
                                                         ("weight_kg", "height_cm", "bsa_m2")))

# Unit (UCUM code or common unit string, lower-cased) -> (kind, factor to kg / cm / m2). Exact by definition:
# the avoirdupois pound is 0.45359237 kg and the international inch 2.54 cm.
_UNITS: dict[str, tuple[str, Decimal]] = {
    "kg": ("weight", Decimal(1)),
    "g": ("weight", Decimal("0.001")),
    "[lb_av]": ("weight", Decimal("0.45359237")),
    "lb": ("weight", Decimal("0.45359237")),
    "lbs": ("weight", Decimal("0.45359237")),
    "cm": ("height", Decimal(1)),
    "m": ("height", Decimal(100)),
    "[in_i]": ("height", Decimal("2.54")),
    "in": ("height", Decimal("2.54")),
    "m2": ("bsa", Decimal(1)),
    "m^2": ("bsa", Decimal(1)),
    "m²": ("bsa", Decimal(1)),
}
# A unit converted from, as a value recorded in it is shown beside the converted one ("99.2 lb (44.99 kg)").
_UNIT_SHOWN = {"[lb_av]": "lb", "lbs": "lb", "[in_i]": "in"}


class Measurement(NamedTuple):  # a NamedTuple: built in one step, not a frozen dataclass's setattr per field
    kind: str  # "weight" (kg), "height" (cm) or "bsa" (m2)
    value: Decimal
    when: date
    reference: str
    recorded: str = ""  # the value as recorded when converted from another unit: "99.2 lb"; "" when not


def body_size(record: PatientRecord, start: date, age_years: int | None, observations: ObservationIndex) -> BodySize:
    """Latest weight (30 days), height (12 months for adults, 30 days under 18) and a checked BSA as of `start`.
    `observations`: the record's index, which extract.py shares between the readers."""
    if not record.received("observations"):
        missing: Fact[Decimal] = Fact(received=False)
        return BodySize(weight_kg=missing, height_cm=missing, bsa_m2=missing)
    # An unknown age gets the stricter (pediatric) height window: a stale height could skew a child's BSA.
    adult = age_years is not None and age_years >= ADULT_AGE
    earliest_height = add_months(start, -ADULT_HEIGHT_MONTHS) if adult else start - CHILD_HEIGHT_WINDOW
    earliest = {"weight": start - WEIGHT_WINDOW, "height": earliest_height, "bsa": start - BSA_WINDOW}
    latest = _latest(observations, start)
    current = {kind: found for kind, found in latest.items() if found.when >= earliest[kind]}
    weight, height = current.get("weight"), current.get("height")
    return BodySize(
        weight_kg=_plain_fact(weight, "Weight", "kg") if weight else _stale_weight(latest.get("weight")),
        height_cm=_plain_fact(height, "Height", "cm"),
        bsa_m2=_bsa_fact(current.get("bsa"), weight, height),
        weight_recorded=weight.recorded if weight is not None and _plausible(weight) else "",
    )


def weight_text(kg: Decimal, recorded: str = "") -> str:
    """A weight as every card and note shows it: in kg to two decimals, cut rather than rounded (`cut`: 44.996 kg is
    44.99 kg, never 45 kg, the other side of the label's boundary); after the value as `recorded` when that was in
    another unit, which is what the chart shows the clinician: "99.2 lb (44.99 kg)"."""
    return _with_recorded(f"{shown_kg(kg):f} kg", recorded)


def shown_kg(kg: Decimal) -> Decimal:
    """A weight in kg as shown (`weight_text`), as a number: for the dose-check extension."""
    return cut(kg)


def _with_recorded(shown: str, recorded: str) -> str:
    return f"{recorded} ({shown})" if recorded else shown


def unreadable_relevance(observation: dict[str, Any], start: date) -> Relevance | None:
    """An Observation the shape filter left out (unreadable.py) bears on the body size when its code is a weight,
    height or BSA and its date, when readable, falls within the longest window before `start`."""
    if not get_valuesets().has("body-size", observation.get("code")):
        return None
    day = effective_date(observation)
    return None if day is not None and not add_months(start, -ADULT_HEIGHT_MONTHS) <= day <= start else _UNREADABLE


def mosteller(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    """Mosteller BSA in m2: the square root of height (cm) times weight (kg) over 3600."""
    return (height_cm * weight_kg / Decimal(3600)).sqrt()


def _plausible_bmi(weight_kg: Decimal, height_cm: Decimal) -> bool:
    low, high = _PLAUSIBLE_BMI
    return low <= weight_kg * 10000 / (height_cm * height_cm) <= high


def largest_bsa(weight_kg: Decimal) -> Decimal:
    """The largest BSA used for a patient of this weight, as it would be used (three decimals): Mosteller at the
    tallest height accepted."""
    return rounded(mosteller(TALLEST_HEIGHT_CM, weight_kg), BSA_PLACES)


def _latest(observations: ObservationIndex, start: date) -> dict[str, Measurement]:
    """Kind -> the latest measurement of that kind dated up to `start`, within its window or not (`body_size` tells):
    one pass over the Observations for the three kinds. Of a day's, the lowest, whatever order the EHR lists them
    in: the smaller body size gives the smaller label dose (two weights of one day, 44 and 46 kg, decided the dose
    by the order they came in)."""
    latest: dict[str, Measurement] = {}
    # The labs' classification, which tells body sizes too: the index classifies its codes once for both readers.
    for obs, _ in observations.select(observation_kinds, get_valuesets().memo("observation-kinds"), BODY_SIZE.issubset):
        measurement = _measurement(obs)
        # Only what was known on the start date: a result dated after it does not describe the order.
        if measurement is not None and measurement.when <= start:
            found = latest.get(measurement.kind)
            if found is None or (measurement.when, -measurement.value) > (found.when, -found.value):
                latest[measurement.kind] = measurement
    return latest


def _measurement(obs: dict[str, Any]) -> Measurement | None:
    quantity = obs.get("valueQuantity") or {}
    unit = unit_text(quantity).lower()
    kind_factor = _UNITS.get(unit)
    value = to_decimal(quantity.get("value"))
    when = effective_date(obs)
    if kind_factor is None or value is None or when is None:
        return None
    kind, factor = kind_factor
    recorded = "" if factor == 1 else f"{value:f} {_UNIT_SHOWN.get(unit, unit)}"
    return Measurement(kind, value * factor, when, ref(obs), recorded)


def _plausible(measurement: Measurement | None) -> bool:
    if measurement is None:
        return False
    low, high = _PLAUSIBLE[measurement.kind]
    return low <= measurement.value <= high


def _plain_fact(measurement: Measurement | None, label: str, unit: str) -> Fact[Decimal]:
    if measurement is None:
        return Fact()
    when = measurement.when.isoformat()
    if not _plausible(measurement):  # shown as recorded, not rounded: 0.001 kg is not "0 kg"
        shown = _with_recorded(f"{measurement.value:.3g} {unit}", measurement.recorded)
        note = f"{label} {shown} on {when}: not a plausible {label.lower()}"
        return Fact(evidence=(measurement.reference,), note=note)
    shown = weight_text(measurement.value, measurement.recorded) if measurement.kind == "weight" else \
        _with_recorded(f"{_show(measurement.value)} {unit}", measurement.recorded)
    return Fact(value=measurement.value, evidence=(measurement.reference,), note=f"{label} {shown} on {when}")


def _stale_weight(weight: Measurement | None) -> Fact[Decimal]:
    """No weight within its window: the latest older one is not used, but said, so that the clinician asked for a
    current weight knows one is on file and why it does not count."""
    if weight is None or not _plausible(weight):
        return Fact()
    note = (f"Latest weight {weight_text(weight.value, weight.recorded)} on {weight.when.isoformat()} is older than "
            f"{WEIGHT_WINDOW.days} days before the start")
    return Fact(evidence=(weight.reference,), note=note)


def _bsa_fact(bsa: Measurement | None, weight: Measurement | None, height: Measurement | None) -> Fact[Decimal]:
    implausible = [m for m in (weight, height) if m is not None and not _plausible(m)]
    if implausible:
        kinds = " and ".join(m.kind for m in implausible)
        return Fact(evidence=tuple(m.reference for m in implausible), note=f"no BSA: not a plausible {kinds}")
    computed = mosteller(height.value, weight.value) if weight and height else None
    if bsa is not None and computed is None and not _plausible(bsa):
        return Fact(evidence=(bsa.reference,),
                    note=f"BSA {_bsa(bsa.value)} m² recorded on {bsa.when.isoformat()}: not plausible")
    if bsa is not None and computed is None and weight is not None:
        # No height to check it by (fhir-data-profile.md: then used as recorded), but the weight still tells a BSA
        # no one could have: Mosteller's, solved for the height, needs one no patient has (1.5 m² at 25 kg: 324 cm),
        # or one no patient of that weight has (1.3 m² at 25 kg: 243 cm, a BMI of 4). Dosing a child by it would give
        # an adult's dose, or half again the child's.
        implied = Measurement("height", Decimal(3600) * bsa.value * bsa.value / weight.value, bsa.when, "")
        if not (_plausible(implied) and _plausible_bmi(weight.value, implied.value)):
            note = (f"BSA {_bsa(bsa.value)} m² recorded on {bsa.when.isoformat()}: not plausible for weight "
                    f"{weight_text(weight.value, weight.recorded)} (Mosteller would need a height of "
                    f"{implied.value:.0f} cm)")
            return Fact(evidence=(bsa.reference, weight.reference), note=note)
    sources = tuple(m.reference for m in (weight, height) if m is not None)
    if bsa is not None and (computed is None or abs(bsa.value - computed) <= RECORDED_BSA_TOLERANCE * computed):
        checked = ", not checked (no height)" if computed is None else \
            f", within 10% of Mosteller {_bsa(computed)} m²"
        used = rounded(bsa.value, BSA_PLACES)
        note = f"BSA {used:f} m² recorded on {bsa.when.isoformat()}{checked}"
        return Fact(value=used, evidence=(bsa.reference,), note=note)
    if computed is None:
        return Fact()
    used = rounded(computed, BSA_PLACES)
    note = f"BSA {used:f} m² by Mosteller from height and weight"
    if bsa is not None:
        note += f" (recorded {_bsa(bsa.value)} m² differs by more than 10%)"
    return Fact(value=used, evidence=sources, note=note)


def _show(value: Decimal) -> str:
    """Two decimals for display only; the Fact keeps the exact value."""
    return f"{rounded(value):f}"


def _bsa(value: Decimal) -> str:
    """A BSA as dosed by and shown: three decimals."""
    return f"{rounded(value, BSA_PLACES):f}"
