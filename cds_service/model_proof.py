"""A quick proof that a JSON object is valid for a fhir.resources model, built from that model's own field metadata.

fhir.resources validates a MedicationRequest through Python validators on each of its nested element models (about
370 us of a hook call's ~2 ms). A proof (`proof_for`) walks the object once instead, checking what those validators and
pydantic check: only the model's JSON names, each value's kind (object, array, primitive), no null items, the
required elements, one element of each choice (`medication[x]`), and each primitive through pydantic's own validator
for its annotated type (the same regex, date and number rules; a full date and a plain number proved directly, as
fhir_core's validators would decide them). What it cannot prove, it does not: a contained
resource, an element given by its Python name, a null, a `resourceType` below the root, a model with validators of
its own, an extension in place of a required value. Then the caller asks fhir.resources, which decides and words the
error. So the proof may send a valid object to fhir.resources, never pass one that fhir.resources would refuse
(tests/test_model_proof.py checks both verdicts over altered orders).
"""
from __future__ import annotations

import re
import types
import typing
from datetime import date
from functools import cache
from math import isfinite
from typing import Any, Callable

from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import Date, DateTime, FhirBase, FhirElementOrResourceBase
from fhir_core.types import Decimal as FhirDecimal
from pydantic import TypeAdapter

Check = Callable[[Any], bool]

# The validation fhir_core's FHIRAbstractModel gives every model, which the proof mirrors (no null item in an array
# of elements; the required primitives present; at most one element of a choice). A model that changes any of it, or
# adds a validator, is left to fhir.resources.
_BASE_VALIDATORS = frozenset(("reject_null_complex_elements", "validate_after_model_construction"))
_VALIDATION_HOOKS = _BASE_VALIDATORS | {"__init__", "model_post_init", "_validate_one_of_many",
                                        "_validate_required_primitive_elements"}


def proof_for(model: type[FHIRAbstractModel]) -> Check:
    """A check that is True only if fhir.resources would accept its argument (a parsed JSON object) as a `model`
    resource. Built with the checks of every element model it reaches (~70 ms for a MedicationRequest): build it
    once, at import, so that no request sees one half built."""
    check = _check_for(model)
    resource_type = model.get_resource_type()

    def proves_valid(value: Any) -> bool:
        return type(value) is dict and value.get("resourceType") == resource_type and check(value, root=True)

    return proves_valid


class _ModelCheck:
    """The proof for one model: its fields by JSON name, filled in after creation so that models that contain one
    another (Extension, Reference and Identifier) share one check each."""

    def __init__(self) -> None:
        # JSON name -> (is it an array, the check of one value, its presence bit: see _fill)
        self.fields: dict[str, tuple[bool, Check, int]] = {}
        self.needed = 0  # the bits that must all be present: the required elements, the required choices
        self.provable = True

    def __call__(self, value: Any, root: bool = False) -> bool:
        if type(value) is not dict or not self.provable:
            return False
        fields = self.fields
        present = 0  # what is required and what is chosen is tallied in the one pass over the keys
        for key, item in value.items():
            spec = fields.get(key)
            if spec is None:
                if root and key == "resourceType":  # checked by the proof
                    continue
                return False
            is_list, check, bit = spec
            if present & bit:  # a second element of one choice (medicationCodeableConcept and medicationReference)
                return False
            present |= bit
            if not is_list:
                if not check(item):
                    return False
            elif type(item) is not list:
                return False
            else:
                for each in item:
                    if not check(each):
                        return False
        return present & self.needed == self.needed


_CHECKS: dict[type[FHIRAbstractModel], _ModelCheck] = {}


def _check_for(model: type[FHIRAbstractModel]) -> _ModelCheck:
    """The model's check, built with those of every model it reaches."""
    check = _CHECKS.get(model)
    if check is None:
        check = _CHECKS[model] = _ModelCheck()  # before its fields: Extension.extension finds it
        _fill(model, check)
    return check


