"""The request's draft orders: its MedicationRequests by position, its resources by reference, which orders get an
answer, and the blinatumomab group (fhir-data-profile.md §The order: the orders of one `draftOrders` Bundle are one
cycle, unless the cycle rule separates them: facts/course.signed_cycles)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Container

from cds_service.facts.order import (BLINATUMOMAB, concepts_in, is_blinatumomab, medication_concepts, medication_of,
                                     medication_reference, order_ref, unidentified)
from cds_service.facts.resolve import record_resolver
from cds_service.hook_request import ORDER_SELECT, HookRequest
from cds_service.record import PatientRecord


@dataclass(frozen=True)
class Group:
    """The blinatumomab draft orders of the request: all of them form the cycle; `targets` get answers."""

    orders: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    others: list[dict[str, Any]]  # the other draft MedicationRequests: a TKI signed with it is a combination
    unidentified: list[dict[str, Any]]  # answered orders whose drug is unknown (order.unidentified): a note each
    members: frozenset[int] = field(init=False)  # id() of each of `orders` (the request's own objects): no scan

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(id(order) for order in self.orders))


def medication_requests(request: HookRequest) -> list[tuple[int, dict[str, Any]]]:
    """The draft MedicationRequests with their positions in draftOrders.entry, which a 400 names."""
    entries = request.draft_orders.get("entry") or []
    resources = ((i, e.get("resource")) for i, e in enumerate(entries) if isinstance(e, dict))
    return [(i, r) for i, r in resources if isinstance(r, dict) and r.get("resourceType") == "MedicationRequest"]


def draft_resources(request: HookRequest) -> dict[str, dict[str, Any]]:
    """The draftOrders resources by "Type/id" and fullUrl: a reference may point to a Medication signed with the
    order."""
    drafts: dict[str, dict[str, Any]] = {}
    for entry in request.draft_orders.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        if isinstance(resource.get("resourceType"), str) and isinstance(resource.get("id"), str):
            drafts[f"{resource['resourceType']}/{resource['id']}"] = resource
        if isinstance(entry.get("fullUrl"), str):
            drafts[entry["fullUrl"]] = resource
    return drafts


def with_draft_resources(drafts: dict[str, dict[str, Any]], record: PatientRecord) -> PatientRecord:
    """References are looked up in draftOrders before the server."""
    if not drafts:
        return record
    server = record.resolve
    # Built directly rather than by dataclasses.replace, which reads the fields one by one (once a request).
    return PatientRecord(record.patient, record.lists, lambda reference: drafts.get(reference) or server(reference))


def order_medications(orders: list[dict[str, Any]], known: Container[int], record: PatientRecord,
                      drafts: dict[str, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """id() of each order that references a Medication -> that Medication, whose strength reads a dose in mL/h
    (dosing/reading.py): contained, signed with the order (draftOrders) or in the prefetch. An order known without its
    Medication (`known`: by its own code or its reference's display) gets none read from the FHIR server for this;
    for one known by its Medication, it is the one read to know it (read once: the server's reads are kept)."""
    found: dict[int, dict[str, Any]] = {}
    in_request = record_resolver(PatientRecord(record.patient, record.lists, drafts.get))
    everywhere = record_resolver(record)
    for order in orders:
        if medication_reference(order) is None:
            continue
        medication = medication_of(order, in_request if id(order) in known else everywhere)
        if medication is not None:
            found[id(order)] = medication
    return found


def record_medications(orders: list[dict[str, Any]], record: PatientRecord) -> dict[int, dict[str, Any]]:
    """As `order_medications`, for orders of the record (active orders running beside the drafts): each one's
    Medication, contained, in the prefetch, or the one read from the FHIR server to know the order as blinatumomab
    (dosing/duplicates.running_orders reads it: read once, the server's reads are kept). Known by its reference's
    display, an active bag in mL/h had been left unread with its Medication read, and the dose asked for."""
    return order_medications(orders, (), record, {}) if orders else {}


def may_be_blinatumomab(order: dict[str, Any], drafts: dict[str, dict[str, Any]]) -> bool:
    """Blinatumomab by its own code or a Medication in the request (contained or in draftOrders), or pointing at a
    Medication only the EHR's server holds. Other orders are not validated (service-contract.md §Response): any
    member may have any shape, and the patient's record is neither needed nor fetched for them."""
    if is_blinatumomab(order, drafts.get):
        return True
    return medication_reference(order) is not None and medication_of(order, drafts.get) is None


def answered(request: HookRequest, order: dict[str, Any]) -> bool:
    """Whether the order gets an answer that names it: every one on order-sign, the selected ones on order-select."""
    return request.hook != "order-select" or order_ref(order) in request.selections


def group_orders(request: HookRequest, candidates: list[tuple[int, dict[str, Any]]], record: PatientRecord,
                 known: Container[int]) -> Group:
    """The blinatumomab orders among `candidates` (the request's MedicationRequests), known by their Medication's
    code wherever it is. `known`: the id() of those already known to be (is_blinatumomab without a Resolver), which
    no Medication read now can make otherwise: their concepts are not read again."""
    # The Medication may have come with the history (_include), as it does for the prior orders (resolve.py).
    resolve = record_resolver(record)
    orders, unknown = [], []
    for _, order in candidates:
        if id(order) in known:
            orders.append(order)
            continue
        concepts = medication_concepts(order, resolve)
        if concepts_in(BLINATUMOMAB, concepts):
            orders.append(order)
        elif unidentified(order, concepts):
            unknown.append(order)
    members = {id(order) for order in orders}
    others = [order for _, order in candidates if id(order) not in members]
    if request.hook != ORDER_SELECT:
        return Group(orders, orders, others, unknown)
    selected = set(request.selections)
    return Group(orders, [o for o in orders if order_ref(o) in selected], others,
                 [o for o in unknown if order_ref(o) in selected])
