"""FhirClient against a real FHIR test server on loopback."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cds_service import json_codec
from cds_service.fhir_client import Failure, FhirClient, Limits, bundle_resources
from tests.fhir_server import HANG_GUARD_SECONDS, Exchange, FhirTestServer, fhir_server  # noqa: F401 (fixture)

TOKEN = "secret-token"


def _deadline(seconds: float = 3.0) -> float:
    return time.monotonic() + seconds


def _observations(count: int, patient: str = "p1") -> list[dict]:
    return [{"resourceType": "Observation", "id": f"o{i}" if patient == "p1" else f"{patient}-o{i}", "status": "final", "subject": {"reference": f"Patient/{patient}"}}
            for i in range(count)]


def test_read_sends_the_bearer_token_and_returns_the_resource(fhir_server: FhirTestServer) -> None:
    fhir_server.add({"resourceType": "Medication", "id": "m1"})
    client = FhirClient(fhir_server.base_url, TOKEN)
    assert client.read("Medication/m1", _deadline()) == {"resourceType": "Medication", "id": "m1"}
    assert fhir_server.requests[0].authorization == f"Bearer {TOKEN}"


def test_no_authorization_header_without_a_token(fhir_server: FhirTestServer) -> None:
    fhir_server.add({"resourceType": "Medication", "id": "m1"})
    assert FhirClient(fhir_server.base_url, None).read("Medication/m1", _deadline()) is not None
    assert fhir_server.requests[0].authorization is None


def test_a_netrc_login_never_replaces_the_access_token(fhir_server: FhirTestServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A ~/.netrc `default` login (requests reads it for every host) replaced the EHR's bearer token: the service
    account's password went to the FHIR server, and in local mode to any server a request names."""
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login service password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    fhir_server.add({"resourceType": "Patient", "id": "p1"})
    assert FhirClient(fhir_server.base_url, "tok-123").read("Patient/p1", _deadline()) is not None
    assert FhirClient(fhir_server.base_url, None).read("Patient/p1", _deadline()) is not None
    assert [request.authorization for request in fhir_server.requests] == ["Bearer tok-123", None]


def test_read_of_the_wrong_resource_type_or_a_missing_one_is_none(fhir_server: FhirTestServer) -> None:
    fhir_server.add({"resourceType": "Medication", "id": "m1"})
    client = FhirClient(fhir_server.base_url, None)
    assert client.read("Organization/m1", _deadline()) is None  # 404
    assert client.read("#contained", _deadline()) is None
    assert fhir_server.paths() == ["/Organization/m1"]


@pytest.mark.parametrize("reference", ["Medication/med1", "Organization/org1", "Patient/p1"])
def test_a_read_answered_with_another_resource_of_that_type_is_none(fhir_server: FhirTestServer,
                                                                    reference: str) -> None:
    """Another Medication than the one the order names is not the order's drug (nor another Organization its
    payer): refused as another patient's Patient is, not received."""
    kind = reference.split("/")[0]
    fhir_server.fault(f"/{reference}", body=json.dumps({"resourceType": kind, "id": "other"}).encode())
    client = FhirClient(fhir_server.base_url, None)
    assert client.read(reference, _deadline()) is None
    assert client.read(f"{fhir_server.base_url}/{reference}", _deadline()) is None


def test_a_read_answered_without_an_id_is_taken(fhir_server: FhirTestServer) -> None:
    fhir_server.fault("/Medication/med1", body=b'{"resourceType": "Medication"}')
    assert FhirClient(fhir_server.base_url, None).read("Medication/med1", _deadline()) == {"resourceType": "Medication"}


def test_search_follows_next_links_over_several_pages() -> None:
    with FhirTestServer(page_size=2, token=TOKEN) as server:
        server.add(*_observations(5), *_observations(2, patient="p2"))
        found = FhirClient(server.base_url, TOKEN).search("Observation?patient=p1", _deadline())
        assert isinstance(found, list)
        assert sorted(r["id"] for r in found) == [f"o{i}" for i in range(5)]
        assert len(server.requests) == 3
        assert all(r.authorization == f"Bearer {TOKEN}" for r in server.requests)


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 302}, {"invalid_json": True}])
def test_server_faults_make_the_search_fail(fhir_server: FhirTestServer, fault: dict) -> None:
    fhir_server.fault("/Condition", **fault)
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Condition?patient=p1", _deadline()), Failure)


