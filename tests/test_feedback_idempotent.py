"""Feedback is stored once per item (docs/audit.md §Feedback endpoint): a call answered 503 whose COMMIT was made all
the same, when retried, stored its feedback twice. The feedback table's unique `item_digest` (migration 0013) keeps
one row per item across workers and replicas, on SQLite and PostgreSQL; the retry is answered as the first call
would have been."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text

from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry
from cds_service.db import create_db_engine
from cds_service.db_schema import alembic_config, migrate
from tests.test_audit import live_app, store  # noqa: F401  (fixtures)
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_feedback import count_feedback, issue_card, post, stored_feedback
from tests.test_jti_release import answer_lost_once

SERVICE = "blinatumomab-coverage"
ITEM = {"card": "card-1", "outcome": "accepted", "acceptedSuggestions": ["sug-1"],
        "outcomeTimestamp": "2026-11-20T12:05:00Z"}
ENTRY = FeedbackEntry(card_uuid="card-1", outcome="overridden", override_code="patient-preference",
                      override_comment="discussed",
                      outcome_timestamp=datetime(2026, 11, 20, 12, 5, tzinfo=timezone.utc))


def test_the_retry_of_feedback_answered_503_after_its_commit_stores_it_once(
        live_app: tuple[str, AuditStore], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    base_url, store = live_app
    issue_card(store)
    lost = answer_lost_once(store.engine, monkeypatch)  # the writer idle: the next COMMIT is the feedback's
    refused = post(base_url, {"feedback": [ITEM]})
    assert refused.status_code == 503 and lost() == 1
    assert count_feedback(store) == 1  # made all the same
    retried = post(base_url, {"feedback": [ITEM]})
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"stored": 1, "unknownCards": [], "unknownSuggestions": []}
    assert count_feedback(store) == 1
    [entry] = stored_feedback(store)
    assert (entry.card_uuid, entry.accepted_suggestions) == ("card-1", ["sug-1"])


def test_the_same_item_posted_again_is_answered_alike_and_stored_once(live_app: tuple[str, AuditStore],  # noqa: F811
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    base_url, store = live_app
    issue_card(store)
    other = {**ITEM, "card": "card-2"}
    first = post(base_url, {"feedback": [ITEM]})
    with caplog.at_level("INFO", logger="cds_service.feedback"):
        again = post(base_url, {"feedback": [other, ITEM]})  # with a new item: that one is stored
    assert first.status_code == again.status_code == 200
    assert again.json() == {"stored": 2, "unknownCards": ["card-2"], "unknownSuggestions": ["sug-1"]}
    assert count_feedback(store) == 2
    assert "feedback: 1 of 2 items already stored (posted again, or twice in this call): stored once" in caplog.messages


def test_an_item_sent_twice_in_one_call_is_stored_once(live_app: tuple[str, AuditStore]) -> None:  # noqa: F811
    base_url, store = live_app
    reordered = {**ITEM, "acceptedSuggestions": ["sug-2", "sug-1"]}
    response = post(base_url, {"feedback": [{**ITEM, "acceptedSuggestions": ["sug-1", "sug-2"]}, reordered]})
    assert response.status_code == 200
    assert count_feedback(store) == 1  # the order of the suggestions accepted says nothing


@pytest.mark.parametrize("change", [
    {"outcome": "accepted"}, {"card_uuid": "card-2"}, {"outcome_timestamp": None},
    {"outcome_timestamp": datetime(2026, 11, 20, 12, 5, 1, tzinfo=timezone.utc)}, {"override_code": "other"},
    {"override_system": "urn:x"}, {"override_display": "Patient preference"}, {"override_comment": "discussed again"},
    {"override_comment": None}, {"accepted_suggestions": ["sug-1"]},
])
def test_items_that_differ_in_anything_stored_are_stored_apart(
        store: AuditStore, change: dict[str, Any]) -> None:  # noqa: F811
    store.record_feedback(SERVICE, [replace(ENTRY)])
    receipt = store.record_feedback(SERVICE, [replace(ENTRY, **change)])
    assert receipt.already_stored == 0
    assert count_feedback(store) == 2


@pytest.mark.parametrize("sender", [("https://other.example", None), (None, "site-b"), (None, None)])
def test_the_same_item_from_another_sender_or_service_is_stored_apart(
        store: AuditStore, sender: tuple[str | None, str | None]) -> None:  # noqa: F811
    store.record_feedback(SERVICE, [replace(ENTRY)], "https://ehr.example", "site-a")
    assert store.record_feedback(SERVICE, [replace(ENTRY)], *sender).already_stored == 0
    assert store.record_feedback("another-service", [replace(ENTRY)], "https://ehr.example", "site-a") \
        .already_stored == 0
    assert store.record_feedback(SERVICE, [replace(ENTRY)], "https://ehr.example", "site-a").already_stored == 1
    assert count_feedback(store) == 3


def test_the_same_item_stored_by_two_workers_at_once_is_stored_once(database_url: str) -> None:  # noqa: F811
    """Two workers (each its own engine and pool) storing the same items at the same moment: the unique index
    decides, whichever commits first."""
    workers = [AuditStore(database_url) for _ in range(2)]
    for worker in workers:
        worker.start()
    entries = [replace(ENTRY, card_uuid=f"card-{index}") for index in range(20)]
    start = threading.Barrier(2)
    receipts: list[int] = []

    def send(worker: AuditStore) -> None:
        start.wait()
        receipts.append(worker.record_feedback(SERVICE, [replace(entry) for entry in entries]).already_stored)

    threads = [threading.Thread(target=send, args=(worker,)) for worker in workers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(receipts) == 20 and len(receipts) == 2
        assert count_feedback(workers[0]) == 20
    finally:
        for worker in workers:
            worker.close()


def test_migration_0013_keeps_the_feedback_stored_before_and_downgrades(database_url: str) -> None:  # noqa: F811
    """Rows stored at 0012 (duplicates of the old retries included) stay, without a digest; an older release's
    worker, still inserting without one during a rolling upgrade, is not refused. Feedback stored since is stored
    once. A downgrade drops the column and its index and keeps every row."""
    engine = create_db_engine(database_url)
    config = alembic_config()
    insert = text("INSERT INTO feedback (received_at, service_id, card_uuid, outcome, accepted_suggestions) "
                  "VALUES ('2026-11-01 10:00:00', 'blinatumomab-coverage', 'c1', 'accepted', '[]')")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012")
        connection.execute(insert)
        connection.execute(insert)
    store = AuditStore(database_url)
    store.start()  # migrates
    try:
        with engine.begin() as connection:
            connection.execute(insert)  # the older release's worker
        assert store.record_feedback(SERVICE, [replace(ENTRY)]).already_stored == 0
        assert store.record_feedback(SERVICE, [replace(ENTRY)]).already_stored == 1
    finally:
        store.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*), count(item_digest) FROM feedback")).one() == (4, 1)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012")
        table = inspect(connection)
        assert "item_digest" not in {column["name"] for column in table.get_columns("feedback")}
        assert "ux_feedback_item_digest" not in {index["name"] for index in table.get_indexes("feedback")}
        assert connection.execute(text("SELECT count(*) FROM feedback")).scalar() == 4
    migrate(engine)
    engine.dispose()

