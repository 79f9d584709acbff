"""PatientRecord from the request's prefetch, fetching what is missing from the EHR's FHIR server.

service-contract.md §Prefetch: a key holding a Bundle (even empty) or null was answered; a key that is absent or
holds an OperationOutcome was not, and is fetched from `fhirServer` (when allowed) in parallel under one time budget.
Whatever still fails is "not received" (None), never an exception: only a missing patient stops the call (412).
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from difflib import SequenceMatcher
from functools import partial
from itertools import islice
from typing import Any, Callable
from urllib.parse import quote

from cds_service.config_constants import RESOLVE_GRACE_SECONDS
from cds_service.exceptions import PatientUnavailable
from cds_service.fhir_client import (
    FHIR_ID, Failure, FhirClient, bundle_resources, declared_total, each_once, next_link, of_other_types_only,
)
from cds_service.hook_request import HookRequest
from cds_service.log_format import without_message
from cds_service.printable import json_value
from cds_service.record import PREFETCH_TEMPLATES, PatientRecord
from cds_service.urls import internal_host

log = logging.getLogger(__name__)

# What a 401 or 403 of the EHR's own FHIR server means, for its engineer: the token is theirs to fix.
TOKEN_REFUSED = ": it refused fhirAuthorization's access token (expired, revoked, or without the scope to read it)"
# The same refusal of a request that sent no token (a fhirServer without fhirAuthorization, which CDS Hooks 2.0 allows):
# "expired, revoked" had the engineer look for a token that was never sent.
NO_TOKEN = ": the request has no fhirAuthorization, so no access token was sent with the reads"
# Distinct reads per call, so a record full of references cannot pile up responses in memory.
MAX_RESOLVES = 200

# service-contract.md §Prefetch lets the service narrow a search. A key's template is asked first, as it is: it loses
# nothing (the readers take Observations by code text alone, MRD has no code, and many records carry no category).
# A server that refuses it as too broad (HTTP 400: Epic will not search Observations without a category or a code) is
# asked these searches instead, at once, and their answers merged: the categories of the facts read from
# Observations (fhir-data-profile.md: MRD, Ph, CD19 are laboratory results; weight, height and BSA vital signs),
# one a search, since an OR list of categories is only a MAY of US Core. docs/prefetch.md §Narrowed searches.
NARROWED_SEARCHES: dict[str, tuple[str, ...]] = {
    "observations": ("Observation?patient={{context.patientId}}&category=laboratory",
                     "Observation?patient={{context.patientId}}&category=vital-signs"),
}
# How a server refuses a search as asked: one it wants narrower (Epic: an OperationOutcome, code "required"), or one
# with a parameter it does not support, such as the `_count` the service adds (unsupported, or above the server's
# maximum: FHIR R4 lets a server answer 400 to a parameter it does not support, under `handling=strict`).
REFUSED = 400
# A fetch the call's deadline ended (docs/prefetch.md §The time budget), in the log's and the 412's words.
_NO_ANSWER = "no answer within the fetch budget"
# A prefetch key this service does not declare is named beside a missing one it resembles (difflib's ratio, case
# aside: "Patient" 1.0, "observation" 0.96), among the first few undeclared keys (a body may hold thousands).
_ALIKE_RATIO = 0.75
_NOT_AN_ID = "context.patientId is not a FHIR id: letters, digits, - and . only, at most 64; not a reference such as " \
    "Patient/123"
_UNDECLARED_COMPARED = 20


class RecordLoader:
    """Builds the request's PatientRecord on its first call; later calls return the same record."""

    def __init__(self, request: HookRequest, allow_server: Callable[[str], bool], budget_seconds: float) -> None:
        self._request = request
        self._allow_server = allow_server
        self._budget_seconds = budget_seconds
        self.loaded: PatientRecord | None = None  # once built

    def __call__(self) -> PatientRecord:
        if self.loaded is None:
            client, unfetchable = _client_for(self._request, self._allow_server)
            self.loaded = _build_record(self._request, client, unfetchable, self._budget_seconds)
        return self.loaded

    def for_fault(self) -> PatientRecord | None:
        """What the answer to a fault can still name the Coverage from, fetching nothing more: the record if it was
        built, else the prefetch's own (None without a prefetched patient, or if reading it fails too)."""
        if self.loaded is not None:
            return self.loaded
        try:
            return _build_record(self._request, None, "nothing is fetched to answer a fault", 0.0)
        except PatientUnavailable:
            return None
        except Exception as exc:  # answering a fault: what failed there may fail here as well
            log.error("hook %s: the prefetch could not be read either", self._request.hook_instance,
                      exc_info=without_message(exc))
            return None


