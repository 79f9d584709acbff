"""POST /cds-services/<id>/feedback over real HTTP, on SQLite and PostgreSQL: stored, joined to the card, lenient
about the shapes real clients send, strict about garbage."""
from __future__ import annotations

import gzip
import json
import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry, InvocationRecord
from cds_service.evaluation import OrderOutcome
from cds_service.card_config import CardConfig
from cds_service.cli import main
from cds_service.override_reasons import OVERRIDE_REASON_SYSTEM
from cds_service.db_models import Feedback
from tests.test_audit import (CLIENT, EXAMPLE, invocation, live_app, outcome,  # noqa: F401  (fixtures)
                              running_app, store, stored_values, writes_blocked)
from tests.test_db import database_url  # noqa: F401  (fixture)

FEEDBACK = "/cds-services/blinatumomab-coverage/feedback"
# Validation answers before touching the database: these tests run on SQLite only, to keep the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CODING = {"system": "http://example.org/override-reason", "code": "patient-preference", "display": "Patient preference"}


def post(base_url: str, body: Any, path: str = FEEDBACK, **kwargs: Any) -> requests.Response:
    if "data" not in kwargs:
        kwargs["json"] = body
    return requests.post(base_url + path, timeout=30, **kwargs)


def local_call(*outcomes: OrderOutcome) -> InvocationRecord:
    """A call of live_app's local mode, whose feedback comes from the same caller: no client, no tenant."""
    return replace(invocation("hi-1", "p1", *outcomes), client_iss=None)


def issue_card(store: AuditStore, card: str = "card-1") -> None:
    issued = outcome(card_uuids=[card], suggestion_uuids=["sug-1"], suggestion_cards={"sug-1": card})
    store.record_invocation(local_call(issued))
    store.flush()


def stored_feedback(store: AuditStore) -> list[FeedbackEntry]:
    [detail] = store.show("hi-1")
    return detail.feedback


def count_feedback(store: AuditStore) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Feedback)).scalar_one()


def test_accepted_feedback_is_stored_with_the_card(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    issue_card(store)
    item = {"card": "card-1", "outcome": "accepted", "acceptedSuggestions": [{"id": "sug-1"}],
            "outcomeTimestamp": "2026-11-20T12:05:00Z"}
    response = post(base_url, {"feedback": [item]})
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "unknownCards": [], "unknownSuggestions": []}
    [entry] = stored_feedback(store)
    assert (entry.card_uuid, entry.outcome, entry.accepted_suggestions, entry.unknown_suggestions) == (
        "card-1", "accepted", ["sug-1"], [])
    assert entry.outcome_timestamp == datetime(2026, 11, 20, 12, 5, tzinfo=timezone.utc)


