"""Three-valued logic shared by facts, dose checks and policy evaluation (policy-rules.md §1)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

Status = Literal["met", "not-met", "unknown"]
MET: Status = "met"
NOT_MET: Status = "not-met"
UNKNOWN: Status = "unknown"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one test: its status, the resources that decided it, and a short note for the card."""

    status: Status
    evidence: tuple[str, ...] = ()
    note: str = ""
    missing: str = ""  # what to document when unknown (short, clinician-facing)
    received: bool = True  # False: unknown because data it needs never arrived (a prefetch key not received)


def all_of(statuses: Iterable[Status]) -> Status:
    """AND: not-met if any is not-met, else unknown if any is unknown, else met."""
    seen = set(statuses)
    if NOT_MET in seen:
        return NOT_MET
    return UNKNOWN if UNKNOWN in seen else MET


def any_of(statuses: Iterable[Status]) -> Status:
    """OR, the dual of AND: met if any is met, else unknown if any is unknown, else not-met."""
    seen = set(statuses)
    if MET in seen:
        return MET
    return UNKNOWN if UNKNOWN in seen else NOT_MET
