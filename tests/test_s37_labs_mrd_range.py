"""An MRD value that is no share of cells (below 0, above 100%), through the endpoint.

fhir-data-profile.md §Labs normalizes an MRD value to a fraction of cells. A negative value had read as MRD negative
(Aspirus maintenance met), and one above 100% as MRD far above Florida Blue's 0.1% (met): a sign or a unit slipped,
read either way. Such a value is unreadable: the MRD facts unknown and the result's value asked for, never a decision.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import decision_of, example, mrd
from tests.test_s37_labs_comparators import percent
from tests.test_s37_labs_mrd_ratio import florida_blue, ratio

ASKED = "for the MRD result dated 2026-11-15 (Observation/mrd-1)"


def maintenance(client: LiveClient, value: dict[str, Any]) -> dict[str, Any]:
    """Aspirus adult maintenance: MRD negative or unavailable."""
    request = example("aspirus-adult-maintenance")
    mrd(**value)(request)
    return decision_of(client, request)


def asked(decision: dict[str, Any]) -> bool:
    return decision["decision"] == "information-needed" and any(item.endswith(ASKED) for item in decision["missing"])


@pytest.mark.parametrize("value", [percent(-0.01), percent(-0.01, "<"), {"valueString": "-0.01%"}])
def test_a_negative_mrd_is_asked_for_not_read_as_negative(client: LiveClient, value: dict[str, Any]) -> None:
    assert asked(maintenance(client, value))


@pytest.mark.parametrize("value", [
    percent(150), ratio(2, 1), {"valueQuantity": {"value": 1.5, "system": "http://unitsofmeasure.org", "code": "1"}}])
def test_an_mrd_above_all_cells_is_asked_for_not_read_as_positive(client: LiveClient, value: dict[str, Any]) -> None:
    assert asked(florida_blue(client, value))


def test_none_and_all_cells_are_read(client: LiveClient) -> None:
    """The bounds are shares of cells: 0% is MRD negative (maintenance met), 100% is 0.1% or more (Florida Blue met)."""
    assert maintenance(client, percent(0))["decision"] == "meets-criteria"
    assert florida_blue(client, percent(100))["decision"] == "meets-criteria"


@pytest.mark.parametrize(("unit", "code", "decided"), [
    ("%", "1", "information-needed"),  # 0.05 %, or 0.05 of cells (5 %)?
    ("per million", "/10*6", "criteria-not-met"),  # the printed unit names no MRD unit: the code decides (0.000005 %)
    ("%", "%", "criteria-not-met"),
])
def test_a_unit_and_code_naming_different_mrd_units_is_unread(client: LiveClient, unit: str, code: str,
                                                              decided: str) -> None:
    """Florida Blue's 0.1%: 0.05 is below it in %, far above it as a fraction of cells (unit code "1")."""
    value = {"valueQuantity": {"value": 0.05, "unit": unit, "system": "http://unitsofmeasure.org", "code": code}}
    decision = florida_blue(client, value)
    assert decision["decision"] == decided
    assert asked(decision) is (decided == "information-needed")
