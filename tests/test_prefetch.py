"""RecordLoader: prefetch answered or not, fetching the rest from a real FHIR test server."""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from typing import Any, Callable

import pytest

from cds_service.exceptions import PatientUnavailable
from cds_service.hook_request import HookRequest
from cds_service.prefetch import PREFETCH_TEMPLATES, TOKEN_REFUSED, RecordLoader, render
from cds_service.record import PatientRecord
from tests.fhir_server import HANG_GUARD_SECONDS, Exchange, FhirTestServer, fhir_server  # noqa: F401 (pytest fixture)

TOKEN = "access-token-123"
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"}
SEARCH_PATHS = {f"/{t.split('?')[0]}" for k, t in PREFETCH_TEMPLATES.items() if k != "patient"}


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _of(resource_type: str, rid: str, patient: str = "p1", **fields: Any) -> dict[str, Any]:
    owner = {"Coverage": "beneficiary", "Immunization": "patient"}.get(resource_type, "subject")
    return {"resourceType": resource_type, "id": rid, owner: {"reference": f"Patient/{patient}"}, **fields}


def _request(prefetch: dict[str, Any], server: FhirTestServer | None = None, token: str | None = TOKEN,
             patient_id: str = "p1") -> HookRequest:
    return HookRequest(
        hook="order-sign", hook_instance="hi-1", service_id="blinatumomab-coverage", patient_id=patient_id,
        draft_orders=_bundle(), fhir_server=server.base_url if server else None,
        fhir_authorization={"access_token": token, "token_type": "Bearer"} if server and token else None,
        prefetch=prefetch)


def _load(request: HookRequest, allow: Callable[[str], bool] = lambda url: True, budget: float = 3.0) -> PatientRecord:
    return RecordLoader(request, allow, budget)()


def _full_prefetch() -> dict[str, Any]:
    return {key: _bundle() for key in PREFETCH_TEMPLATES} | {"patient": PATIENT}


def test_bundles_and_null_are_answered_without_contacting_the_server(fhir_server: FhirTestServer) -> None:
    prefetch = _full_prefetch() | {"conditions": _bundle(_of("Condition", "c1")), "immunizations": None}
    record = _load(_request(prefetch, fhir_server))
    assert record.patient == PATIENT
    assert record.not_received() == []
    assert [r["id"] for r in record.resources("conditions")] == ["c1"]
    assert record.resources("immunizations") == [] and record.received("immunizations")
    assert fhir_server.requests == []


def test_absent_keys_and_operation_outcomes_are_not_received_without_a_server() -> None:
    prefetch = _full_prefetch() | {"coverage": {"resourceType": "OperationOutcome", "issue": []}}
    del prefetch["observations"]
    record = _load(_request(prefetch))
    assert record.not_received() == ["coverage", "observations"]
    assert record.resolve("Medication/m1") is None


def test_missing_keys_are_fetched_in_parallel_with_the_token() -> None:
    """The server answers none of the seven fetches until all seven are in flight at once (a barrier): fetched one
    after another, the first would wait at the barrier until it broke."""
    with FhirTestServer(token=TOKEN) as server:
        server.add(PATIENT, _of("Coverage", "cov1", status="active"), _of("Coverage", "cov2", status="cancelled"),
                   _of("Condition", "c1"), _of("Immunization", "i1"))
        all_in_flight = threading.Barrier(len(SEARCH_PATHS) + 1)
        for path in SEARCH_PATHS | {"/Patient/p1"}:
            server.fault(path, barrier=all_in_flight)
        # The budget is a hang guard, not this test's subject: longer than the barrier's, so that fetches made one
        # after another fail on the barrier below.
        record = _load(_request({}, server), budget=2 * HANG_GUARD_SECONDS)
        assert not all_in_flight.broken
        assert record.not_received() == []
        assert [r["id"] for r in record.resources("coverage")] == ["cov1"]
        assert [r["id"] for r in record.resources("immunizations")] == ["i1"]
        assert sorted(server.paths()) == sorted(SEARCH_PATHS | {"/Patient/p1"})
        assert {r.authorization for r in server.requests} == {f"Bearer {TOKEN}"}
        assert next(r for r in server.requests if r.path == "/Coverage").query == \
            {"patient": ["p1"], "status": ["active"], "_count": ["200"]}


def test_only_the_missing_keys_are_fetched(fhir_server: FhirTestServer) -> None:
    prefetch = _full_prefetch()
    del prefetch["observations"]
    _load(_request(prefetch, fhir_server))
    assert fhir_server.paths() == ["/Observation"]


def test_fetch_follows_paging() -> None:
    with FhirTestServer(page_size=2) as server:
        server.add(*(_of("Observation", f"o{i}") for i in range(5)))
        record = _load(_request(_full_prefetch() | {"observations": {"resourceType": "OperationOutcome"}}, server))
        assert sorted(r["id"] for r in record.resources("observations")) == [f"o{i}" for i in range(5)]
        assert server.paths() == ["/Observation"] * 3


CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"


def _observation(rid: str, *categories: str, **fields: Any) -> dict[str, Any]:
    return _of("Observation", rid, status="final", **fields,
               category=[{"coding": [{"system": CATEGORY_SYSTEM, "code": code}]} for code in categories])


def _observation_searches(server: FhirTestServer) -> list[dict[str, list[str]]]:
    return [r.query for r in server.requests if r.path == "/Observation"]


def _observation_asks(server: FhirTestServer) -> list[tuple[str, bool]]:
    """Each first page of an Observation search asked: (its category or "none", whether it asked `_count`)."""
    return [(query.get("category", ["none"])[0], "_count" in query) for query in _observation_searches(server)
            if "_page" not in query]


def _load_without(server: FhirTestServer, *keys: str) -> PatientRecord:
    """The record of a full prefetch without `keys`, those fetched from `server`."""
    prefetch = _full_prefetch()
    for key in keys:
        del prefetch[key]
    return _load(_request(prefetch, server))


def test_observations_are_searched_by_category_on_a_server_refusing_a_search_by_patient_alone(
        caplog: pytest.LogCaptureFixture) -> None:
    """Epic answers 400 to an Observation search without a category or a code: the laboratory results (an MRD result
    known by its text alone among them) and the vital signs are asked for, each by its category, and merged. What
    the service never reads (social history) is not asked for."""
    mrd = _observation("mrd", "laboratory", code={"text": "MRD by flow cytometry (bone marrow)"})
    weight = _observation("weight", "vital-signs", code={"coding": [{"system": "http://loinc.org", "code": "29463-7"}]})
    with FhirTestServer(page_size=2, token=TOKEN, narrowed_observations=True) as server:
        server.add(PATIENT, mrd, weight, _observation("smoking", "social-history"),
                   *(_observation(f"lab{i}", "laboratory") for i in range(3)))
        prefetch = _full_prefetch()
        del prefetch["observations"]
        with caplog.at_level(logging.INFO, logger="cds_service"):
            record = _load(_request(prefetch, server))
        assert record.not_received() == []
        assert [r["id"] for r in record.resources("observations")] == ["lab0", "lab1", "lab2", "mrd", "weight"]
        first, *narrowed = _observation_searches(server)
        assert first == {"patient": ["p1"], "_count": ["200"]}
        assert {q["category"][0] for q in narrowed} == {"laboratory", "vital-signs"}
        assert all(q["_count"] == ["200"] and q["patient"] == ["p1"] for q in narrowed)
        assert {r.authorization for r in server.requests} == {f"Bearer {TOKEN}"}
    assert "not received" not in caplog.text


def test_a_server_answering_the_search_by_patient_is_not_asked_by_category(fhir_server: FhirTestServer) -> None:
    """Asked first as the template asks, a server that answers gives every Observation: one without a category, and
    one of a category the narrowed searches do not ask for, may be what a reader takes (MRD is known by its text)."""
    fhir_server.add(_of("Observation", "uncategorized", status="final"), _observation("exam", "exam"))
    prefetch = _full_prefetch()
    del prefetch["observations"]
    record = _load(_request(prefetch, fhir_server))
    assert [r["id"] for r in record.resources("observations")] == ["exam", "uncategorized"]
    assert _observation_searches(fhir_server) == [{"patient": ["p1"], "_count": ["200"]}]


def test_a_key_not_received_is_logged_with_the_status_the_server_answered(caplog: pytest.LogCaptureFixture) -> None:
    """The integration engineer's first question: what did the server answer? The INFO line says it for each key,
    with ids only: no URL, no query, no token. A 400 to a search other than the Observations' is not narrowed, only
    asked again without `_count`; a narrowed search failing otherwise than with a 400 is not asked again."""
    with FhirTestServer(token=TOKEN, narrowed_observations=True) as server:
        server.add(PATIENT, _observation("weight", "vital-signs"))
        server.fault("/Observation?category=vital-signs", status=503)
        server.fault("/Condition", status=400)
        with caplog.at_level(logging.INFO, logger="cds_service"):
            record = _load_without(server, "observations", "conditions")
        assert record.not_received() == ["conditions", "observations"]
        assert [sorted(r.query) for r in server.requests if r.path == "/Condition"] == [["_count", "patient"],
                                                                                        ["patient"]]
        assert len(_observation_searches(server)) == 3
    *_, line = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert line == ("hook hi-1: not received: conditions (prefetch absent; FHIR server: read failed (without _count: "
                    "HTTP 400)), observations (prefetch absent; FHIR server: read failed (narrowed search: HTTP 503))")
    assert TOKEN not in caplog.text and server.base_url not in line and "category" not in line


