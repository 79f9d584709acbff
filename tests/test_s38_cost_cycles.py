"""Worst-case cost of the cycles signed in one call (service-contract.md: up to 50 orders), counted in the work done,
not timed (bench/ measures speed), through HTTP."""
from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any, Iterator

import pytest

from cds_service.facts import diagnosis, extract
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


class _Walked(tuple):  # type: ignore[type-arg]  # of StatusRecord
    """Status records that count how many of them are walked (`walked`: one list for all)."""

    walked: list[int] = []

    def __iter__(self) -> Iterator[Any]:
        type(self).walked.append(len(self))
        return super().__iter__()


def test_the_relapses_between_cycle_starts_are_not_looked_for_in_every_record(
        client: LiveClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a relapse began a new course was asked of every status record for each cycle start, and each cycle
    signed in a call counts from every start: 50 cycles beside 10,000 Conditions, a second a call on that alone."""
    walked: list[int] = []
    records = diagnosis.Diagnosis.status_records
    monkeypatch.setattr(_Walked, "walked", walked)
    monkeypatch.setattr(diagnosis.Diagnosis, "status_records", lambda self: _Walked(records(self)))
    body = with_cycle_2()
    history = body["prefetch"]["medicationRequests"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    for number in range(20):  # 20 earlier cycles of a week each, four weeks apart, from 2025
        first = date(2025, 1, 1) + timedelta(days=28 * number)
        order = copy.deepcopy(body["context"]["draftOrders"]["entry"][1])
        order["resource"].update(id=f"earlier-{number}", status="completed")
        order["resource"]["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {
            "start": first.isoformat(), "end": (first + timedelta(days=6)).isoformat()}
        history["entry"].append(order)
    conditions = body["prefetch"]["conditions"]["entry"]
    conditions += [copy.deepcopy(conditions[0]) for _ in range(99)]
    for number, entry in enumerate(conditions):
        entry["resource"]["id"], entry["fullUrl"] = f"condition-{number}", f"urn:uuid:condition-{number}"
    answer = post(client, body)
    assert {"blinatumomab-order", "cycle-2-order"} <= set(by_order(answer))  # both cycles answered
    assert sum(walked) < 20 * 100  # the 100 records walked a few times a cycle, not once for each of 22 starts


def test_the_toxicities_are_read_once_for_the_cycles_of_one_course(client: LiveClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each cycle signed in a call walked every Condition for the toxicities since its course's start, the same for
    the cycles of one course: 50 of them beside the 10,000 Conditions a 6 MB body holds took a second."""
    read: list[date] = []  # the course start of each reading
    reading = extract.ToxicityReading
    monkeypatch.setattr(extract, "ToxicityReading", lambda record, start: read.append(start) or reading(record, start))
    answer = post(client, with_cycle_2())
    assert {"blinatumomab-order", "cycle-2-order"} <= set(by_order(answer))  # both cycles answered
    assert read == [date(2026, 12, 1)]  # once, for the course both cycles are of
