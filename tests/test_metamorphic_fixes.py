"""The faults the metamorphic tests (tests/test_metamorphic.py) found, each pinned by a focused test: a request
rewritten in a way the profile reads alike changed what the cards said, though not the decision."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.live_server import LiveClient

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
SERVICE = "/cds-services/blinatumomab-coverage"
LOCAL_CODES = "urn:oid:1.2.840.114350.1.13.861.1.7.2.696580"

Json = dict[str, Any]


def _example(name: str) -> Json:
    found: Json = json.loads((EXAMPLES / f"{name}.json").read_text())
    return found


def _decision_card(client: LiveClient, request: Json) -> Json:
    response = client.post(SERVICE, json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[Json] = response.get_json()["cards"]
    [card] = [c for c in cards if "coverage-decision" in c.get("extension", {})]
    return card


def _criterion(card: Json, suffix: str) -> Json:
    criteria: list[Json] = card["extension"]["coverage-decision"]["criteria"]
    [found] = [c for c in criteria if c["id"].endswith(suffix)]
    return found


def _entries(request: Json, key: str) -> list[Json]:
    entries: list[Json] = request["prefetch"][key]["entry"]
    return entries


def test_a_record_listed_twice_in_a_prefetch_bundle_is_read_once(client: LiveClient) -> None:
    """A server paging through a list that changes between pages lists a record twice. The live vaccine was named
    twice ("MMR dated 2026-11-24; MMR dated 2026-11-24 ... after them"), its reference twice in the evidence."""
    request = _example("aspirus-live-vaccine-critical")
    once = _decision_card(client, request)
    immunizations = request["prefetch"]["immunizations"]
    immunizations["entry"] = immunizations["entry"] * 2
    del immunizations["total"]
    twice = _decision_card(client, request)
    assert twice["summary"] == once["summary"]
    assert twice["summary"].count("MMR dated 2026-11-24") == 1
    assert _criterion(twice, "U1")["evidence"] == ["Immunization/mmr-1"]
    assert _criterion(twice, "U1")["note"] == _criterion(once, "U1")["note"]


def test_a_record_listed_twice_beside_one_with_an_id_that_is_no_string_is_read_once(client: LiveClient) -> None:
    """An id written as an object cannot be hashed: the list is still told apart, the malformed entry kept."""
    request = _example("aspirus-live-vaccine-critical")
    entries = _entries(request, "immunizations")
    odd = copy.deepcopy(entries[0])
    odd["resource"]["id"] = {"value": "mmr-2"}
    entries.extend([copy.deepcopy(entries[0]), odd])
    request["prefetch"]["immunizations"].pop("total", None)
    card = _decision_card(client, request)
    assert card["summary"].count("MMR dated 2026-11-24") == 1
    assert _criterion(card, "U1")["evidence"].count("Immunization/mmr-1") == 1


def test_prior_orders_listed_twice_count_one_cycle_each(client: LiveClient) -> None:
    """The cycle count read from a history listing each prior order twice: the same cycle, each order once."""
    request = _example("aspirus-relapsed-refractory-cycle6-renewal")
    once = _decision_card(client, request)
    _entries(request, "medicationRequests").extend(copy.deepcopy(_entries(request, "medicationRequests")))
    request["prefetch"]["medicationRequests"].pop("total", None)
    twice = _decision_card(client, request)
    cycles = _criterion(twice, "at-most-9-cycles")
    assert twice["extension"]["coverage-decision"]["cycle"] == once["extension"]["coverage-decision"]["cycle"] == 6
    assert len(cycles["evidence"]) == len(set(cycles["evidence"])) == len(_criterion(once, "at-most-9-cycles")
                                                                          ["evidence"])


def test_resources_without_an_id_are_all_kept(client: LiveClient) -> None:
    """Two resources without an id cannot be told the same: both are read (two live vaccines, both named)."""
    request = _example("aspirus-live-vaccine-critical")
    [entry] = _entries(request, "immunizations")
    del entry["resource"]["id"]
    second = copy.deepcopy(entry)
    second["resource"]["occurrenceDateTime"] = "2026-11-20"
    _entries(request, "immunizations").append(second)
    request["prefetch"]["immunizations"]["total"] = 2
    note = _criterion(_decision_card(client, request), "U1")["note"]
    assert "MMR dated 2026-11-24" in note and "MMR dated 2026-11-20" in note


def test_the_diagnosis_is_named_by_the_code_that_makes_it_all(client: LiveClient) -> None:
    """An EHR lists its own code first, with the ICD-10-CM code as a translation: the card named the diagnosis by
    the local code ("ALL (L-C91.02)"), which tells a reviewer nothing; it names the ICD-10-CM code that qualified."""
    request = _example("aspirus-adult-relapsed-refractory-cycle1")
    [condition] = _entries(request, "conditions")
    condition["resource"]["code"]["coding"].insert(0, {"system": LOCAL_CODES, "code": "L-7731", "display": "ALL"})
    note = _criterion(_decision_card(client, request), "b-cell-precursor-all")["note"]
    assert note.startswith("ALL (C91.02)"), note


def test_a_tki_written_as_a_contained_medication_is_named(client: LiveClient) -> None:
    """A TKI ordered through a contained Medication (how some EHRs write every order): the note read "TKI active
    at the start date", naming no drug; it names dasatinib as for a medicationCodeableConcept."""
    request = _example("aspirus-adult-consolidation-mrd-negative-ph-positive-tki")
    [order] = [e["resource"] for e in _entries(request, "medicationRequests") if e["resource"]["id"] == "dasatinib-1"]
    concept = order.pop("medicationCodeableConcept")
    order["contained"] = [{"resourceType": "Medication", "id": "med", "code": concept}]
    order["medicationReference"] = {"reference": "#med"}
    card = _decision_card(client, request)
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert "TKI active at the start date: dasatinib" in _criterion(card, "ph-use")["note"]


def test_the_dose_note_tells_the_lines_in_the_order_of_their_days(client: LiveClient) -> None:
    """The lines of a step dose listed days 8-28 first (their `sequence` places them): the note read "28 mcg/day on
    days 8–28; 9 mcg/day on days 1–7"; it tells them in the order of the days, as for the lines listed so."""
    request = _example("aspirus-adult-relapsed-refractory-cycle1")
    listed = _criterion(_decision_card(client, request), "dose-schedule")["note"]
    request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"].reverse()
    reversed_note = _criterion(_decision_card(client, request), "dose-schedule")["note"]
    assert reversed_note == listed
    assert reversed_note.startswith("9 mcg/day on days 1–7; 28 mcg/day on days 8–28"), reversed_note
