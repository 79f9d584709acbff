"""Infant ALL (Aspirus III, pediatric, Interfant) is read from the earliest ALL Condition's onset (fhir-data-profile.md
§Diagnosis). An onset recorded only to a month or a year that spans the first birthday ("2026-06" for a child born
2025-06-15) was passed over, and a later record dated after age 1 (a relapse, a re-coded problem) then decided: the
infant was denied while the diagnosis may well have been before age 1. The criterion is unknown then, and the card
asks for the full date; only an onset wholly after the birthday, with none possibly earlier, denies."""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import decision_of, example, recorded, the

CRITERION = "infant-interfant.infant-all"


def _request(*onsets: str) -> dict[str, Any]:
    """The Interfant example (with an Interfant regimen attested) for a child born 2025-06-15, its ALL Condition
    dated by onset only (the first of `onsets`), more ALL Conditions with the others, and an active ALL recorded
    2026-11-10, after age 1."""
    request = example("aspirus-infant-interfant")
    request["prefetch"]["patient"]["birthDate"] = "2025-06-15"
    first = the(request, "conditions", "all-1")
    first.pop("recordedDate")
    first["onsetDateTime"] = onsets[0]
    for onset in onsets[1:]:
        recorded("C91.00", onset)(request)
    recorded("C91.00", "2026-11-10")(request)
    return request


def _infant_all(client: LiveClient, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    decision = decision_of(client, request)
    return decision["decision"], next(c for c in decision["criteria"] if c["id"] == CRITERION)


def test_an_onset_month_spanning_the_first_birthday_asks_for_its_full_date(client: LiveClient) -> None:
    decision, criterion = _infant_all(client, _request("2026-06"))
    assert (decision, criterion["status"], criterion["evidence"]) == (
        "information-needed", "unknown", ["Condition/all-1"])
    assert criterion["note"] == "ALL onset 2026-06 (C91.00): may be before 2026-06-15"
    assert decision_of(client, _request("2026-06"))["missing"] == [
        "the full date of the ALL onset dated 2026-06 (Condition/all-1)"]


@pytest.mark.parametrize(("onsets", "decision", "status"), [
    (("2026-05",), "meets-criteria", "met"),  # all of May is before the birthday
    (("2026-07",), "criteria-not-met", "not-met"),  # all of July is after it, and nothing is earlier
    (("2026", "2026-03-01"), "meets-criteria", "met"),  # a full date before the birthday settles it
    (("2026-07", "2026-06"), "information-needed", "unknown"),  # the earliest may be before the birthday
])
def test_the_earliest_onset_decides_when_its_date_can(client: LiveClient, onsets: tuple[str, ...], decision: str,
                                                      status: str) -> None:
    found, criterion = _infant_all(client, _request(*onsets))
    assert (found, criterion["status"]) == (decision, status)
