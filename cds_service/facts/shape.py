"""Well-formedness of the FHIR resources the fact readers look at.

The readers work on raw JSON (codes.py says why) and trust the JSON types of the elements they read. A resource an
EHR sends with a wrong type in one of those elements ("valueQuantity": "high", "code": 7) would otherwise crash the
whole evaluation; the readers never see it instead. Only the elements the readers use are checked: a malformed
element nobody reads does not cost the resource. A resource left out is not forgotten: when its code still says
what it is, the facts it bears on become unknown (unreadable.py), and `problem` says what a note should.

A schema is a JSON type (a tuple of Python types; DATE, a string that names a day), a code set (a frozenset: a string
of the required value set), an object schema (a dict: key -> schema, checked when the key is present) or a
one-element list (an array whose every item has that schema).
"""
from __future__ import annotations

from decimal import Decimal
from itertools import chain
from typing import Any, Callable, Iterable, Union

from cds_service.facts.codes import VERIFICATION_STATUSES, codings, readable_date, verification_codes
from cds_service.printable import json_value

Schema = Union[tuple[type, ...], frozenset[str], dict[str, Any], list[Any]]

STRING: Schema = (str,)
NUMBER: Schema = (int, float, Decimal)
INTEGER: Schema = (int,)


class _DateString(tuple[type, ...]):
    """A FHIR date, dateTime or instant: a string naming a day (codes.readable_date). One that names none ("2026-1-1",
    "2026-13-01", "") had been passed over by the readers, so that an older result decided, or an order ran forever."""


DATE: Schema = _DateString((str,))


class _Codes(frozenset[str]):
    """A required code's value set (a resource's status): a string outside it ("active ", "") is no status a reader
    can act on. Read as text, such a status had dropped a TKI or an earlier cycle's order without a word; so had the
    status left out, which FHIR requires as well (the element is checked present: `_required`)."""


def _codes(*codes: str) -> _Codes:
    return _Codes(codes)

CODING: Schema = {"system": STRING, "code": STRING, "display": STRING}
CONCEPT: Schema = {"coding": [CODING], "text": STRING}


class _Verification(dict[str, Any]):
    """A Condition's verificationStatus: a concept whose codes of FHIR's system (or of none) are all of its required
    value set, and at least one (codes.verification_codes). Any other ("suspected", a local code alone, text alone)
    says neither confirmed nor refuted: read as either, it had counted an ALL diagnosis (or a toxicity) whose status
    no one here can read. The Condition is unreadable instead (unreadable.py): information needed, never a denial."""


VERIFICATION = _Verification(coding=[CODING], text=STRING)  # a CONCEPT
QUANTITY: Schema = {"value": NUMBER, "comparator": STRING, "unit": STRING, "system": STRING, "code": STRING}
PERIOD: Schema = {"start": DATE, "end": DATE}
IDENTIFIER: Schema = {"system": STRING, "value": STRING}
REFERENCE: Schema = {"reference": STRING, "display": STRING, "identifier": IDENTIFIER}
REPEAT: Schema = {
    "boundsPeriod": PERIOD, "boundsDuration": QUANTITY, "frequency": INTEGER, "period": NUMBER,
    "periodUnit": STRING, "duration": NUMBER, "durationUnit": STRING,
}
DOSAGE: Schema = {
    "sequence": INTEGER, "text": STRING, "route": CONCEPT, "timing": {"repeat": REPEAT},
    "doseAndRate": [{"doseQuantity": QUANTITY, "rateQuantity": QUANTITY,
                     "rateRatio": {"numerator": QUANTITY, "denominator": QUANTITY}}],
}
# Questionnaire items nest under items and under answers: the schema refers to itself.
ITEM: dict[str, Any] = {"linkId": STRING}
ANSWER: dict[str, Any] = {"valueCoding": CODING, "item": [ITEM]}
ITEM.update({"answer": [ANSWER], "item": [ITEM]})
MEDICATION: Schema = {"id": STRING, "code": CONCEPT, "ingredient": [{"itemCodeableConcept": CONCEPT}]}