def render(template: str, patient_id: str) -> str:
    """A prefetch template with context.patientId filled in, URL-encoded."""
    return template.replace("{{context.patientId}}", quote(patient_id, safe=""))


def _build_record(request: HookRequest, client: FhirClient | None, unfetchable: str,
                  budget_seconds: float) -> PatientRecord:
    """The record from the prefetch and, with a `client`, the FHIR server; without one, `unfetchable` says why."""
    deadline = time.monotonic() + budget_seconds
    answered = {key: _answered(request.prefetch, key, request.patient_id) for key in PREFETCH_TEMPLATES}
    prefetched_patient = _own_patient(answered.pop("patient"), request.patient_id)
    if prefetched_patient is None and client is None:
        raise PatientUnavailable(unfetchable, _patient_problem(request.prefetch, request.patient_id))
    missing = [key for key, value in answered.items() if value is None] + ([] if prefetched_patient else ["patient"])
    fetched, late = _fetch_all(client, missing, request, deadline) if client and missing else ({}, frozenset())
    patient = prefetched_patient or _own_patient(_listed(fetched.get("patient")), request.patient_id)
    if patient is None:
        raise PatientUnavailable(_not_fetched(client, fetched.get("patient"), "patient" in late),
                                 _patient_problem(request.prefetch, request.patient_id))
    lists = {key: _each_once(value if value is not None else _owned(_listed(fetched.get(key)), request.patient_id))
             for key, value in answered.items()}
    failures = {key: found for key, found in fetched.items() if isinstance(found, Failure)}
    _log_not_received(request, lists, client, unfetchable, late, failures)
    record = PatientRecord(patient=patient, lists=lists)
    if client is not None:
        record.resolve = _Resolver(client, deadline)
    return record


def _client_for(request: HookRequest, allow_server: Callable[[str], bool]) -> tuple[FhirClient | None, str]:
    """A client for the request's FHIR server; or None when there is none or configuration does not allow it, and
    why, in the words of the 412 that a missing patient gets."""
    server = request.fhir_server
    if not server:
        return None, "no fhirServer to fetch it from"
    if internal_host(server):
        # Refused by the allowlist in every mode, and for this reason alone: not "not allowed for this client", which
        # sent an engineer to a client's fhir_servers (local mode has none).
        log.warning("hook %s: fhirServer is a link-local or cloud metadata address: nothing fetched",
                    request.hook_instance)
        return None, "fhirServer is a link-local or cloud metadata address, which the service never calls"
    if not allow_server(server):
        # A configuration or integration problem (the client's fhir_servers), not the patient's: the operator must
        # hear of it, and what to compare. The URL is logged at DEBUG only, as the fetches' URLs are (docs/prefetch.md
        # §Logs): the warning alone left the engineer no way to learn which server the EHR named.
        log.warning("hook %s: FHIR server not allowed for client %s: nothing fetched (the fhirServer sent is under "
                    "none of the client's fhir_servers; CDS_LOG_LEVEL=DEBUG logs it)", request.hook_instance,
                    request.client_iss or "(none verified)")
        log.debug("hook %s: fhirServer not allowed: %s", request.hook_instance, server)
        # No client: a call without a JWT where none is required (require_jwt false), whose servers no client lists.
        return None, "fhirServer is not allowed for this client" if request.client_iss else \
            "fhirServer is not allowed for a call without a JWT (only a verified client's fhir_servers are)"
    token = (request.fhir_authorization or {}).get("access_token")
    return FhirClient(server, token if isinstance(token, str) else None, call=_call_ids(request)), ""


def _call_ids(request: HookRequest) -> str:
    """The ids the log lines of a call's fetches begin with."""
    client = f" of client {request.client_iss}" if request.client_iss else ""
    return f"hook {request.hook_instance}{client}"


