"""Worst-case cost of the decision card's summary (service-contract.md: a summary under 140 characters), counted in
the work done, not timed (bench/ measures speed), through HTTP."""
from __future__ import annotations

import copy

import pytest

from cds_service import cards
from tests.live_server import LiveClient
from tests.test_pipeline import example, post


def test_the_summary_tries_no_more_items_than_it_can_hold(client: LiveClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary tried naming every needed item, then one fewer, down to one, each try joining them: thousands of
    items (an unreadable answer each, 20,000 a 10 MB body holds) cost a second, quadratic. Under 140 characters no
    more than 70 items fit."""
    tried: list[int] = []
    more_items = cards._more_items
    monkeypatch.setattr(cards, "_more_items", lambda more: tried.append(more) or more_items(more))
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    [attestation] = body["prefetch"]["attestations"]["entry"]
    links = ("response-or-stabilization", "cycle-number", "therapy-phase", "remission-number")
    copies = [copy.deepcopy(attestation) for _ in range(600)]
    for number, entry in enumerate(copies):  # answers of a wrong type, and dated only to a year or a month
        resource = entry["resource"]
        resource["id"], entry["fullUrl"] = f"attestation-{number}", f"urn:uuid:attestation-{number}"
        resource["authored"] = ("2026", "2026-11", f"2026-11-2{number % 5}")[number % 3]
        resource["item"].append({"linkId": links[number % 4], "answer": [{"valueInteger": number % 9}]})
    body["prefetch"]["attestations"]["entry"] = copies
    answer = post(client, body)
    assert all(len(card["summary"]) < 140 for card in answer["cards"])
    assert "more items" in answer["cards"][0]["summary"]  # hundreds of items needed, a few named
    assert len(tried) < 2 * 71  # the counts that may fit, in full and without asides: not each of the hundreds
