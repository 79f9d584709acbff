"""The patient's FHIR data for one hook call, from prefetch or fetched from the EHR's FHIR server.

Each prefetch key is either received (a list of resources, possibly empty) or not received (None): the difference
between "no live vaccine recorded" and "we never saw the immunization list" (policy-rules.md §1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar, cast

# service-contract.md §Prefetch: keys and templates are exact (discovery publishes them; prefetch.py fetches a key
# not answered with its template).
PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "immunizations": "Immunization?patient={{context.patientId}}",
    "attestations": "QuestionnaireResponse?patient={{context.patientId}}",
}
PREFETCH_KEYS = tuple(PREFETCH_TEMPLATES)
# FHIR R4's `id` datatype: what may follow "Type/" in a literal reference.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")

Resolver = Callable[[str], "dict[str, Any] | None"]
_Read = TypeVar("_Read")  # what PatientRecord.once reads of the record


def no_server(reference: str) -> dict[str, Any] | None:
    """The Resolver of a record without a FHIR server: it reads nothing."""
    return None


@dataclass
class PatientRecord:
    patient: dict[str, Any] | None
    # prefetch key -> resources (received) or None (not received). "patient" is kept in `patient`.
    lists: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)
    # Reads "Type/id" (e.g. a Medication or Organization) from the FHIR server; None when it cannot.
    resolve: Resolver = field(default=no_server, repr=False)
    # What is read of the record alike for each order or cycle of a call (`once`: facts.coverage, the Coverages in
    # force at a start; facts.extract, the record checked and read). A call answers up to 50 orders: each reading
    # again the 50,000 Coverages a 10 MB body can hold took 14 s. Not an __init__ argument, so that a record built
    # from another's lists reads them anew.
    memos: dict[tuple[str, Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def once(self, key: tuple[str, Any], read: Callable[[], _Read]) -> _Read:
        """`read()`, read once for this record under `key` (`memos`) however many orders or cycles of a call ask."""
        if key not in self.memos:
            self.memos[key] = read()
        return cast(_Read, self.memos[key])

    def received(self, key: str) -> bool:
        if key == "patient":
            return self.patient is not None
        return self.lists.get(key) is not None

    def resources(self, key: str, resource_type: str | None = None) -> list[dict[str, Any]]:
        """The received resources of a key (empty when not received), optionally of one resourceType."""
        found = self.lists.get(key) or []
        if resource_type is None:
            return found
        return [r for r in found if r.get("resourceType") == resource_type]

    def not_received(self) -> list[str]:
        return [k for k in PREFETCH_KEYS if not self.received(k)]