def test_every_key_is_read_from_a_server_refusing_count(caplog: pytest.LogCaptureFixture) -> None:
    """A server answering 400 to `_count` (a parameter it does not support) made every fetched key not received. Each
    search is asked again without it; the Observations' after the narrowed searches, refused too, and then as the
    template asks: every Observation, one filed under no category among them. Logged at INFO, ids only."""
    with FhirTestServer(page_size=2, token=TOKEN, refuse_count=True) as server:
        server.add(PATIENT, _of("Coverage", "cov1", status="active"), _of("Condition", "c1"),
                   _of("Observation", "uncategorized", status="final"), _observation("weight", "vital-signs"),
                   *(_observation(f"lab{i}", "laboratory") for i in range(3)))
        with caplog.at_level(logging.INFO, logger="cds_service"):
            record = _load(_request({}, server))
        assert record.not_received() == []
        assert [r["id"] for r in record.resources("coverage")] == ["cov1"]
        assert [r["id"] for r in record.resources("observations")] == ["lab0", "lab1", "lab2", "uncategorized",
                                                                       "weight"]
        first_pages = [r.path for r in server.requests if r.path != "/Patient/p1" and "_page" not in r.query]
        assert sorted(first_pages) == sorted([*SEARCH_PATHS, *SEARCH_PATHS, "/Observation", "/Observation"])
        asks = _observation_asks(server)
        assert asks[0] == ("none", True) and asks[3:] == [("none", False)]
        assert sorted(asks[1:3]) == [("laboratory", True), ("vital-signs", True)]
    dropped = sorted(r.getMessage() for r in caplog.records if "_count" in r.getMessage())
    assert dropped == [f"hook hi-1: {key}: the FHIR server answered 400 to the search with _count: searching "
                       f"without _count" for key in sorted(PREFETCH_TEMPLATES) if key != "patient"]
    assert all(r.levelno == logging.INFO for r in caplog.records if "_count" in r.getMessage())
    assert TOKEN not in caplog.text and server.base_url not in caplog.text


def test_observations_are_searched_by_category_without_count_on_a_server_refusing_both() -> None:
    """Epic's refusal of a search by patient alone and a refusal of `_count` on one server: the narrowed searches
    without `_count`, after the three refused, six requests in four round trips."""
    with FhirTestServer(page_size=2, narrowed_observations=True, refuse_count=True) as server:
        server.add(PATIENT, _observation("weight", "vital-signs"), _observation("mrd", "laboratory"))
        record = _load_without(server, "observations")
        assert [r["id"] for r in record.resources("observations")] == ["mrd", "weight"]
        asks = _observation_asks(server)
        assert asks[0] == ("none", True) and asks[3] == ("none", False)
        assert sorted(asks[1:3]) == [("laboratory", True), ("vital-signs", True)]
        assert sorted(asks[4:]) == [("laboratory", False), ("vital-signs", False)]


def test_a_search_refused_with_and_without_count_is_not_received(caplog: pytest.LogCaptureFixture) -> None:
    """Every search answered 400, `_count` or not: two requests for the conditions, six for the observations (the
    search by patient alone and the narrowed ones, each with `_count` and without), and neither key received."""
    with FhirTestServer() as server:
        server.add(PATIENT)
        server.fault("/Condition", status=400)
        server.fault("/Observation", status=400)
        with caplog.at_level(logging.INFO, logger="cds_service"):
            record = _load_without(server, "observations", "conditions")
        assert record.not_received() == ["conditions", "observations"]
        assert server.paths().count("/Condition") == 2
        asks = _observation_asks(server)
        assert len(asks) == 6 and asks[0] == ("none", True) and asks[3] == ("none", False)
    assert caplog.records[-1].getMessage() == (
        "hook hi-1: not received: conditions (prefetch absent; FHIR server: read failed (without _count: HTTP 400)), "
        "observations (prefetch absent; FHIR server: read failed (narrowed search without _count: HTTP 400))")


def test_no_authorization_header_without_fhir_authorization(fhir_server: FhirTestServer) -> None:
    prefetch = _full_prefetch()
    del prefetch["conditions"]
    assert _load(_request(prefetch, fhir_server, token=None)).received("conditions")
    assert fhir_server.requests[0].authorization is None


