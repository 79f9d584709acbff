"""Resources the shape filter left out (shape.py) that still matter: the facts they bear on become unknown.

A resource with a wrong JSON type in an element a reader uses is never read. Dropping it silently is safe only when
it could have supported coverage alone; a live vaccine, a TKI, an earlier blinatumomab cycle, a relapse or an MRD
result may also exclude or limit it. An exclusion passes only on "no record of the excluded event" (policy-rules.md
§1), which an unreadable record of it is not; and data that cannot be read is missing data: information needed,
never a denial. So each reader says, from the resource's code (and what else of it can be read: a status that rules
it out, a date outside the reader's window), whether the resource is of its kind and which facts it bears on
(`Relevance`); each of those facts becomes unknown, with the resource as evidence and a note naming the element that
could not be read. A resource whose code cannot be read, or names nothing a reader uses (a routine CBC), stays
ignored.

A fact keeps its value when the resource could not change it (`Bearing.stands`): a live vaccine already in the
window, a Ph+ result (Ph+ is "ever positive"), or an attested answer that decides the fact whatever the record
holds. What to document is then the criterion's own request (the attestation), unless the resource once readable
settles the fact (`Bearing.asks_resource`); otherwise the resource itself, readable (`Unreadable.request`), in a
clinician's words where its reader names it ("the verification status of the ALL diagnosis"). Likewise an answer
that cannot be read leaves a fact the record settles whatever any answer says (`Bearing.settled`: a grade 4-5 CRS
since the course start, an MRD result on record): the record decides, and the answer is named in the fact's note, so
that a pharmacist still sees it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from cds_service.facts.model import ClinicalFacts, Fact, Windowed
from cds_service.facts.shape import problem
from cds_service.summary_items import element_words


@dataclass(frozen=True)
class Bearing:
    """One fact an unreadable resource of some kind bears on, and which of the fact's values it could not change."""

    fact: str  # a ClinicalFacts field; "cycle.number" or "body.weight_kg" for one of its CycleInfo or BodySize
    stands: frozenset[Any] = frozenset()  # values such a resource could not change (a live vaccine in the window)
    attested_stands: bool = False  # an attested answer decides the fact whatever such a resource says
    # The resource bears only on an attested answer, which may have been given for it (an order-level answer and an
    # earlier order), not on a value the record gave.
    attested_only: bool = False
    # For a windowed fact: whether the resource may fall within a policy's numbers (an immunization's dates); None:
    # whatever the numbers.
    in_window: Callable[[Mapping[str, int]], bool] | None = None
    # Whether the record (not an answer) gave the fact in a way no answer of this kind could change: the fact is
    # kept, and the resource named in its note (`named`).
    settled: Callable[[Fact[Any]], bool] | None = None
    # The resource, readable, settles the fact, so it is asked for even where an attested answer would stand (a
    # Condition readable but for its verificationStatus: confirmed, or refuted, decides what it says).
    asks_resource: bool = False

    def kept(self, fact: Fact[Any]) -> bool:
        if self.attested_only and not fact.attested:
            return True
        return (fact.attested and self.attested_stands) or (fact.value is not None and fact.value in self.stands) \
            or self.named(fact)

    def named(self, fact: Fact[Any]) -> bool:
        """Whether the fact stands as the record settled it, the resource still named in its note."""
        return self.settled is not None and not fact.attested and self.settled(fact)


class Relevance(NamedTuple):
    """What a reader makes of a resource it cannot read: what it is, for the note, and the facts it bears on."""

    what: str  # "a live vaccine"
    bearings: tuple[Bearing, ...]
    # The resource as a clinician names it ("the ALL diagnosis"), when its reader can say: asked for so
    # (`Unreadable.request`), not by its id and element path, which mean nothing to one signing an order.
    named: str = ""


Classifier = Callable[[dict[str, Any]], "Relevance | None"]


@dataclass(frozen=True)
class Unreadable:
    """A resource the shape filter left out that a reader found relevant."""

    reference: str  # "Immunization/imm-3", the evidence
    what: str
    problem: str  # "occurrenceDateTime is a number, not a date"
    bearings: tuple[Bearing, ...]
    asked: str = ""  # what to document when not the whole resource: one answer of an attestation
    failed: str = "could not be read"  # or "cannot be placed in time": a readable answer dated only to a month
    named: str = ""  # Relevance.named

    @property
    def note(self) -> str:
        return f"{self.reference} ({self.what}) {self.failed}: {self.problem}"

    @property
    def request(self) -> str:
        """What to document: the resource, readable (an attestation cannot stand for a record it would contradict).
        Named by its reader, the element in words first ("the verification status of the ALL diagnosis"), the
        reference and the problem after it for the pharmacist and the integration engineer (the summary leaves them
        to the detail: summary_items.py)."""
        if self.asked:
            return self.asked
        words = element_words(self.problem.partition(" ")[0]) if self.named else ""
        if words:
            return f"the {words} of {self.named} ({self.reference}: {self.problem})"
        return f"a readable {self.reference} ({self.problem})"