def _not_fetched(client: FhirClient | None, found: list[dict[str, Any]] | Failure | None, late: bool) -> str:
    """Why the server did not give the patient, as far as the service can tell the EHR (no URL, no token): the
    engineer of a fhirServer that is wrong (nothing listens, a 404 for every path) or slow must be told which.
    `late`: the read was still under way at the deadline (which shut its connection down: not the server's doing)."""
    if client is not None and client.refused is not None:
        return f"the FHIR server answered {client.refused}{TOKEN_REFUSED if client.sends_token else NO_TOKEN}"
    why = _NO_ANSWER if late or not isinstance(found, Failure) else found.reason
    return f"the FHIR server did not return it ({why})"


def _answered(prefetch: dict[str, Any], key: str, patient_id: str) -> list[dict[str, Any]] | None:
    """The resources of an answered key (null: none), those of a search key without another patient's (`_owned`);
    None when absent or not a usable answer (an OperationOutcome, a Bundle reporting an error)."""
    if key not in prefetch:
        return None
    value = prefetch[key]
    if value is None:
        return []
    if not isinstance(value, dict):
        return None
    if value.get("resourceType") == "Bundle":
        # A next link: the rest of the answer is on the server (`_fetch_key` follows it when there is one).
        if next_link(value) is not None:
            return None
        if key == "patient":
            return bundle_resources(value)
        resources = bundle_resources(value, patient_id)
        return None if _unusable(value, resources, key) else resources
    # A single resource is how EHRs answer the `patient` read; for a search key it is not a valid answer.
    return [value] if key == "patient" and value.get("resourceType") == "Patient" else None


def _unusable(bundle: dict[str, Any], resources: list[dict[str, Any]] | None, key: str) -> str | None:
    """Why a prefetched search Bundle without a next link, whose resources bundle_resources gave, cannot be the whole
    answer to its key's search, in the words of the log; None when it can. Another patient's resources, dropped from
    `resources`, count as received against the Bundle's `total` (counted only when there are fewer than it)."""
    if resources is None:
        return "a Bundle reporting an error, or with an entry that is no resource"
    if of_other_types_only(resources, _searched(key)):
        return "a Bundle of other resource types than searched"
    total = declared_total(bundle)
    if total > len(resources) and total > sum(entry["resource"].get("resourceType") != "OperationOutcome"
                                              for entry in bundle.get("entry") or ()):
        return "a Bundle with fewer entries than its total"
    return None


def _searched(key: str) -> str:
    """The resource type a key's search is for ("Immunization" for `immunizations`)."""
    return PREFETCH_TEMPLATES[key].partition("?")[0]


def _fetch_all(
    client: FhirClient, keys: list[str], request: HookRequest, deadline: float
) -> tuple[dict[str, list[dict[str, Any]] | Failure], frozenset[str]]:
    """Every key fetched in parallel; what has not arrived by the deadline is not received. Also the keys whose
    fetch was still under way then."""
    pool = ThreadPoolExecutor(max_workers=len(keys), thread_name_prefix="fhir-fetch")
    futures = {key: pool.submit(_fetch_key, client, key, request, deadline) for key in keys}
    ended: dict[str, float] = {}  # when each fetch ended, by key
    for key, future in futures.items():
        future.add_done_callback(partial(_note_end, ended, key))
    wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
    # Do not wait for stragglers: their own request timeouts end them just after the deadline.
    pool.shutdown(wait=False, cancel_futures=True)
    results = {key: _result(future) for key, future in futures.items()}
    # Late: still under way, or ended empty once the deadline had passed (the deadline shut its connection down,
    # and on a busy machine that thread may end before this one wakes from the wait).
    late = frozenset(key for key in futures
                     if isinstance(results[key], Failure) and ended.get(key, deadline) >= deadline)
    return results, late


def _note_end(ended: dict[str, float], key: str, _: Future[Any]) -> None:
    ended[key] = time.monotonic()


def _fetch_key(client: FhirClient, key: str, request: HookRequest, deadline: float) -> list[dict[str, Any]] | Failure:
    query = render(PREFETCH_TEMPLATES[key], request.patient_id)
    if key == "patient":
        patient = client.read_or_why(query, deadline)
        return patient if isinstance(patient, Failure) else [patient]
    first_page = _first_page(request.prefetch, key)
    if first_page:
        return client.search_after(first_page, _searched(key), deadline)
    return _search_key(client, key, query, request, deadline)


