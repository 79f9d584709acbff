"""AuditStore against SQLite and PostgreSQL: records, queries, the background writer, jti replay, prior approval."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

import pytest
import requests
from sqlalchemy import event, func, select, text
from werkzeug.serving import make_server

from cds_service.app import create_app
from cds_service.audit import AuditStore
from cds_service.audit_queries import FeedbackReceipt, Selection
from cds_service.audit_rows import FeedbackEntry, InvocationRecord
from cds_service.config import Settings
from cds_service.db import create_db_engine
from cds_service.db_models import Base, Invocation
from cds_service.evaluation import OrderOutcome, PriorApproval
from tests.test_db import database_url  # noqa: F401  (fixture)

EXAMPLE = Path(__file__).resolve().parent.parent / "fhir_examples" / "aspirus-adult-consolidation-mrd-positive.json"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
START = date(2026, 12, 1)  # the order asking for a prior approval starts then
ASPIRUS = "aspirus-magellan"


APPROVED = {"start": "2026-11-01", "end": "2027-05-01", "cycles": None}


def outcome(order_id: str = "mr1", decision: str = "meets-criteria", policy: str = ASPIRUS, **extra: Any) -> OrderOutcome:
    return OrderOutcome(order_id=order_id, policy=policy, policy_version="2025-01", decision=decision,
                        indication="adult-consolidation-mrd-positive",
                        **{"request_type": "initial", "authorization": dict(APPROVED), **extra})


CLIENT = "https://ehr.example"  # the client of invocation(): feedback on its cards must come from it (no tenant)


def invocation(hook_instance: str = "hi-1", patient_id: str = "p1", *outcomes: OrderOutcome, hook: str = "order-sign",
               time: datetime = NOW) -> InvocationRecord:
    return InvocationRecord(time=time, service_id="blinatumomab-coverage", hook=hook, hook_instance=hook_instance,
                            client_iss=CLIENT, patient_id=patient_id, status=200, latency_ms=8.5,
                            outcomes=list(outcomes) or [outcome()])


@pytest.fixture
def store(database_url: str) -> Iterator[AuditStore]:
    audit = AuditStore(database_url)
    audit.start()
    yield audit
    audit.close()


@contextmanager
def writes_blocked(url: str) -> Iterator[None]:
    """Another connection holds the write lock, so the background writer waits (readers do not, in WAL mode)."""
    engine = create_db_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.execute(text("LOCK TABLE invocation IN EXCLUSIVE MODE"))
        yield
        connection.rollback()
    engine.dispose()


def count_invocations(store: AuditStore) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Invocation)).scalar_one()


def test_an_invocation_is_written_and_shown_with_every_field(store: AuditStore) -> None:
    criteria = [{"id": "U1", "status": "met", "citation": "Aspirus III", "text": "no live vaccine", "evidence": []}]
    recorded = replace(invocation("hi-1", "p1", outcome(
        request_type="initial", cycle=2, coverage_assertion_id="ca-1", card_uuids=["card-1", "card-2"],
        suggestion_uuids=["sug-1", "sug-2"], criteria=criteria,
        card_topics={"card-1": "coverage-info", "card-2": "limits"},
        policy_digest="0123456789abcdef", policy_source="CDS_POLICY_DIR", valueset_digest="fedcba9876543210",
        covered="covered", pa_needed="satisfied", card_indicators={"card-1": "info", "card-2": "warning"},
        card_summaries={"card-1": "Aspirus: meets criteria", "card-2": "Over the quantity limit"},
        suggestion_labels={"sug-1": "Change to 9 mcg/day on days 1–7", "sug-2": "Split into 2 orders, one per cycle"},
        suggestion_creates={"sug-2": ["MedicationRequest/new-cycle-2"]},
        indications=[{"id": "adult-maintenance", "status": "unknown", "not_met": [],
                      "unknown": ["adult-maintenance.mrd-negative-or-unavailable"]}],
    )), user_id="PractitionerRole/123", encounter_id="Encounter/e1")
    store.record_invocation(recorded)
    store.flush()
    [detail] = store.show("hi-1")
    assert detail.record == recorded
    assert detail.feedback == []
    assert [d.record for d in store.show("ca-1")] == [recorded]  # found by its coverage-assertion-id too


def test_criteria_values_that_are_not_json_are_stored_as_text(store: AuditStore) -> None:
    store.record_invocation(invocation("hi-1", "p1", outcome(criteria=[{"id": "x", "since": NOW.date()}])))
    store.flush()
    [detail] = store.show("hi-1")
    assert detail.record.outcomes[0].criteria == [{"id": "x", "since": "2026-11-20"}]


@pytest.mark.parametrize("coverage", ["Coverage/cov\udc80", "Coverage/" + "c" * 300])
def test_an_outcome_with_unstorable_client_text_is_stored(store: AuditStore, coverage: str) -> None:
    """The Coverage id and the criteria notes come from prefetch: an unpaired surrogate (JSON carries it, UTF-8 does
    not) or an id longer than its column lost the whole record."""
    criteria = [{"id": "U1", "status": "met", "note": "from Coverage/cov\udc80", "evidence": [coverage]}]
    store.record_invocation(invocation("hi-1", "p1", outcome(coverage_reference=coverage, criteria=criteria)))
    store.flush()
    [detail] = store.show("hi-1")
    [stored] = detail.record.outcomes
    assert stored.coverage_reference == coverage[:200].replace("\udc80", "?")
    assert stored.criteria[0]["note"] == "from Coverage/cov?"


def test_what_a_card_said_is_bounded_to_its_column_and_storable(store: AuditStore) -> None:
    """A summary or label may quote the order's own text (its dosage instruction)."""
    long = "Change to 9 mcg/day \udc80" + "x" * 400
    store.record_invocation(invocation("hi-1", "p1", outcome(
        card_uuids=["card-1"], card_summaries={"card-1": long}, suggestion_uuids=["sug-1"],
        suggestion_labels={"sug-1": long})))
    store.flush()
    [stored] = store.show("hi-1")[0].record.outcomes
    expected = long[:300].replace("\udc80", "?")
    assert (stored.card_summaries, stored.suggestion_labels) == ({"card-1": expected}, {"sug-1": expected})