_RESOURCE: dict[str, Any] = {"resourceType": STRING, "id": STRING, "status": STRING}
# FHIR R4 status value sets (observation-status, medicationrequest-status, immunization-status, fm-status,
# questionnaire-answers-status): tests/test_facts_shape.py compares them with fhir.resources' where it lists them whole.
STATUSES: dict[str, _Codes] = {
    "Observation": _codes("registered", "preliminary", "final", "amended", "corrected", "cancelled",
                          "entered-in-error", "unknown"),
    "MedicationRequest": _codes("active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
                                "unknown"),
    "Immunization": _codes("completed", "entered-in-error", "not-done"),
    "Coverage": _codes("active", "cancelled", "draft", "entered-in-error"),
    "QuestionnaireResponse": _codes("in-progress", "completed", "amended", "entered-in-error", "stopped"),
}
# Per resourceType, the elements the readers of facts/ (and coverage selection) use.
SCHEMAS: dict[str, Schema] = {
    "Observation": {
        **_RESOURCE, "status": STATUSES["Observation"], "code": CONCEPT, "effectiveDateTime": DATE,
        "effectivePeriod": PERIOD, "effectiveInstant": DATE, "issued": DATE, "valueQuantity": QUANTITY,
        "valueCodeableConcept": CONCEPT, "valueString": STRING,
        "valueRatio": {"numerator": QUANTITY, "denominator": QUANTITY}, "interpretation": [CONCEPT],
        "dataAbsentReason": CONCEPT,
        "component": [{"code": CONCEPT, "valueCodeableConcept": CONCEPT, "valueString": STRING,
                       "valueQuantity": QUANTITY}],
    },
    "Condition": {
        **_RESOURCE, "code": CONCEPT, "clinicalStatus": CONCEPT, "verificationStatus": VERIFICATION,
        "recordedDate": DATE, "onsetDateTime": DATE, "onsetPeriod": PERIOD, "onsetAge": QUANTITY,
    },
    "MedicationRequest": {
        **_RESOURCE, "status": STATUSES["MedicationRequest"], "authoredOn": DATE,
        "medicationCodeableConcept": CONCEPT, "medicationReference": REFERENCE, "statusReason": CONCEPT,
        "dosageInstruction": [DOSAGE],
        "dispenseRequest": {"validityPeriod": PERIOD, "quantity": QUANTITY, "expectedSupplyDuration": QUANTITY},
        "insurance": [REFERENCE],
    },
    "Medication": MEDICATION,
    "Immunization": {**_RESOURCE, "status": STATUSES["Immunization"], "vaccineCode": CONCEPT,
                     "occurrenceDateTime": DATE, "recorded": DATE},
    # Contained resources are checked as what they are when read (a contained Patient has a list for a name).
    "Coverage": {**_RESOURCE, "status": STATUSES["Coverage"], "period": PERIOD, "payor": [REFERENCE],
                 "order": INTEGER},
    "Organization": {**_RESOURCE, "name": STRING, "identifier": [IDENTIFIER]},
    "QuestionnaireResponse": {**_RESOURCE, "status": STATUSES["QuestionnaireResponse"], "questionnaire": STRING,
                              "subject": REFERENCE, "authored": DATE, "item": [ITEM]},
}


Check = Callable[[Any], bool]


