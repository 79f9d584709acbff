"""PatientRecord from the request's prefetch, fetching what is missing from the EHR's FHIR server."""
from __future__ import annotations

from typing import Callable

from cds_service.hook_request import HookRequest
from cds_service.record import PatientRecord

# service-contract.md §Prefetch: keys and templates are exact (discovery publishes them).
PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "immunizations": "Immunization?patient={{context.patientId}}",
    "attestations": "QuestionnaireResponse?patient={{context.patientId}}",
}


def make_record_loader(
    request: HookRequest, allow_server: Callable[[str], bool], budget_seconds: float
) -> Callable[[], PatientRecord]:
    """A loader building the request's PatientRecord once (cached) when called."""
    raise NotImplementedError