def test_wrong_token_is_a_401_and_a_failure() -> None:
    with FhirTestServer(token=TOKEN) as server:
        assert isinstance(FhirClient(server.base_url, "other").search("Condition?patient=p1", _deadline()), Failure)
        assert FhirClient(server.base_url, TOKEN).search("Condition?patient=p1", _deadline()) == []


def test_a_search_answered_with_something_other_than_a_bundle_fails(fhir_server: FhirTestServer) -> None:
    fhir_server.add({"resourceType": "Patient", "id": "p1"})
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Patient/p1?x=1", _deadline()), Failure)


def test_next_link_to_another_host_is_not_followed() -> None:
    with FhirTestServer(page_size=1) as server, FhirTestServer() as elsewhere:
        server.add(*_observations(3))
        server.next_link_base = elsewhere.base_url
        assert isinstance(FhirClient(server.base_url, TOKEN).search("Observation?patient=p1", _deadline()), Failure)
        assert elsewhere.requests == []
        assert len(server.requests) == 1


def test_deadline_cuts_a_slow_server_short(fhir_server: FhirTestServer) -> None:
    """The server holds its answer until the test releases it, which it does only once the search has returned: the
    search can only have ended at its deadline, and the server saw the client hang up while it held the answer."""
    fhir_server.add(*_observations(1))
    release = threading.Event()
    fhir_server.fault("/Observation", hold=release)
    try:
        found = FhirClient(fhir_server.base_url, None).search("Observation?patient=p1", _deadline(0.3))
        assert isinstance(found, Failure)
        [request] = fhir_server.requests
        assert request.exchange.wait() == Exchange.CLIENT_HUNG_UP
    finally:
        release.set()


@pytest.mark.parametrize("trickle_headers", [False, True], ids=["body", "headers-and-body"])
def test_a_read_trickled_a_byte_at_a_time_ends_at_the_deadline(fhir_server: FhirTestServer,
                                                              trickle_headers: bool) -> None:
    """Each byte comes well within the socket timeout: only a bound on the whole exchange ends the read (a reference
    read holds up the hook call's answer). The whole answer takes 25 s or more to send: the server sees the client
    hang up part-way through it. (Were the read not bounded, it would end with the server's answer.)"""
    fhir_server.add({"resourceType": "Medication", "id": "m1", "text": {"status": "generated", "div": "x" * 200}})
    fhir_server.fault("/Medication/m1", trickle=0.1, trickle_headers=trickle_headers)
    assert FhirClient(fhir_server.base_url, None).read("Medication/m1", _deadline(0.5)) is None
    [request] = fhir_server.requests
    assert request.exchange.wait(60) == Exchange.CLIENT_HUNG_UP  # 60 s: a hang guard, longer than the whole answer


def test_a_search_trickled_a_byte_at_a_time_ends_at_the_deadline(fhir_server: FhirTestServer) -> None:
    """The prefetch does not wait for a fetch thread past the deadline, but the thread must not run on either: the
    server (whose whole answer takes 50 s or more) sees the client hang up part-way through it."""
    fhir_server.add(*_observations(3))
    fhir_server.fault("/Observation", trickle=0.1)
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Observation?patient=p1", _deadline(0.5)), Failure)
    [request] = fhir_server.requests
    assert request.exchange.wait(90) == Exchange.CLIENT_HUNG_UP  # 90 s: a hang guard, longer than the whole answer


def test_a_trickled_answer_that_ends_in_time_is_read(fhir_server: FhirTestServer) -> None:
    fhir_server.add({"resourceType": "Medication", "id": "m1"})
    fhir_server.fault("/Medication/m1", trickle=0.001, trickle_headers=True)
    assert FhirClient(fhir_server.base_url, None).read("Medication/m1", _deadline()) == {"resourceType": "Medication",
                                                                                       "id": "m1"}


