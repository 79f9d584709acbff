"""Feedback counts only on the cards of its own client and tenant (audit_queries.AuditQueries.record_feedback), over
HTTP with signed tokens: another configured client, or another site of the same EHR, naming a card uuid it was never
given had its override and comment listed with the decision of the EHR that was."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest
from flask import Flask

from tests.conftest import close_app
from tests.live_server import LiveClient, serving
from tests.test_auth import (BASE, EHR, INLINE, RSA_KEY, SERVICE, JwksServer, app_with_auth, auth_config, claims,
                             ec_token, jwks_server)  # noqa: F401  (jwks_server: fixture)
from tests.test_errors import EXAMPLES

FEEDBACK = SERVICE + "/feedback"


@pytest.fixture
def two_sites(tmp_path: Path, jwks_server: JwksServer) -> Iterator[tuple[Flask, LiveClient]]:  # noqa: F811
    config = auth_config(jwks_server.url)
    config["clients"][0]["tenants"] = ["tenant-a", "tenant-b"]
    application = app_with_auth(tmp_path, config)
    with serving(application) as client:
        yield application, client
    close_app(application)


def bearer(iss: str, aud: str, tenant: str | None = None) -> dict[str, str]:
    payload = claims(iss, aud=aud, tenant=tenant)
    token = (ec_token(payload) if iss == EHR else
             jwt.encode(payload, RSA_KEY, algorithm="RS384", headers={"kid": "rsa-1"}))
    return {"Authorization": f"Bearer {token}"}


def overridden(card: str, comment: str) -> dict[str, Any]:
    return {"feedback": [{"card": card, "outcome": "overridden", "overrideReason": {"userComment": comment}}]}


def test_feedback_on_another_clients_or_sites_card_is_unknown_and_not_shown_with_it(
        two_sites: tuple[Flask, LiveClient]) -> None:
    application, client = two_sites
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    body["hookInstance"] = "site-a-call"
    body.pop("fhirServer", None)  # all prefetched: no FHIR server of this client's to read from
    answer = client.post(SERVICE, json=body, headers=bearer(EHR, BASE + SERVICE, "tenant-a"))
    assert answer.status_code == 200
    card = answer.get_json()["cards"][0]["uuid"]
    senders = [(INLINE, None), (EHR, "tenant-b"), (EHR, "tenant-a")]
    receipts = [client.post(FEEDBACK, json=overridden(card, f"by {iss} {tenant}"),
                            headers=bearer(iss, BASE + FEEDBACK, tenant)) for iss, tenant in senders]
    assert [response.status_code for response in receipts] == [200] * 3
    assert [response.get_json()["unknownCards"] for response in receipts] == [[card], [card], []]
    store = application.extensions["cds_service"].store
    store.flush()
    [detail] = store.show("site-a-call")
    assert [(entry.client_iss, entry.tenant, entry.override_comment) for entry in detail.feedback] == [
        (EHR, "tenant-a", f"by {EHR} tenant-a")]
