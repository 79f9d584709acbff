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
