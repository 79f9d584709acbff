"""The record's usable Observations indexed once per evaluation by their code, for every reader that selects some.

A request holds hundreds of routine labs of a few dozen distinct codes, and the readers (labs.py, body.py) each keep
only a handful. So the Observations are grouped once by their raw code; a reader classifies each distinct code once
and gets back the matching Observations in record order (ties between results of the same moment are resolved by
that order). Only the selected Observations are looked at further: whether they are usable (an Observation, final,
amended or corrected) and well-formed (shape.py), each once, so a malformed one is dropped while the routine labs
nobody reads cost neither; the dropped ones are kept aside (`unreadable`), for unreadable.py to make the facts they
bear on unknown.
"""
from __future__ import annotations

from itertools import compress
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
        self._observations: list[Any] = list(observations or ())  # as received: the groups hold positions in it
        # The groups of Observations whose codes are equal (as parsed JSON), in the order of their first Observation,
        # as parallel lists (no object per group): the code, its classification key and the Observations' positions.
        codes: list[Any] = []
        positions: list[list[int]] = []
        self._readable: dict[int, bool] = {}  # position -> usable and well-formed
        self._unreadable: list[int] = []  # positions selected, usable and found malformed, in the order found
        # This loop runs for every Observation of the request, most of them routine labs no reader selects. A code
        # is looked for in one bucket, the first coding's code as sent (else, for a code of another shape, its key),
        # and compared, as parsed JSON (in C), with the bucket's latest group only: three subscripts, a lookup and
        # one comparison per Observation instead of a code_key (built once per group: equal codes have equal keys),
        # and grouping stays linear whatever the codes (the same code sent alternately in two variants makes more
        # groups, never a wrong one). Whether a resource is a usable Observation is asked only of those a reader
        # selects (_is_readable).
        latest: dict[Any, int] = {}  # bucket -> its latest group
        for position, observation in enumerate(self._observations):
            try:
                code = observation.get("code")
            except AttributeError:  # not a JSON object
                continue
            try:
                bucket = code["coding"][0]["code"]
            except (KeyError, IndexError, TypeError):
                bucket = code_key(code)
            try:
                group = latest.get(bucket)
            except TypeError:  # an unhashable bucket (a malformed code): a group of its own
                codes.append(code)
                positions.append([position])
                continue
            try:
                if group is not None and codes[group] == code:
                    positions[group].append(position)
                    continue
            except RecursionError:  # nested too deep to compare (prefetch is not depth-limited): kept apart
                pass
            latest[bucket] = len(codes)
            codes.append(code)
            positions.append([position])
        self._codes = codes
        self._keys = list(map(code_key, codes))
        self._positions = positions
        self._chosen: dict[Callable[[Any], Any], list[tuple[int, Any]]] = {}  # classify -> (position, kind)

    def select(self, classify: Callable[[Any], Kind], memo: Memo | None = None,
               keep: Callable[[Kind], object] | None = None) -> list[tuple[dict[str, Any], Kind]]:
        """The usable, well-formed Observations whose code `classify` gives a truthy kind (and, with `keep`, a kind
        it keeps), with that kind, in record order. `classify` sees each distinct code once, as a raw (possibly
        malformed) value: it must not trust its types. With a `memo`, a code classified in an earlier evaluation is
        not classified again (an unhashable code is classified every time). Readers that share one `classify` (each
        keeping its own kinds) share one pass over the codes: its choice is kept for the index's life."""
        chosen = self._chosen.get(classify)
        if chosen is None:
            chosen = self._chosen[classify] = self._choose(classify, memo)
        return [(self._observations[p], kind) for p, kind in chosen
                if (keep is None or keep(kind)) and self._is_readable(p)]

    def _choose(self, classify: Callable[[Any], Kind], memo: Memo | None) -> list[tuple[int, Kind]]:
        codes = self._codes
        kinds = list(map(classify, codes)) if memo is None else memo.get_each(self._keys, classify, codes)
        # Every group's kind is asked for at once and the few chosen groups are picked out in C (compress), not by a
        # memo lookup and a test per group in Python: most groups are routine labs no reader selects.
        chosen = [(position, kind) for kind, positions in compress(zip(kinds, self._positions), kinds)
                  for position in positions]
        chosen.sort()  # by position: positions are distinct, so kinds are never compared
        return chosen

    def unreadable(self) -> list[dict[str, Any]]:
        """The usable Observations a reader selected that failed the check, in the order found (in practice none)."""
        return [self._observations[p] for p in self._unreadable]

    def _is_readable(self, position: int) -> bool:
        found = self._readable.get(position)
        if found is None:
            observation = self._observations[position]
            found = False
            if _usable(observation):
                found = self._check(observation)
                if not found:
                    self._unreadable.append(position)
            self._readable[position] = found
        return found


def _usable(observation: dict[str, Any]) -> bool:
    """An Observation whose status is final, amended or corrected. A status of a wrong type is kept: the shape check
    finds the Observation unreadable, which a result that may be final is (unreadable.py)."""
    if observation.get("resourceType") != "Observation":
        return False
    status = observation.get("status")
    return status is not None and not (isinstance(status, str) and status not in USABLE_STATUSES)


def trusted(observations: Iterable[Any] | None) -> ObservationIndex:
    """An index over Observations already shape-checked by the caller (the readers called on their own)."""
    return ObservationIndex(observations, check=_trusting)


def _trusting(observation: Any) -> bool:
    return True


def code_key(code: Any) -> tuple[Any, ...]:
    """What identifies a code for classification, read from the raw dicts: its text and its codings' system, code
    and display; without `coding`, its own (valuesets.py then reads a concept with a `code` as a Coding). Codes with
    the same key classify alike."""
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
