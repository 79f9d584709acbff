"""Monotonic relations of the clinical reading (tests/test_metamorphic.py): a request without something it says
(a prefetch key not received, a record, an attestation's item, a result's value) is never denied where the whole
request was approved or undecided, and no criterion met or unknown turns not-met: missing data gives
information-needed (policy-rules.md §1). Adding what no rule reads is test_metamorphic.py's `unrelated_added`,
`included_resources` and `unread_copies_added`.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator

from flask.testing import FlaskClient

from tests.test_metamorphic import REQUESTS, Json, answer, baseline, service  # noqa: F401 (the fixtures, shared)


# The prefetch lists whose records are evidence for a criterion, or against an exclusion: without one of them the
# service knows less, and knowing less never denies (policy-rules.md §1: missing data gives information-needed).
# `medicationRequests` is not one: a received list is read as the whole history (fhir-data-profile.md §Medications,
# "none (and MedicationRequests were received) → single agent"; §Course and cycles counts its prior orders), so a
# list without an order is another history, not less of one. Dropping dasatinib-1 from
# aspirus-adult-consolidation-mrd-negative-ph-positive-tki makes the Ph+ patient's blinatumomab a single agent, which
# that indication excludes (not-met); dropping a prior cycle from aspirus-relapsed-refractory-cycle6-renewal makes the
# order cycle 5, after the initial authorization ended (not-met). Both are intended.
EVIDENCE_LISTS = ("observations", "conditions", "attestations", "immunizations")


def with_less_known(request: Json) -> Iterator[tuple[str, Json]]:
    """The request without one thing it says, each in turn: a prefetch key not received (`coverage` aside: without it
    there is no payer to decide), a record of EVIDENCE_LISTS, an attestation's item, a result's value."""
    for key in request["prefetch"]:
        if key not in ("patient", "coverage"):
            less = copy.deepcopy(request)
            del less["prefetch"][key]
            yield f"{key} not received", less
    for key in EVIDENCE_LISTS:
        for number, entry in enumerate(_entries(request, key)):
            less = copy.deepcopy(request)
            del _entries(less, key)[number]
            less["prefetch"][key].pop("total", None)
            yield f"without {entry['resource']['resourceType']}/{entry['resource'].get('id')}", less
            yield from _parts_dropped(request, key, number)


def _entries(request: Json, key: str) -> list[Json]:
    value = request["prefetch"].get(key)
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return []
    found: list[Json] = value.get("entry") or []
    return found


def _parts_dropped(request: Json, key: str, number: int) -> Iterator[tuple[str, Json]]:
    """The record without each of its attestation items, or without its result's value."""
    resource = _entries(request, key)[number]["resource"]
    for item in range(len(resource.get("item", []))):
        less = copy.deepcopy(request)
        del _entries(less, key)[number]["resource"]["item"][item]
        yield f"{resource['id']} without item {resource['item'][item].get('linkId')}", less
    for value in [k for k in resource if k.startswith("value")]:
        less = copy.deepcopy(request)
        del _entries(less, key)[number]["resource"][value]
        yield f"{resource['id']} without {value}", less


def _decisions(found: Json) -> dict[str, tuple[str, dict[str, str]]]:
    return {d["policy"]: (d["decision"], {c["id"]: c["status"] for c in d["criteria"]})
            for d in (card.get("extension", {}).get("coverage-decision") for card in found["cards"]) if d}


def _denied_for_less(before: Json, after: Json) -> list[str]:
    """What knowing less made worse: a decision met or undecided turned criteria-not-met, a criterion met or unknown
    turned not-met."""
    worse = []
    for policy, (decision, criteria) in _decisions(before).items():
        if policy not in _decisions(after):
            continue
        now, now_criteria = _decisions(after)[policy]
        if decision != "criteria-not-met" and now == "criteria-not-met":
            worse.append(f"{policy}: {decision} -> {now}")
        worse += [f"{policy}: {criterion} {status} -> not-met" for criterion, status in criteria.items()
                  if status != "not-met" and now_criteria.get(criterion) == "not-met"]
    return worse


def test_knowing_less_never_denies(service: FlaskClient, baseline: dict[str, Json]) -> None:
    """policy-rules.md §1: inclusion criteria need positive evidence, exclusions pass without contrary evidence and
    are unknown when their data was not received; missing data gives information-needed, never a denial."""
    worse = []
    for name, request in REQUESTS.items():
        for less, changed in with_less_known(request):
            found = _denied_for_less(baseline[name], answer(service, changed))
            worse += [f"{name}, {less}: {what}" for what in found]
    assert worse == []