@pytest.mark.parametrize("limits", [Limits(pages=2), Limits(resources=4), Limits(response_bytes=300),
                                    Limits(request_bytes=600), Limits(request_values=20)])
def test_caps_on_pages_resources_and_bytes(limits: Limits) -> None:
    with FhirTestServer(page_size=2) as server:
        server.add(*_observations(5))
        capped = FhirClient(server.base_url, None, limits).search("Observation?patient=p1", _deadline())
        assert isinstance(capped, Failure)
        assert isinstance(FhirClient(server.base_url, None).search("Observation?patient=p1", _deadline()), list)


def test_a_failed_search_says_why_without_its_url(fhir_server: FhirTestServer) -> None:
    """The reason goes into the INFO line of the keys not received: the status the server answered, or what was wrong
    with its answer, and never the URL (it names the patient) or the token."""
    fhir_server.fault("/Condition", status=503)
    fhir_server.fault("/Immunization", invalid_json=True)
    client = FhirClient(fhir_server.base_url, TOKEN)
    assert client.search("Condition?patient=p1", _deadline()) == Failure("HTTP 503", 503)
    assert client.search("Immunization?patient=p1", _deadline()) == Failure("invalid JSON")


def test_searches_ask_for_large_pages() -> None:
    """A busy oncology chart: 1,200 Observations at a server's default of 20 a page took 60 pages, past the cap, and
    the whole list was not received. Asked for 200 a page (`_count`), the server answers in 6."""
    with FhirTestServer(page_size=20, max_page_size=1000) as server:
        server.add(*_observations(1200))
        found = FhirClient(server.base_url, None).search("Observation?patient=p1", _deadline())
        assert isinstance(found, list) and len(found) == 1200
        assert len(server.requests) == 6
        assert {r.query["_count"][0] for r in server.requests} == {"200"}


def test_a_long_chart_is_read_whole_from_a_server_that_pages_at_20_whatever_is_asked() -> None:
    """Servers cap `_count` themselves: at 20 a page, 1,200 Observations are 60 pages, within the page cap."""
    with FhirTestServer(page_size=20) as server:
        server.add(*_observations(1200))
        found = FhirClient(server.base_url, None).search("Observation?patient=p1", _deadline(HANG_GUARD_SECONDS))
        assert isinstance(found, list) and sorted(r["id"] for r in found) == sorted(f"o{i}" for i in range(1200))
        assert len(server.requests) == 60


def test_a_search_not_counted_asks_no_page_size_and_pages_at_the_servers() -> None:
    """For a server refusing `_count` (400): without it, the pages are the server's own size."""
    with FhirTestServer(page_size=20, refuse_count=True) as server:
        server.add(*_observations(50))
        client = FhirClient(server.base_url, None)
        assert client.search("Observation?patient=p1", _deadline()) == Failure("HTTP 400", 400)
        found = client.search("Observation?patient=p1", _deadline(), counted=False)
        assert isinstance(found, list) and len(found) == 50
        assert ["_count" in r.query for r in server.requests] == [True, False, False, False]


def test_a_server_paging_forever_is_stopped_by_the_page_cap(fhir_server: FhirTestServer) -> None:
    """Every page empty and linked to another: the search gives up after the page cap, however much time is left."""
    fhir_server.fault("/Observation", body=_searchset(next_url=f"{fhir_server.base_url}/Observation?patient=p1"))
    found = FhirClient(fhir_server.base_url, None).search("Observation?patient=p1", _deadline(HANG_GUARD_SECONDS))
    assert found == Failure("too many pages")
    assert len(fhir_server.requests) == Limits().pages


CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
BY_CATEGORY = ("Observation?patient=p1&category=laboratory", "Observation?patient=p1&category=vital-signs")