def compile_schema(schema: Schema, memo: dict[int, Check] | None = None) -> Check:
    """A function checking a value against `schema`, built once: every resource of the record goes through it.

    `memo` maps the schemas being compiled to their checks, so self-referring schemas (Questionnaire items) compile.
    """
    memo = {} if memo is None else memo
    if id(schema) in memo:
        return memo[id(schema)]
    if isinstance(schema, frozenset):
        return _code_check(schema)
    if isinstance(schema, _DateString):
        return _date_check
    if isinstance(schema, tuple):
        return _primitive_check(schema)
    if isinstance(schema, list):
        return _list_check(compile_schema(schema[0], memo), _strings_only(schema[0]))
    if isinstance(schema, _Verification):
        concept = compile_schema(dict(schema), memo)
        return lambda value: concept(value) and _verified(value)
    checks: dict[str, Check] = {}
    # One lookup per element. A text element's check is str.__instancecheck__ (_primitive_check), called in C: no
    # Python frame, and no second table of inline isinstance tests to look the key up in first.
    check_of = checks.get

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for key, entry in value.items():
            sub = check_of(key)
            if sub is not None and not sub(entry):
                return False
        return True

    required = _required(schema)
    memo[id(schema)] = _with_required(check, required) if required else check
    for key, sub in schema.items():
        checks[key] = compile_schema(sub, memo)
    if len(checks) == 1:  # a Timing's repeat, an ingredient's concept
        memo[id(schema)] = _one_element(*checks.items())
        return memo[id(schema)]
    if _strings_only(schema):
        memo[id(schema)] = _strings_first(check)
        return memo[id(schema)]
    if all(isinstance(sub, _DateString) for sub in schema.values()):  # a Period
        memo[id(schema)] = _dates_first(check)
    return memo[id(schema)]


_ABSENT = object()  # not an element of the object: `value.get(key)` would say None, a JSON null


def _required(schema: dict[str, Any]) -> str | None:
    """The element an object must have: its required code (a resource's status, the only one), if any."""
    return next((key for key, sub in schema.items() if isinstance(sub, _Codes)), None)


def _with_required(check: Check, required: str) -> Check:
    """`check`, and `required` present (not null: JSON null is no status either)."""
    def with_required(value: Any) -> bool:
        return check(value) and value.get(required) is not None

    return with_required


