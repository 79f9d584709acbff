"""Reading references (a Medication, the payor Organization): contained, else from the resources already in the
record first.

EHRs often answer a prefetch search with `_include` (`MedicationRequest?...&_include=MedicationRequest:medication`,
`Coverage?...&_include=Coverage:payor`): the referenced resource is then in the Bundle, and reading it from the FHIR
server again is slow or impossible (no server in the request). Only well-formed resources are returned (shape.py).
"""
from __future__ import annotations

from typing import Any

from cds_service.facts.shape import well_formed
from cds_service.record import PatientRecord, Resolver


def reference_key(reference: str) -> str:
    """"Type/id" of a relative or absolute reference, without a version."""
    parts = reference.split("/_history/", 1)[0].rstrip("/").split("/")
    return "/".join(parts[-2:])


def record_resolver(record: PatientRecord) -> Resolver:
    """Looks a reference up among the record's resources, else reads it through `record.resolve`. The lookup table
    is built on the first reference read: most evaluations read none. What it finds is not checked here: every
    reference is read through `referenced`, which returns a well-formed resource or None."""
    index: dict[str, dict[str, Any]] = {}
    # Its lists and resolver, not the record: a record keeps what is read of it in its memos (extract._read_once),
    # and a cycle back to it would leave each request's record to the garbage collector.
    lists, read = record.lists, record.resolve

    def resolve(reference: str) -> dict[str, Any] | None:
        if not index:
            index.update(_by_reference(lists))
        found = index.get(reference_key(reference))
        return read(reference) if found is None else found

    return resolve


def referenced(holder: dict[str, Any], reference: str, kind: str, resolve: Resolver) -> dict[str, Any] | None:
    """The `kind` resource that `reference`, read in `holder`, points to: contained in `holder` ("#id"), else read
    through `resolve`; None unless well-formed."""
    if reference.startswith("#"):
        contained = holder.get("contained")
        found = next((c for c in (contained if isinstance(contained, list) else ())
                      if isinstance(c, dict) and c.get("resourceType") == kind and c.get("id") == reference[1:]), None)
    else:
        found = resolve(reference)
    return found if well_formed(found) else None


def _by_reference(lists: dict[str, list[dict[str, Any]] | None]) -> dict[str, dict[str, Any]]:
    """The record's resources (its `lists`) by "Type/id" (the first of each)."""
    index: dict[str, dict[str, Any]] = {}
    for found in lists.values():
        for resource in found or ():
            kind, identifier = resource.get("resourceType"), resource.get("id")
            if isinstance(kind, str) and isinstance(identifier, str):
                index.setdefault(f"{kind}/{identifier}", resource)
    return index
