"""Review: card uuids derived from the call and the card (order_answers.stable_uuids) are stored again when a call is
sent again, so `issued_card.uuid` holds one uuid twice. On SQLite and PostgreSQL alike: feedback on it is known, stored
once (the feedback digest, migration 0013), and `audit show` finds both calls by the card's uuid, each with it."""
from __future__ import annotations

from datetime import datetime, timezone

from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry
from tests.test_audit import outcome
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_feedback import local_call

CARD, SUGGESTION = "4f1c2b9e-0d3a-5e6f-8a7b-1c2d3e4f5a6b", "5a6b7c8d-9e0f-5a1b-8c2d-3e4f5a6b7c8d"


def test_a_card_sent_in_two_calls_joins_its_feedback_to_both(database_url: str) -> None:  # noqa: F811
    store = AuditStore(database_url)
    store.start()
    try:
        for _ in range(2):  # the call and the same call sent again: the same uuids
            issued = outcome(card_uuids=[CARD], suggestion_uuids=[SUGGESTION], suggestion_cards={SUGGESTION: CARD})
            store.record_invocation(local_call(issued))
        store.flush()
        entry = FeedbackEntry(card_uuid=CARD, outcome="accepted", accepted_suggestions=[SUGGESTION],
                              outcome_timestamp=datetime(2026, 11, 24, 10, tzinfo=timezone.utc))
        receipt = store.record_feedback("blinatumomab-coverage", [entry])
        assert (receipt.unknown_cards, receipt.unknown_suggestions, receipt.already_stored) == ([], [], 0)
        again = FeedbackEntry(card_uuid=CARD, outcome="accepted", accepted_suggestions=[SUGGESTION],
                              outcome_timestamp=datetime(2026, 11, 24, 10, tzinfo=timezone.utc))
        assert store.record_feedback("blinatumomab-coverage", [again]).already_stored == 1
        details = store.show(CARD)
        assert len(details) == 2
        assert [[f.card_uuid for f in detail.feedback] for detail in details] == [[CARD], [CARD]]
    finally:
        store.close()