def test_a_slow_key_alone_is_not_received_within_the_budget(fhir_server: FhirTestServer,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """The server holds the observations until the test releases them, which it does only once the record is built:
    the budget alone ended that fetch, and its thread hung up on the server instead of running on."""
    fhir_server.add(PATIENT, _of("Condition", "c1"), _of("Observation", "o1"))
    fhir_server.fault("/Immunization", status=500)
    release = threading.Event()
    fhir_server.fault("/Observation", hold=release)
    try:
        # The budget runs out for the held key only: long enough for the other keys on a loaded machine (at 0.5 s
        # the conditions were once not received either).
        with caplog.at_level(logging.INFO, logger="cds_service"):
            record = _load(_request({}, fhir_server), budget=2.0)
        assert record.not_received() == ["observations", "immunizations"]
        assert [r.getMessage() for r in caplog.records if "not received" in r.getMessage()] == [
            "hook hi-1: not received: observations (prefetch absent; FHIR server: no answer within the fetch budget), "
            "immunizations (prefetch absent; FHIR server: read failed (HTTP 500))"]
        assert [r["id"] for r in record.resources("conditions")] == ["c1"]
        [observations] = [r for r in fhir_server.requests if r.path == "/Observation"]
        assert observations.exchange.wait() == Exchange.CLIENT_HUNG_UP
    finally:
        release.set()


def test_the_log_says_how_each_key_not_received_was_sent(caplog: pytest.LogCaptureFixture) -> None:
    """A key sent malformed and one never sent read alike on the cards: the integration engineer reads the log."""
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    prefetch = _full_prefetch() | {"conditions": PATIENT, "observations": [], "coverage": error,
                                   "immunizations": _bundle(error),
                                   "attestations": _bundle() | {"link": [{"relation": "next", "url": "x"}]}}
    del prefetch["medicationRequests"]
    with caplog.at_level(logging.INFO, logger="cds_service"):
        _load(_request(prefetch))
    [line] = [r.getMessage() for r in caplog.records if "not received" in r.getMessage()]
    assert line == ("hook hi-1: not received: coverage (prefetch an OperationOutcome; no fhirServer to fetch it from), "
                    "conditions (prefetch not a Bundle; no fhirServer to fetch it from), "
                    "observations (prefetch not a Bundle; no fhirServer to fetch it from), "
                    "medicationRequests (prefetch absent; no fhirServer to fetch it from), "
                    "immunizations (prefetch a Bundle reporting an error, or with an entry that is no resource; "
                    "no fhirServer to fetch it from), "
                    "attestations (prefetch a first page only; no fhirServer to fetch it from)")


def test_server_errors_make_only_their_keys_not_received(fhir_server: FhirTestServer) -> None:
    fhir_server.add(PATIENT)
    fhir_server.fault("/Condition", status=500)
    fhir_server.fault("/Immunization", invalid_json=True)
    assert _load(_request({}, fhir_server)).not_received() == ["conditions", "immunizations"]


def test_a_401_leaves_everything_not_received_but_the_prefetched_patient() -> None:
    with FhirTestServer(token="another-token") as server:
        record = _load(_request({"patient": PATIENT}, server))
        assert record.patient == PATIENT
        assert len(record.not_received()) == len(PREFETCH_TEMPLATES) - 1
        assert len(server.requests) == len(SEARCH_PATHS)


def test_a_server_not_allowed_is_never_contacted(fhir_server: FhirTestServer) -> None:
    allowed: list[str] = []

    def deny(url: str) -> bool:
        allowed.append(url)
        return False

    record = _load(_request({"patient": PATIENT}, fhir_server), allow=deny)
    assert allowed == [fhir_server.base_url]
    assert len(record.not_received()) == len(PREFETCH_TEMPLATES) - 1
    assert record.resolve("Medication/m1") is None
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request({}, fhir_server), allow=deny)
    assert fhir_server.requests == []
    # No client was verified: a call without a JWT where none is required, whose servers no client lists.
    assert raised.value.message.endswith("fhirServer is not allowed for a call without a JWT (only a verified "
                                         "client's fhir_servers are)")


