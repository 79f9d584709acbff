"""Mutation guards (session 37) for the MRD and result-word readings, through the endpoint: a printed unit read as
its code is ("Percent" is "%": against a code "1" the units disagree), a ratio of two terms in one unit ("%" over
"%") is a plain fraction, a numerator's comparator outside FHIR's codes leaves the ratio unread, "not"/"non" ending
another word is no negation, and an answer "no" only as a whole word negates ("Detected: nonspecific" is
detected)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import UCUM, decision_of, example, mrd, the
from tests.test_s37_labs_mrd_ratio import ASKED, FB_THRESHOLD, criterion, florida_blue, ratio
from tests.test_s37_labs_result_words import maintenance
from tests.test_s36_clinical_edges import RENEWAL, recorded, status_of


@pytest.mark.parametrize("unit", ["Percent", " % "])
def test_a_printed_percent_against_a_code_1_is_unread(client: LiveClient, unit: str) -> None:
    """0.05 is 0.05% or 5% of cells: the printed unit is read as written ("Percent", " % ") before it is compared."""
    request = example("aspirus-adult-maintenance")
    mrd(valueQuantity={"value": 0.05, "unit": unit, "system": UCUM, "code": "1"})(request)
    decision = decision_of(client, request)
    assert decision["decision"] == "information-needed"


def test_a_ratio_of_percents_is_their_fraction(client: LiveClient) -> None:
    decision = florida_blue(client, ratio(1, 1000, {"unit": "%"}, {"unit": "%"}))
    found = criterion(decision, FB_THRESHOLD)
    assert (decision["decision"], found["status"]) == ("meets-criteria", "met")
    assert found["note"] == "MRD 1:1000 = 0.1% (2026-11-15)"


@pytest.mark.parametrize("comparator", ["≤", "~"])
def test_a_ratio_whose_numerator_comparator_is_no_fhir_code_is_asked_for(client: LiveClient, comparator: str) -> None:
    decision = florida_blue(client, ratio(1, 100, {"comparator": comparator}))
    assert decision["decision"] == "information-needed"
    assert ASKED in decision["missing"]


@pytest.mark.parametrize(("text", "decided"), [
    ("MRD per Dr Shannon positive", "criteria-not-met"),  # "non" ends a name: no negation
    ("MRD detected: nonspecific clone", "criteria-not-met"),  # "no" starts a word: no answer "no"
    ("MRD detected: none", "meets-criteria"),
])
def test_a_negation_is_a_whole_word(client: LiveClient, text: str, decided: str) -> None:
    assert maintenance(client, text)["decision"] == decided


def test_an_mrd_at_most_a_value_is_read(client: LiveClient) -> None:
    """"<=" is one of FHIR's comparators: not detected at 0.001% is MRD negative (Aspirus maintenance met)."""
    request = example("aspirus-adult-maintenance")
    mrd(valueQuantity={"value": 0.001, "comparator": "<=", "unit": "%", "system": UCUM, "code": "%"})(request)
    assert decision_of(client, request)["decision"] == "meets-criteria"


@pytest.mark.parametrize("value", [
    ratio(1, 1000, bottom={"unit": "cells"}),  # a count without a unit over cells
    ratio(1, 1000, {"unit": "cells", "system": UCUM, "code": "{cells}"}, {"unit": "cells"}),  # annotation and name
])
def test_a_ratio_of_counts_written_differently_is_read(client: LiveClient, value: dict[str, Any]) -> None:
    assert florida_blue(client, value)["decision"] == "meets-criteria"


@pytest.mark.parametrize("value", [
    ratio(1, 1000, {"unit": "cells", "system": UCUM, "code": "%"}, {"unit": "cells", "system": UCUM, "code": "1"}),
    {"valueRatio": "1:1000"},
])
def test_a_ratio_read_by_its_codes_or_malformed_is_asked_for(client: LiveClient, value: dict[str, Any]) -> None:
    """The UCUM codes decide a term's unit (a percent over a count: 0.1% or 0.001%?), not the units printed alike;
    a valueRatio that is no object is a malformed result. Either is asked for, never read."""
    assert florida_blue(client, value)["decision"] == "information-needed"


@pytest.mark.parametrize(("verification", "status"), [("differential", "not-met"), ("entered-in-error", "met")])
def test_a_toxicity_of_each_fhir_status_is_read(client: LiveClient, verification: str, status: str) -> None:
    """Aspirus IV: a grade 4 CRS of a differential diagnosis counts (not met); one entered in error is dropped."""
    request = example(RENEWAL)
    recorded(request, "D89.834", "2026-09-15", verification=verification)
    assert status_of(decision_of(client, request), ".no-unacceptable-toxicity") == status


@pytest.mark.parametrize("text", ["CD19 not pos on blasts", "CD19: not positive"])
def test_a_flow_report_cd19_not_pos_is_no_cd19_positive_disease(client: LiveClient, text: str) -> None:
    """Florida Blue Position 1.a: "not pos", as flow reports abbreviate it, is negative like "not positive"."""
    request = example("florida-blue-mrd-positive")
    the(request, "observations", "cd19-1")["valueString"] = text
    assert decision_of(client, request)["decision"] == "criteria-not-met"
