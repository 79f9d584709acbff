"""A JWT a client sent as a call's hookInstance (or X-Request-ID) is never stored (docs/audit.md §What is recorded):
the log line showed `<token>`, but the audit trail kept the token as sent. It keeps `<token sha256:...>` instead
(audit_rows.masked_id), which `cds-service audit show` finds from the original value; rows stored before are masked by
migration 0014."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests
from alembic import command
from sqlalchemy import text

from cds_service.audit import AuditStore
from cds_service.audit_rows import masked_id
from cds_service.cli import main
from cds_service.db import create_db_engine
from cds_service.db_schema import alembic_config, migrate
from tests.test_audit import (EXAMPLE, invocation, live_app, store, stored_values,  # noqa: F401  (fixtures)
                              writes_blocked)
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_security_tokens import JWT

SERVICE = "/cds-services/blinatumomab-coverage"
LONG_JWT = JWT + "." + "x" * 300  # longer than a hookInstance may be (200): refused, and recorded cut
OTHER_JWT = "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.b3RoZXI"  # short enough for a request id (128)


def marker(value: str) -> str:
    return f"<token sha256:{hashlib.sha256(value.encode()).hexdigest()}>"


def hook_call(base_url: str, hook_instance: str, **headers: str) -> requests.Response:
    body: dict[str, Any] = json.loads(EXAMPLE.read_text())
    body["hookInstance"] = hook_instance
    return requests.post(base_url + SERVICE, json=body, headers=headers, timeout=30)


def no_token_stored(store: AuditStore) -> bool:  # noqa: F811
    return not [place for place in stored_values(store) if "eyJ" in place[1]]


def test_an_id_holding_a_jwt_is_masked_and_any_other_kept() -> None:
    assert masked_id(JWT) == marker(JWT)
    assert masked_id(f"hi-{JWT}-1") == marker(f"hi-{JWT}-1")  # the whole id: what the EHR logged, hashed
    assert masked_id(JWT + "x") != masked_id(JWT)
    for plain in ("d1f4e2a0-1c6b-4a8e-9d1f-6b3c2e7a9f10", "eyJ-no-dot", marker(JWT), ""):
        assert masked_id(plain) == plain


# A JWT accepted as a hookInstance; one longer than a hookInstance may be (200), refused and recorded cut, its marker
# that of the first 200 characters, found by the whole value all the same.
@pytest.mark.parametrize(("sent", "status", "kept"), [(JWT, 200, JWT), (LONG_JWT, 400, LONG_JWT[:200])])
def test_a_jwt_sent_as_the_hook_instance_is_stored_as_its_marker_and_found_by_it(
        live_app: tuple[str, AuditStore], sent: str, status: int, kept: str) -> None:  # noqa: F811
    base_url, store = live_app
    assert hook_call(base_url, sent).status_code == status
    assert store.flush(10)
    assert no_token_stored(store)
    [found] = store.show(sent)
    assert (found.record.hook_instance, found.record.status) == (marker(kept), status)
    assert [detail.record.hook_instance for detail in store.show(marker(kept))] == [marker(kept)]
    assert store.show("x" + sent) == []  # another id


def test_a_jwt_sent_as_the_request_id_is_stored_as_its_marker(live_app: tuple[str, AuditStore]) -> None:  # noqa: F811
    base_url, store = live_app
    answer = hook_call(base_url, "hi-plain", **{"X-Request-ID": OTHER_JWT})
    assert answer.headers["X-Request-ID"] == OTHER_JWT  # the client is answered as before
    assert store.flush(10)
    assert no_token_stored(store)
    [found] = store.show(OTHER_JWT)
    assert (found.record.hook_instance, found.record.request_id) == ("hi-plain", marker(OTHER_JWT))


def test_a_queued_record_holds_the_marker_already(store: AuditStore, database_url: str) -> None:  # noqa: F811
    """Prior approvals quote the hookInstance of calls still queued (prior_approval.py): not the token either."""
    with writes_blocked(database_url):
        store.record_invocation(invocation(JWT))
        assert [record.hook_instance for record in store._writer.pending_records()] == [marker(JWT)]
    assert store.flush(20)
    assert [detail.record.hook_instance for detail in store.show(JWT)] == [marker(JWT)]


def test_audit_show_prints_the_marker_for_the_token(live_app: tuple[str, AuditStore], database_url: str,  # noqa: F811
                                                    capsys: Any) -> None:
    base_url, store = live_app
    assert hook_call(base_url, JWT).status_code == 200
    assert store.flush(10)
    assert main(["audit", "--database-url", database_url, "show", JWT]) == 0
    printed = capsys.readouterr().out
    assert f"hookInstance  {marker(JWT)}" in printed and "eyJ" not in printed


def test_migration_0014_masks_the_tokens_stored_before_and_keeps_the_rest(database_url: str) -> None:  # noqa: F811
    engine = create_db_engine(database_url)
    config = alembic_config()
    insert = text("INSERT INTO invocation (time, service_id, hook, hook_instance, patient_id, status, latency_ms, "
                  "request_id) VALUES ('2026-11-01 10:00:00', 'blinatumomab-coverage', 'order-sign', :hook_instance, "
                  "'p1', 200, 1.0, :request_id)")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0013")
        connection.execute(insert, [{"hook_instance": JWT, "request_id": "req-1"},
                                    {"hook_instance": "hi-eyJ-plain", "request_id": OTHER_JWT},
                                    {"hook_instance": "hi-plain", "request_id": None}])
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT hook_instance, request_id FROM invocation ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(marker(JWT), "req-1"), ("hi-eyJ-plain", marker(OTHER_JWT)),
                                            ("hi-plain", None)]
    store = AuditStore(database_url)
    try:
        assert [detail.record.request_id for detail in store.show(JWT)] == ["req-1"]
    finally:
        store.close()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")  # the markers stay: the tokens are gone
        assert connection.execute(text("SELECT hook_instance FROM invocation ORDER BY id")).scalar() == marker(JWT)
    migrate(engine)
    engine.dispose()
