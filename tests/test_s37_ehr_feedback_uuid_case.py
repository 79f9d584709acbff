"""Feedback naming an issued card or suggestion by its uuid in capitals, or as a `urn:uuid:` URI, is joined to it:
RFC 4122 reads a UUID's hex digits in either case, and an EHR that keeps card uuids in a database type of its own
(SQL Server's uniqueidentifier prints capitals) echoes them so. Stored as sent, such feedback was "not issued", and the
audit trail showed no clinician's action on the card."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.live_server import LiveClient

SERVICE = "/cds-services/blinatumomab-coverage"
EXAMPLE = Path(__file__).resolve().parent.parent / "fhir_examples" / "florida-blue-dose-above-28.json"


def _dose_card(client: LiveClient) -> dict[str, Any]:
    """The dose card, with its one suggestion, of a call the audit trail holds."""
    response = client.post(SERVICE, json=json.loads(EXAMPLE.read_text()))
    assert response.status_code == 200
    cards: list[dict[str, Any]] = [card for card in response.get_json()["cards"] if card.get("suggestions")]
    client.application.extensions["cds_service"].store.flush()
    [card] = cards
    return card


def test_feedback_with_uuids_in_capitals_or_as_urns_is_joined_to_the_card(client: LiveClient) -> None:
    card = _dose_card(client)
    [suggestion] = card["suggestions"]
    items = [{"card": card["uuid"].upper(), "outcome": "accepted",
              "acceptedSuggestions": [{"id": suggestion["uuid"].upper()}]},
             {"card": f"urn:uuid:{card['uuid']}", "outcome": "accepted",
              "acceptedSuggestions": [f"URN:UUID:{suggestion['uuid']}"]}]
    response = client.post(f"{SERVICE}/feedback", json={"feedback": items})
    assert response.status_code == 200
    assert response.get_json() == {"stored": 2, "unknownCards": [], "unknownSuggestions": []}


def test_feedback_naming_a_card_by_another_id_is_kept_as_sent(client: LiveClient) -> None:
    """Only a UUID is read so: any other id (an EHR's own, a typo) is stored and reported as it came."""
    _dose_card(client)
    response = client.post(f"{SERVICE}/feedback", json={"feedback": [{"card": "Card-1", "outcome": "accepted"}]})
    assert response.get_json()["unknownCards"] == ["Card-1"]