def test_a_server_not_allowed_is_a_warning_once_and_named_in_the_412(fhir_server: FhirTestServer,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """The operator got an INFO line and the EHR "not fetchable": neither could tell the client's allowlist was at
    fault. The URL is not logged, nor quoted back."""
    request = replace(_request({}, fhir_server), client_iss="https://ehr.example.org")
    with caplog.at_level(logging.INFO, logger="cds_service"), pytest.raises(PatientUnavailable) as raised:
        _load(request, allow=lambda url: False)
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.getMessage().startswith(
        "hook hi-1: FHIR server not allowed for client https://ehr.example.org: nothing fetched")
    assert raised.value.message.endswith("prefetch 'patient' missing and fhirServer is not allowed for this client")
    assert raised.value.summary == "not-found at prefetch.patient: fhirServer is not allowed for this client"
    assert fhir_server.base_url not in caplog.text + raised.value.message
    assert fhir_server.requests == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_token_the_server_refuses_is_a_warning_once_and_named_in_the_412(status: int,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    """Every key and read meets the same refusal: one WARNING for the call, with ids only, and the 412 says it."""
    with FhirTestServer(token=TOKEN) as server:
        for path in ("/Patient/p1", "/Medication/m1", *SEARCH_PATHS):
            server.fault(path, status=status)  # a 403: the token is accepted, its scopes are not
        request = replace(_request({}, server, token=TOKEN if status == 403 else "expired-token-456"),
                          client_iss="https://ehr.example.org")
        with caplog.at_level(logging.DEBUG, logger="cds_service"), pytest.raises(PatientUnavailable) as raised:
            _load(request)
        assert raised.value.message.endswith(f"prefetch 'patient' missing and the FHIR server answered {status}"
                                             + TOKEN_REFUSED)
        record = _load(replace(request, prefetch={"patient": PATIENT}))  # a prefetched patient: the call goes on
        assert record.resolve("Medication/m1") is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"hook hi-1 of client https://ehr.example.org: FHIR server answered {status}: what it "
                        "refused is not received"] * 2  # once for each of the two calls
    assert TOKEN not in caplog.text and "expired-token-456" not in caplog.text


def test_the_patient_is_fetched_when_not_prefetched_or_not_this_patient(fhir_server: FhirTestServer) -> None:
    fhir_server.add(PATIENT)
    other = {"resourceType": "Patient", "id": "p2"}
    for answer in (None, other, {"resourceType": "OperationOutcome"}, _bundle(other)):
        record = _load(_request(_full_prefetch() | {"patient": answer}, fhir_server))
        assert record.patient == PATIENT
    assert fhir_server.paths() == ["/Patient/p1"] * 4


def test_a_patient_in_a_bundle_is_accepted() -> None:
    assert _load(_request(_full_prefetch() | {"patient": _bundle(PATIENT)})).patient == PATIENT


@pytest.mark.parametrize(("answer", "said"), [
    ({"resourceType": "Patient", "id": "p2"}, "is another patient's (its id is not context.patientId)"),
    ({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "p2"}}]},
     "is another patient's (its id is not context.patientId)"),
    ({"resourceType": "Observation", "id": "o1"}, "is not a Patient"),
    ("Patient/p1", "is not a Patient"),
    (None, "is null"),
])
def test_the_412_says_what_was_wrong_with_the_prefetched_patient(answer: Any, said: str) -> None:
    """A mismatched patientId is not a missing key: the engineer must be told which it is."""
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request(_full_prefetch() | {"patient": answer}))
    assert raised.value.message == (f"No patient data obtainable: prefetch 'patient' {said} and no fhirServer to "
                                    "fetch it from")


def test_the_412_names_a_prefetch_key_sent_in_place_of_patient() -> None:
    """An EHR configured with its own key names (or a hand-made request) read as a patient never sent."""
    prefetch = _full_prefetch() | {"Patient": PATIENT, "patients": None, "extra": None}
    del prefetch["patient"]
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request(prefetch))
    assert raised.value.message == (
        "No patient data obtainable: prefetch 'patient' missing (the prefetch has \"Patient\" and \"patients\" "
        "instead, not a key of this service: keys are exact, as discovery lists them) and no fhirServer to fetch it "
        "from")


@pytest.mark.parametrize("others", [{"extra": None, "encounter": None},
                                    {**{f"k{i}": None for i in range(20)}, "Patient": PATIENT}])
def test_a_missing_patient_names_no_key_unlike_it_nor_past_the_first_undeclared_keys(others: dict[str, Any]) -> None:
    """Only the first 20 undeclared keys are compared: a body may hold thousands."""
    prefetch = {key: value for key, value in _full_prefetch().items() if key != "patient"} | others
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request(prefetch))
    assert raised.value.message == "No patient data obtainable: prefetch 'patient' missing and no fhirServer to " \
                                   "fetch it from"


def test_the_log_names_a_prefetch_key_sent_in_place_of_a_missing_one(caplog: pytest.LogCaptureFixture) -> None:
    prefetch = {key: value for key, value in _full_prefetch().items() if key != "observations"}
    with caplog.at_level(logging.INFO, logger="cds_service"):
        _load(_request(prefetch | {"Observation": _bundle()}))
    [line] = [r.getMessage() for r in caplog.records if "not received" in r.getMessage()]
    assert line == ("hook hi-1: not received: observations (prefetch absent (the prefetch has \"Observation\" "
                    "instead, not a key of this service: keys are exact, as discovery lists them); no fhirServer to "
                    "fetch it from)")


@pytest.mark.parametrize("patient_id", ["Patient/p1", "p 1", "p" * 65])
def test_the_412_says_a_patient_id_is_no_fhir_id(fhir_server: FhirTestServer, patient_id: str) -> None:
    """context.patientId "Patient/p1" matched neither the prefetched Patient p1 nor a read, which is not asked."""
    fhir_server.add(PATIENT)
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request({"patient": PATIENT}, patient_id=patient_id))
    assert raised.value.message == (
        "No patient data obtainable: prefetch 'patient' is another patient's (its id is not context.patientId) "
        "(context.patientId is not a FHIR id: letters, digits, - and . only, at most 64; not a reference such as "
        "Patient/123) and no fhirServer to fetch it from")
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request({}, fhir_server, patient_id=patient_id))
    assert raised.value.message.endswith("not a reference such as Patient/123) and the FHIR server did not return it "
                                         "(not asked: not a reference by FHIR id to this server)")
    assert not [path for path in fhir_server.paths() if path.startswith("/Patient")]  # the read is not asked


