"""Worst-case cost of the cycles signed in one call (service-contract.md: up to 50 orders), counted in the work done,
not timed (bench/ measures speed), through HTTP."""
from __future__ import annotations

import copy

import pytest

from cds_service.facts import extract
from tests.live_server import LiveClient
from tests.test_cycles_signed_together import by_order, with_cycle_2
from tests.test_pipeline import post


def test_the_record_is_read_once_for_all_the_cycles_signed_in_a_call(client: LiveClient,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each cycle signed in a call (up to 50) had checked and read the whole record again (its Conditions, its
    attestations, its medication history): 50 cycles beside the 20,000 Conditions a 10 MB body holds held a worker
    19 s, beside 10,000 earlier orders 6 s. What is read alike for each cycle is read once a call."""
    diagnoses: list[int] = []  # the Conditions each diagnosis reading was given
    histories: list[int] = []  # the orders each reading of the history was given
    read_diagnosis, read_med_orders = extract.read_diagnosis, extract.read_med_orders
    monkeypatch.setattr(extract, "read_diagnosis", lambda record, *args: diagnoses.append(
        len(record.resources("conditions"))) or read_diagnosis(record, *args))
    monkeypatch.setattr(extract, "read_med_orders", lambda orders, *args, **kwargs: histories.append(
        len(orders)) or read_med_orders(orders, *args, **kwargs))
    body = with_cycle_2()
    third = copy.deepcopy(body["context"]["draftOrders"]["entry"][1])
    third["resource"]["id"] = "cycle-3-order"
    third["resource"]["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2027-02-23",
                                                                                      "end": "2027-03-22"}
    body["context"]["draftOrders"]["entry"].append(third)
    conditions = body["prefetch"]["conditions"]["entry"]
    conditions += [copy.deepcopy(conditions[0]) for _ in range(99)]
    for number, entry in enumerate(conditions):
        entry["resource"]["id"], entry["fullUrl"] = f"condition-{number}", f"urn:uuid:condition-{number}"
    answer = post(client, body)
    assert {"blinatumomab-order", "cycle-2-order", "cycle-3-order"} <= set(by_order(answer))  # three cycles answered
    assert diagnoses == [100]  # the Conditions read once, not once a cycle
    assert len(histories) == 1  # the history read once
