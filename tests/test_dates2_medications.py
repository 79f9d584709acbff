"""Medication orders whose start is recorded only to a month or a year (facts/medications.py): "2026-12" may be any
day of December, so a TKI dated so may or may not be active at an order's start of Dec 1, and a vincristine dated
"2026-10" may or may not have overlapped an inotuzumab induction of Oct 1-21. Read at the first day, both decided: a
TKI's Ph+ pathway approved, an induction approved a maintenance course. Where the day decides, the fact is unknown
and the card asks for the order's full date; where every day gives the same answer, nothing is asked.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.dates_support import answer, covered, example, prefetched, service, summaries  # noqa: F401

Json = dict[str, Any]
MET, ASKED = "covered", "conditional"


def _with_tki(period: Json, status: str = "active") -> Json:
    """Florida Blue Ph+ induction with a TKI, from 2026-12-01: its dasatinib order dated by `period`."""
    request = example("florida-blue-induction-ph-positive-with-tki")
    dasatinib = prefetched(request, "medicationRequests")["dasatinib-1"]
    dasatinib["status"] = status
    dasatinib["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = period
    return request


@pytest.mark.parametrize(("period", "status", "expected"), [
    ({"start": "2026-12"}, "active", ASKED),  # Dec 1 (active) or later (not yet): was read as Dec 1, approved
    ({"start": "2026"}, "active", ASKED),
    ({"start": "2026-11"}, "active", MET),  # every day of November is before Dec 1, and it runs on
    ({"start": "2026-12-01"}, "active", MET),
    ({"start": "2026-12", "end": "2027-05"}, "active", ASKED),
    ({"start": "2026-11", "end": "2026-12"}, "active", MET),  # a period's end is its last day: Dec 31
    ({"start": "2026-12"}, "completed", ASKED),  # one day, some day of December
    ({"start": "2026-11"}, "completed", "conditional-not-asked"),  # one day of November: not active on Dec 1
])
def test_a_tki_dated_to_a_month_that_may_follow_the_start_is_asked_for(service: FlaskClient, period: Json,
                                                                     status: str, expected: str) -> None:
    found = answer(service, _with_tki(period, status))
    asked = "the full date of the dasatinib order " in summaries(found)
    assert "MedicationRequest/" not in summaries(found)  # the id is the detail's
    if expected == "conditional-not-asked":
        assert not asked and covered(found) != MET, summaries(found)
        return
    assert covered(found) == expected and asked is (expected == ASKED), summaries(found)


def test_the_card_names_the_drug_and_its_date_as_recorded(service: FlaskClient) -> None:
    found = answer(service, _with_tki({"start": "2026-12"}))
    assert "dasatinib started 2026-12: may be active at the start date (2026-12-01)" in found["cards"][0]["detail"]


def test_a_chemotherapy_dated_to_a_month_beside_an_active_tki_is_not_asked_for(service: FlaskClient) -> None:
    """With a TKI active at the start, the combination is "with a TKI" whatever else is given: the day of a
    cytarabine order dated "2026-12" changes nothing, and nothing is asked."""
    request = _with_tki({"start": "2026-11-10"})
    chemo = {"resourceType": "MedicationRequest", "id": "cytarabine-1", "status": "active", "intent": "order",
             "subject": {"reference": f"Patient/{request['prefetch']['patient']['id']}"},
             "medicationCodeableConcept": {"text": "cytarabine"},
             "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-12"}}}}]}
    request["prefetch"]["medicationRequests"]["entry"].append({"resource": chemo})
    found = answer(service, request)
    assert covered(found) == MET and "full date" not in summaries(found), summaries(found)


def _maintenance(inotuzumab: Json, vincristine: Json) -> Json:
    """Aspirus adult maintenance (from 2026-12-01), complete response attested, the induction regimen read from the
    record: an inotuzumab order and a vincristine order, both completed, dated by their periods."""
    request = example("aspirus-adult-maintenance")
    attested = prefetched(request, "attestations")["attestation-1"]
    attested["item"] = [i for i in attested["item"] if i["linkId"] != "induction-ino-mini-hyper-cvd"]
    patient = f"Patient/{request['prefetch']['patient']['id']}"
    request["prefetch"]["medicationRequests"]["entry"] = [
        {"resource": {"resourceType": "MedicationRequest", "id": name, "status": "completed", "intent": "order",
                      "subject": {"reference": patient}, "medicationCodeableConcept": {"text": drug},
                      "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": period}}}]}}
        for name, drug, period in (("ino-1", "inotuzumab ozogamicin", inotuzumab),
                                   ("vcr-1", "vincristine", vincristine))]
    return request


INDUCTION = {"start": "2026-10-01", "end": "2026-10-21"}


@pytest.mark.parametrize(("inotuzumab", "vincristine", "expected"), [
    (INDUCTION, {"start": "2026-10"}, ASKED),  # one day of October: within Oct 1-21, or after: was read as Oct 1
    ({"start": "2026-11", "end": "2026-11-30"}, {"start": "2026-11-10"}, ASKED),  # from Nov 10 or later: or not
    (INDUCTION, {"start": "2026-10-10"}, MET),
    ({"start": "2026-10-01", "end": "2026-10-31"}, {"start": "2026-10"}, MET),  # every day of October overlaps
    (INDUCTION, {"start": "2026-09"}, "not-asked"),  # every day of September is before it
])
def test_an_induction_dated_to_a_month_is_asked_for_where_its_day_decides(service: FlaskClient, inotuzumab: Json,
                                                                          vincristine: Json, expected: str) -> None:
    found = answer(service, _maintenance(inotuzumab, vincristine))
    asked = re.search(r"the full date of the (vincristine|inotuzumab ozogamicin) order started 2026-1[01]",
                      summaries(found)) is not None
    assert "MedicationRequest/" not in summaries(found)
    if expected == "not-asked":
        assert covered(found) == ASKED and not asked, summaries(found)
        return
    assert covered(found) == expected and asked is (expected == ASKED), summaries(found)
