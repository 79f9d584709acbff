"""tools/deletion_sweep.py's variants of the readings added in the thirty-second session: a date cut to year-month
and year, sent as a number, and on its own calendar day at the extreme offsets; a prefetch entry sent twice; a
Florida Blue payer name naming the Federal Employee Program or the State Account Organization; and the uuid check."""
from __future__ import annotations

from typing import Any

from tools.deletion_sweep import applied, corruptions, uuid_flags, variants


def test_a_full_date_is_cut_numbered_and_moved_across_midnight() -> None:
    found = dict(corruptions("2026-11-12T08:00:00-06:00"))
    assert (found["date-year-month"], found["date-year"], found["date-as-number"]) == ("2026-11", "2026", 20261112)
    assert (found["offset+14"], found["offset-12"]) == ("2026-11-12T00:30:00+14:00", "2026-11-12T23:30:00-12:00")


def test_a_partial_date_or_a_word_is_not_cut() -> None:
    assert not {"date-year", "date-as-number", "offset+14"} & {kind for kind, _ in corruptions("2026-11")}
    assert not {"date-year", "program"} & {kind for kind, _ in corruptions("final")}


def test_a_florida_blue_name_is_sent_naming_each_program() -> None:
    names = [value for kind, value in corruptions("Florida Blue") if kind == "program"]
    assert "Florida Blue SAO" in names and "Florida Blue Federal Employees Program" in names
    assert not [kind for kind, _ in corruptions("Aspirus Health Plan") if kind == "program"]


def test_a_prefetch_entry_is_sent_twice_under_another_id() -> None:
    request: dict[str, Any] = {"prefetch": {"qr": {"resourceType": "Bundle", "entry": [
        {"fullUrl": "urn:x", "resource": {"resourceType": "QuestionnaireResponse", "id": "a"}}]}}}
    [(path, kind, value)] = [v for v in variants(request) if v[1] == "duplicate"]
    entries = applied(request, path, kind, value)["prefetch"]["qr"]["entry"]
    assert [(e["fullUrl"], e["resource"]["id"]) for e in entries] == [("urn:x", "a"), ("urn:x-copy", "a-copy")]
    assert len(request["prefetch"]["qr"]["entry"]) == 1


def test_a_uuid_shared_by_two_cards_is_flagged() -> None:
    cards = [{"uuid": "u1", "summary": "a"}, {"uuid": "u1", "summary": "b"}, {"uuid": "u2", "summary": "c"}]
    assert [flag for flag, _ in uuid_flags(cards)] == ["uuid"]
    assert not list(uuid_flags(cards[1:]))


def test_an_attestation_is_also_sent_twice_with_its_answers_reversed() -> None:
    response = {"resourceType": "QuestionnaireResponse", "id": "a",
                "item": [{"linkId": "x", "answer": [{"valueBoolean": True}]}]}
    request: dict[str, Any] = {"prefetch": {"qr": {"resourceType": "Bundle", "entry": [{"resource": response}]}}}
    [(path, kind, value)] = [v for v in variants(request) if v[1] == "duplicate-reversed"]
    entries = applied(request, path, kind, value)["prefetch"]["qr"]["entry"]
    assert [e["resource"]["item"][0]["answer"][0]["valueBoolean"] for e in entries] == [True, False]
    assert entries[1]["resource"]["id"] == "a-copy"
