"""The record's usable Observations indexed once per evaluation by their code, for every reader that selects some.

A request holds hundreds of routine labs of a few dozen distinct codes, and the readers (labs.py, body.py) each keep
only a handful. So the Observations are grouped once by their raw code; a reader classifies each distinct code once
and gets back the matching Observations in record order (ties between results of the same moment are resolved by
that order). Only the selected Observations are shape-checked (shape.py), each once, so a malformed one is dropped
while the routine labs nobody reads cost no check; the dropped ones are kept aside (`unreadable`), for unreadable.py
to make the facts they bear on unknown.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, TypeVar

from cds_service.facts.shape import well_formed
from cds_service.valuesets import Memo

USABLE_STATUSES = frozenset({"final", "amended", "corrected"})
Kind = TypeVar("Kind")


class ObservationIndex:
    """Usable Observations (status final, amended or corrected) by code; `received` tells an empty list from none."""

    def __init__(self, observations: Iterable[Any] | None, check: Callable[[Any], bool] = well_formed) -> None:
        """`check` decides, once per selected Observation, whether it is read at all (default: its shape)."""
        self.received = observations is not None
        self._check = check
        self._observations: list[dict[str, Any]] = []
        self._groups: dict[tuple[Any, ...], list[int]] = {}
        self._alone: list[int] = []  # positions of the Observations whose code key is unhashable: classified alone
        self._checked: dict[int, bool] = {}  # position -> well-formed
        self._unreadable: list[int] = []  # positions selected and found malformed, in the order found
        # One loop without helper calls: it runs for every Observation of the request.
        for observation in observations or ():
            if not isinstance(observation, dict) or observation.get("resourceType") != "Observation":
                continue
            status = observation.get("status")
            if status is None or isinstance(status, str) and status not in USABLE_STATUSES:
                continue
            # A status of a wrong type is kept: if a reader selects the Observation, the shape check finds it
            # unreadable, which a result that may be final is (unreadable.py).
            position = len(self._observations)
            try:
                self._groups.setdefault(code_key(observation.get("code")), []).append(position)
            except TypeError:  # an unhashable element (malformed, or one nobody reads): not grouped, not memoized
                self._alone.append(position)
            self._observations.append(observation)

    def select(self, classify: Callable[[Any], Kind], memo: Memo | None = None) -> list[tuple[dict[str, Any], Kind]]:
        """The well-formed Observations whose code `classify` gives a truthy kind, with that kind, in record order.
        `classify` sees each distinct code once, as a raw (possibly malformed) value: it must not trust its types.
        With a `memo`, a code classified in an earlier evaluation is not classified again."""
        chosen: list[tuple[int, Kind]] = []
        observations = self._observations
        for key, positions in self._groups.items():
            code = observations[positions[0]].get("code")
            kind = classify(code) if memo is None else memo.get(key, lambda: classify(code))
            if kind:
                chosen.extend((position, kind) for position in positions)
        for position in self._alone:
            kind = classify(observations[position].get("code"))
            if kind:
                chosen.append((position, kind))
        chosen.sort(key=_position)
        return [(self._observations[p], kind) for p, kind in chosen if self._well_formed(p)]

    def unreadable(self) -> list[dict[str, Any]]:
        """The Observations a reader selected that failed the check, in the order found (in practice none)."""
        return [self._observations[p] for p in self._unreadable]

    def _well_formed(self, position: int) -> bool:
        found = self._checked.get(position)
        if found is None:
            found = self._checked[position] = self._check(self._observations[position])
            if not found:
                self._unreadable.append(position)
        return found


def trusted(observations: Iterable[Any] | None) -> ObservationIndex:
    """An index over Observations already shape-checked by the caller (the readers called on their own)."""
    return ObservationIndex(observations, check=_trusting)


def _trusting(observation: Any) -> bool:
    return True


def _position(entry: tuple[int, Any]) -> int:
    return entry[0]


def code_key(code: Any) -> tuple[Any, ...]:
    """What identifies a code for classification, read from the raw dicts: its text and its codings' system, code
    and display; without `coding`, its own (valuesets.py then reads a concept with a `code` as a Coding). Codes with
    the same key classify alike; this runs for every Observation."""
    if not isinstance(code, dict):
        return ()
    if "coding" not in code:
        return code.get("text"), False, "code" in code, code.get("system"), code.get("code"), code.get("display")
    found = code["coding"]
    if not isinstance(found, list):
        return code.get("text"), True
    if len(found) == 1 and isinstance(found[0], dict):  # the usual single coding, without a comprehension
        only = found[0]
        return code.get("text"), True, (only.get("system"), only.get("code"), only.get("display"))
    return (code.get("text"), True, *[(c.get("system"), c.get("code"), c.get("display"))
                                      for c in found if isinstance(c, dict)])