def _categorized(rid: str, *categories: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": "Patient/p1"},
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": code}]} for code in categories]}


def test_merged_searches_run_at_once_and_keep_each_resource_once(fhir_server: FhirTestServer) -> None:
    """The server answers neither search until both are in flight (a barrier). A resource both answer (one filed
    under two categories) is kept once, where the first search put it."""
    fhir_server.add(_categorized("o1", "laboratory"), _categorized("o2", "vital-signs"),
                    _categorized("o3", "vital-signs", "laboratory"), _categorized("o4", "social-history"))
    both_in_flight = threading.Barrier(2)
    fhir_server.fault("/Observation", barrier=both_in_flight)
    found = FhirClient(fhir_server.base_url, None).search_merged(BY_CATEGORY, _deadline(HANG_GUARD_SECONDS))
    assert not both_in_flight.broken
    assert isinstance(found, list) and [r["id"] for r in found] == ["o1", "o3", "o2"]


def test_merged_searches_fail_when_one_of_them_fails(fhir_server: FhirTestServer) -> None:
    """The laboratory results alone are not the whole answer: no weight would read as "no weight recorded"."""
    fhir_server.add(_categorized("o1", "laboratory"), _categorized("o2", "vital-signs"))
    fhir_server.fault("/Observation?category=vital-signs", status=500)
    found = FhirClient(fhir_server.base_url, None).search_merged(BY_CATEGORY, _deadline())
    assert found == Failure("HTTP 500", 500)


def test_merged_searches_not_counted_ask_no_page_size() -> None:
    with FhirTestServer(refuse_count=True) as server:
        server.add(_categorized("o1", "laboratory"), _categorized("o2", "vital-signs"))
        found = FhirClient(server.base_url, None).search_merged(BY_CATEGORY, _deadline(), counted=False)
        assert isinstance(found, list) and [r["id"] for r in found] == ["o1", "o2"]
        assert [sorted(r.query) for r in server.requests] == [["category", "patient"]] * 2


def test_references_are_read_only_on_the_same_server_under_its_base(fhir_server: FhirTestServer) -> None:
    fhir_server.add({"resourceType": "Medication", "id": "m-1.2"}, {"resourceType": "Medication", "id": "m1"})
    client = FhirClient(fhir_server.base_url + "/", None)
    assert client.read("Medication/m-1.2", _deadline()) == {"resourceType": "Medication", "id": "m-1.2"}
    assert client.read(fhir_server.base_url.upper() + "/Medication/m1", _deadline()) is not None
    elsewhere = fhir_server.base_url.replace("127.0.0.1", "user@127.0.0.1")
    for outside in (f"{elsewhere}/Medication/m1", "#m1", "Medication", "Medication/a b"):
        assert client.read(outside, _deadline()) is None, outside
    assert fhir_server.paths() == ["/Medication/m-1.2", "/Medication/m1"]
    # An absolute reference is read when its URL is under the base, as a next link is (is_under_base)
    client = FhirClient("https://ehr.example.org/fhir/", None)
    assert client.is_under_base("https://EHR.example.org:443/fhir/Medication/m1")
    for outside in ("https://evil.example.org/fhir/Medication/m1", "https://ehr.example.org/fhirx/Medication/m1",
                    "http://ehr.example.org/fhir/Medication/m1", "https://ehr.example.org:8443/fhir/Medication/m1",
                    "https://user@ehr.example.org/fhir/Medication/m1", "https://ehr.example.org/fhir/..;/admin",
                "https://ehr.example.org/fhir/%2e%2e/admin", "https://ehr.example.org/fhir/x/..;jsessionid=1/admin"):
        assert not client.is_under_base(outside), outside
    assert client.is_under_base("https://ehr.example.org/fhir/Observation?page=2")
    assert not client.is_under_base("https://ehr.example.org\\@evil.example.org/fhir/Observation")


def test_bundle_resources_skips_outcomes() -> None:
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Condition", "id": "c1"}},
        {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}]}
    assert bundle_resources(bundle) == [{"resourceType": "Condition", "id": "c1"}]
    assert bundle_resources({"resourceType": "Bundle"}) == []
    assert bundle_resources({"resourceType": "Bundle", "entry": []}) == []
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning"}, {"severity": "fatal"}]}
    assert bundle_resources({**bundle, "entry": [*bundle["entry"], {"resource": error}]}) is None