def test_feedback_at_the_length_and_item_limits_is_stored(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    reason = {"system": "s" * 500, "code": "c" * 200, "display": "d" * 10_000}
    items = [{"card": f"{index:03}" + "u" * 197, "outcome": "overridden",  # 100 cards: the same item is stored once
              "overrideReason": {"reason": reason, "userComment": "x" * 10_000}} for index in range(100)]
    response = post(base_url, {"feedback": items})
    assert response.status_code == 200, response.text
    assert count_feedback(store) == 100


def test_feedback_with_an_unpaired_surrogate_is_a_400(live_app: tuple[str, AuditStore]) -> None:
    """No Unicode character (RFC 8259 §8.2): the feedback body is read as a hook call's is (json_codec)."""
    base_url, store = live_app
    data = b'{"feedback": [{"card": "c\\udc80", "outcome": "accepted", "acceptedSuggestions": ["s\\udc80"]}]}'
    response = post(base_url, None, data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert "unpaired surrogate" in response.json()["issue"][0]["diagnostics"]
    assert count_feedback(store) == 0


def test_nul_in_feedback_is_stored_as_a_question_mark(live_app: tuple[str, AuditStore]) -> None:
    """PostgreSQL text refuses NUL: the feedback used to be a 500, and lost."""
    base_url, store = live_app
    reason = {"system": "s\u0000", "code": "c\u0000", "display": "d\u0000"}
    items = [{"card": "card\u00001", "outcome": "overridden",
              "overrideReason": {"reason": reason, "userComment": "a\u0000b"}}]
    response = post(base_url, {"feedback": items})
    assert response.status_code == 200, response.text
    assert response.json()["unknownCards"] == ["card?1"]
    with store.engine.connect() as connection:
        stored = connection.execute(select(Feedback.card_uuid, Feedback.override_system, Feedback.override_code,
                                           Feedback.override_display, Feedback.override_comment)).one()
    assert tuple(stored) == ("card?1", "s?", "c?", "d?", "a?b")


def test_a_hook_call_with_nul_in_its_hook_instance_is_a_400(live_app: tuple[str, AuditStore]) -> None:
    """It was answered and audited as "nul-?-call" (json_codec.storable), which `cds-service audit show` with the
    client's id could not find: the id is refused instead, and the refusal audited."""
    base_url, store = live_app
    body = json.loads(EXAMPLE.read_text())
    body["hookInstance"] = "nul-\u0000-call"
    response = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, timeout=30)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["hookInstance"]
    store.flush()
    [refused] = store.show("nul-?-call")
    assert (refused.record.status, refused.record.reason) == (400, "invalid at hookInstance")


def test_overridden_feedback_keeps_the_reason_and_comment(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    issue_card(store)
    item = {"card": "card-1", "outcome": "overridden", "overrideReason": {"reason": CODING, "userComment": "seen"},
            "outcomeTimestamp": "2026-11-20T12:05:00+01:00"}
    assert post(base_url, {"feedback": [item]}).status_code == 200
    [entry] = stored_feedback(store)
    assert (entry.override_system, entry.override_code, entry.override_display, entry.override_comment) == (
        CODING["system"], CODING["code"], CODING["display"], "seen")
    assert entry.outcome_timestamp == datetime(2026, 11, 20, 11, 5, tzinfo=timezone.utc)


@SQLITE_ONLY
@pytest.mark.parametrize("system", [OVERRIDE_REASON_SYSTEM,
                                    "http://127.0.0.1:18101/fhir/CodeSystem/coverage-override-reason",
                                    "https://cds.example.org/cds/fhir/CodeSystem/coverage-override-reason"])
def test_our_override_reasons_are_stored_under_the_fixed_system(live_app: tuple[str, AuditStore], system: str) -> None:
    """Cards issued before the system was fixed named one built from the public base URL: feedback on them is taken,
    and stored under the fixed system, so that a code reads the same in every environment's trail."""
    base_url, store = live_app
    issue_card(store)
    reason = {"system": system, "code": "plan-exception-requested"}
    assert post(base_url, {"feedback": [{"card": "card-1", "outcome": "overridden",
                                         "overrideReason": {"reason": reason}}]}).status_code == 200
    [entry] = stored_feedback(store)
    assert (entry.override_system, entry.override_code) == (OVERRIDE_REASON_SYSTEM, "plan-exception-requested")


@pytest.mark.parametrize("item, expected", [
    ({"overrideReason": CODING}, ("patient-preference", "Patient preference", None)),
    ({"overrideReason": {"reason": {"code": "other"}}}, ("other", None, None)),
    ({"overrideReason": {"display": "Clinical judgement"}}, (None, "Clinical judgement", None)),
    ({"overrideReason": {"userComment": "discussed with pharmacy"}}, (None, None, "discussed with pharmacy")),
], ids=["bare-coding", "reason-code-only", "bare-display", "comment-only"])
def test_lenient_override_reason_shapes(live_app: tuple[str, AuditStore], item: dict[str, Any],
                                        expected: tuple[str | None, ...]) -> None:
    base_url, store = live_app
    issue_card(store)
    assert post(base_url, {"feedback": [{"card": "card-1", "outcome": "overridden", **item}]}).status_code == 200
    [entry] = stored_feedback(store)
    assert (entry.override_code, entry.override_display, entry.override_comment) == expected


def test_suggestions_as_plain_uuids_and_no_timestamp_are_accepted(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    issue_card(store)
    body = {"feedback": [{"card": "card-1", "outcome": "accepted", "acceptedSuggestions": ["sug-1"]}]}
    assert post(base_url, body).status_code == 200
    [entry] = stored_feedback(store)
    assert entry.accepted_suggestions == ["sug-1"] and entry.outcome_timestamp is None


@SQLITE_ONLY
def test_unknown_ids_are_logged_quoted_and_bounded(live_app: tuple[str, AuditStore],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    base_url, _ = live_app
    forged = "x\n2026-11-21 ERROR cds_service.audit: forged"
    many = [f"{n:03d}" + "y" * 190 for n in range(20)]
    body = {"feedback": [{"card": forged, "outcome": "accepted", "acceptedSuggestions": many}]}
    with caplog.at_level("WARNING", logger="cds_service.feedback"):
        assert post(base_url, body).status_code == 200
    [line] = [r.getMessage() for r in caplog.records if "not issued (so far)" in r.getMessage()]
    assert "\n" not in line and '"x\\n2026-11-21 ERROR' in line
    assert "(+10 more)" in line and len(line) < 1200  # ten ids of 80 characters, not twenty of 193
    too_long = {"feedback": [{"card": "c", "outcome": "accepted", "acceptedSuggestions": ["y" * 201]}]}
    assert post(base_url, too_long).status_code == 400


def test_feedback_on_an_unknown_card_is_stored_and_named_in_the_answer(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    issue_card(store)
    body = {"feedback": [{"card": "card-1", "outcome": "accepted"}, {"card": "never-issued", "outcome": "accepted"}]}
    response = post(base_url, body)
    assert response.status_code == 200
    assert response.json() == {"stored": 2, "unknownCards": ["never-issued"], "unknownSuggestions": []}
    with store.engine.connect() as connection:
        assert sorted(connection.execute(select(Feedback.card_uuid)).scalars()) == ["card-1", "never-issued"]
    assert [entry.card_uuid for entry in stored_feedback(store)] == ["card-1"]


def test_an_accepted_suggestion_never_issued_is_reported(live_app: tuple[str, AuditStore]) -> None:
    """An EHR sending back ids it did not get from us has an integration bug: the answer and the log say so."""
    base_url, store = live_app
    issue_card(store)
    body = {"feedback": [{"card": "card-1", "outcome": "accepted",
                          "acceptedSuggestions": [{"id": "sug-1"}, {"id": "not-a-suggestion"}, {"id": "card-1"}]}]}
    assert post(base_url, body).json()["unknownSuggestions"] == ["card-1", "not-a-suggestion"]


def test_a_suggestion_of_another_card_is_reported_and_read_as_not_issued_with_it(
        live_app: tuple[str, AuditStore]) -> None:
    """The quantity card's suggestion, accepted on the decision card: not what the clinician accepted there. Stored
    as received, it is told apart when the trail is read."""
    base_url, store = live_app
    body = json.loads((EXAMPLE.parent / "aspirus-quantity-over-limit.json").read_text())
    cards = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, timeout=30).json()["cards"]
    decision, quantity = (next(c for c in cards if c["source"]["topic"]["code"] == topic)
                          for topic in ("coverage-info", "limits"))
    [suggestion] = [s["uuid"] for s in quantity["suggestions"]]
    on_decision = {"card": decision["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}]}
    assert post(base_url, {"feedback": [on_decision]}).json() == {
        "stored": 1, "unknownCards": [], "unknownSuggestions": [suggestion]}
    on_quantity = {**on_decision, "card": quantity["uuid"]}
    assert post(base_url, {"feedback": [on_quantity]}).json()["unknownSuggestions"] == []
    store.flush()
    [detail] = store.show(body["hookInstance"])
    assert {(f.card_uuid, tuple(f.accepted_suggestions), tuple(f.unknown_suggestions)) for f in detail.feedback} == {
        (decision["uuid"], (suggestion,), (suggestion,)), (quantity["uuid"], (suggestion,), ())}


def test_a_suggestion_recorded_without_its_card_is_checked_only_as_issued(live_app: tuple[str, AuditStore]) -> None:
    """Suggestions recorded before migration 0005 have no card: accepted on any card, they are kept as before."""
    base_url, store = live_app
    store.record_invocation(local_call(outcome(card_uuids=["card-1"], suggestion_uuids=["sug-1"])))
    store.flush()
    body = {"feedback": [{"card": "card-1", "outcome": "accepted", "acceptedSuggestions": ["sug-1"]}]}
    assert post(base_url, body).json()["unknownSuggestions"] == []
    [entry] = stored_feedback(store)
    assert entry.accepted_suggestions == ["sug-1"]


def test_an_empty_suggestion_list_on_an_overridden_card_is_accepted(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    issue_card(store)
    body = {"feedback": [{"card": "card-1", "outcome": "overridden", "acceptedSuggestions": []}]}
    assert post(base_url, body).status_code == 200
    assert count_feedback(store) == 1


def test_a_suggestion_uuid_is_not_a_card(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    issue_card(store)
    assert post(base_url, {"feedback": [{"card": "sug-1", "outcome": "accepted"}]}).json()["unknownCards"] == ["sug-1"]


def test_feedback_on_a_card_whose_record_is_still_queued_is_known(live_app: tuple[str, AuditStore],
                                                                  database_url: str) -> None:
    base_url, store = live_app
    answers: list[requests.Response] = []
    body = {"feedback": [{"card": "queued-card", "outcome": "accepted"}]}
    with writes_blocked(database_url):  # the invocation cannot be written: it stays queued
        store.record_invocation(local_call(outcome(card_uuids=["queued-card"])))
        # On SQLite the feedback insert itself waits for the lock too, so it is posted from another thread.
        poster = threading.Thread(target=lambda: answers.append(post(base_url, body)))
        poster.start()
        poster.join(0.5)
    poster.join(30)
    assert answers[0].status_code == 200
    assert answers[0].json()["unknownCards"] == []


def test_feedback_answered_by_another_worker_before_the_call_is_written_keeps_the_accepted_change(
        live_app: tuple[str, AuditStore], database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Two workers: one answers the hook call, whose record waits in its writer's queue (written every 0.1 s, later
    while the database is slow); the other takes the feedback accepting the dose correction at once. The feedback was
    stored with card_known false and no accepted suggestion, for good: the accepted change was lost."""
    base_url, store = live_app
    body = json.loads((EXAMPLE.parent / "aspirus-relapsed-refractory-single-line-dose-too-high.json").read_text())
    body["hookInstance"] = "race-1"
    answers: list[requests.Response] = []
    with running_app(database_url) as (other_worker, _):
        with writes_blocked(database_url):  # the hook call's record cannot be written yet: it stays queued
            cards = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, timeout=30).json()
            [(card, suggestion)] = [(c, s) for c in cards["cards"] for s in c.get("suggestions", ())]
            item = {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion["uuid"]}]}
            # On SQLite the feedback insert waits for the lock too, so it is posted from another thread.
            poster = threading.Thread(target=lambda: answers.append(post(other_worker, {"feedback": [item]})))
            poster.start()
            poster.join(0.5)
        poster.join(30)
    # The other worker could not know the card yet, and says so; what it stored is what was sent.
    assert answers[0].json() == {"stored": 1, "unknownCards": [card["uuid"]],
                                 "unknownSuggestions": [suggestion["uuid"]]}
    store.flush()
    [detail] = store.show("race-1")
    [entry] = detail.feedback
    assert (entry.card_uuid, entry.accepted_suggestions, entry.unknown_suggestions) == (
        card["uuid"], [suggestion["uuid"]], [])
    assert main(["audit", "show", "race-1", "--database-url", database_url]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"  card {card['uuid']}")]
    assert f"accepted; suggestions {suggestion['uuid']} ({suggestion['label']})" in line


def test_show_tells_a_suggestion_never_issued_with_the_card(live_app: tuple[str, AuditStore], database_url: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    base_url, store = live_app
    issue_card(store)
    body = {"feedback": [{"card": "card-1", "outcome": "accepted", "acceptedSuggestions": ["sug-1", "sug-x"]}]}
    assert post(base_url, body).json()["unknownSuggestions"] == ["sug-x"]
    assert main(["audit", "show", "hi-1", "--database-url", database_url]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  card card-1")]
    assert line.startswith("  card card-1: accepted; suggestions sug-1; suggestions not issued with this card sug-x; ")


@SQLITE_ONLY
@pytest.mark.parametrize("body, expression", [
    ({}, "feedback"),
    ({"feedback": "accepted"}, "feedback"),
    ({"feedback": [{"outcome": "accepted"}]}, "feedback[0].card"),
    ({"feedback": [{"card": "", "outcome": "accepted"}]}, "feedback[0].card"),
    ({"feedback": [{"card": "c" * 201, "outcome": "accepted"}]}, "feedback[0].card"),
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {"reason": {"code": "r" * 201}}}]},
     "feedback[0].overrideReason.reason.code"),
    ({"feedback": [{"card": "c", "outcome": "maybe"}]}, "feedback[0].outcome"),
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": 5}]}, "feedback[0].overrideReason"),
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {}}]}, "feedback[0].overrideReason"),
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {"reason": "busy"}}]},
     "feedback[0].overrideReason.reason"),
    ({"feedback": [{"card": "c", "outcome": "accepted", "acceptedSuggestions": [{"uuid": "s"}]}]},
     "feedback[0].acceptedSuggestions[0].id"),
    # CDS Hooks 2.0: accepted suggestions belong to accepted outcomes; stored, an overridden card would have one.
    ({"feedback": [{"card": "c", "outcome": "accepted"},
                   {"card": "c", "outcome": "overridden", "acceptedSuggestions": [{"id": "s"}]}]},
     "feedback[1].acceptedSuggestions"),
    # ... and an override reason to overridden ones: stored, an accepted card would have a reason for overriding it.
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {"reason": CODING}},
                   {"card": "c", "outcome": "accepted", "overrideReason": {"userComment": "fine"}}]},
     "feedback[1].overrideReason"),
    ({"feedback": [{"card": "c", "outcome": "accepted", "overrideReason": CODING}]}, "feedback[0].overrideReason"),
    ({"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]},
     "feedback[0].outcomeTimestamp"),
    ({"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-20T12:05:00\u0000"}]},
     "feedback[0].outcomeTimestamp"),  # CPython's fromisoformat ignores a trailing NUL: it was stored as a time
    ({"feedback": [{"card": "c", "outcome": "accepted"}, "accepted"]}, "feedback[1]"),
    # Free text bounded, and the number of items: one call must not write megabytes to the trail.
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {"userComment": "x" * 10_001}}]},
     "feedback[0].overrideReason.userComment"),
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {"reason": {"display": "d" * 10_001}}}]},
     "feedback[0].overrideReason.reason.display"),
    ({"feedback": [{"card": f"c{i}", "outcome": "accepted"} for i in range(101)]}, "feedback"),
    ({"feedback": [0] * 1_000_000}, "feedback"),  # its items not read: a 500 after 30 s when each was worded
    ({"feedback": [{"card": "c", "outcome": "accepted", "acceptedSuggestions": ["s"] * 101}]},
     "feedback[0].acceptedSuggestions"),
    # Valid ISO 8601, but outside years 1 to 9999 once in UTC: were a 500.
    ({"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "9999-12-31T23:59:59-14:00"}]},
     "feedback[0].outcomeTimestamp"),
    ({"feedback": [{"card": "c", "outcome": "accepted"},
                   {"card": "c", "outcome": "accepted", "outcomeTimestamp": "0001-01-01T00:00:00+14:00"}]},
     "feedback[1].outcomeTimestamp"),
])
def test_garbage_is_a_400_naming_the_field(live_app: tuple[str, AuditStore], body: Any, expression: str) -> None:
    base_url, store = live_app
    response = post(base_url, body)
    assert response.status_code == 400, response.text
    outcome_body = response.json()
    assert outcome_body["resourceType"] == "OperationOutcome"
    assert outcome_body["issue"][0]["expression"] == [expression]
    assert count_feedback(store) == 0


@SQLITE_ONLY
@pytest.mark.parametrize("timestamp", ["x" * 2_000_000, "9999-12-31T23:59:59-14:00" + " " * 2_000_000])
def test_a_400_quotes_a_bad_timestamp_cut(live_app: tuple[str, AuditStore], timestamp: str) -> None:
    """A 2 MB outcomeTimestamp came back whole in the diagnostics, as other 400s' values do not."""
    base_url, _ = live_app
    response = post(base_url, {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": timestamp}]})
    assert response.status_code == 400
    [issue] = response.json()["issue"]
    assert issue["expression"] == ["feedback[0].outcomeTimestamp"]
    assert issue["diagnostics"].startswith(f"feedback[0].outcomeTimestamp: {json.dumps(timestamp[:40])}"[:-1])
    assert len(response.content) < 1_000


@SQLITE_ONLY
@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_a_400(live_app: tuple[str, AuditStore], data: bytes) -> None:
    base_url, _ = live_app
    response = post(base_url, None, data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


@SQLITE_ONLY
@pytest.mark.parametrize("headers", [{"Content-Type": "text/plain"}, {}])
def test_a_content_type_that_is_not_json_or_none_is_a_415(live_app: tuple[str, AuditStore],
                                                          headers: dict[str, str]) -> None:
    base_url, store = live_app
    response = post(base_url, None, data=json.dumps({"feedback": [{"card": "c", "outcome": "accepted"}]}),
                    headers=headers)
    assert response.status_code == 415
    assert response.json()["resourceType"] == "OperationOutcome"
    assert count_feedback(store) == 0


@SQLITE_ONLY
def test_a_body_in_a_content_coding_is_a_415(live_app: tuple[str, AuditStore]) -> None:
    """RFC 9110 §8.4: not a 400 saying the gzip bytes are not JSON."""
    base_url, store = live_app
    data = gzip.compress(json.dumps({"feedback": [{"card": "c", "outcome": "accepted"}]}).encode())
    response = post(base_url, None, data=data, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 415 and response.headers["Accept-Encoding"] == "identity"
    assert response.json()["issue"][0]["diagnostics"].startswith('Content-Encoding "gzip" is not supported')
    assert count_feedback(store) == 0


@SQLITE_ONLY
def test_an_unknown_service_id_is_a_404(live_app: tuple[str, AuditStore]) -> None:
    base_url, store = live_app
    response = post(base_url, {"feedback": [{"card": "c", "outcome": "accepted"}]}, path="/cds-services/other/feedback")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    assert count_feedback(store) == 0


@SQLITE_ONLY
def test_refused_feedback_calls_are_audited_without_their_content(live_app: tuple[str, AuditStore]) -> None:
    """service-contract.md §Audit trail: every feedback is recorded. A refused one was recorded nowhere, so a client
    whose feedback kept failing was invisible: it is listed with the rejected calls, the field at fault its reason."""
    base_url, store = live_app
    comment = "SENTINEL-COMMENT-5d1e"
    bad_outcome = {"feedback": [{"card": "c", "outcome": "dismissed", "overrideReason": {"userComment": comment}}]}
    assert post(base_url, bad_outcome).status_code == 400
    assert post(base_url, None, data=json.dumps(bad_outcome), headers={"Content-Type": "text/plain"}).status_code == 415
    assert post(base_url, bad_outcome, path="/cds-services/other/feedback").status_code == 404
    store.flush()
    rows = list(reversed(store.rejected()))
    assert [(row.hook, row.status, row.hook_instance, row.patient_id) for row in rows] == [
        ("feedback", 400, "", None), ("feedback", 415, "", None), ("feedback", 404, "", None)]
    assert rows[0].reason == "invalid at feedback[0].outcome"
    assert rows[1].reason.startswith('Content-Type "text/plain" is not JSON')
    assert not [place for place in stored_values(store) if comment in place[1]]
    assert store.recent() == []  # no decision, and nothing stored as feedback
    assert count_feedback(store) == 0


OWNER = (CLIENT, "site-a")  # the client and tenant whose call issued the card
STRANGERS = [(CLIENT, "site-b"), (CLIENT, None), ("https://other.example", "site-a"), (None, None)]


@pytest.mark.parametrize("queued", [False, True], ids=["written", "still-queued"])
def test_a_card_is_known_only_to_the_client_and_tenant_it_was_issued_to(store: AuditStore, database_url: str,
                                                                       queued: bool) -> None:
    """Any configured client (or, with require_jwt false, anyone) could name another EHR's card uuid: its override
    and comment were listed with that EHR's decision, and the answer told the card existed."""
    issued = outcome(card_uuids=["card-1"], suggestion_uuids=["sug-1"], suggestion_cards={"sug-1": "card-1"})
    call = replace(invocation("hi-1", "p1", issued), tenant="site-a")
    if queued:
        with writes_blocked(database_url):
            store.record_invocation(call)
            known = [store._queries._issued_cards({"card-1"}, sender) for sender in [OWNER, *STRANGERS]]
        assert known == [{"card-1"}] + [set()] * len(STRANGERS)
        return
    store.record_invocation(call)
    store.flush()
    for client_iss, tenant in [OWNER, *STRANGERS]:
        entry = FeedbackEntry("card-1", "accepted", ["sug-1"], override_comment=f"from {client_iss} {tenant}")
        receipt = store.record_feedback("blinatumomab-coverage", [entry], client_iss, tenant)
        owned = (client_iss, tenant) == OWNER
        assert (receipt.unknown_cards, receipt.unknown_suggestions) == (([], []) if owned else (["card-1"], ["sug-1"]))
    [detail] = store.show("hi-1")
    assert [(entry.client_iss, entry.tenant) for entry in detail.feedback] == [OWNER]
    assert count_feedback(store) == 1 + len(STRANGERS)  # stored as received all the same, apart from the card's call



def call_with_max_cards(base_url: str, max_cards: int) -> dict[str, Any]:
    """The dose-too-high example (a decision card, then a dose card with a suggestion) called with max-cards."""
    body = json.loads((EXAMPLE.parent / "aspirus-relapsed-refractory-single-line-dose-too-high.json").read_text())
    body["hookInstance"] = f"max-cards-{max_cards}"
    body["extension"] = {"davinci-crd.configuration": {"max-cards": max_cards}}
    response = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("max_cards, kept", [(0, []), (1, ["coverage-info"])])
def test_cards_cut_by_max_cards_are_not_recorded_as_issued(live_app: tuple[str, AuditStore], max_cards: int,
                                                           kept: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the cards sent are issued: feedback naming a cut card (an EHR cannot have received it) is flagged."""
    base_url, store = live_app
    evaluated: list[dict[str, Any]] = []  # every card evaluated, before max-cards cuts: the cut ones' uuids
    limit = CardConfig.limit

    def recording_limit(config: CardConfig, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        evaluated.extend(cards)
        return limit(config, cards)

    monkeypatch.setattr(CardConfig, "limit", recording_limit)
    sent = call_with_max_cards(base_url, max_cards)["cards"]
    assert [c["source"]["topic"]["code"] for c in sent] == kept
    store.flush()
    [recorded] = store.show(f"max-cards-{max_cards}")[0].record.outcomes
    assert recorded.card_uuids == [c["uuid"] for c in sent]
    assert recorded.card_topics == {c["uuid"]: c["source"]["topic"]["code"] for c in sent}
    assert recorded.suggestion_uuids == []
    [cut] = [c for c in evaluated if c["source"]["topic"]["code"] == "off-guideline"]
    [suggestion] = [s["uuid"] for s in cut["suggestions"]]
    body = {"feedback": [{"card": cut["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}]},
                         *({"card": c["uuid"], "outcome": "overridden"} for c in sent)]}
    answer = post(base_url, body).json()
    assert (answer["unknownCards"], answer["unknownSuggestions"]) == ([cut["uuid"]], [suggestion])