def _fill(model: type[FHIRAbstractModel], check: _ModelCheck) -> None:
    """Each field gets a presence bit when the proof must see it: a bit of its own for a required element, one bit
    for all the elements of a choice (two of them present is refused: the bit is already set), 0 otherwise."""
    if not _validated_as_base(model):
        check.provable = False  # a validator of its own (FHIRPrimitiveExtension): fhir.resources decides
        return
    instance_methods = model.model_construct()
    bits: dict[str, int] = {}
    next_bit = 1
    for names in instance_methods.get_one_of_many_fields().values():
        bits.update((model.model_fields[name].alias or name, next_bit) for name in names)
        if model.model_fields[names[0]].json_schema_extra["one_of_many_required"] is True:  # type: ignore[index]
            check.needed |= next_bit
        next_bit <<= 1
    required = [field.alias or name for name, field in model.model_fields.items() if field.is_required()]
    required += [model.model_fields[name].alias or name for name, _ in instance_methods.get_required_fields()]
    for alias in dict.fromkeys(required):
        if alias in bits:  # required on its own and one of a choice: not a case the bits can tell
            check.provable = False
            return
        bits[alias] = next_bit
        check.needed |= next_bit
        next_bit <<= 1
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if name == "fhir_comments":
            continue  # not FHIR JSON: left to fhir.resources
        is_list, item = _unwrap(field.annotation)
        check.fields[alias] = (is_list, _item_check(item, field.metadata), bits.get(alias, 0))


def _validated_as_base(model: type[FHIRAbstractModel]) -> bool:
    decorators = model.__pydantic_decorators__
    if set(decorators.model_validators) != _BASE_VALIDATORS or decorators.field_validators or decorators.validators:
        return False
    overriding = [cls for cls in model.__mro__ if issubclass(cls, FHIRAbstractModel) and cls is not FHIRAbstractModel]
    return not any(_VALIDATION_HOOKS & vars(cls).keys() for cls in overriding)


def _unwrap(annotation: Any) -> tuple[bool, Any]:
    """(is it an array, the annotation of one item), None dropped from unions: a null is never proved valid."""
    annotation = _without_none(annotation)
    if typing.get_origin(annotation) is list:
        return True, _without_none(typing.get_args(annotation)[0])
    return False, annotation


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return kept[0] if len(kept) == 1 else typing.Union[tuple(kept)]
    return annotation


def _item_check(annotation: Any, metadata: list[Any]) -> Check:
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        if issubclass(annotation, FhirElementOrResourceBase) or metadata:
            return _never  # any resource (contained): its model is chosen by its resourceType
        return _check_for(annotation.get_model_klass())
    return _primitive_check(typing.Annotated[(annotation, *metadata)] if metadata else annotation)


@cache
def _primitive_check(annotation: Any) -> Check:
    # The SchemaValidator's own verdict: validate_python's validation, answering False where it would raise a
    # ValidationError, with neither a wrapper call nor an exception per value.
    valid = TypeAdapter(annotation).validator.isinstance_python
    quick = _QUICK_PROOFS.get(type(_fhir_core_type(annotation)))
    return valid if quick is None else _first(quick, valid)


def _fhir_core_type(annotation: Any) -> Any:
    """The fhir_core type an annotation validates with: its one metadata (Annotated[datetime, DateTime()]), if so."""
    metadata = typing.get_args(annotation)[1:] if typing.get_origin(annotation) is typing.Annotated else ()
    return metadata[0] if len(metadata) == 1 else None


# fhir_core validates a date, a dateTime and a decimal in Python (a wrap validator: a regex, a parse into a date,
# datetime or Decimal, its own rules; 2-5 us a value against 0.1 for a string: before these quick proofs, a third of
# an order's proof). Their usual values are proved without it: a full date that is a day of the calendar, an integer,
# a finite float; anything else goes to the validator, which decides. tests/test_model_proof.py compares the verdicts
# with fhir_core's over days of the calendar and days that are not, integers within and beyond 64 bits and random
# floats (every day of years 1-9999 was compared once, when this was written).
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # YYYY-MM-DD, ASCII digits
_INT64 = 2**63  # what orjson reads as an integer; far below what str() of an integer refuses (4,300 digits)


def _is_calendar_day(value: Any) -> bool:
    # fhir_core's date and dateTime (not instant, which needs a time) accept a full date exactly when it is a day of
    # the calendar from year 1 on (its regex refuses year 0000, and so does date.fromisoformat).
    if type(value) is not str or _FULL_DATE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:  # no such day (2024-02-30): the validator refuses it
        return False
    return True


def _is_plain_number(value: Any) -> bool:
    # fhir_core's decimal accepts a number whose str() its regex matches: every integer str() can write and every
    # finite float (nan and inf it refuses); a bool is no number.
    kind = type(value)
    return (kind is int and -_INT64 <= value < _INT64) or (kind is float and isfinite(value))


_QUICK_PROOFS: dict[type, Check] = {Date: _is_calendar_day, DateTime: _is_calendar_day, FhirDecimal: _is_plain_number}


def _first(quick: Check, valid: Check) -> Check:
    def check(value: Any) -> bool:
        return quick(value) or valid(value)

    return check


def _never(_value: Any) -> bool:
    return False
