"""Pruning as an operator does it, then the feedback listing as a pharmacist reads it: the feedback on the cards of
the calls pruned goes with them, whenever it was received. Kept, it read `card not issued`, which says the EHR sent
back a card it never got (an integration bug)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry
from tests.test_audit import CLIENT, NOW, invocation, outcome, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)

CUTOFF = NOW - timedelta(days=1)


def _call(store: AuditStore, hook_instance: str, card: str, days_before: int) -> None:  # noqa: F811
    store.record_invocation(invocation(hook_instance, "p1", outcome(f"mr-{hook_instance}", card_uuids=[card]),
                                       time=NOW - timedelta(days=days_before)))


@pytest.fixture
def trail(store: AuditStore) -> AuditStore:  # noqa: F811
    _call(store, "hi-old", "card-old", 2)
    _call(store, "hi-new", "card-new", 0)
    _call(store, "hi-first", "card-again", 2)  # a call sent again after the cutoff issues the same card uuid
    _call(store, "hi-again", "card-again", 0)
    store.flush()
    # Received now, after the cutoff: the feedback's own time alone would keep every item.
    store.record_feedback("blinatumomab-coverage", [
        FeedbackEntry(card, "accepted") for card in ("card-old", "card-new", "card-again", "card-never-issued")],
        CLIENT)
    store.record_feedback("blinatumomab-coverage", [FeedbackEntry("card-old", "overridden")], "https://other.example")
    return store


def test_prune_deletes_the_feedback_on_the_cards_of_the_calls_it_deletes(trail: AuditStore) -> None:
    counted = trail.prune(CUTOFF, dry_run=True)
    assert trail.prune(CUTOFF) == counted
    assert counted == {"issued_card": 2, "order_outcome": 2, "invocation": 2, "feedback": 1}
    kept = {(row.entry.card_uuid, row.entry.client_iss): row.hook_instance for row in trail.feedback()}
    # the card issued again after the cutoff keeps its feedback; a card never issued, and a card issued to another
    # client than the sender's, are no call's: still listed as not issued
    assert kept == {("card-new", CLIENT): "hi-new", ("card-again", CLIENT): "hi-again",
                    ("card-never-issued", CLIENT): None, ("card-old", "https://other.example"): None}