def test_a_fhir_id_of_64_characters_is_no_problem() -> None:
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request({"patient": PATIENT}, patient_id="p-1." + "x" * 60))
    assert raised.value.message.endswith("is another patient's (its id is not context.patientId) and no fhirServer to "
                                         "fetch it from")


def test_no_patient_at_all_is_patient_unavailable(fhir_server: FhirTestServer) -> None:
    with pytest.raises(PatientUnavailable):
        _load(_request({key: None for key in PREFETCH_TEMPLATES}))
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request({}, fhir_server))  # the server has no Patient/p1: 404
    assert raised.value.status == 412
    assert raised.value.message.endswith("prefetch 'patient' missing and the FHIR server did not return it (HTTP 404)")


@pytest.mark.parametrize(("fault", "said"), [
    ({"status": 500}, "HTTP 500"),
    ({"invalid_json": True}, "invalid JSON"),
    ({"body": b'{"resourceType": "OperationOutcome"}'}, "the answer is not a Patient"),
    ({"body": b'{"resourceType": "Patient", "id": "p2"}'}, "the answer is another Patient (its id differs)"),
])
def test_the_412_says_why_the_server_gave_no_patient(fhir_server: FhirTestServer, fault: dict[str, Any],
                                                     said: str) -> None:
    """A fhirServer that is wrong (a 404 for every path, a web page) and a patient the server lacks read alike
    without the why: the engineer is told what the server answered, in the service's words (no URL, no token)."""
    fhir_server.fault("/Patient/p1", **fault)
    with pytest.raises(PatientUnavailable) as raised:
        _load(_request({}, fhir_server))
    assert raised.value.message == f"No patient data obtainable: prefetch 'patient' missing and the FHIR server did " \
                                   f"not return it ({said})"
    assert raised.value.summary == f"not-found at prefetch.patient: the FHIR server did not return it ({said})"


def test_the_412_says_nothing_answered_at_the_fhir_server() -> None:
    with FhirTestServer() as server:
        request = _request({}, server)  # the server stops: nothing listens at its address any more
    with pytest.raises(PatientUnavailable) as raised:
        _load(request)
    assert raised.value.message.endswith("the FHIR server did not return it (ConnectionError)")


def test_the_412_says_the_patient_did_not_come_within_the_budget(fhir_server: FhirTestServer) -> None:
    """The server holds the Patient until the test releases it, after the record's build gave up: the budget ended
    the read, not an answer."""
    release = threading.Event()
    fhir_server.fault("/Patient/p1", hold=release)
    try:
        with pytest.raises(PatientUnavailable) as raised:
            _load(_request({}, fhir_server), budget=0.5)
    finally:
        release.set()
    assert raised.value.message.endswith("the FHIR server did not return it (no answer within the fetch budget)")


def test_resources_of_another_patient_are_dropped(fhir_server: FhirTestServer) -> None:
    fhir_server.add(_of("Observation", "mine"), {**_of("Observation", "theirs"), "subject": {"reference": "Patient/p1"},
                                                  "patient": {"reference": "http://x/fhir/Patient/p2/_history/1"}})
    prefetch = _full_prefetch() | {
        "conditions": _bundle(_of("Condition", "c1"), _of("Condition", "c2", patient="p2"),
                              {"resourceType": "Condition", "id": "c3", "subject": {"reference": "Group/g1"}}),
        "coverage": _bundle(_of("Coverage", "cov1", patient="p2"))}
    del prefetch["observations"]
    record = _load(_request(prefetch, fhir_server))
    assert [r["id"] for r in record.resources("conditions")] == ["c1", "c3"]
    assert record.resources("coverage") == [] and record.received("coverage")
    assert [r["id"] for r in record.resources("observations")] == ["mine"]


def test_resolve_reads_references_with_the_token_once_each() -> None:
    with FhirTestServer(token=TOKEN) as server, FhirTestServer() as elsewhere:
        server.add({"resourceType": "Medication", "id": "m1"})
        record = _load(_request(_full_prefetch(), server))
        assert record.resolve("Medication/m1") == {"resourceType": "Medication", "id": "m1"}
        assert record.resolve(f"{server.base_url}/Medication/m1")["id"] == "m1"
        assert record.resolve("Medication/m1")["id"] == "m1"
        assert record.resolve("Organization/missing") is None
        assert record.resolve("Organization/missing") is None
        assert record.resolve(f"{elsewhere.base_url}/Medication/m1") is None
        assert server.paths() == ["/Medication/m1", "/Medication/m1", "/Organization/missing"]
        assert {r.authorization for r in server.requests} == {f"Bearer {TOKEN}"}
        assert elsewhere.requests == []