def _search_key(client: FhirClient, key: str, query: str, request: HookRequest,
                deadline: float) -> list[dict[str, Any]] | Failure:
    """A key's search, asked again while the server refuses it as asked (HTTP 400): without the `_count` the service
    adds, and for `observations` narrowed (§Narrowed searches) too. docs/prefetch.md §Searches a server refuses."""
    narrowed = [render(search, request.patient_id) for search in NARROWED_SEARCHES.get(key, ())]
    found = client.search(query, deadline)
    # The narrowed searches come before dropping `_count`: the common 400 to the search by patient alone is Epic's,
    # which takes `_count`, and it keeps its two round trips (the 400, then the narrowed searches at once). A server
    # refusing `_count` refuses them too, and pays a third: the search by patient alone without `_count`, which
    # loses nothing (narrowed searches lose the Observations filed under no category). Only a server refusing both
    # pays a fourth, the narrowed searches without `_count`. Dropping `_count` first would cost Epic a third on
    # every call.
    if narrowed and _refused(found):
        log.debug("hook %s: %s: the FHIR server refused the search (HTTP %d): narrowed searches instead",
                  request.hook_instance, key, REFUSED)
        found = _labelled(client.search_merged(narrowed, deadline), "narrowed search")
    if not _refused(found):
        return found
    log.info("hook %s: %s: the FHIR server answered %d to the search with _count: searching without _count",
             request.hook_instance, key, REFUSED)
    found = _labelled(client.search(query, deadline, counted=False), "without _count")
    if narrowed and _refused(found):
        found = _labelled(client.search_merged(narrowed, deadline, counted=False), "narrowed search without _count")
    return found


def _refused(found: list[dict[str, Any]] | Failure) -> bool:
    return isinstance(found, Failure) and found.status == REFUSED


def _labelled(found: list[dict[str, Any]] | Failure, search: str) -> list[dict[str, Any]] | Failure:
    """A failure of a search asked in place of the key's own (narrowed, or without `_count`), named so in the log's
    reason ("narrowed search: HTTP 503")."""
    return Failure(f"{search}: {found.reason}", found.status) if isinstance(found, Failure) else found


def _listed(found: list[dict[str, Any]] | Failure | None) -> list[dict[str, Any]] | None:
    """The resources fetched for a key; None when its fetch failed, or it was not fetched."""
    return None if isinstance(found, Failure) else found


