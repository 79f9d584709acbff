"""Mutation guards (session 37) for feedback card ids read as UUIDs (feedback `_issued_form`): only an id that is a
UUID whole (or its URN) is read as the card's; one holding a UUID with more around it is another id, kept as sent, and
any other id is made storable as before (a NUL is "?")."""
from __future__ import annotations

import pytest

from tests.live_server import LiveClient
from tests.test_s37_ehr_feedback_uuid_case import SERVICE, _dose_card


@pytest.mark.parametrize("around", ["{}-1", "card {}", "urn:uuid:{}/x"])
def test_an_id_holding_a_uuid_with_more_is_another_id(client: LiveClient, around: str) -> None:
    card_id = around.format(_dose_card(client)["uuid"].upper())
    response = client.post(f"{SERVICE}/feedback", json={"feedback": [{"card": card_id, "outcome": "accepted"}]})
    assert response.get_json()["unknownCards"] == [card_id]


def test_another_id_is_stored_as_a_database_can_store_it(client: LiveClient) -> None:
    _dose_card(client)
    response = client.post(f"{SERVICE}/feedback", json={"feedback": [{"card": "Card\u00001", "outcome": "accepted"}]})
    assert response.get_json()["unknownCards"] == ["Card?1"]