@pytest.mark.parametrize("junk", [
    "junk", None, 5, {"fullUrl": "urn:uuid:x"}, {"resource": None}, {"resource": 5}, {"resource": {}},
    {"resource": {"resourceType": "MedicationRequest "}}, {"resource": {"resourceType": "medicationRequest"}},
    {"resource": {"resourceType": 7}},
])
def test_a_bundle_with_an_entry_that_is_no_resource_is_not_taken_whole(junk: Any) -> None:
    """The entry may have been any record (an earlier cycle, a live vaccine): the list is as unusable as one a server
    says is incomplete."""
    good = {"resource": {"resourceType": "Condition", "id": "c1"}}
    assert bundle_resources({"resourceType": "Bundle", "entry": [good, junk]}) is None
    assert bundle_resources({"resourceType": "Bundle", "entry": "junk"}) is None


def test_bundle_resources_of_a_patient_drop_another_patients() -> None:
    mine = {"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/p1"}}
    absolute = {"resourceType": "Immunization", "id": "i1", "patient": {"reference": "http://x/fhir/Patient/p1"}}
    unnamed = {"resourceType": "Observation", "id": "o2", "subject": {"display": "somebody"}}
    theirs = [{"resourceType": "Observation", "id": "o3", "subject": {"reference": "Patient/p2"}},
              {"resourceType": "Coverage", "id": "c1", "beneficiary": {"reference": "Patient/p2/_history/4"}},
              {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p1"},
               "patient": {"reference": "http://x/fhir/Patient/p2"}}]
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in (mine, *theirs, absolute, unnamed)]}
    assert bundle_resources(bundle, "p1") == [mine, absolute, unnamed]
    assert bundle_resources(bundle) == [mine, *theirs, absolute, unnamed]
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    assert bundle_resources({"entry": [*bundle["entry"], {"resource": error}]}, "p1") is None


def _searchset(*entries: dict, next_url: str | None = None) -> bytes:
    links = [{"relation": "next", "url": next_url}] if next_url else []
    return json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": list(entries), "link": links}).encode()


def _outcome_entry(severity: str, mode: str | None = "outcome") -> dict:
    outcome = {"resourceType": "OperationOutcome",
               "issue": [{"severity": severity, "code": "too-costly", "diagnostics": "results incomplete"}]}
    return {"resource": outcome, **({"search": {"mode": mode}} if mode else {})}


@pytest.mark.parametrize("severity, mode", [("error", "outcome"), ("fatal", "outcome"), ("error", None)])
def test_a_search_whose_bundle_reports_an_error_fails(fhir_server: FhirTestServer, severity: str,
                                                      mode: str | None) -> None:
    """An error OperationOutcome in a searchset says the results are incomplete: "no live vaccine" would be a guess."""
    immunization = {"resource": {"resourceType": "Immunization", "id": "i1"}}
    fhir_server.fault("/Immunization", body=_searchset(immunization, _outcome_entry(severity, mode)))
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Immunization?patient=p1", _deadline()), Failure)


@pytest.mark.parametrize("severity", ["warning", "information"])
def test_warnings_in_a_search_bundle_are_skipped(fhir_server: FhirTestServer, severity: str) -> None:
    immunization = {"resource": {"resourceType": "Immunization", "id": "i1"}}
    fhir_server.fault("/Immunization", body=_searchset(immunization, _outcome_entry(severity)))
    assert FhirClient(fhir_server.base_url, None).search("Immunization?patient=p1", _deadline()) == \
        [immunization["resource"]]


def test_an_error_on_a_later_page_fails_the_search(fhir_server: FhirTestServer) -> None:
    fhir_server.fault("/", body=_searchset(_outcome_entry("error")))
    first = _searchset({"resource": {"resourceType": "Immunization", "id": "i1"}},
                       next_url=f"{fhir_server.base_url}/?page=2")
    fhir_server.fault("/Immunization", body=first)
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Immunization?patient=p1", _deadline()), Failure)
    assert fhir_server.paths() == ["/Immunization", "/"]


def _with_total(body: bytes, total: Any) -> bytes:
    return json.dumps(json.loads(body) | {"total": total}).encode()


