"""The Da Vinci CRD 2.2 rules of the coverage-information extension (crd-ci-q1..q8, cardinalities, the `detail`
sub-extension's parts), as a test oracle: every response the tests see is checked against them."""
from __future__ import annotations

import re
from typing import Any

from cds_service.coverage_info import EXTENSION_URL

COVERED_CODES = ("covered", "not-covered", "conditional", "indeterminate")
# CRD 2.2.1 adds "indeterminate" to pa-needed's value set; 2.2.0 has none, and a 2.2.0 client refuses it.
PA_CODES = ("no-auth", "auth-needed", "satisfied", "performpa", "conditional")
# A literal reference to a Coverage: relative (R4 `id` datatype) or absolute.
_COVERAGE_REFERENCE = re.compile(r"(?:https?://\S+/)?Coverage/[A-Za-z0-9\-.]{1,64}")
SINGLE = ("coverage", "covered", "date", "coverage-assertion-id")  # exactly once each
# Each sub-extension's value[x] as CRD 2.2's profile types it: an EHR validating against it refuses another type.
VALUE_TYPES = {
    "coverage": "valueReference", "covered": "valueCode", "pa-needed": "valueCode", "doc-needed": "valueCode",
    "doc-purpose": "valueCode", "info-needed": "valueCode", "billingCode": "valueCoding",
    "reason": "valueCodeableConcept", "questionnaire": "valueCanonical", "date": "valueDate",
    "coverage-assertion-id": "valueString", "satisfied-pa-id": "valueString", "expiry-date": "valueDate",
}
# `detail` is complex (no value[x]): a category, a code and a value, each once, and an optional qualification.
DETAIL_PARTS = {"category": ("valueCode",), "code": ("valueCodeableConcept",), "qualification": ("valueString",),
                "value": ("valueBoolean", "valueString", "valueUrl", "valueQuantity", "valuePeriod")}
DETAIL_CATEGORIES = ("cat-limitation", "cat-decisional", "cat-other")


def check_crd_invariants(extension: dict[str, Any]) -> list[str]:
    """The CRD rules of ext-coverage-information (crd-ci-q1..q8 and cardinalities); empty when valid."""
    subs: dict[str, list[Any]] = {}
    problems = []
    for part in extension.get("extension", []):
        url, values = part.get("url"), [k for k in part if k.startswith("value")]
        if url == "detail":
            problems += _detail_problems(part)
            subs.setdefault(url, []).append(part.get("extension"))
            continue
        if values != [VALUE_TYPES.get(url)]:
            problems.append(f"{url}: {values} where CRD 2.2 has {VALUE_TYPES.get(url, 'no such sub-extension')}")
        subs.setdefault(url, []).append(part.get(values[0]) if values else None)
    problems += [f"{name} must occur exactly once" for name in SINGLE if len(subs.get(name, [])) != 1]
    if extension.get("url") != EXTENSION_URL:
        problems.append("wrong extension url")
    return problems + _value_rules(subs)


def _detail_problems(detail: dict[str, Any]) -> list[str]:
    if [k for k in detail if k.startswith("value")] or not isinstance(detail.get("extension"), list):
        return ["detail is complex: nested extensions, no value[x]"]
    parts: dict[str, list[dict[str, Any]]] = {}
    for part in detail["extension"]:
        parts.setdefault(part.get("url"), []).append(part)
    problems = [f"detail.{url} is no part of CRD 2.2's detail" for url in parts.keys() - DETAIL_PARTS.keys()]
    problems += [f"detail.{url} must occur exactly once" for url in ("category", "code", "value")
                 if len(parts.get(url, [])) != 1]
    for url, found in parts.items():
        types = DETAIL_PARTS.get(url, ())
        for values in ([k for k in part if k.startswith("value")] for part in found):
            if len(values) != 1 or values[0] not in types:
                problems.append(f"detail.{url}: {values} where CRD 2.2 has one of {types}")
    if any(p.get("valueCode") not in DETAIL_CATEGORIES for p in parts.get("category", [])):
        problems.append("detail.category is not a CRD detail category")
    return problems


def _value_rules(subs: dict[str, list[Any]]) -> list[str]:
    covered = (subs.get("covered") or [None])[0]
    pa = subs.get("pa-needed", [])
    problems = []
    if covered not in COVERED_CODES:
        problems.append(f"covered {covered!r} is not a CRD code")
    if any(p not in PA_CODES for p in pa) or len(pa) > 1:
        problems.append("pa-needed must be one CRD code")
    if covered == "not-covered" and pa:
        problems.append("not-covered must not have pa-needed (crd-ci-q2)")
    if covered in ("covered", "conditional") and not pa:
        problems.append("this service always says whether prior authorization is needed when coverage is possible")
    if covered == "conditional" and "info-needed" not in subs:
        problems.append("conditional needs info-needed")
    if "info-needed" in subs and "conditional" not in [covered, *pa, *subs.get("doc-needed", [])]:
        problems.append("info-needed needs something conditional (crd-ci-q3)")
    if ("questionnaire" in subs or "response" in subs) and not subs.get("doc-needed"):
        problems.append("questionnaire needs doc-needed (crd-ci-q1)")
    if ("satisfied" in pa) != ("satisfied-pa-id" in subs):
        problems.append("satisfied-pa-id if and only if pa-needed is satisfied (crd-ci-q5)")
    if "satisfied" in pa and "withpa" in subs.get("doc-purpose", []):
        problems.append("satisfied must not ask for documentation with a prior authorization (crd-ci-q4)")
    if covered == "indeterminate" and "reason" not in subs:
        problems.append("indeterminate needs a reason")
    return problems + _reason_rules(subs) + _reference_rules(subs)


def _reason_rules(subs: dict[str, list[Any]]) -> list[str]:
    problems = []
    if "OTH" in subs.get("info-needed", []) and "reason" not in subs:
        problems.append("info-needed OTH needs a reason (crd-ci-q6)")
    if "OTH" in subs.get("info-needed", []) and "detail" not in subs:
        problems.append("info-needed OTH needs a detail saying what is needed (CRD 2.2, info-needed)")
    # q7: a coding of a code system the assertion reasons' value set does not hold needs text; this service's only
    # coded reason is CRD's `technical`, so any reason is held to carry its text.
    if any(not isinstance(reason, dict) or not reason.get("text") for reason in subs.get("reason", [])):
        problems.append("a reason needs its text (crd-ci-q7)")
    if any(purpose != "conditional" for purpose in subs.get("doc-purpose", [])) and "reason" not in subs:
        problems.append("doc-purpose needs a reason (crd-ci-q8)")
    return problems


def _reference_rules(subs: dict[str, list[Any]]) -> list[str]:
    """A Reference holds a literal reference to a Coverage, or names it without one (a display, an identifier)."""
    problems = []
    for value in subs.get("coverage", []):
        if not isinstance(value, dict) or not value.keys() & {"reference", "identifier", "display"}:
            problems.append("coverage must be a Reference")
        elif "reference" in value and not _COVERAGE_REFERENCE.fullmatch(str(value["reference"])):
            problems.append(f"coverage reference {value['reference']!r} is not a Coverage's literal reference")
    return problems