def test_recent_lists_decisions_newest_first_with_filters(store: AuditStore) -> None:
    store.record_invocation(invocation("old", "p1", outcome("a"), time=NOW - timedelta(days=3)))
    store.record_invocation(invocation("mid", "p2", outcome("b", "criteria-not-met"), time=NOW - timedelta(days=1)))
    store.record_invocation(invocation("new", "p1", outcome("c"), outcome("d", "information-needed"), time=NOW))
    store.flush()
    assert [row.order_id for row in store.recent()] == ["d", "c", "b", "a"]
    assert [row.order_id for row in store.recent(Selection(patient="p1"))] == ["d", "c", "a"]
    assert [row.order_id for row in store.recent(Selection(decision="criteria-not-met"))] == ["b"]
    assert [row.order_id for row in store.recent(Selection(since=NOW - timedelta(days=2)))] == ["d", "c", "b"]
    assert [row.order_id for row in store.recent(limit=1)] == ["d"]
    row = store.recent(Selection(patient="p2"))[0]
    assert (row.hook_instance, row.policy, row.decision, row.time) == ("mid", ASPIRUS, "criteria-not-met",
                                                                      NOW - timedelta(days=1))


def test_show_finds_nothing_for_an_unknown_key(store: AuditStore) -> None:
    assert store.show("nope") == []


def test_show_lists_every_call_sent_with_one_hook_instance_newest_first(store: AuditStore) -> None:
    store.record_invocation(invocation("again", "p1", outcome("first"), time=NOW - timedelta(minutes=5)))
    store.record_invocation(invocation("again", "p1", outcome("second"), time=NOW))
    store.flush()
    assert [d.record.outcomes[0].order_id for d in store.show("again")] == ["second", "first"]


