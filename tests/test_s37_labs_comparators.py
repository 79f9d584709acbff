"""A lab value's comparator outside FHIR's quantity-comparator ("≤", "~"), through the endpoint and the Ph reader.

fhir-data-profile.md §Labs reads `<`/`<=` as "not detected at that sensitivity" and `>`/`>=` as above the value.
Another comparator was dropped and the value read as exact: a "≤0.01 %" MRD (not detected at 0.01 %) was a
detectable 0.01 % that met Aspirus's MRD-positive consolidation, and a "≤0.001" BCR::ABL1 transcript made the patient
Ph+ ("> 0 is positive"). Such a value cannot be placed: the result is unreadable and its value asked for, never read
either way.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import decision_of, example, mrd
from tests.test_facts_labs import labs, loinc, obs, qty

UCUM = "http://unitsofmeasure.org"


def percent(value: float, comparator: str | None = None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": "%", "system": UCUM, "code": "%"}
    if comparator is not None:
        quantity["comparator"] = comparator
    return {"valueQuantity": quantity}


def mrd_positive(client: LiveClient, value: dict[str, Any]) -> dict[str, Any]:
    """Aspirus's adult consolidation, MRD positive (detectable), with the example's MRD result's value replaced."""
    request = example("aspirus-adult-consolidation-mrd-positive")
    mrd(**value)(request)
    return decision_of(client, request)


@pytest.mark.parametrize("comparator", ["≤", "~", "<= ", "ad"])
def test_an_mrd_comparator_outside_fhirs_codes_asks_for_the_value(client: LiveClient, comparator: str) -> None:
    decision = mrd_positive(client, percent(0.01, comparator))
    assert decision["decision"] == "information-needed"
    assert ("a value in % (or positive / negative) for the MRD result dated 2026-11-15 (Observation/mrd-1)"
            in decision["missing"])


@pytest.mark.parametrize(("value", "decided"), [
    (percent(0.01), "meets-criteria"), (percent(0.01, ""), "meets-criteria"), (percent(0.01, ">"), "meets-criteria"),
])
def test_fhirs_comparators_or_none_are_read_as_before(client: LiveClient, value: dict[str, Any],
                                                      decided: str) -> None:
    """0.01 % exactly, or above it, is detectable: MRD positive met. An empty comparator is none."""
    assert mrd_positive(client, value)["decision"] == decided


def test_a_bcr_abl1_transcript_with_an_unknown_comparator_is_no_ph_positive_result() -> None:
    """A quantitative BCR::ABL1 (46434-7) is positive above 0; "≤0.001" is no value above 0 one can read."""
    read = labs(obs("q", loinc("46434-7"), "2025-03-01", **qty(0.001, "%", comparator="≤")))
    assert read.ph_positive.value is None
    assert labs(obs("q", loinc("46434-7"), "2025-03-01", **qty(0.001, "%"))).ph_positive.value is True


def test_a_bcr_abl1_transcript_below_zero_is_unread_not_negative() -> None:
    """Ph- needs a negative test covering both breakpoints and no Ph result that could not be read
    (fhir-data-profile.md §Labs): a transcript level of -0.01 is no negative result but one that cannot be read, so
    beside a negative 21821-4 Ph status stays unknown. A level of 0 is negative."""
    both = obs("fish", loinc("21821-4"), "2025-03-01", valueCodeableConcept={"text": "negative"})
    level = obs("quant", loinc("46434-7"), "2025-03-01", **qty(-0.01, "%"))
    assert labs(both, level).ph_positive.value is None
    assert labs(both, level | qty(0, "%")).ph_positive.value is False