def test_a_search_whose_last_page_falls_short_of_its_total_fails(fhir_server: FhirTestServer) -> None:
    """A searchset saying it matched 3 Immunizations, holding one and no next link: the other two may be the live
    vaccine. Entries that are OperationOutcomes do not count."""
    immunization = {"resource": {"resourceType": "Immunization", "id": "i1"}}
    fhir_server.fault("/Immunization", body=_with_total(_searchset(immunization, _outcome_entry("warning")), 2))
    fhir_server.fault("/Condition", body=_with_total(_searchset(), 1))
    client = FhirClient(fhir_server.base_url, None)
    assert isinstance(client.search("Immunization?patient=p1", _deadline()), Failure)
    assert isinstance(client.search("Condition?patient=p1", _deadline()), Failure)


def test_a_total_is_counted_over_every_page(fhir_server: FhirTestServer) -> None:
    first = _with_total(_searchset({"resource": {"resourceType": "Immunization", "id": "i1"}},
                                   next_url=f"{fhir_server.base_url}/?page=2"), 2)
    fhir_server.fault("/Immunization", body=first)
    client = FhirClient(fhir_server.base_url, None)
    fhir_server.fault("/", body=_searchset({"resource": {"resourceType": "Immunization", "id": "i2"}}))
    found = client.search("Immunization?patient=p1", _deadline())
    assert isinstance(found, list) and [r["id"] for r in found] == ["i1", "i2"]
    fhir_server.fault("/", body=_searchset())  # the second page empty: one of the two the search matched
    assert isinstance(client.search("Immunization?patient=p1", _deadline()), Failure)


@pytest.mark.parametrize("total", [1, 0, None, "9", 1.5, True])
def test_a_total_the_entries_reach_or_that_is_no_count_is_no_gap(fhir_server: FhirTestServer, total: Any) -> None:
    fhir_server.fault("/Immunization", body=_with_total(
        _searchset({"resource": {"resourceType": "Immunization", "id": "i1"}}), total))
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Immunization?patient=p1", _deadline()), list)


def test_a_search_answered_with_other_resource_types_only_fails(fhir_server: FhirTestServer) -> None:
    """Observations answering an Immunization search are another search's answer: read as "no immunization
    recorded", they gave an approval."""
    fhir_server.fault("/Immunization", body=_searchset({"resource": {"resourceType": "Observation", "id": "o1"}}))
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Immunization?patient=p1", _deadline()), Failure)
    first = _searchset({"resource": {"resourceType": "Condition", "id": "c1"}}, next_url=f"{fhir_server.base_url}/?p=2")
    fhir_server.fault("/Condition", body=first)
    fhir_server.fault("/", body=_searchset({"resource": {"resourceType": "Observation", "id": "o1"}}))
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Condition?patient=p1", _deadline()), Failure)


def test_other_resource_types_beside_the_type_searched_are_kept(fhir_server: FhirTestServer) -> None:
    """A Medication included with the MedicationRequests that name it (`_include`)."""
    order = {"resourceType": "MedicationRequest", "id": "mr1"}
    drug = {"resourceType": "Medication", "id": "m1"}
    fhir_server.fault("/MedicationRequest", body=_searchset({"resource": order},
                                                            {"resource": drug, "search": {"mode": "include"}}))
    assert FhirClient(fhir_server.base_url, None).search("MedicationRequest?patient=p1", _deadline()) == [order, drug]


def test_hapi_next_links_to_the_base_itself_are_followed() -> None:
    with FhirTestServer(page_size=2, hapi_paging=True) as server:
        server.add(*_observations(5))
        found = FhirClient(server.base_url + "/", None).search("Observation?patient=p1", _deadline())
        assert isinstance(found, list) and sorted(r["id"] for r in found) == [f"o{i}" for i in range(5)]
        assert server.paths() == ["/Observation", "/", "/"]
        assert server.requests[1].query["_getpages"] == ["Observation"]


