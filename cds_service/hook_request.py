"""The validated CDS Hooks request, as the rest of the service sees it (protocol layer output)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORDER_SIGN = "order-sign"
ORDER_SELECT = "order-select"


@dataclass(frozen=True)
class HookRequest:
    hook: str  # ORDER_SIGN or ORDER_SELECT
    hook_instance: str
    service_id: str
    patient_id: str
    draft_orders: dict[str, Any]  # the context.draftOrders Bundle, raw JSON
    user_id: str | None = None
    encounter_id: str | None = None
    selections: tuple[str, ...] = ()  # order-select only: "MedicationRequest/id" references
    fhir_server: str | None = None
    # Holds the access token: never log it, never store it.
    fhir_authorization: dict[str, Any] | None = field(default=None, repr=False)
    prefetch: dict[str, Any] = field(default_factory=dict, repr=False)
    configuration: dict[str, Any] = field(default_factory=dict)  # davinci-crd.configuration extension
    client_iss: str | None = None  # the verified JWT issuer, when there was one
    tenant: str | None = None  # the verified JWT's tenant, for an EHR serving several sites

    def __init__(self, hook: str, hook_instance: str, service_id: str, patient_id: str, draft_orders: dict[str, Any],
                 user_id: str | None = None, encounter_id: str | None = None, selections: tuple[str, ...] = (),
                 fhir_server: str | None = None, fhir_authorization: dict[str, Any] | None = None,
                 prefetch: dict[str, Any] | None = None, configuration: dict[str, Any] | None = None,
                 client_iss: str | None = None, tenant: str | None = None) -> None:
        # The fields above, set as the frozen dataclass's own __init__ would (tests/test_hook_request.py checks that
        # this signature is its fields', None standing for a default_factory's new dict), without its
        # object.__setattr__ call per field, as facts/model.Fact does: about 10 k instructions fewer than the
        # generated __init__ (callgrind), 0.16 % of a request's.
        self.__dict__.update(
            hook=hook, hook_instance=hook_instance, service_id=service_id, patient_id=patient_id,
            draft_orders=draft_orders, user_id=user_id, encounter_id=encounter_id, selections=selections,
            fhir_server=fhir_server, fhir_authorization=fhir_authorization,
            prefetch={} if prefetch is None else prefetch,
            configuration={} if configuration is None else configuration, client_iss=client_iss, tenant=tenant)