def unreadable(resources: Iterable[Any], resource_type: str, classify: Classifier,
               why: Callable[[Any], str] = problem) -> list[Unreadable]:
    """The `resource_type` resources among `resources` (left out by the shape filter) that `classify` finds
    relevant. `classify` sees malformed JSON: it must not trust the types of what it reads. `why` words what could
    not be read (default: the shape filter's problem)."""
    found = []
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
            continue
        relevance = classify(resource)
        if relevance is not None:
            identifier = resource.get("id")
            reference = f"{resource_type}/{identifier}" if isinstance(identifier, str) else resource_type
            found.append(Unreadable(reference, relevance.what, why(resource), relevance.bearings,
                                    named=relevance.named))
    return found


def open_facts(facts: ClinicalFacts, found: list[Unreadable]) -> ClinicalFacts:
    """The `facts` with every fact one of the `found` resources bears on and could change made unknown."""
    by_fact: dict[str, list[tuple[Unreadable, Bearing]]] = {}
    for item in found:
        for bearing in item.bearings:
            by_fact.setdefault(bearing.fact, []).append((item, bearing))
    opened: dict[str, Any] = {}  # ClinicalFacts field -> its new value (a CycleInfo or BodySize for their facts)
    for name, bearing_on in by_fact.items():
        fact = _get(facts, opened, name)
        if isinstance(fact, Windowed):  # read with a policy's numbers: opened then
            _put(facts, opened, name, _OpenedWindow(fact, tuple(bearing_on)))
            continue
        changing = [(item, bearing) for item, bearing in bearing_on if not bearing.kept(fact)]
        if changing:
            _put(facts, opened, name, _unknown(fact, changing))
            continue
        named = [item for item, bearing in bearing_on if bearing.named(fact)]
        if named:
            _put(facts, opened, name, _named(fact, named))
    return replace(facts, **opened) if opened else facts


@dataclass(frozen=True)
class _OpenedWindow(Windowed[Any]):
    """A windowed fact (model.Windowed) unreadable resources bear on: opened as open_facts opens the others, once a
    test gives the numbers (a vaccine dated outside this policy's window cannot change it)."""

    read: Windowed[Any]
    bearing_on: tuple[tuple[Unreadable, Bearing], ...]

    def within(self, numbers: Mapping[str, int]) -> Fact[Any]:
        fact = self.read.within(numbers)
        changing = [(item, bearing) for item, bearing in self.bearing_on
                    if (bearing.in_window is None or bearing.in_window(numbers)) and not bearing.kept(fact)]
        return _unknown(fact, changing) if changing else fact


def _unknown(fact: Fact[Any], changing: list[tuple[Unreadable, Bearing]]) -> Fact[Any]:
    """The fact unknown: the unreadable resources first in its evidence and note, then what it rested on. A note
    that only said nothing was found ("no MRD result") is dropped: what was found cannot be read."""
    items = list(dict.fromkeys(item for item, _ in changing))
    requests = [item.request for item, bearing in changing if not bearing.attested_stands or bearing.asks_resource]
    rested = fact.note and (fact.value is not None or fact.evidence)
    without = f"; without {'it' if len(items) == 1 else 'them'}: {fact.note}" if rested else ""
    note = "; ".join(item.note for item in items) + without
    missing = "; ".join(dict.fromkeys(requests + ([fact.missing] if fact.missing else [])))
    evidence = tuple(dict.fromkeys([item.reference for item in items] + list(fact.evidence)))
    return Fact(None, evidence, note=note, missing=missing)


def _named(fact: Fact[Any], items: list[Unreadable]) -> Fact[Any]:
    """The fact as the record settled it, the unreadable `items` named in its note after what decided it: no answer
    could change it, but a pharmacist checking the criterion sees the one that could not be read. Not in its
    evidence, the resources that decided it (policy-rules.md §1), which the label's note matches against the
    criteria not met (label_safety.py)."""
    said = "; ".join(f"{item.note}; the record decides whatever it says" for item in dict.fromkeys(items))
    return replace(fact, note=f"{fact.note}; {said}" if fact.note else said)


def _get(facts: ClinicalFacts, opened: dict[str, Any], name: str) -> Fact[Any] | Windowed[Any]:
    """The fact `name` ("mrd_percent", "body.weight_kg") as opened so far."""
    holder, _, attribute = name.partition(".")
    value = _current(facts, opened, holder)
    found: Fact[Any] | Windowed[Any] = getattr(value, attribute) if attribute else value
    return found


def _put(facts: ClinicalFacts, opened: dict[str, Any], name: str, fact: Fact[Any] | Windowed[Any]) -> None:
    holder, _, attribute = name.partition(".")
    opened[holder] = replace(_current(facts, opened, holder), **{attribute: fact}) if attribute else fact


def _current(facts: ClinicalFacts, opened: dict[str, Any], field: str) -> Any:
    return opened[field] if field in opened else getattr(facts, field)
