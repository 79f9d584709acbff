"""Errors any step may raise; the protocol layer turns them into HTTP answers with an OperationOutcome."""
from __future__ import annotations

from typing import Iterable

from cds_service.printable import quoted_id


class ClientError(Exception):
    """Something the client sent is wrong: answered with `status` and an OperationOutcome naming `expression`."""

    def __init__(self, status: int, message: str, expression: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.expression = expression
        self.code = code

    @property
    def summary(self) -> str:
        """What was wrong, for the log and the audit trail: the field when one is named (schema messages quote the
        client's values, which may be clinical), else the message, which then is the service's own words."""
        return f"{self.code} at {self.expression}" if self.expression else self.message


class UnknownService(ClientError):
    """A service id this service does not declare (404): the hook call's path and the feedback path alike."""

    def __init__(self, service_id: str) -> None:
        super().__init__(404, f"No CDS service with id {quoted_id(service_id)}", code="not-found")


class PatientUnavailable(ClientError):
    """No Patient could be obtained from prefetch or the FHIR server (412). `prefetched` says what was wrong with
    prefetch 'patient' ("missing", "not a Patient", ...) and `why` why the Patient could not be fetched instead, in the
    service's words (never a URL, a token or the client's values), for the EHR, the log and the audit trail."""

    def __init__(self, why: str, prefetched: str = "missing") -> None:
        super().__init__(412, f"No patient data obtainable: prefetch 'patient' {prefetched} and {why}",
                         "prefetch.patient", code="not-found")
        self.why = why

    @property
    def summary(self) -> str:
        return f"{super().summary}: {self.why}"


def path_expression(parts: Iterable[str | int]) -> str:
    """A path into the request's JSON as an OperationOutcome `expression` (FHIRPath): members joined by dots, list
    positions in brackets (`context.draftOrders.entry[0].resource.dosageInstruction[0].timing`)."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts).lstrip(".")
