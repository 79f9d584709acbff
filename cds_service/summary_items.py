"""What to document, as a card's summary says it: a malformed resource's item in a clinician's words, and an item
naming its resources after their words ("the full date of the MRD result dated 2026-12 (Observation/mrd-2)") without
the references, which the detail keeps for the pharmacist: the clinician reads the result and its date.

A resource the shape filter left out is asked for readable (facts/unreadable.py `Unreadable.request`): "a readable
Condition/all-1 (clinicalStatus.coding[0].code is a list, not text)". The element's path is for the integration
engineer, and the decision card's detail keeps it; a summary read in two seconds says which element of which
resource instead: "a readable clinical status for Condition/all-1". A resource its reader names in a clinician's words
is asked for so ("the verification status of the ALL diagnosis (Condition/all-1: verificationStatus is ...)"), and the
summary keeps the words alone.
"""
from __future__ import annotations

import re

# Unreadable.request: "a readable <Type>/<id> (<path> <what is wrong>)", or "<Type> (no id)" for one sent without an
# id (facts/codes.ref); a problem without a path ("it is a number, not a resource") has no element to name.
_READABLE = re.compile(
    r"a readable (?P<resource>[A-Z][A-Za-z]+(?:/\S+| \(no id\))?) \((?P<path>[a-z][\w.\[\]]*) is .*\)")
_INDEX = re.compile(r"\[\d+\]")
# The reference and problem closing the request for a resource named in words (Unreadable.request): " (Condition/all-1:
# verificationStatus is \"suspected\", ...)", or " (Condition: ...)" for one sent without an id; up to the end of the
# item or of one of its requests (joined by "; "), the problem quoting the EHR's text as it may.
_NAMED_PROBLEM = re.compile(r" \([A-Z][A-Za-z]+(?:/[^\s,():]+)?: .*?\)(?=; |\Z)", re.DOTALL)
# The references closing an item that names them in words first: " (Observation/mrd-2)", " (Observation/a,
# Observation/b)"; or closing one of its alternatives ("the full date of ... (Condition/all-1), or response at the
# end of consolidation": a criterion asking for any of several, vocabulary._open_alternatives).
_REFERENCES = re.compile(r"(?<=\S) \((?:[A-Z][A-Za-z]+/[^\s,()]+)(?:, [A-Z][A-Za-z]+/[^\s,()]+)*\)(?=$|, or )")
# The elements the shape filter checks (facts/shape.py SCHEMAS), by their path without list positions, as a clinician
# names one (singular: "a readable <words> for <resource>"); a path is named by its longest listed start
# ("dispenseRequest.quantity.value": the dispense quantity).
# tests/test_summary_items.py checks that every element of SCHEMAS has words.
ELEMENT_WORDS: dict[str, str] = {
    "resourceType": "resource type", "id": "id", "status": "status", "code": "code",
    "effectiveDateTime": "date", "effectivePeriod": "date", "effectiveInstant": "date", "issued": "date issued",
    "valueQuantity": "value", "valueCodeableConcept": "value", "valueString": "value", "valueRatio": "value",
    "interpretation": "interpretation", "dataAbsentReason": "reason for no value", "component": "result part",
    "clinicalStatus": "clinical status", "verificationStatus": "verification status", "recordedDate": "recorded date",
    "onsetDateTime": "onset date", "onsetPeriod": "onset date", "onsetAge": "age at onset",
    "authoredOn": "date written", "medicationCodeableConcept": "medication", "medicationReference": "medication",
    "statusReason": "status reason", "dosageInstruction": "dosage", "dispenseRequest": "dispense request",
    "dispenseRequest.quantity": "dispense quantity", "dispenseRequest.expectedSupplyDuration": "supply duration",
    "dispenseRequest.validityPeriod": "validity period", "insurance": "insurance reference",
    "vaccineCode": "vaccine", "occurrenceDateTime": "date given", "recorded": "recorded date",
    "period": "coverage period", "payor": "payer", "order": "coverage order", "name": "name",
    "identifier": "identifier", "questionnaire": "questionnaire", "subject": "patient reference",
    "authored": "date answered", "item": "answer", "ingredient": "ingredient",
}


def summary_item(item: str) -> str:
    """`item` (what to document) as the summary says it: a malformed resource's request in words, "a readable
    clinical status for Condition/all-1", or without its reference and problem where its reader named it in words
    ("the verification status of the ALL diagnosis"); an item (or an alternative of it) closing with the references
    it names in words, without them; any other item as it is. An item may join several requests by "; " (a
    fact several resources left unknown: unreadable.py `_unknown`): each is said so."""
    if "a readable " in item:
        return "; ".join(_said(part) for part in item.split("; "))
    return _in_words(item)


def _in_words(item: str) -> str:
    """An item in words without the references, and a named resource's problem, that it closes with."""
    return _REFERENCES.sub("", _NAMED_PROBLEM.sub("", item))


def _said(request: str) -> str:
    found = _READABLE.fullmatch(request)
    if found is None:
        return _in_words(request)
    words = element_words(found["path"])
    return f"a readable {words} for {found['resource']}" if words else f"a readable {found['resource']}"


def element_words(path: str) -> str:
    """A malformed element's path ("clinicalStatus.coding[0].code") in words ("clinical status"); "" when no start
    of it is listed."""
    parts = _INDEX.sub("", path).split(".")
    return next((ELEMENT_WORDS[key] for end in range(len(parts), 0, -1)
                 if (key := ".".join(parts[:end])) in ELEMENT_WORDS), "")