def test_reads_after_a_spent_budget_share_one_short_grace_window(fhir_server: FhirTestServer) -> None:
    """The fetch spent the whole budget: the first read gets RESOLVE_GRACE_SECONDS more, and the reads after it share
    that window. m1 is held by the server until the test releases it (after the reads): the window ends it (the
    server sees the client hang up), and m2, asked for once the window is over, is not read at all."""
    fhir_server.add(*({"resourceType": "Medication", "id": f"m{i}"} for i in range(3)))
    release = threading.Event()
    fhir_server.fault("/Medication/m1", hold=release)
    record = _load(_request(_full_prefetch(), fhir_server), budget=0.0)
    try:
        assert record.resolve("Medication/m0") is not None
        assert record.resolve("Medication/m1") is None
        assert record.resolve("Medication/m2") is None
        assert fhir_server.requests[1].exchange.wait() == Exchange.CLIENT_HUNG_UP
    finally:
        release.set()
    assert fhir_server.paths() == ["/Medication/m0", "/Medication/m1"]


def test_the_loader_builds_the_record_once(fhir_server: FhirTestServer) -> None:
    fhir_server.add(PATIENT)
    load = RecordLoader(_request({}, fhir_server), lambda url: True, 3.0)
    assert load() is load()
    assert len(fhir_server.requests) == len(PREFETCH_TEMPLATES)


def test_the_patient_id_is_url_encoded_in_searches() -> None:
    assert render(PREFETCH_TEMPLATES["coverage"], "a b&c=d/e") == "Coverage?patient=a%20b%26c%3Dd%2Fe&status=active"
    with FhirTestServer() as server:
        patient = {"resourceType": "Patient", "id": "a b&c"}
        _load(_request({"patient": patient}, server, patient_id="a b&c"))
        assert {r.query["patient"][0] for r in server.requests} == {"a b&c"}


def test_the_token_never_reaches_the_logs(fhir_server: FhirTestServer, caplog: pytest.LogCaptureFixture) -> None:
    fhir_server.add(PATIENT)
    fhir_server.fault("/Condition", status=500)
    with caplog.at_level("DEBUG"):
        record = _load(_request({}, fhir_server))
        record.resolve("Medication/missing")
    assert "/Condition" in caplog.text and "conditions" in caplog.text
    assert TOKEN not in caplog.text


def _outcome(severity: str) -> dict[str, Any]:
    return {"resource": {"resourceType": "OperationOutcome", "issue": [
        {"severity": severity, "code": "too-costly", "diagnostics": "search timed out; results incomplete"}]},
        "search": {"mode": "outcome"}}


def _paged(next_url: str, *resources: dict[str, Any]) -> dict[str, Any]:
    return _bundle(*resources) | {"link": [{"relation": "next", "url": next_url}]}


LIVE_VACCINE = _of("Immunization", "mmr", vaccineCode={"coding": [{"system": "http://hl7.org/fhir/sid/cvx",
                                                                    "code": "03"}]})


@pytest.mark.parametrize("severity", ["error", "fatal"])
def test_a_prefetch_bundle_reporting_an_error_is_not_an_answer(severity: str) -> None:
    """An EHR whose search failed part-way says so in an OperationOutcome entry: "no vaccines" would be a guess."""
    incomplete = _bundle() | {"entry": [{"resource": _of("Immunization", "flu")}, _outcome(severity)]}
    record = _load(_request(_full_prefetch() | {"immunizations": incomplete}))
    assert record.not_received() == ["immunizations"]


def test_a_prefetch_bundle_reporting_an_error_is_fetched_again(fhir_server: FhirTestServer) -> None:
    fhir_server.add(LIVE_VACCINE)
    record = _load(_request(_full_prefetch() | {"immunizations": _bundle() | {"entry": [_outcome("error")]}},
                            fhir_server))
    assert [r["id"] for r in record.resources("immunizations")] == ["mmr"]
    assert fhir_server.paths() == ["/Immunization"]


def test_warnings_in_a_prefetch_bundle_are_skipped() -> None:
    flu = _of("Immunization", "flu")
    answer = _bundle(flu) | {"entry": [{"resource": flu}, _outcome("warning"), _outcome("information")]}
    assert _load(_request(_full_prefetch() | {"immunizations": answer})).resources("immunizations") == [flu]


def test_a_fetched_search_reporting_an_error_is_not_received(fhir_server: FhirTestServer) -> None:
    answer = {"resourceType": "Bundle", "type": "searchset", "entry": [_outcome("error")]}
    fhir_server.fault("/Immunization", body=json.dumps(answer).encode())
    prefetch = _full_prefetch()
    del prefetch["immunizations"]
    assert _load(_request(prefetch, fhir_server)).not_received() == ["immunizations"]


