"""Counts as the audit trail's readers see them (`cds-service audit`, the audit writer's log): "1 row", "2 rows".
A count is read before its noun, and "1 rows" reads as a typo in a record of what the service told a prescriber."""
from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, plural unless the count is one (`plural`, else the noun with an "s")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