def test_the_base_url_with_a_query_is_under_the_base_and_names_no_resource(fhir_server: FhirTestServer) -> None:
    client = FhirClient("https://ehr.example.org/fhir", None)
    assert client.is_under_base("https://ehr.example.org/fhir?_getpages=abc&_getpagesoffset=20&_count=20")
    assert client.is_under_base("https://ehr.example.org/fhir/?_getpages=abc")
    for outside in ("https://ehr.example.org/fhirx?_getpages=abc", "https://ehr.example.org?_getpages=abc",
                    "https://ehr.example.org/fhir/..?_getpages=abc", "https://evil.example.org/fhir?_getpages=abc",
                    "https://ehr.example.org:8443/fhir?_getpages=abc", "http://ehr.example.org/fhir?_getpages=abc",
                    "https://user@ehr.example.org/fhir?_getpages=abc"):
        assert not client.is_under_base(outside), outside
    assert FhirClient(fhir_server.base_url, None).read(f"{fhir_server.base_url}?_getpages=abc", _deadline()) is None
    assert fhir_server.requests == []


def test_all_fetches_of_a_client_share_one_byte_budget(fhir_server: FhirTestServer) -> None:
    """A client serves one hook call: its searches and reads together, not each of them, are bounded."""
    page = _searchset(*({"resource": r} for r in _observations(10)))
    fhir_server.fault("/Observation", body=page)
    fhir_server.add({"resourceType": "Medication", "id": "m1"})
    client = FhirClient(fhir_server.base_url, None, Limits(request_bytes=len(page) * 2 + 10))
    assert isinstance(client.search("Observation?patient=p1", _deadline()), list)
    assert isinstance(client.search("Observation?patient=p1", _deadline()), list)
    assert isinstance(client.search("Observation?patient=p1", _deadline()), Failure)
    assert client.read("Medication/m1", _deadline()) is None  # the budget is spent
    assert FhirClient(fhir_server.base_url, None).read("Medication/m1", _deadline()) is not None


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """What the client gives the JSON codec to parse, as (size of the text, how parsing ended): the real codec runs."""
    calls: list[tuple[int, str]] = []
    real_loads = json_codec.loads

    def loads(document: bytes | str) -> Any:
        try:
            value = real_loads(document)
        except Exception as exc:
            calls.append((len(document), type(exc).__name__))
            raise
        calls.append((len(document), "parsed"))
        return value

    monkeypatch.setattr(json_codec, "loads", loads)
    return calls


def test_a_page_of_tiny_values_is_refused_before_it_is_parsed(parsed: list[tuple[int, str]]) -> None:
    """About 4 MB of "[0]," would build some 90 MB of Python objects per page, and take a second to parse: the page
    is refused on its count of values, never handed to the parser, and the next pages are never asked for."""
    with FhirTestServer() as server:
        blob = b"[" + b",".join([b"[0]"] * 1_100_000) + b"]"
        next_url = f"{server.base_url}/Basic?patient=p1&_page=1"
        page = (b'{"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next", "url": "'
                + next_url.encode() + b'"}], "entry": [{"resource": {"resourceType": "Basic", "x": ' + blob + b"}}]}")
        server.fault("/Basic", body=page)
        assert isinstance(FhirClient(server.base_url, None).search("Basic?patient=p1", _deadline()), Failure)
        assert parsed == []
        assert len(server.requests) == 1


def test_a_page_nested_too_deep_fails_at_once(fhir_server: FhirTestServer, parsed: list[tuple[int, str]]) -> None:
    """Half a million levels of nesting: the codec gives up as it reads (it builds nothing), and the search fails."""
    depth = 500_000
    body = b'{"resourceType": "Bundle", "entry": ' + b"[" * depth + b"]" * depth + b"}"
    fhir_server.fault("/Basic", body=body)
    assert isinstance(FhirClient(fhir_server.base_url, None).search("Basic?patient=p1", _deadline()), Failure)
    [(size, ended)] = parsed
    assert size == len(body) and ended != "parsed"


def test_a_ca_bundle_requests_cannot_find_is_a_failed_fetch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests raises OSError itself before connecting: a failure named by its type, not an error of the service."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    client = FhirClient("https://127.0.0.1:9/fhir", TOKEN)
    assert client.read_or_why("Medication/m1", _deadline()) == Failure("OSError")
    assert client.search("Observation?patient=p1", _deadline()) == Failure("OSError")
