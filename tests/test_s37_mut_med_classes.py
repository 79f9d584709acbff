"""Mutation guard (session 37) for the memoized classification of an order's concepts (medications._Classes): a
recorded dexamethasone order (premedication, of no kind) names a drug, so it is no order of an unknown drug that may
be an earlier blinatumomab cycle. Read at the facts' level: through the endpoint such an order, without a dosage of
blinatumomab's shape, counts as no earlier cycle either way."""
from __future__ import annotations

from datetime import date

from cds_service.facts.medications import read_med_orders
from tests.factories import medication_request


def test_a_recorded_dexamethasone_order_is_no_order_of_an_unknown_drug() -> None:
    dexamethasone = medication_request(None, text="dexamethasone 20 mg IV (s37 mutation guard)", start="2026-11-20",
                                       end="2026-11-20", status="completed")
    for _ in range(2):  # computed, then read from the memo
        assert read_med_orders([dexamethasone], lambda reference: None, date(2026, 12, 1), recorded=True) == []
