"""The feedback listing says which change a clinician accepted: "accepted" on a dose card told a pharmacist nothing of
the dose accepted, which only `show` and the export said."""
from __future__ import annotations

import json
from typing import Any

import pytest

from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry
from cds_service.cli import main
from tests.test_audit import CLIENT, invocation, outcome, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_s36_audit_listing import table_cells

SERVICE = "blinatumomab-coverage"
DOSE_CHANGE = "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28"
OTHER_DOSE = "Change dose to 28 mcg/day on days 1–28"


@pytest.fixture
def url(store: AuditStore) -> str:  # noqa: F811
    """A call whose approval came with a dose card and a quantity-limit card, each offering one change (the quantity
    suggestion recorded before migration 0006: no label), and the feedback on them."""
    decided = outcome("mr-1", card_uuids=["card-decision", "card-dose", "card-quantity"],
                      card_topics={"card-decision": "coverage-info", "card-dose": "off-guideline",
                                   "card-quantity": "limits"},
                      card_kinds={"card-decision": "decision", "card-dose": "dose", "card-quantity": "quantity-limit"},
                      suggestion_uuids=["sug-dose", "sug-quantity"],
                      suggestion_cards={"sug-dose": "card-dose", "sug-quantity": "card-quantity"},
                      suggestion_labels={"sug-dose": DOSE_CHANGE})
    store.record_invocation(invocation("hi-1", "p1", decided))
    # Another patient's dose card: its outcome's suggestions, read in a batch of their own, stay its own.
    other = outcome("mr-2", card_uuids=["card-dose-2"], suggestion_uuids=["sug-dose-2"],
                    suggestion_cards={"sug-dose-2": "card-dose-2"}, suggestion_labels={"sug-dose-2": OTHER_DOSE})
    store.record_invocation(invocation("hi-2", "p2", other))
    store.flush()
    store.record_feedback(SERVICE, [
        FeedbackEntry("card-dose", "accepted", ["sug-dose"]),
        FeedbackEntry("card-decision", "overridden", override_code="patient-specific",
                      override_display="Patient-specific clinical judgment"),
        FeedbackEntry("card-quantity", "accepted", ["sug-quantity", "never-issued"]),
        FeedbackEntry("card-decision", "accepted", ["sug-dose"]),  # the dose card's change, sent on another card
        FeedbackEntry("card-dose-2", "accepted", ["sug-dose-2"]),
    ], CLIENT)
    # Another client names the dose card: never issued to it, so neither is its suggestion.
    store.record_feedback(SERVICE, [FeedbackEntry("card-dose", "accepted", ["sug-dose"])], "https://other.example")
    return store.engine.url.render_as_string(hide_password=False)


def test_the_feedback_table_names_the_change_accepted(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url, "--feedback"]) == 0
    rows = table_cells(capsys.readouterr().out)
    assert sorted((row["client"], row["card"], row["outcome"], row["accepted"]) for row in rows) == [
        (CLIENT, "card-decision", "accepted", "1 suggestion not issued with this card"),
        (CLIENT, "card-decision", "overridden", "-"),
        (CLIENT, "card-dose", "accepted", DOSE_CHANGE),
        (CLIENT, "card-dose-2", "accepted", OTHER_DOSE),
        # recorded without its label: its uuid, for `show`
        (CLIENT, "card-quantity", "accepted", "sug-quantity; 1 suggestion not issued with this card"),
        ("https://other.example", "card-dose", "accepted", "1 suggestion not issued with this card"),
    ]


@pytest.mark.parametrize("per_query", [500, 1], ids=["one-query", "a-query-per-outcome"])
def test_the_json_lines_carry_the_label_of_each_suggestion_accepted(
        url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, per_query: int) -> None:
    monkeypatch.setattr("cds_service.audit_queries._OUTCOMES_PER_QUERY", per_query)
    assert main(["audit", "--database-url", url, "--feedback", "--format", "jsonl"]) == 0
    items: list[dict[str, Any]] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((item["client_iss"], item["card_uuid"], item["outcome"], json.dumps(item["accepted_labels"]))
                  for item in items) == [
        (CLIENT, "card-decision", "accepted", "{}"),
        (CLIENT, "card-decision", "overridden", "{}"),
        (CLIENT, "card-dose", "accepted", json.dumps({"sug-dose": DOSE_CHANGE})),
        (CLIENT, "card-dose-2", "accepted", json.dumps({"sug-dose-2": OTHER_DOSE})),
        (CLIENT, "card-quantity", "accepted", json.dumps({"sug-quantity": None})),
        ("https://other.example", "card-dose", "accepted", "{}"),
    ]
