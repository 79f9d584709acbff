"""The record's usable Observations indexed once per evaluation by their code, for every reader that selects some.

A request holds hundreds of routine labs of a few dozen distinct codes, and the readers (labs.py, body.py) each keep
only a handful. So each Observation's code is keyed once by its JSON text; a reader classifies each distinct code once
(keys it classified in an earlier evaluation not at all) and gets back the matching Observations in record order (ties
between results of the same moment are resolved by that order). Only the selected Observations are looked at further:
whether they are usable (an Observation, final, amended or corrected) and well-formed (shape.py), each once, so a
malformed one is dropped while the routine labs nobody reads cost neither; the dropped ones are kept aside
(`unreadable`), for unreadable.py to make the facts they bear on unknown.
"""
from __future__ import annotations

from itertools import compress, repeat
from typing import Any, Callable, Hashable, Iterable, TypeVar

import orjson

from cds_service.facts.shape import rules_out, well_formed
from cds_service.valuesets import Memo

USABLE_STATUSES = frozenset({"final", "amended", "corrected"})
Kind = TypeVar("Kind")
# A code's JSON text is its key: values of types JSON does not have (a subclass of str or dict, a date) are refused,
# not written as the JSON of another value (_key).
_JSON_ONLY = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class ObservationIndex:
    """Usable Observations (status final, amended or corrected) by code; `received` tells an empty list from none."""

    def __init__(self, observations: Iterable[Any] | None, check: Callable[[Any], bool] = well_formed) -> None:
        """`check` decides, once per selected Observation, whether it is read at all (default: its shape)."""
        self.received = observations is not None
        self._check = check
        self._observations: list[Any] = list(observations or ())  # the positions below are in this list
        # Each Observation's code and its key, by position. This runs for every Observation of the request, most of
        # them routine labs no reader selects: so in C (a map each), the keys being the codes' JSON text, which
        # needs no grouping of equal codes in Python (nor a code_key per code): equal codes have equal texts, and
        # a reader's memo finds a code it classified by its text, once per evaluation or across evaluations.
        try:
            codes = list(map(dict.get, self._observations, repeat("code")))
        except TypeError:  # an entry that is not a JSON object (in practice none): never selected, so left out
            self._observations = [o for o in self._observations if isinstance(o, dict)]
            codes = [o.get("code") for o in self._observations]
        keys: list[Hashable]
        try:
            keys = list(map(orjson.dumps, codes, repeat(None), repeat(_JSON_ONLY)))
        except orjson.JSONEncodeError:  # a code orjson cannot write (in practice none): keyed one by one
            keys = [json_key(code, code_key) for code in codes]
        self._codes = codes
        self._keys = keys
        self._readable: dict[int, bool] = {}  # position -> usable and well-formed
        self._unreadable: list[int] = []  # positions selected, usable and found malformed, in the order found
        self._chosen: dict[Callable[[Any], Any], list[tuple[int, Any]]] = {}  # classify -> (position, kind)

    def select(self, classify: Callable[[Any], Kind], memo: Memo | None = None,
               keep: Callable[[Kind], object] | None = None) -> list[tuple[dict[str, Any], Kind]]:
        """The usable, well-formed Observations whose code `classify` gives a truthy kind (and, with `keep`, a kind
        it keeps), with that kind, in record order. `classify` sees each distinct code once, as a raw (possibly
        malformed) value: it must not trust its types, and must read a NaN or an infinity (which the standard
        library's parser reads, json_codec.py) as it reads null, their JSON text (the key) being null's. With a
        `memo`, a code classified in an earlier evaluation is not classified again (a code whose key does not hash
        is classified every time). Readers that share one `classify` (each keeping its own kinds) share one pass
        over the codes: its choice is kept for the index's life."""
        chosen = self._chosen.get(classify)
        if chosen is None:
            chosen = self._chosen[classify] = self._choose(classify, memo)
        return [(self._observations[p], kind) for p, kind in chosen
                if (keep is None or keep(kind)) and self._is_readable(p)]

    def _choose(self, classify: Callable[[Any], Kind], memo: Memo | None) -> list[tuple[int, Kind]]:
        # Every code's kind is looked up at once and the few chosen positions are picked out in C (compress), not by
        # a test per Observation in Python. Without a memo, one of this choice's own classifies each code once.
        kinds = (Memo() if memo is None else memo).get_each(self._keys, classify, self._codes)
        return [(position, kinds[position]) for position in compress(range(len(kinds)), kinds)]

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
    """An Observation whose status is final, amended or corrected. A status of a wrong type, outside FHIR's codes
    ("", "final "), or none (FHIR requires one), is kept (shape.rules_out): the shape check finds the Observation
    unreadable, which a result that may be final is (unreadable.py). Passed over, a CD19-negative result at relapse
    without its status left the earlier CD19+ one to approve the order."""
    if observation.get("resourceType") != "Observation":
        return False
    return not rules_out(observation, USABLE_STATUSES)


def trusted(observations: Iterable[Any] | None) -> ObservationIndex:
    """An index over Observations already shape-checked by the caller (the readers called on their own)."""
    return ObservationIndex(observations, check=_trusting)


def _trusting(observation: Any) -> bool:
    return True


def json_key(value: Any, fallback: Callable[[Any], Hashable]) -> Hashable:
    """The memo key of a parsed JSON value (a code, an order's concepts): its JSON text, written in one call in C,
    which holds all a classification reads; for a value orjson cannot write (an integer beyond 64 bits, an unpaired
    surrogate, nesting beyond orjson's limit), `fallback(value)`, what its classification reads, which may not hash."""
    try:
        return orjson.dumps(value, None, _JSON_ONLY)
    except orjson.JSONEncodeError:
        return fallback(value)


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
