"""Three-valued logic shared by facts, dose checks and policy evaluation (policy-rules.md §1)."""
from __future__ import annotations

from typing import Iterable, Literal, NamedTuple

Status = Literal["met", "not-met", "unknown"]
MET: Status = "met"
NOT_MET: Status = "not-met"
UNKNOWN: Status = "unknown"


class Verdict(NamedTuple):
    """The outcome of one test: its status, the resources that decided it, and a short note for the card.

    A NamedTuple, as the engine's Outcome and CriterionResult: a frozen dataclass sets each field through
    object.__setattr__, twice the cost of building a tuple, and every dose check returns a new one."""

    status: Status
    evidence: tuple[str, ...] = ()
    note: str = ""
    missing: str = ""  # what to document when unknown (short, clinician-facing)
    received: bool = True  # False: unknown because data it needs never arrived (a prefetch key not received)
    # What failed, in a few words for a card's summary ("dose above label on days 8–28"), when the test can say it
    # more precisely than its criterion's summary in the policy file; "" otherwise.
    finding: str = ""


# A verdict asking for several things at once (a dose check's body size and an earlier order's full date) joins them
# so; the decision lists each apart (`items`): joined, a summary cut the second in mid-item ("the full date of…") and
# the label note, not finding the body size among them, said it again.
ITEMS_JOIN = "; "


def items(missing: str) -> list[str]:
    """The things a verdict's `missing` asks to document, each apart."""
    return missing.split(ITEMS_JOIN) if missing else []


# The rank of each status under AND (not-met over unknown over met) and under OR, its dual (met over unknown over
# not-met): a combination is its highest-ranked status, found by max in C. A policy group (policies/vocabulary.py)
# combines its children's statuses so on every evaluation, with the rank itself: calling all_of there cost a Python
# frame per group, 0.7 % of evaluate_policy's instructions, and no OR is needed elsewhere.
AND_RANK = {MET: 0, UNKNOWN: 1, NOT_MET: 2}
OR_RANK = {NOT_MET: 0, UNKNOWN: 1, MET: 2}


def all_of(statuses: Iterable[Status]) -> Status:
    """AND: not-met if any is not-met, else unknown if any is unknown, else met."""
    return max(statuses, key=AND_RANK.__getitem__, default=MET)