def _one_element(element: tuple[str, Check]) -> Check:
    """For an object schema of one element: that element looked up, instead of a loop over every element of the
    object (its iterator costs more than the lookup)."""
    key, check = element

    def one_element(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        entry = value.get(key, _ABSENT)
        return entry is _ABSENT or check(entry)

    return one_element


def _strings_first(check: Check) -> Check:
    """For an object schema of strings only (a Coding, a Period, an Identifier): an object whose values are all
    strings passes whatever its keys, found by a loop over its values alone instead of a lookup and a check per
    element (every coding of every checked resource is such an object). Any other value gets `check`, the
    element-by-element verdict. A plain loop: for the two to four values of a Coding or a Period it costs less than
    all(map(isinstance, ...)), whose iterators are built per call."""
    def strings_first(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for entry in value.values():
            if not isinstance(entry, str):
                return check(value)
        return True

    return strings_first


def _dates_first(check: Check) -> Check:
    """For an object schema of dates only (a Period): an object whose values are all dates already found readable
    passes, by a loop over its values alone (as _strings_first); any other value gets `check`."""
    def dates_first(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for entry in value.values():
            if entry.__class__ is not str or entry not in _READABLE_DATES:
                return check(value)
        return True

    return dates_first


def _strings_only(schema: Schema) -> bool:
    """An object schema of any strings only (a Coding, an Identifier; not a Period, whose dates must name days): see
    _strings_first."""
    return isinstance(schema, dict) and all(isinstance(sub, tuple) and not isinstance(sub, _DateString)
                                            and isinstance("", sub) for sub in schema.values())


def _list_check(item: Check, strings_only: bool = False) -> Check:
    """`strings_only`: `item` is a _strings_first check (the codings of a concept), whose test of an object of text
    is made here, without a call per item."""
    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return False
        for entry in value:  # a loop, not all(genexpr): this runs for every coding of every resource
            if not item(entry):
                return False
        return True

    def strings_first(value: Any) -> bool:
        if not isinstance(value, list):
            return False
        for entry in value:
            if isinstance(entry, dict):
                for element in entry.values():  # as _strings_first tests an object
                    if not isinstance(element, str):
                        break
                else:
                    continue
            if not item(entry):
                return False
        return True

    return strings_first if strings_only else check


def _admits_bool(types: tuple[type, ...]) -> bool:
    """Whether isinstance alone would let a JSON boolean through (bool is an int in Python)."""
    return any(issubclass(bool, t) for t in types)


def _code_check(codes: frozenset[str]) -> Check:
    return lambda value: isinstance(value, str) and value in codes


def _verified(concept: dict[str, Any]) -> bool:
    found = verification_codes(concept)
    return bool(found) and found <= VERIFICATION_STATUSES


def _verification_problem(concept: dict[str, Any], path: str) -> tuple[str, str]:
    """What is wrong with a well-formed verificationStatus that is not `_verified`, quoting the code (or text) that
    is no code of FHIR's."""
    unknown = sorted(verification_codes(concept) - VERIFICATION_STATUSES)
    found: list[Any] = unknown or [c["code"] for c in codings(concept) if isinstance(c.get("code"), str)]
    found = found or [concept.get("text")]
    if not isinstance(found[0], str):
        return path, "is without a code FHIR defines for it"
    return path, f"is {_quoted(found[0])}, not a code FHIR defines for it"


# The dates already found readable, so that each is parsed once: a record repeats its dates, and requests the same
# patient's. Bounded (any client can send new strings): past the bound, dates are parsed each time.
_READABLE_DATES: set[str] = set()
_READABLE_DATES_KEPT = 65_536


def _date_check(value: Any) -> bool:
    if value.__class__ is not str:  # JSON text is a str, never a subclass
        return False
    if value in _READABLE_DATES:
        return True
    if not readable_date(value):
        return False
    if len(_READABLE_DATES) < _READABLE_DATES_KEPT:
        _READABLE_DATES.add(value)
    return True


def _primitive_check(types: tuple[type, ...]) -> Check:
    if len(types) == 1 and not _admits_bool(types):
        return types[0].__instancecheck__  # isinstance(value, types), as a C function: no Python frame per element
    if bool in types:
        return lambda value: isinstance(value, types)
    # JSON booleans are never numbers, although bool is an int in Python.
    return lambda value: isinstance(value, types) and value is not True and value is not False


_CHECKS: dict[str, Check] = {kind: compile_schema(schema) for kind, schema in SCHEMAS.items()}


def rules_out(resource: dict[str, Any], counted: frozenset[str]) -> bool:
    """Whether the resource's status rules it out of a reader's count: a code FHIR defines for its resourceType
    (STATUSES) that is not one of `counted`. A status outside the value set ("", "final ", "x") is no status at all,
    like one of a wrong type or none: the shape check finds the resource unreadable (unreadable.py). Read as a status
    that rules it out, "" had dropped a live vaccine, or a CD19-negative result, and approved the order."""
    status = resource.get("status")
    return isinstance(status, str) and status not in counted and status in STATUSES[resource["resourceType"]]


def well_formed(resource: Any) -> bool:
    """A JSON object whose read elements have their FHIR types (resource types without a schema: any object)."""
    if not isinstance(resource, dict):
        return False
    kind = resource.get("resourceType")
    check = _CHECKS.get(kind) if isinstance(kind, str) else None
    try:
        return check is None or check(resource)
    except RecursionError:  # items nested hundreds deep (prefetch is not depth-limited): no EHR writes such a form
        return False


def direct_check(kind: str) -> Check:
    """The compiled check of `kind`'s resources, for a reader that knows it holds an object of that resourceType:
    it skips well_formed's dispatch (an object? of which type? a RecursionError?). Only for a schema that does not
    refer to itself (not a QuestionnaireResponse's), so that nesting, bounded by the schema, cannot raise the
    RecursionError well_formed catches."""
    if _refers_to_itself(SCHEMAS[kind]):
        raise ValueError(f"the {kind} schema refers to itself: use well_formed")
    return _CHECKS[kind]


def _refers_to_itself(schema: Schema, within: frozenset[int] = frozenset()) -> bool:
    if isinstance(schema, (tuple, frozenset)):
        return False
    if id(schema) in within:
        return True
    inner = within | {id(schema)}
    return any(_refers_to_itself(sub, inner) for sub in (schema if isinstance(schema, list) else schema.values()))


def well_formed_only(resources: Iterable[Any]) -> list[dict[str, Any]]:
    return [r for r in resources if well_formed(r)]


def split_well_formed(resources: list[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The well-formed resources, and the others (in practice none: they are looked for only then)."""
    kept = well_formed_only(resources)
    if len(kept) == len(resources):
        return kept, []
    return kept, [r for r in resources if not well_formed(r)]


def problem(resource: Any) -> str:
    """Why `resource` is not well-formed, in words for a note: its first element of a wrong JSON type
    ("occurrenceDateTime is a number, not a date"); "" when it is well-formed."""
    path, said = problem_at(resource)
    return f"{path} {said}" if path else said


def problem_at(resource: Any, nulls_absent: bool = False) -> tuple[str, str]:
    """The path of the first element of `resource` that is not well-formed and what is wrong with it ("is a number,
    not a date"), or ("", why it is no resource at all), or ("", "") when it is well-formed; with `nulls_absent`, a
    JSON null counts as an absent element (the readers of an order being signed write around them). Walks the schema
    uncompiled: call it for a resource that failed the compiled check."""
    if not isinstance(resource, dict):
        return "", f"it is {json_kind(resource)}, not a resource"
    kind = resource.get("resourceType")
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    try:
        return ("", "") if schema is None else _first_problem(schema, resource, "", nulls_absent)
    except RecursionError:
        return "", "its items are nested too deep to read"


def _first_problem(schema: Schema, value: Any, path: str, nulls_absent: bool) -> tuple[str, str]:
    """As `compile_schema` checks: the first element of `value` (at `path`) not of its schema's type."""
    if value is None and nulls_absent:
        return "", ""
    if isinstance(schema, frozenset):
        return _unless(_code_check(schema)(value), path, f"is {_quoted(value)}, not a code FHIR defines for it")
    if isinstance(schema, _DateString) and isinstance(value, str):
        return _unless(readable_date(value), path, f"is {_quoted(value)}, not a date")
    if isinstance(schema, tuple):
        return _unless(_primitive_check(schema)(value), path, f"is {json_kind(value)}, not {_expected(schema)}")
    if isinstance(schema, _Verification) and isinstance(value, dict):
        structure = _first_problem(dict(schema), value, path, nulls_absent)
        return structure if structure[1] or _verified(value) else _verification_problem(value, path)
    found: Iterable[tuple[str, str]]
    if isinstance(schema, list):
        if not isinstance(value, list):
            return path, f"is {json_kind(value)}, not a list"
        found = (_first_problem(schema[0], item, f"{path}[{index}]", nulls_absent) for index, item in enumerate(value))
    elif not isinstance(value, dict):
        return path, f"is {json_kind(value)}, not an object"
    else:
        found = (_first_problem(schema[key], entry, f"{path}.{key}" if path else key, nulls_absent)
                 for key, entry in value.items() if key in schema)
        required = _required(schema)
        if required is not None and value.get(required) is None and not nulls_absent:
            found = chain(found, [(f"{path}.{required}" if path else required, "is missing")])
    return next((said for said in found if said[1]), ("", ""))


def _unless(valid: bool, path: str, said: str) -> tuple[str, str]:
    return ("", "") if valid else (path, said)


def _expected(types: tuple[type, ...]) -> str:
    if isinstance(types, _DateString):
        return "a date"
    return {STRING: "text", INTEGER: "a whole number"}.get(types, "a number")


def _quoted(value: Any) -> str:
    """A bad code or date as a note or a 400 shows it: quoted as JSON, and short (the text is the EHR's, of any
    length)."""
    return json_value(value[:20] + "…" if len(value) > 20 else value) if isinstance(value, str) else json_kind(value)


def json_kind(value: Any) -> str:
    """The JSON type of a parsed value, as a pharmacist would name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else "a number"