def test_a_prefetch_bundle_short_of_its_total_is_not_an_answer() -> None:
    """A searchset saying it matched two Immunizations, holding one and no next link: the other may be the live
    vaccine. Another patient's resource, dropped, was received: it counts against the total."""
    short = _bundle(_of("Immunization", "flu")) | {"total": 2}
    record = _load(_request(_full_prefetch() | {"immunizations": short, "conditions": _bundle() | {"total": 1}}))
    assert record.not_received() == ["conditions", "immunizations"]
    whole = _bundle(_of("Immunization", "flu"), _of("Immunization", "mmr", patient="p2")) | {"total": 2}
    assert [r["id"] for r in _load(_request(_full_prefetch() | {"immunizations": whole})).resources("immunizations")] \
        == ["flu"]


def test_a_prefetch_bundle_of_other_resource_types_only_is_not_an_answer() -> None:
    """Observations under `immunizations` answer another search: read as "no live vaccine", they gave an approval."""
    record = _load(_request(_full_prefetch() | {"immunizations": _bundle(_of("Observation", "o1"))}))
    assert record.not_received() == ["immunizations"]
    drug = {"resourceType": "Medication", "id": "m1"}
    orders = _bundle(_of("MedicationRequest", "mr1"), drug)  # a Medication beside the orders naming it is kept
    assert _load(_request(_full_prefetch() | {"medicationRequests": orders})).resources("medicationRequests")[1] == drug


def test_an_unusable_prefetch_bundle_is_fetched_again_and_logged(fhir_server: FhirTestServer,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    fhir_server.add(LIVE_VACCINE)
    prefetch = _full_prefetch() | {"immunizations": _bundle() | {"total": 1},
                                   "conditions": _bundle(_of("Observation", "o1"))}
    record = _load(_request(prefetch, fhir_server))
    assert [r["id"] for r in record.resources("immunizations")] == ["mmr"]
    assert record.resources("conditions") == [] and record.received("conditions")
    assert sorted(fhir_server.paths()) == ["/Condition", "/Immunization"]
    fhir_server.fault("/Immunization", status=500)
    fhir_server.fault("/Condition", status=500)
    with caplog.at_level(logging.INFO, logger="cds_service"):
        _load(_request(prefetch, fhir_server))
    [line] = [r.getMessage() for r in caplog.records if "not received" in r.getMessage()]
    assert line == ("hook hi-1: not received: "
                    "conditions (prefetch a Bundle of other resource types than searched; FHIR server: read failed "
                    "(HTTP 500)), immunizations (prefetch a Bundle with fewer entries than its total; FHIR server: "
                    "read failed (HTTP 500))")


def test_a_paged_prefetch_bundle_is_completed_from_its_next_link() -> None:
    with FhirTestServer(page_size=1) as server:
        server.add(_of("Immunization", "flu"), LIVE_VACCINE)
        first_page = _paged(f"{server.base_url}/Immunization?patient=p1&_page=1", _of("Immunization", "flu"))
        record = _load(_request(_full_prefetch() | {"immunizations": first_page}, server))
        assert [r["id"] for r in record.resources("immunizations")] == ["flu", "mmr"]
        assert server.paths() == ["/Immunization"] and server.requests[0].query["_page"] == ["1"]


def test_a_paged_prefetch_bundle_without_a_server_is_not_received() -> None:
    first_page = _paged("https://ehr.example.org/fhir/Immunization?page=2", _of("Immunization", "flu"))
    record = _load(_request(_full_prefetch() | {"immunizations": first_page}))
    assert record.not_received() == ["immunizations"]


def test_a_paged_prefetch_bundle_leading_elsewhere_is_not_received() -> None:
    with FhirTestServer() as server, FhirTestServer() as elsewhere:
        elsewhere.add(LIVE_VACCINE)
        first_page = _paged(f"{elsewhere.base_url}/Immunization?patient=p1", _of("Immunization", "flu"))
        record = _load(_request(_full_prefetch() | {"immunizations": first_page}, server))
        assert record.not_received() == ["immunizations"]
        assert server.requests == [] and elsewhere.requests == []


def test_everything_fetched_for_a_call_shares_one_byte_budget() -> None:
    """Six searches paging through 3 MB pages (each under the per-response cap), 8 pages each, stop together once the
    call has read its 16 MB: a hostile server cannot make one hook call hold hundreds of MB. The time budget is a
    hang guard here: it is not what stops them."""
    with FhirTestServer(page_size=1) as server:
        div = "x" * 3_000_000  # one string, shared by every resource
        for path in SEARCH_PATHS:
            server.add(*(_of(path.strip("/"), f"big-{i}", status="active", text={"status": "generated", "div": div})
                         for i in range(8)))
        record = _load(_request({"patient": PATIENT}, server), budget=HANG_GUARD_SECONDS)
        assert len(record.not_received()) == len(SEARCH_PATHS)
        assert len(server.requests) <= 16 // 3 + len(SEARCH_PATHS)  # pages read whole, and one refused per key