def _first_page(prefetch: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The prefetch Bundle of a key when it is only the first page of the answer (it has a next link)."""
    value = prefetch.get(key)
    paged = isinstance(value, dict) and value.get("resourceType") == "Bundle" and next_link(value) is not None
    return value if paged else None


def _result(future: Future[list[dict[str, Any]] | Failure]) -> list[dict[str, Any]] | Failure:
    if not future.done() or future.cancelled():
        return Failure(_NO_ANSWER)
    fault = future.exception()
    if fault is not None:
        log.error("FHIR fetch failed unexpectedly", exc_info=without_message(fault))
        return Failure("an error of the service (logged)")
    return future.result()


def _patient_problem(prefetch: dict[str, Any], patient_id: str) -> str:
    """What is wrong with prefetch 'patient', which gave no Patient of context.patientId: an integration engineer
    with a mismatched id must not be sent looking for a missing key. A patientId that is no FHIR id is said too: a
    reference in its place ("Patient/123") matches neither the prefetched Patient nor a read, which is not even
    asked."""
    said = _prefetched_patient_said(prefetch, patient_id)
    return said if FHIR_ID.fullmatch(patient_id) else f"{said} ({_NOT_AN_ID})"


def _prefetched_patient_said(prefetch: dict[str, Any], patient_id: str) -> str:
    """Why prefetch 'patient' gave no Patient of context.patientId, by what it holds."""
    if "patient" not in prefetch:
        return f"missing{_sent_instead(prefetch, 'patient')}"
    if prefetch["patient"] is None:
        return "is null"
    if any(r.get("resourceType") == "Patient" for r in _answered(prefetch, "patient", patient_id) or []):
        return "is another patient's (its id is not context.patientId)"
    return "is not a Patient"


def _sent_instead(prefetch: dict[str, Any], key: str) -> str:
    """The keys of the prefetch that this service does not declare and that look like `key`, a missing one, as a
    note: an EHR configured with other key names ("Patient", "observation"), or a hand-made request, otherwise reads
    as that key never sent. "" when there is none. A name over twice as long as `key` cannot reach the ratio."""
    undeclared = islice((name for name in prefetch if name not in PREFETCH_TEMPLATES), _UNDECLARED_COMPARED)
    alike = [name for name in undeclared if len(name) <= 2 * len(key)
             and SequenceMatcher(None, name.lower(), key.lower()).ratio() >= _ALIKE_RATIO]
    if not alike:
        return ""
    return f" (the prefetch has {' and '.join(map(json_value, alike))} instead, not a key of this service: keys " \
           "are exact, as discovery lists them)"


def _own_patient(candidates: list[dict[str, Any]] | None, patient_id: str) -> dict[str, Any] | None:
    """The Patient among the candidates that is this patient (a Patient naming another id is not)."""
    for resource in candidates or []:
        if resource.get("resourceType") == "Patient" and resource.get("id") in (None, patient_id):
            return resource
    return None


def _each_once(resources: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """fhir_client.each_once over a key's list, prefetched or fetched; None (not received) as it is."""
    return each_once(resources) if resources else resources


def _owned(resources: list[dict[str, Any]] | None, patient_id: str) -> list[dict[str, Any]] | None:
    """Drops resources that plainly belong to another patient, as `bundle_resources` does for a prefetched Bundle."""
    if resources is None:
        return None
    # Read as the entries the fetched list came from: one ownership loop (its OperationOutcomes are already gone).
    return bundle_resources({"entry": [{"resource": resource} for resource in resources]}, patient_id)


def _log_not_received(request: HookRequest, lists: dict[str, list[dict[str, Any]] | None], client: FhirClient | None,
                      unfetchable: str, late: frozenset[str], failures: dict[str, Failure]) -> None:
    """One line for the keys not received, each with what its prefetch was and what the FHIR server did: a key sent
    malformed, one never sent and a fetch that ran out of time read alike on the cards ("EHR did not send").
    `unfetchable`: why there is no `client`; `late`: the keys whose fetch was still under way at the deadline;
    `failures`: why the others' fetches failed (an HTTP status: the integration engineer's first question)."""
    missing = [key for key, value in lists.items() if value is None]
    if missing:
        log.info("hook %s: not received: %s", request.hook_instance,
                 ", ".join(f"{key} (prefetch {_prefetch_said(request.prefetch, key, request.patient_id)}; "
                           f"{_server_said(client, unfetchable, key in late, failures.get(key))})" for key in missing))


def _prefetch_said(prefetch: dict[str, Any], key: str, patient_id: str) -> str:
    """Why a key's prefetch gave no list, by the shape of what was sent alone (never its content)."""
    if key not in prefetch:
        return f"absent{_sent_instead(prefetch, key)}"
    value = prefetch[key]
    kind = value.get("resourceType") if isinstance(value, dict) else None
    if kind == "Bundle":
        if next_link(value) is not None:
            return "a first page only"
        return _unusable(value, bundle_resources(value, patient_id), key) or "a Bundle"
    return "an OperationOutcome" if kind == "OperationOutcome" else "not a Bundle"


def _server_said(client: FhirClient | None, unfetchable: str, late: bool, failure: Failure | None) -> str:
    """What came of fetching a key, in the words of the log: the failure's reason (a status, "too many pages"), never
    its URL or query (those are at DEBUG)."""
    if client is None:
        return unfetchable
    if late:
        return f"FHIR server: {_NO_ANSWER}"
    return f"FHIR server: read failed ({failure.reason})" if failure else "FHIR server: read failed"


class _Resolver:
    """PatientRecord.resolve: reads references from the request's FHIR server, once each (failures included)."""

    def __init__(self, client: FhirClient, deadline: float) -> None:
        self._client = client
        self._deadline = deadline
        self._grace_given = False
        self._cache: dict[str, dict[str, Any] | None] = {}

    def __call__(self, reference: str) -> dict[str, Any] | None:
        if reference not in self._cache and len(self._cache) < MAX_RESOLVES:
            self._cache[reference] = self._client.read(reference, self._read_deadline())
        return self._cache.get(reference)

    def _read_deadline(self) -> float:
        now = time.monotonic()
        if now >= self._deadline and not self._grace_given:
            self._deadline = now + RESOLVE_GRACE_SECONDS
            self._grace_given = True
        return self._deadline
