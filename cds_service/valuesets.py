"""Code lists as data: the JSON files in cds_service/valuesets/ plus an operator's directory (CDS_VALUESET_DIR).

Each file is one list: `name`, `description` (for the people who maintain it; not read), `codes` [{system, code, display}], `text` [case-insensitive words or
phrases for the *text* fallbacks of fhir-data-profile.md] and optional `prefixes` [{system, code}] for code ranges
(C91.0, K85). A file in CDS_VALUESET_DIR with a built-in name extends that list; a new name adds a list. Entries of
the "payers" list carry a `policy` (text entries are then {text, policy} objects); a `policy` of null names a program
no policy of the service applies to (a plan's program exception), so that a name holding it names no plan.
schemas/valueset.schema.json says the format; each file is checked against it when read.

Everything is compiled once into frozensets and one regular expression per list, so a lookup is a few set probes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Sequence, TypeVar, TypeVarTuple, cast

from cds_service.facts.codes import codings, concept_text, normalize_code, normalize_system
from cds_service.file_schemas import file_validator, schema_problem

BUILTIN_DIR = Path(__file__).parent / "valuesets"
ENV_DIR = "CDS_VALUESET_DIR"
_MEMO_SIZE = 4096
DIGEST_LENGTH = 16  # hex digits of the sha256 kept, as for a policy file (policies/loading.py)
_MISSING = object()


# What `ValueSets.policy_for` gives for a payer of a program no policy applies to (a null `policy`): falsy, as no
# plan, and yet found, so that a caller asks no other name of that payer (facts/coverage.py).
NO_POLICY = ""


@dataclass(frozen=True)
class ValueSet:
    name: str
    codes: frozenset[tuple[str, str]] = frozenset()  # (normalized system, normalized code)
    prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # normalized system -> code prefixes
    terms: tuple[str, ...] = ()  # lowercase text fallback terms
    pattern: re.Pattern[str] | None = None  # the terms as one whole-word regular expression
    # (system, code) or text term -> policy id; None: a program no policy applies to (docs/data-requirements.md)
    policies: dict[Any, str | None] = field(default_factory=dict)
    displays: dict[tuple[str, str], str] = field(default_factory=dict)  # (system, code) -> the entry's display

    def has_code(self, coding: dict[str, Any]) -> bool:
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return False
        system = normalize_system(system)
        code = normalize_code(system, code)
        if (system, code) in self.codes:
            return True
        starts = self.prefixes.get(system)
        return starts is not None and code.startswith(starts)

    def matches_text(self, text: str | None) -> bool:
        return bool(text) and self.pattern is not None and self.pattern.search(text or "") is not None

    def find_terms(self, text: str | None) -> list[str]:
        """The terms of this list that occur in `text` (lowercased), e.g. to check each for negation."""
        if not text or self.pattern is None:
            return []
        return sorted({m.group(0).lower() for m in self.pattern.finditer(text)})


Result = TypeVar("Result")
Arg = TypeVar("Arg")
Args = TypeVarTuple("Args")


# Characters of text a kept key may hold: codes, displays and payer names are short, and a client may send megabytes
# in one; its key is computed for, not kept (the count bound alone would let a few thousand such keys stay).
_KEPT_KEY_SIZE = 2048


def _key_size(key: Hashable) -> int:
    """The characters of text in a key (a string, bytes, or a tuple of them, as the readers make): read only when a
    value is computed, which the cache makes rare."""
    if isinstance(key, (str, bytes)):
        return len(key)
    return sum(map(_key_size, key)) if isinstance(key, tuple) else 1


class Memo:
    """A bounded cache of what readers derive from codes or a payer's name alone (a classification, the payer's
    policy: nothing about the patient), kept with the value sets it was derived from. Codes and payers repeat across
    requests (routine labs, common drugs, a region's plans); request data is not ours to trust, so the cache is
    emptied when full rather than allowed to grow."""

    def __init__(self, size: int = _MEMO_SIZE) -> None:
        self._size = size
        self._found: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[*Args], Result], *args: *Args) -> Result:
        """The cached value of `key`, else `compute(*args)` stored under it (computed uncached for unhashable keys).
        The arguments are passed, not closed over: a lambda per lookup cost more than the lookup (readers call this
        for every code of the record)."""
        try:
            found = self._found.get(key, _MISSING)  # one lookup: another thread may empty the cache meanwhile
        except TypeError:
            return compute(*args)
        if found is _MISSING:
            found = compute(*args)
            if _key_size(key) <= _KEPT_KEY_SIZE:
                if len(self._found) >= self._size:
                    self._found.clear()
                self._found[key] = found
        return cast(Result, found)  # computed by compute(*args) for this key

    def get_each(self, keys: Sequence[Hashable], compute: Callable[[Arg], Result], args: Sequence[Arg]) -> list[Result]:
        """`get(key, compute, arg)` for each key and its argument, in order. The cached values are looked up in one
        pass in C (the Observation index asks for every distinct code of the record at once, most of them routine
        labs classified in an earlier evaluation); only the missing ones are computed, one by one."""
        try:
            found = list(map(self._found.get, keys, repeat(_MISSING)))
        except TypeError:  # an unhashable key among them
            return [self.get(key, compute, arg) for key, arg in zip(keys, args)]
        if _MISSING in found:
            for i, value in enumerate(found):
                if value is _MISSING:
                    found[i] = self.get(keys[i], compute, args[i])
        return found


class ValueSets:
    """All value sets by name. Unknown names are an error: a typo must not silently match nothing.

    `digest` identifies the files they were read from, for the audit trail: CDS_VALUESET_DIR changes the payer
    routing and the code lists a decision rests on."""

    def __init__(self, sets: dict[str, ValueSet], digest: str = "") -> None:
        self._sets = sets
        self.digest = digest
        # One table from code to the lists holding it, so classifying a coding against every list is one probe.
        by_code: dict[tuple[str, str], set[str]] = {}
        for vs in sets.values():
            for key in vs.codes:
                by_code.setdefault(key, set()).add(vs.name)
        self._by_code = {key: frozenset(names) for key, names in by_code.items()}
        self._displays = {key: text for vs in sets.values() for key, text in vs.displays.items()}
        self._names_memo = Memo()
        self._memos: dict[str, Memo] = {}
        self._any_term: dict[frozenset[str], re.Pattern[str] | None] = {}

    def __getitem__(self, name: str) -> ValueSet:
        try:
            return self._sets[name]
        except KeyError:
            raise KeyError(f"unknown value set {name!r}") from None

    def memo(self, purpose: str) -> Memo:
        """The cache of one reader's classifications by these lists (a reload starts with empty ones)."""
        if purpose not in self._memos:
            self._memos[purpose] = Memo()
        return self._memos[purpose]

    def names_for(self, coding: dict[str, Any]) -> frozenset[str]:
        """The names of the lists holding a Coding by code (exact codes and prefixes), memoized per raw code."""
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return frozenset()
        return self._names_memo.get((system, code), self._names_of, system, code)

    def _names_of(self, system: str, code: str) -> frozenset[str]:
        norm = normalize_system(system)
        key = (norm, normalize_code(norm, code))
        by_prefix = [vs.name for vs in self._sets.values()
                     if (starts := vs.prefixes.get(norm)) and key[1].startswith(starts)]
        exact = self._by_code.get(key, frozenset())
        return exact.union(by_prefix) if by_prefix else exact

    def display(self, coding: dict[str, Any]) -> str:
        """The display a list gives a Coding's code, "" when none does: a name for a code sent without its own."""
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return ""
        norm = normalize_system(system)
        return self._displays.get((norm, normalize_code(norm, code)), "")

    def code_names(self, coding_or_concept: dict[str, Any] | None) -> frozenset[str]:
        """The names of the lists holding a Coding, or any coding of a CodeableConcept, by code."""
        found = [self.names_for(c) for c in _as_codings(coding_or_concept)]
        if len(found) == 1:
            return found[0]
        return frozenset().union(*found)

    def has_code(self, name: str, coding_or_concept: dict[str, Any] | None) -> bool:
        """Whether a Coding, or any coding of a CodeableConcept, is in the list by code (no text fallback)."""
        self[name]  # unknown names fail, even for a concept without codings
        return name in self.code_names(coding_or_concept)

    def has(self, name: str, coding_or_concept: dict[str, Any] | None) -> bool:
        """Code match, or (for lists with text) the concept's text / the coding's display matches."""
        vs = self[name]
        if name in self.code_names(coding_or_concept):
            return True
        return vs.pattern is not None and vs.matches_text(_text_of(coding_or_concept))

    def members(self, names: frozenset[str], concepts: Iterable[dict[str, Any] | None]) -> frozenset[str]:
        """Which of the lists `names` hold any of `concepts` by `has`: codes first; the text of the concepts is
        searched only for the lists no code matched, and not at all when no term of those lists occurs in it."""
        texts = []
        found: set[str] = set()
        for concept in concepts:
            found |= self.code_names(concept) & names
            texts.append(_text_of(concept))
        rest = names - found
        prefilter = self._any_term_pattern(rest)
        for text in texts:
            if not rest or prefilter is None:
                break
            if text and prefilter.search(text) is not None:
                matched = {name for name in rest if self[name].matches_text(text)}
                found |= matched
                rest = rest - matched
        return frozenset(found)

    def _any_term_pattern(self, names: frozenset[str]) -> re.Pattern[str] | None:
        """One pattern of every term of the lists `names`: it matches a text whenever one of theirs does."""
        if names not in self._any_term:
            self._any_term[names] = _pattern(tuple(t for name in sorted(names) for t in self[name].terms))
        return self._any_term[names]

    def matches_text(self, name: str, text: str | None) -> bool:
        return self[name].matches_text(text)

    def policy_for(self, name: str, text: str = "", identifiers: Iterable[dict[str, Any]] = ()) -> str | None:
        """The policy id of the first entry matching an identifier ({system, value}), else of the name fragments the
        payer's name contains, when they all name one policy. A name containing two plans' fragments ("Florida Blue
        Example Health") names no plan: which one applies is not guessed (the longer fragment wins where fragments
        overlap: "Florida Blue Medicare" is found before "Florida Blue"). An entry whose policy is None names a
        program no policy applies to: its identifier, or its fragment in the name ("Florida Blue FEP"), gives
        NO_POLICY, which names no plan and, unlike None, is an answer (no other name of the payer is asked)."""
        vs = self[name]
        for identifier in identifiers:
            system, value = identifier.get("system"), identifier.get("value")
            if isinstance(system, str) and isinstance(value, str):
                norm = normalize_system(system)
                key = (norm, normalize_code(norm, value))
                if key in vs.policies:
                    return vs.policies[key] or NO_POLICY
        named = {vs.policies[term] for term in vs.find_terms(text) if term in vs.policies}
        if None in named:  # the program is an exception of the plan the name also holds
            return NO_POLICY
        return named.pop() if len(named) == 1 else None


def _as_codings(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(obj, dict):
        return []
    return codings(obj) if "coding" in obj or "code" not in obj else [obj]


def _text_of(obj: dict[str, Any] | None) -> str:
    if not isinstance(obj, dict):
        return ""
    if "coding" in obj or "code" not in obj:
        return concept_text(obj)
    display = obj.get("display")
    return display if isinstance(display, str) else ""


# ---- loading -------------------------------------------------------------------------------------------------


def _read_files(directory: Path, digest: hashlib._Hash) -> list[dict[str, Any]]:
    """The directory's value set files, in name order, each checked against schemas/valueset.schema.json; each
    file's name and bytes go into `digest`."""
    documents = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = path.read_bytes()
            document = json.loads(data.decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"value set file {path} is not readable JSON: {exc}") from exc
        digest.update(b"%s\0%d\0%s" % (os.fsencode(path.name), len(data), data))
        problem = schema_problem(file_validator("valueset"), document)
        if problem:
            raise ValueError(f"value set file {path}: {problem}")
        documents.append(document)
    return documents


def _merge(documents: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Same-name documents are concatenated (an operator file extends the built-in list)."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in documents:
        target = merged.setdefault(doc["name"], {"codes": [], "prefixes": [], "text": []})
        for key in ("codes", "prefixes", "text"):
            target[key].extend(doc.get(key, []))
    return merged


def _entry_key(entry: dict[str, Any]) -> tuple[str, str]:
    system = normalize_system(entry["system"])
    return system, normalize_code(system, str(entry["code"]))


def _term(entry: str | dict[str, Any]) -> str:
    """A text entry (a term, or {text, policy}) as matched: lowercase, without surrounding blanks."""
    term: str = entry["text"] if isinstance(entry, dict) else entry
    return term.strip().lower()


def _routes(entry: dict[str, Any]) -> bool:
    """Whether a payers entry routes: it names a policy, or null for a program no policy applies to."""
    return bool(entry.get("policy")) or ("policy" in entry and entry["policy"] is None)


def _compile(name: str, raw: dict[str, Any]) -> ValueSet:
    codes = frozenset(_entry_key(e) for e in raw["codes"])
    prefixes: dict[str, list[str]] = {}
    for entry in raw["prefixes"]:
        system, code = _entry_key(entry)
        prefixes.setdefault(system, []).append(code)
    terms = tuple(dict.fromkeys(_term(e) for e in raw["text"]))
    policies: dict[Any, str | None] = {}
    for entry in raw["codes"]:
        if _routes(entry):
            policies[_entry_key(entry)] = entry["policy"]
    for entry in raw["text"]:
        if isinstance(entry, dict) and _routes(entry):
            policies[_term(entry)] = entry["policy"]
    return ValueSet(
        name=name,
        codes=codes,
        prefixes={s: tuple(p) for s, p in prefixes.items()},
        terms=terms,
        pattern=_pattern(terms),
        policies=policies,
        displays={_entry_key(e): e["display"].strip() for e in raw["codes"] if e.get("display", "").strip()},
    )


def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive alternation; longest terms first so "not detected" wins over "detected"."""
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])", re.IGNORECASE)


def load_valuesets(extra_dir: str | None = None) -> ValueSets:
    """Built-in lists plus those in `extra_dir` (default: the CDS_VALUESET_DIR environment variable)."""
    digest = hashlib.sha256()
    documents = _read_files(BUILTIN_DIR, digest)
    directory = extra_dir if extra_dir is not None else os.environ.get(ENV_DIR, "")
    if directory:
        path = Path(directory)
        if not path.is_dir():
            raise ValueError(f"{ENV_DIR}={directory} is not a directory")
        documents += _read_files(path, digest)
    return ValueSets({name: _compile(name, raw) for name, raw in _merge(documents).items()},
                     digest.hexdigest()[:DIGEST_LENGTH])


@lru_cache(maxsize=1)
def get_valuesets() -> ValueSets:
    """The value sets, loaded once per process."""
    return load_valuesets()