def test_recording_does_not_wait_for_the_database(store: AuditStore, database_url: str) -> None:
    """The test holds the write lock until the recording is over: recording returns while the database cannot be
    written, and the records appear once the lock is released."""
    recorded = threading.Event()

    def record() -> None:
        for index in range(100):
            store.record_invocation(invocation(f"hi-{index}"))
        recorded.set()

    with writes_blocked(database_url):
        threading.Thread(target=record, name="recording", daemon=True).start()
        # 30 s: a hang guard, not a speed claim (a write waiting for the lock would wait the busy timeout per record).
        assert recorded.wait(30), "recording waited for the database"
        assert count_invocations(store) == 0  # still queued: the writer is waiting for the lock
    store.flush()
    assert count_invocations(store) == 100


def test_records_queued_together_are_written_in_few_transactions(store: AuditStore) -> None:
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda connection: commits.append(1))
    for index in range(10):  # one record every 5 ms, as from a busy worker: each alone would be its own commit
        store.record_invocation(invocation(f"hi-{index}"))
        time.sleep(0.005)
    store.flush()
    assert count_invocations(store) == 10
    assert 1 <= len(commits) < 5  # the writer gathers what arrives while it lingers


def test_a_record_the_database_refuses_costs_only_itself(store: AuditStore,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    # An order id is NOT NULL: a bug of ours, not an outage; the failing row also carries a clinical note.
    refused = invocation("bad", "p1", outcome(None, criteria=[{"id": "M1", "note": "MRD 0.05% on 2026-11-15"}]))
    store.record_invocation(invocation("good-1"))
    store.record_invocation(refused)
    store.record_invocation(invocation("good-2"))
    store.flush()
    assert store.show("good-1") and store.show("good-2")
    assert store.show("bad") == []
    assert "lost: hookInstance bad" in caplog.text and "IntegrityError" in caplog.text
    assert "MRD 0.05%" not in caplog.text  # statement parameters (clinical notes) never reach the log


def test_close_drains_the_queue(database_url: str) -> None:
    audit = AuditStore(database_url)
    audit.start()
    with writes_blocked(database_url):
        for index in range(300):
            audit.record_invocation(invocation(f"hi-{index}"))
    audit.close()
    reopened = AuditStore(database_url)
    assert count_invocations(reopened) == 300
    reopened.record_invocation(invocation("after"))  # no writer running: written at once
    assert reopened.show("after")
    reopened.close()


def test_records_are_written_at_a_normal_interpreter_exit(database_url: str) -> None:
    """No explicit close: the atexit hook drains the queue (the path a gunicorn worker takes on SIGTERM)."""
    script = (
        "import sys\n"
        "from datetime import datetime, timezone\n"
        "from cds_service.audit import AuditStore\n"
        "from cds_service.audit_rows import InvocationRecord\n"
        "store = AuditStore(sys.argv[1]); store.start()\n"
        "for i in range(50):\n"
        "    store.record_invocation(InvocationRecord(datetime.now(timezone.utc), 's', 'order-sign', f'hi-{i}',"
        " None, 'p1', 200, 1.0, []))\n"
    )
    subprocess.run([sys.executable, "-c", script, database_url], check=True, timeout=60)
    audit = AuditStore(database_url)
    assert count_invocations(audit) == 50
    audit.close()


def test_a_jti_is_accepted_once_across_stores_on_one_database(database_url: str) -> None:
    first, second = AuditStore(database_url), AuditStore(database_url)  # like two gunicorn workers
    first.start()
    second.start()
    expires = datetime.now(timezone.utc) + timedelta(minutes=5)
    assert first.use_jti("jti-1", expires) is True
    assert second.use_jti("jti-1", expires) is False
    assert first.use_jti("jti-1", expires) is False
    assert second.use_jti("jti-2", expires) is True
    first.close()
    second.close()


def test_expired_jtis_are_purged(database_url: str) -> None:
    audit = AuditStore(database_url)
    audit.start()
    assert audit.use_jti("old", datetime.now(timezone.utc) - timedelta(minutes=1)) is True
    audit.close()
    later = AuditStore(database_url)  # a new store purges on its first use
    assert later.use_jti("other", datetime.now(timezone.utc) + timedelta(minutes=5)) is True
    assert later.use_jti("old", datetime.now(timezone.utc) + timedelta(minutes=5)) is True
    later.close()


def both_kinds(order_id: str, decision: str = "meets-criteria", **extra: Any) -> tuple[OrderOutcome, OrderOutcome]:
    """An initial approval of `order_id` and a renewal (continuation) of `order_id`-r, alike otherwise."""
    return (outcome(order_id, decision, **extra),
            outcome(f"{order_id}-r", decision, **{"request_type": "renewal", **extra}))


@pytest.mark.parametrize("queued", [False, True], ids=["written", "still-queued"])
def test_prior_approval(store: AuditStore, database_url: str, queued: bool) -> None:
    records = [
        invocation("sign", "p1", outcome("mr1")),
        invocation("what-if", "p2", *both_kinds("mr2", what_if=True)),
        invocation("select", "p3", *both_kinds("mr3"), hook="order-select"),
        invocation("not-met", "p4", *both_kinds("mr4", "criteria-not-met")),
        invocation("renewal", "p5", outcome("mr5", request_type="renewal")),
        invocation("sign-later", "p6", outcome("mr6a", coverage_assertion_id="a-old")),
        invocation("sign-latest", "p6", outcome("mr6b", coverage_assertion_id="a-new"), time=NOW + timedelta(days=1)),
        replace(invocation("site-a", "p7", *both_kinds("mr7")), tenant="site-a"),
        invocation("same-start", "p8", *both_kinds("mr8", authorization={**APPROVED, "start": "2026-12-01"})),
        invocation("other-plan", "p10", *both_kinds("mr10", policy="florida-blue")),
    ]
    with writes_blocked(database_url):
        for record in records:
            store.record_invocation(record)
        if queued:
            assert_prior_approvals(store)
    store.flush()
    assert_prior_approvals(store)
    assert len(store._writer._pending) == 0  # written records leave the index of queued ones, patients included


@pytest.mark.parametrize("queued", [False, True], ids=["written", "still-queued"])
def test_issued_suggestions_are_found_with_their_card(store: AuditStore, database_url: str, queued: bool) -> None:
    with_card = outcome(card_uuids=["card-1", "card-2"], suggestion_uuids=["sug-2"],
                        suggestion_cards={"sug-2": "card-2"})
    without_card = outcome("mr2", card_uuids=["card-3"], suggestion_uuids=["sug-3"])  # as recorded before 0005
    # sug-3, recorded without its card, is checked only as issued; card-1 is no suggestion; sug-2 is card-2's.
    feedback = [FeedbackEntry("card-2", "accepted", ["sug-2", "sug-3", "card-1", "never-issued"]),
                FeedbackEntry("card-1", "accepted", ["sug-2"])]
    expected = FeedbackReceipt(unknown_cards=[], unknown_suggestions=["card-1", "never-issued", "sug-2"])
    with writes_blocked(database_url):
        store.record_invocation(invocation("hi-1", "p1", with_card, without_card))
        if queued:  # a feedback write waits for the lock: it is asked from the queue alone, not stored
            assert store._queries._unknown_suggestions(feedback) == [["card-1", "never-issued"], ["sug-2"]]
    store.flush()
    assert store.record_feedback("blinatumomab-coverage", feedback, CLIENT) == expected
    [detail] = store.show("hi-1")
    assert [entry.unknown_suggestions for entry in detail.feedback] == [["card-1", "never-issued"], ["sug-2"]]


def assert_prior_approvals(store: AuditStore) -> None:
    client = "https://ehr.example"
    found = store.prior_approval("p1", client, None, ASPIRUS, (), START)
    # With the period approved and the kind of approval: an initial one.
    assert found == (PriorApproval("mr1", NOW, "sign", None, "2026-11-01", "2027-05-01", "initial"),)
    assert store.prior_approval("p1", client, None, ASPIRUS, ("other-order",), START) == found
    assert store.prior_approval("p1", client, None, ASPIRUS, ("mr1",), START) == ()  # the same order: no prior approval
    assert store.prior_approval("p1", client, None, "florida-blue", (), START) == ()
    assert store.prior_approval("p9", client, None, ASPIRUS, (), START) == ()
    # Another EHR's patient of the same id, and the local mode's calls without a client, are other patients.
    assert store.prior_approval("p1", "https://other-ehr.example", None, ASPIRUS, (), START) == ()
    assert store.prior_approval("p1", None, None, ASPIRUS, (), START) == ()
    # A renewal (continuation) is found too, said to be one: whether it counts is the policy's look-back.
    assert store.prior_approval("p5", client, None, ASPIRUS, (), START) == (
        PriorApproval("mr5", NOW, "renewal", None, "2026-11-01", "2027-05-01", "renewal"),)
    # A what-if call, order-select, criteria not met, another plan: neither kind counts.
    for patient in ("p2", "p3", "p4", "p10"):
        assert store.prior_approval(patient, client, None, ASPIRUS, (), START) == ()
    assert [a.order_id for a in store.prior_approval("p10", client, None, "florida-blue", (), START)] == [
        "mr10", "mr10-r"]
    newest_first = store.prior_approval("p6", client, None, ASPIRUS, (), START)
    assert [(a.order_id, a.coverage_assertion_id) for a in newest_first] == [("mr6b", "a-new"), ("mr6a", "a-old")]
    # One EHR serving several sites: the same patient id at another site (tenant) is another patient.
    assert len(store.prior_approval("p7", client, "site-a", ASPIRUS, (), START)) == 2
    assert store.prior_approval("p7", client, "site-b", ASPIRUS, (), START) == ()
    assert store.prior_approval("p7", client, None, ASPIRUS, (), START) == ()
    # An approval of an order starting when this one does (a replacement, a duplicate) proves no earlier one.
    assert store.prior_approval("p8", client, None, ASPIRUS, (), START) == ()
    assert [a.request_type for a in store.prior_approval("p8", client, None, ASPIRUS, (), START + timedelta(days=1))
            ] == ["initial", "renewal"]


def test_a_forked_child_writes_its_own_records(store: AuditStore) -> None:
    """gunicorn --preload creates the app in the master, then forks the workers: the writer thread stayed behind while
    the flag saying it ran came along, so start() did nothing and every worker's records were silently lost."""
    pid = os.fork()
    if pid == 0:  # the child: its exit status says whether its record was written
        written = False
        try:
            store.record_invocation(invocation("child"))
            written = store.flush(timeout=5) and bool(store.show("child"))
        finally:
            os._exit(0 if written else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.show("child")
    store.record_invocation(invocation("parent"))  # the parent's writer is untouched
    assert store.flush(timeout=5) and store.show("parent")


def test_the_database_ping_says_why_it_failed(store: AuditStore) -> None:
    assert store.database_problem() is None
    unreachable = AuditStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert unreachable.database_problem() == ("OperationalError / OperationalError while connecting: connection "
                                              "refused: nothing listens at the URL's host and port")
    unreachable.close()


@pytest.fixture
def live_app(database_url: str) -> Iterator[tuple[str, AuditStore]]:
    with running_app(database_url) as served:
        yield served


@contextmanager
def running_app(database_url: str) -> Iterator[tuple[str, AuditStore]]:
    """The app served on loopback, with an audit writer of its own (a worker of several, when run twice at once)."""
    app = create_app(Settings(database_url=database_url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits for one poll, and every feedback test stops a server.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app.extensions["cds_service"].store
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["cds_service"].store.close()


def test_no_token_is_ever_stored(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    sentinel = "SENTINEL-TOKEN-7f3a9c"
    body = json.loads(EXAMPLE.read_text())
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    body["fhirAuthorization"] = {"access_token": sentinel, "token_type": "Bearer", "expires_in": 300,
                                 "scope": "patient/*.read", "subject": "cds-service"}
    headers = {"Authorization": f"Bearer eyJhbGciOiJFUzM4NCJ9.{sentinel}.sig"}
    response = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, headers=headers, timeout=30)
    assert response.status_code == 200
    feedback = {"feedback": [{"card": "c1", "outcome": "accepted", "token": sentinel}]}
    response = requests.post(f"{base_url}/cds-services/blinatumomab-coverage/feedback", json=feedback,
                             headers=headers, timeout=30)
    assert response.status_code == 200
    store.flush()
    assert count_invocations(store) == 1
    assert not [place for place in stored_values(store) if sentinel in place[1]]


ASPIRUS_INDICATIONS = [
    "adult-consolidation-mrd-positive", "adult-consolidation-mrd-negative", "adult-consolidation-mrd-unavailable",
    "adult-maintenance", "adult-relapsed-refractory", "pediatric-mrd-positive", "pediatric-less-than-cr-ph-positive",
    "pediatric-relapsed-refractory", "infant-interfant",
]


def _decided(base_url: str, store: AuditStore, example: str) -> OrderOutcome:
    """The audit outcome of the example's order, sent to the service."""
    body = {**json.loads((EXAMPLE.parent / f"{example}.json").read_text()), "hookInstance": f"hi-{example}"}
    assert requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, timeout=30).status_code == 200
    store.flush()
    [detail] = store.show(f"hi-{example}")
    [decided] = detail.record.outcomes
    return decided


def test_a_denial_records_every_indication_and_the_criteria_that_failed(live_app: tuple[str, AuditStore]) -> None:
    """The card shows one indication's criteria; a denial is every indication not met, so the trail keeps each of
    the nine with the ids of its criteria not met and unknown, or the denial could not be reconstructed."""
    decided = _decided(*live_app, "aspirus-t-cell-all-not-covered")
    assert decided.decision == "criteria-not-met"
    assert [(entry["id"], entry["status"]) for entry in decided.indications] == [
        (indication, "not-met") for indication in ASPIRUS_INDICATIONS]
    by_id = {entry["id"]: entry for entry in decided.indications}
    assert by_id["adult-relapsed-refractory"] == {
        "id": "adult-relapsed-refractory", "status": "not-met",
        "not_met": ["adult-relapsed-refractory.b-cell-precursor-all"],
        "unknown": [], "notes": {"adult-relapsed-refractory.b-cell-precursor-all": "T-lineage in the diagnosis"}}
    assert by_id["adult-consolidation-mrd-positive"]["unknown"] == [
        "adult-consolidation-mrd-positive.complete-response", "adult-consolidation-mrd-positive.mrd-positive"]
    # The card showed adult relapsed/refractory, whose criteria are stored in full: its entry agrees with them.
    not_met = {criterion["id"]: criterion["note"] for criterion in decided.criteria
               if criterion["status"] == "not-met"}
    assert not_met == by_id["adult-relapsed-refractory"]["notes"]
    # What the record showed is kept for every pathway, not only the one shown: why the infant pathway failed.
    assert by_id["infant-interfant"]["notes"] == {
        "infant-interfant.pediatric-age": "born 1980-05-10",
        "infant-interfant.infant-all": "ALL recorded 2026-11-10, after age 1 (C91.02)",
        "infant-interfant.with-interfant": "no other antineoplastic active at the start date"}  # unknown: said too


def test_information_needed_records_the_indications_still_open_and_what_they_lack(
        live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    needed = _decided(base_url, store, "aspirus-consolidation-mrd-missing")
    assert needed.decision == "information-needed"
    assert [entry["id"] for entry in needed.indications] == ASPIRUS_INDICATIONS
    still_open = [entry for entry in needed.indications if entry["status"] != "not-met"]
    assert [{key: value for key, value in entry.items() if key != "notes"} for entry in still_open] == [
        {"id": "adult-consolidation-mrd-positive", "status": "unknown", "not_met": [],
         "unknown": ["adult-consolidation-mrd-positive.mrd-positive"]},
        {"id": "adult-consolidation-mrd-negative", "status": "unknown", "not_met": [],
         "unknown": ["adult-consolidation-mrd-negative.mrd-negative", "adult-consolidation-mrd-negative.ph-use"]},
        {"id": "adult-consolidation-mrd-unavailable", "status": "unknown", "not_met": [],
         "unknown": ["adult-consolidation-mrd-unavailable.mrd-unavailable",
                     "adult-consolidation-mrd-unavailable.ino-induction-or-not-candidate"]},
    ]
    # What the record showed for an unknown criterion is kept too: what is missing, in the service's words.
    assert still_open[0]["notes"] == {"adult-consolidation-mrd-positive.mrd-positive": "no MRD result on record"}
    # A met decision evaluated its met indication alone (docs/policy-reading.md §The decision).
    met = _decided(base_url, store, "aspirus-adult-maintenance")
    assert met.indications == [{"id": "adult-maintenance", "status": "met", "not_met": [], "unknown": [], "notes": {}}]


FB_CONTINUATION = EXAMPLE.parent / "florida-blue-continuation.json"


def fb_cycle(order_id: str, start: date, answered: date, earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Florida Blue continuation example as order `order_id` of a 28-day cycle from `start`, its prior
    authorization attested on `answered`, with `earlier` (the order of an earlier cycle) on record."""
    body = {**json.loads(FB_CONTINUATION.read_text()), "hookInstance": f"hi-{order_id}"}
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["id"], order["authoredOn"] = order_id, (start - timedelta(days=5)).isoformat()
    [line] = order["dosageInstruction"]
    line["timing"]["repeat"]["boundsPeriod"] = {"start": start.isoformat(),
                                                "end": (start + timedelta(days=27)).isoformat()}
    body["prefetch"]["attestations"]["entry"][0]["resource"]["authored"] = answered.isoformat()
    body["prefetch"]["coverage"]["entry"][0]["resource"]["period"]["start"] = "2024-01-01"  # covers every start
    if earlier is not None:
        body["prefetch"]["medicationRequests"]["entry"] = [{"resource": {**earlier, "status": "completed"}}]
    return body


def _decision(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, timeout=30)
    assert response.status_code == 200
    card = response.json()["cards"][0]
    return {**card["extension"]["coverage-decision"], "detail": card["detail"]}


@pytest.mark.parametrize(("first_start", "counted"), [
    (date(2026, 12, 1), True),  # the cycle before
    (date(2025, 1, 12), True),  # exactly two years before the next order's start
    (date(2025, 1, 11), False),  # two years and a day
])
def test_a_florida_blue_continuation_counts_for_the_next_order_within_two_years(
        live_app: tuple[str, AuditStore], first_start: date, counted: bool) -> None:
    """Florida Blue Position, continuation 1: an authorization or reauthorization approved in the past two years.
    Order A, a continuation on an attested prior authorization, then order B, the next cycle, whose own answer is
    A's (so it does not count for B): B was sent back to initiation (CD19, MRD). A's continuation now counts when
    its authorization began within two years before B's start; the card and the audit trail name it as one."""
    base_url, store = live_app
    answered = first_start - timedelta(days=6)
    first = fb_cycle("order-a", first_start, answered)
    a = _decision(base_url, first)
    assert (a["decision"], a["indication"], a["request"]) == ("meets-criteria", "fb-continuation", "renewal")
    b = _decision(base_url, fb_cycle("order-b", date(2027, 1, 12), answered,
                                     first["context"]["draftOrders"]["entry"][0]["resource"]))
    if not counted:  # B is mid-course: the continuation is asked for, as a current answer would open it
        assert (b["decision"], b["indication"], b["request"]) == ("information-needed", None, "renewal")
        assert "prior authorization of blinatumomab by any health plan in the past 2 years" in b["missing"]
        return
    assert (b["decision"], b["indication"], b["request"]) == ("meets-criteria", "fb-continuation", "renewal")
    [gate] = [c for c in b["criteria"] if c["id"] == "fb-continuation.prior-approval"]
    assert gate["evidence"] == ["MedicationRequest/order-a"]
    assert gate["note"].startswith("continuation approved on ")
    assert f"for {first_start} to {first_start.replace(year=first_start.year + 1)}" in gate["note"]
    assert "hookInstance hi-order-a" in gate["note"] and gate["note"] in b["detail"]
    store.flush()
    [detail] = store.show("hi-order-b")
    [recorded] = [c for c in detail.record.outcomes[0].criteria if c["id"] == "fb-continuation.prior-approval"]
    assert (recorded["evidence"], recorded["note"]) == (gate["evidence"], gate["note"])


def stored_values(store: AuditStore) -> Iterator[tuple[str, str]]:
    """(table, value) for every column of every row of every table."""
    with store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                yield from ((table.name, str(value)) for value in row)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _gunicorn_run(url: str, prefix: str, args: list[str], blocked: Callable[[], ContextManager[Any]]) -> list[str]:
    """Six hook calls to gunicorn (`args`) on `url` while `blocked()` holds, then SIGTERM; the hookInstances the
    audit trail kept."""
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), *args, "-b", f"127.0.0.1:{port}", "cds_service.app:create_app()"],
                              env={**os.environ, "CDS_DATABASE_URL": url}, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz")
        body = json.loads(EXAMPLE.read_text())
        with blocked():
            for index in range(6):
                body["hookInstance"] = f"{prefix}-{index}"
                requests.post(f"http://127.0.0.1:{port}/cds-services/blinatumomab-coverage", json=body, timeout=30)
            server.send_signal(signal.SIGTERM)
            time.sleep(0.5)  # the workers are stopping, their writers waiting for the lock if it is held
        assert server.wait(30) == 0
    finally:
        server.kill()
    audit = AuditStore(url)
    kept = sorted(row.hook_instance for row in audit.recent())
    audit.close()
    return kept


def test_a_gunicorn_worker_writes_queued_records_on_sigterm(tmp_path: Path) -> None:
    """The production stop: SIGTERM to gunicorn while the writer cannot write yet; nothing may be lost."""
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    kept = _gunicorn_run(url, "stop", ["-w", "1"], lambda: writes_blocked(url))
    assert kept == [f"stop-{index}" for index in range(6)]


def test_gunicorn_preload_workers_write_their_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    kept = _gunicorn_run(url, "preload", ["--preload", "-w", "2"], nullcontext)
    assert kept == [f"preload-{index}" for index in range(6)]


def _wait_until_up(url: str) -> None:
    for _ in range(200):
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # refused, or accepted before a worker is ready
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def test_show_finds_the_calls_about_an_order_and_the_split_that_created_it(store: AuditStore) -> None:
    """The orders a suggestion creates are a JSON list: its references are matched whole (not a longer id that starts
    alike, nor one of another case, which SQLite's LIKE would take), and a key that is no FHIR id (a LIKE wildcard, a
    key longer than SQLite takes as a pattern) matches no order."""
    split = outcome("MedicationRequest/mr-1", card_uuids=["c1"], suggestion_uuids=["s1"],
                    suggestion_cards={"s1": "c1"}, suggestion_creates={"s1": ["MedicationRequest/mr-1-c2"]})
    store.record_invocation(invocation("hi-split", "p1", split, time=NOW - timedelta(minutes=5)))
    store.record_invocation(invocation("hi-c2", "p1", outcome("MedicationRequest/mr-1-c2")))
    store.record_invocation(invocation("hi-other", "p1", outcome("MedicationRequest/mr-1-c"), time=NOW))
    store.flush()
    assert [detail.record.hook_instance for detail in store.show("mr-1-c2")] == ["hi-c2", "hi-split"]
    assert [detail.record.hook_instance for detail in store.show("MedicationRequest/mr-1")] == ["hi-split"]
    assert [detail.record.hook_instance for detail in store.show("mr-1-c")] == ["hi-other"]
    assert store.show("mr-1-c_") == store.show("mr-1-c%") == store.show("MR-1-C2") == store.show("k" * 60000) == []


def test_an_initial_approval_is_found_behind_many_later_continuations(store: AuditStore) -> None:
    """The look-up reads each kind's latest apart: twenty-one yearly continuations, none counting any more, did push
    the initial approval, which counts at any age, out of the rows read."""
    old = {**APPROVED, "start": "2005-01-01", "end": "2005-07-01"}
    years_ago = NOW - timedelta(days=366 * 22)
    store.record_invocation(invocation("initial", "p1", outcome("mr-0", authorization=old), time=years_ago))
    for year in range(21):
        period = {**APPROVED, "start": f"{2005 + year}-06-01", "end": f"{2006 + year}-06-01"}
        renewal = outcome(f"mr-{year + 1}", request_type="renewal", authorization=period)
        later = years_ago + timedelta(days=366 * (year + 1))
        store.record_invocation(invocation(f"renewal-{year}", "p1", renewal, time=later))
    store.flush()
    found = store.prior_approval("p1", CLIENT, None, ASPIRUS, (), START)
    assert [approval.order_id for approval in found if approval.request_type == "initial"] == ["mr-0"]
    assert len(found) == 21  # the twenty latest continuations and the initial approval
