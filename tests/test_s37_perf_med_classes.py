"""read_med_orders: whether an order's concepts name a drug at all is memoized with their classification, by their
JSON text (medications._Classes): a history's supportive-care orders, of no kind, are not asked again on every read,
and the answer read from the memo is the one computed."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.facts import medications
from cds_service.facts.medications import read_med_orders
from tests.factories import medication_request

START = date(2026, 3, 1)
ONDANSETRON = "26225"  # supportive care: a drug named, of no kind the rules tell apart


def _none(reference: str) -> None:
    return None


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The concepts names_a_drug is asked about, from now on."""
    asked: list[Any] = []
    real = medications.names_a_drug

    def counting(concepts: Any) -> bool:
        asked.append(concepts)
        return real(concepts)

    monkeypatch.setattr(medications, "names_a_drug", counting)
    return asked


def test_a_supportive_order_read_again_is_not_asked_whether_it_names_a_drug(monkeypatch: pytest.MonkeyPatch) -> None:
    # A text of its own, so that no earlier test's reading is in the memo.
    supportive = medication_request(ONDANSETRON, text="ondansetron 8 mg (s37 memo test)", start="2026-03-01",
                                    end="2026-03-01", status="completed")
    asked = _counted(monkeypatch)
    assert read_med_orders([supportive], _none, START, recorded=True) == []
    assert len(asked) == 1
    assert read_med_orders([supportive, dict(supportive, id="again")], _none, START, recorded=True) == []
    assert len(asked) == 1


def test_an_order_naming_no_drug_stays_unknown_when_read_from_the_memo() -> None:
    nameless = medication_request(None, start="2026-03-01", end="2026-03-07", status="completed")
    for _ in range(2):  # computed, then read from the memo
        [order] = read_med_orders([nameless], _none, START, recorded=True)
        assert order.identified is False and order.kinds == frozenset()
