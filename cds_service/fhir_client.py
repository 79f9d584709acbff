"""A small FHIR R4 client for the EHR's FHIR server: reads and paged searches, bounded in time, size and memory.

No public method raises on a failure: a read answers None, a search a `Failure` saying why (for the log). A failed
fetch means "not received", which the clinical logic turns into `unknown` criteria (service-contract.md §Prefetch).
The access token only ever goes into the Authorization header; nothing here logs it, and URLs are logged at debug
level only.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests
from urllib3.util import parse_url

from cds_service import json_codec
from cds_service.bounded_http import TooLarge, read_capped, session_until
from cds_service.urls import has_dot_segment

log = logging.getLogger(__name__)

# A relative reference "Type/id" (FHIR id: 1-64 of [A-Za-z0-9-.]); anything else is not read from the server.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR R4 id: what a read may name
_REFERENCE = re.compile(rf"[A-Z][A-Za-z]{{1,63}}/{FHIR_ID.pattern}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REFUSALS = (401, 403)  # the access token missing, invalid, expired, or without the scope asked
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]+)(?:/_history/[^/]*)?$")
# The refusal's WARNING for a request that named a fhirServer without fhirAuthorization (CDS Hooks 2.0 allows it): the
# EHR's engineer looks for a missing token, not for an expired one.
NO_TOKEN_SENT = " (the request has no fhirAuthorization: no access token was sent)"


@dataclass(frozen=True)
class Limits:
    """Caps, so a hostile or broken server cannot exhaust memory or time, or loop us forever; and the page size asked
    for, which the page cap is set against."""

    # Resources a page, asked of the server (`_count`); a server may give fewer (most cap it, some page at their own
    # default whatever is asked). With pages × page_size = resources, a server that gives what is asked reaches the
    # resource cap before the page cap, and one paging at 20 still gets a 2,000-result chart through; the page cap
    # (and the time budget) stop a server paging forever with tiny or empty pages.
    page_size: int = 200
    pages: int = 100  # per search
    resources: int = 20_000  # per search
    response_bytes: int = 10 * 1024 * 1024
    # Per client, that is per hook call: everything it reads (all keys, pages and reference reads) spends from these.
    # Parsed FHIR JSON takes about 5 times its size in Python objects, and a value about 100 bytes; a page of tiny
    # values ("[0],[0],...") takes 20 times its size, so values are counted too (before parsing, see _json_values).
    request_bytes: int = 16 * 1024 * 1024
    request_values: int = 1_000_000


class FetchFailed(Exception):
    """Why a fetch was given up; caught inside this module, never seen by callers (they get a `Failure`)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Failure:
    """Why a search gave no answer, in words a log line at INFO may carry: the HTTP status the server answered, or
    what was wrong with its answer or the exchange ("too many pages", "ReadTimeout"). Never a URL, a query, a token or
    anything of the record: only the module's own words and numbers."""

    reason: str
    status: int | None = None  # the HTTP status that ended the search, when one did


class _Budget:
    """What is left of a hook call's bytes and JSON values, spent by all the threads fetching for it."""

    def __init__(self, limits: Limits) -> None:
        self.bytes_left = limits.request_bytes
        self._values_left = limits.request_values
        self._lock = threading.Lock()

    def spend(self, size: int = 0, values: int = 0) -> None:
        with self._lock:
            self.bytes_left -= size
            self._values_left -= values
            if self.bytes_left < 0 or self._values_left < 0:
                raise FetchFailed("the call's byte or JSON value budget is spent")


def bundle_resources(bundle: dict[str, Any], patient_id: str | None = None) -> list[dict[str, Any]] | None:
    """The entry resources of a Bundle, without the OperationOutcomes a server adds to a searchset; None when one of
    those reports an error: the server says its results are incomplete (FHIR R4 search, `search.mode` "outcome"),
    and what is there must not be taken for the whole list. None too when an entry is no resource (not an object,
    no object for its resource, a resourceType that is no FHIR name): it may have been any record, an earlier cycle
    or a live vaccine, so the list is not taken for whole either (passed over, such an entry had let a tenth cycle
    through). With a `patient_id`, also without the resources that plainly belong to another patient
    (`_names_another_patient`): never assume the client or server filtered."""
    entries = bundle.get("entry")
    if entries is None:
        return []
    if not isinstance(entries, list):
        return None
    usual_owner = {"reference": f"Patient/{patient_id}"}
    # One loop over the entries, taking each resource and telling whose it is: a prefetch holds a patient's history,
    # and a second pass over its resources cost a tenth of building the record. The elements naming whose record a
    # resource is (Coverage says it with `beneficiary`) are written out, not looped over: a loop made an iterator per
    # resource (~0.8 % of a request). The usual owner (a plain reference to this patient) is told by one dict
    # comparison, without a call.
    resources = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            return None
        kind = resource.get("resourceType")
        if kind == "OperationOutcome":
            if reports_error(resource):
                return None
            continue
        if kind.__class__ is not str or (kind not in _RESOURCE_NAMES and not _fhir_name(kind)):
            return None
        if patient_id is not None and (
                ("subject" in resource and resource["subject"] != usual_owner
                 and _names_another_patient(resource["subject"], patient_id))
                or ("patient" in resource and resource["patient"] != usual_owner
                    and _names_another_patient(resource["patient"], patient_id))
                or ("beneficiary" in resource and resource["beneficiary"] != usual_owner
                    and _names_another_patient(resource["beneficiary"], patient_id))):
            continue
        resources.append(resource)
    return resources


# The resource types a patient's record usually holds, told from a FHIR name without a call (bundle_resources runs
# for every entry of a history).
_RESOURCE_NAMES = frozenset(("Observation", "Condition", "MedicationRequest", "Medication", "Immunization",
                             "Coverage", "Organization", "QuestionnaireResponse", "Patient"))


def _fhir_name(kind: str) -> bool:
    """Whether `kind` is written as a FHIR resource type is (ASCII letters, a capital first): "MedicationRequest "
    or "medicationRequest" is none, and the entry is no resource."""
    return kind.isalpha() and kind.isascii() and kind[0].isupper()


def _names_another_patient(owner: Any, patient_id: str | None) -> bool:
    """The owner is a reference to another patient (an absolute URL, a version, another id: the regex reads them)."""
    reference = owner.get("reference") if isinstance(owner, dict) else None
    if not isinstance(reference, str) or reference == f"Patient/{patient_id}":  # this patient's, whatever its id holds
        return False
    match = _PATIENT_REFERENCE.search(reference)
    return match is not None and match.group(1) != patient_id


def declared_total(bundle: dict[str, Any]) -> int:
    """How many resources a search Bundle says the search matched (`total`, on any of its pages); 0 when it does not
    say (or says it in another JSON type than a whole number)."""
    total = bundle.get("total")
    return total if total.__class__ is int else 0


def of_other_types_only(resources: list[dict[str, Any]], searched: str) -> bool:
    """Whether a search's resources are all of another type than the one searched (Observations answering an
    Immunization search): the answer to another search, which says nothing of what was searched for. Resources of
    other types beside some of the type searched (a Medication included with its MedicationRequests) are read as
    they are."""
    for resource in resources:
        if resource.get("resourceType") == searched:
            return False
    return bool(resources)


def reports_error(outcome: dict[str, Any]) -> bool:
    """Whether an OperationOutcome has an issue of severity error or fatal (warnings and information do not count)."""
    issues = outcome.get("issue")
    return isinstance(issues, list) and any(
        isinstance(issue, dict) and issue.get("severity") in ("error", "fatal") for issue in issues)


def next_link(bundle: dict[str, Any]) -> str | None:
    """The URL of a Bundle's next page, if it has one."""
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        url = link.get("url") if isinstance(link, dict) and link.get("relation") == "next" else None
        if isinstance(url, str):
            return url
    return None


def _origin_and_path(url: str) -> tuple[str, str, int | None, str] | None:
    """(scheme, host, port, path) as urllib3, which makes the connection, understands the URL; None if unusable."""
    if any(c.isspace() or c == "\\" for c in url):
        return None
    try:
        parts = parse_url(url)
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.host or parts.auth:
        return None
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    return parts.scheme, parts.host.lower(), port, parts.path or ""


@dataclass
class _Search:
    """A search under way: the resource type searched, the resources of the pages read so far, and the most
    resources a page said the search matched (`total`)."""

    searched: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


class FhirClient:
    """Talks to one FHIR server base URL for one hook call; every call is bounded by a deadline on the
    `time.monotonic()` clock, and all of them together by the byte and value budget of `Limits`."""

    def __init__(self, base_url: str, access_token: str | None, limits: Limits = Limits(), call: str = "") -> None:
        """`call` names whose hook call this client fetches for, by ids only (hookInstance, client): its log lines
        begin with it."""
        self.base_url = base_url.rstrip("/")
        self._base = _origin_and_path(self.base_url)
        self._limits = limits
        self._budget = _Budget(limits)
        self._headers = {"Accept": "application/fhir+json"}
        # Whether the reads carry the request's access token: a 401 or 403 to reads without one is no token refused.
        self.sends_token = bool(access_token)
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        self._call = call
        self.refused: int | None = None  # the first 401 or 403 the server answered: the token was not accepted
        self._refused_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FhirClient({self.base_url!r})"

    def is_under_base(self, url: str) -> bool:
        """Whether an absolute URL is on this server, at or under its base path (a next link must not lead elsewhere;
        HAPI's are the base itself with a query: `{base}?_getpages=...`)."""
        return self._path_under_base(url) is not None

    def read(self, reference: str, deadline: float) -> dict[str, Any] | None:
        """The resource a reference names, as `read_or_why` gives it; None when it gives a Failure."""
        found = self.read_or_why(reference, deadline)
        return None if isinstance(found, Failure) else found

    def read_or_why(self, reference: str, deadline: float) -> dict[str, Any] | Failure:
        """The resource a reference names, if the server returns one of that type and id (or without an id) before
        the deadline, else why not: another Medication than the one asked for is not the order's drug, as another
        Patient is not the patient (prefetch._own_patient). The why is what a 412 tells the EHR of its Patient."""
        relative = self._relative_reference(reference)
        if relative is None:
            return Failure("not asked: not a reference by FHIR id to this server")
        url = f"{self.base_url}/{relative}"
        try:
            with session_until(deadline) as session:
                resource = self._get_json(session, url, deadline)
        except (FetchFailed, OSError) as exc:
            failure = _failure(exc)
            log.debug("FHIR read %s failed: %s", url, failure.reason)
            return failure
        kind, asked_id = relative.split("/", 1)
        if resource.get("resourceType") != kind:
            log.debug("FHIR read %s: not the resource type asked for", url)
            return Failure(f"the answer is not a {kind}")
        if resource.get("id") not in (None, asked_id):
            log.debug("FHIR read %s: another resource than the one asked for (its id differs)", url)
            return Failure(f"the answer is another {kind} (its id differs)")
        return resource

    def _relative_reference(self, reference: str) -> str | None:
        """"Type/id" from a relative reference or an absolute one on this server; None for anything else."""
        relative = self._path_under_base(reference) if "://" in reference else reference
        return relative if relative is not None and _REFERENCE.fullmatch(relative) else None

    def _path_under_base(self, url: str) -> str | None:
        """The path of an absolute URL below this server's base path ("" for the base itself); None when it is on
        another server or outside the base path."""
        target = _origin_and_path(url)
        if self._base is None or target is None or target[:3] != self._base[:3]:
            return None
        base_path = self._base[3].rstrip("/")
        if target[3] == base_path:
            return ""
        prefix = base_path + "/"
        below = target[3][len(prefix):] if target[3].startswith(prefix) else None
        # urllib3 resolves plain dot segments, but not "%2e%2e" nor "..;", which the server may (config.py)
        return None if below is None or has_dot_segment(below) else below

    def search(self, query: str, deadline: float, counted: bool = True) -> list[dict[str, Any]] | Failure:
        """All resources of a search ("Type?params", relative to the base), every page, or why it failed. Pages of
        `Limits.page_size` are asked for (`_count`): a long chart at a server's default of 20 a page would need
        more pages than the cap allows. Not `counted`: without `_count`, at the server's own page size, for a server
        that refuses it (the page cap and the budgets are the same)."""
        separator = "&" if "?" in query else "?"
        count = f"{separator}_count={self._limits.page_size}" if counted else ""
        return self._search(f"{self.base_url}/{query}{count}", _Search(query.partition("?")[0]), deadline)

    def search_merged(self, queries: Sequence[str], deadline: float,
                      counted: bool = True) -> list[dict[str, Any]] | Failure:
        """The resources of several searches (`counted` or not, as `search`), run at once (the narrower searches
        standing in for one a server refuses), each resource once, in the order of the searches; or why one of them
        failed: the others alone are not the whole answer. A resource is known by its type and id: one matching two
        of the searches (two categories), or a server ignoring the narrowing, must not make one result count twice."""
        with ThreadPoolExecutor(max_workers=len(queries), thread_name_prefix="fhir-search") as pool:
            answers = list(pool.map(lambda query: self.search(query, deadline, counted), queries))
        failed = next((answer for answer in answers if isinstance(answer, Failure)), None)
        if failed is not None:
            return failed
        return each_once([resource for answer in answers if not isinstance(answer, Failure) for resource in answer])

    def search_after(self, bundle: dict[str, Any], searched: str, deadline: float) -> list[dict[str, Any]] | Failure:
        """The resources of a search for `searched` (a resource type) whose first page was received elsewhere (a
        paged prefetch answer), and of every page after it, following its next links as `search` does; or why it
        failed."""
        found = _Search(searched)
        try:
            # A relative next link on a page received elsewhere is read from the base, as FHIR reads a relative
            # reference.
            next_url = self._add_page(bundle, found, f"{self.base_url}/")
        except FetchFailed as exc:
            log.debug("FHIR search after a prefetched page failed: %s", exc)
            return _failure(exc)
        return self._search(next_url, found, deadline) if next_url else found.resources

    def _search(self, url: str, found: _Search, deadline: float) -> list[dict[str, Any]] | Failure:
        """The resources `found` so far with those of the page at url and every page after it, or why it failed."""
        try:
            with session_until(deadline) as session:
                return self._all_pages(session, url, found, deadline)
        except (FetchFailed, OSError) as exc:
            failure = _failure(exc)
            log.debug("FHIR search %s failed: %s", url, failure.reason)
            return failure

    def _all_pages(self, session: requests.Session, url: str, found: _Search, deadline: float) -> list[dict[str, Any]]:
        for _ in range(self._limits.pages):
            bundle = self._get_json(session, url, deadline)
            if bundle.get("resourceType") != "Bundle":
                raise FetchFailed("not a Bundle")
            next_url = self._add_page(bundle, found, url)
            if next_url is None:
                return found.resources
            url = next_url
        raise FetchFailed("too many pages")

    def _add_page(self, bundle: dict[str, Any], found: _Search, page_url: str) -> str | None:
        """Adds a search page's resources to those `found`; the URL of the next page, if there is one, resolved
        against `page_url` (the page's own: some servers page with relative links, `/Observation?..._offset=10`). A
        page that cannot belong to a whole answer fails the search: "nothing more recorded" would be a guess."""
        page = bundle_resources(bundle)
        if page is None:
            raise FetchFailed("the server reports an error: results incomplete")
        if of_other_types_only(page, found.searched):
            raise FetchFailed(f"a page of other resource types than {found.searched}")
        found.resources.extend(page)
        if len(found.resources) > self._limits.resources:
            raise FetchFailed("too many resources")
        found.total = max(found.total, declared_total(bundle))
        next_url = next_link(bundle)
        if next_url is not None:  # resolved, then checked as any absolute link: "//other.host/..." leaves the base
            next_url = _resolved(next_url, page_url)
        # A next link we will not follow fails the search, as does a last page short of the total the search matched.
        if next_url is not None and not self.is_under_base(next_url):
            raise FetchFailed("next link leaves the server base")
        if next_url is None and found.total > len(found.resources):
            raise FetchFailed(f"{len(found.resources)} resources of the {found.total} the search matched (total)")
        return next_url

    def _get_json(self, session: requests.Session, url: str, deadline: float) -> dict[str, Any]:
        """A JSON object from GET url; redirects are refused (they could carry the token away)."""
        timeout = _time_left(deadline)
        with session.get(url, headers=self._headers, timeout=timeout, stream=True, allow_redirects=False) as response:
            if response.status_code in _REFUSALS:
                self._note_refusal(response.status_code)
            if 300 <= response.status_code < 400:  # said so: "HTTP 301" alone did not tell an engineer why it failed
                raise FetchFailed(f"HTTP {response.status_code} redirect, not followed", response.status_code)
            if not 200 <= response.status_code < 300:
                raise FetchFailed(f"HTTP {response.status_code}", response.status_code)
            body = _read_body(response, deadline, self._limits.response_bytes, self._budget)
        # Parsing cannot be interrupted, holds the GIL, and builds objects many times the text's size: it is paid for
        # before, and started only while there is time left. (Deep nesting needs no check: the codec gives up on it as
        # it reads, long before it has built much.)
        self._budget.spend(values=_json_values(body))
        _time_left(deadline)
        try:
            data = json_codec.loads(body)
        except (ValueError, RecursionError) as exc:
            raise FetchFailed("invalid JSON") from exc
        if not isinstance(data, dict):
            raise FetchFailed("not a JSON object")
        return data


    def _note_refusal(self, status: int) -> None:
        """A 401 or 403 is the EHR's token or its scopes, not a missing record: the operator needs to hear of it, at
        WARNING, once per client (that is per hook call: every key and read after the first meets the same
        refusal). The URL stays at debug level, the token is never logged."""
        with self._refused_lock:
            first = self.refused is None
            if first:
                self.refused = status
        if first:
            log.warning("%s: FHIR server answered %d: what it refused is not received%s", self._call or "FHIR fetch",
                        status, "" if self.sends_token else NO_TOKEN_SENT)


def _resolved(link: str, page_url: str) -> str:
    """A next link made absolute against the URL of its page (RFC 3986 §5.2). One that is empty or holds whitespace
    or a control character is refused first: urljoin drops those, and "" or "\\x00" would name the page itself."""
    if not link or any(c.isspace() or not c.isprintable() for c in link):
        raise FetchFailed("next link is not a URL")
    try:
        return urljoin(page_url, link)
    except ValueError:  # "http://[": no URL
        raise FetchFailed("next link is not a URL") from None


def _failure(exc: FetchFailed | OSError) -> Failure:
    # A requests exception's text can be long and repeat the URL; its type says enough. OSError: requests' exceptions,
    # and what it raises itself before connecting (a CA bundle it cannot find): a failed fetch, not a fault.
    if isinstance(exc, FetchFailed):
        return Failure(str(exc), exc.status)
    return Failure(type(exc).__name__)


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed("time budget spent")
    return left


def _read_body(response: requests.Response, deadline: float, max_bytes: int, budget: _Budget) -> bytes:
    """The (decompressed) body, given up when it grows past max_bytes or the call's byte budget, or the deadline
    passes mid-transfer."""
    def each_chunk(size: int) -> None:
        budget.spend(size=size)
        _time_left(deadline)

    try:
        return read_capped(response, max_bytes, each_chunk, declared_cap=min(max_bytes, budget.bytes_left))
    except TooLarge:
        raise FetchFailed("response too large") from None


def _json_values(body: bytes) -> int:
    """About how many values parsing a JSON text would build, from its bytes alone (counting takes a fraction of the
    time parsing does): every value but the first of an array or object follows a comma, and every array and object
    opens with a bracket. Commas and brackets inside strings count too: the estimate errs high."""
    return body.count(b",") + body.count(b"[") + body.count(b"{")


def each_once(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each resource once, the first time it is listed, known by its type and id: one matching two searches (two
    categories), a server ignoring a narrowing, or paging through a list that changed between pages lists a record
    twice, which must not count twice (a card had said "MMR dated 2026-11-24; MMR dated 2026-11-24"). A resource
    without a string id is kept: it cannot be told the same (nor a malformed id hashed)."""
    try:  # the usual list: nothing repeated, nothing copied (one set, no call per resource)
        if len({(resource.get("resourceType"), resource.get("id")) for resource in resources}) == len(resources):
            return resources
    except TypeError:  # an id that is no string may not hash: told apart below
        pass
    seen: set[tuple[Any, str]] = set()
    kept = []
    for resource in resources:
        rid = resource.get("id")
        if isinstance(rid, str):
            if (resource.get("resourceType"), rid) in seen:
                continue
            seen.add((resource.get("resourceType"), rid))
        kept.append(resource)
    return kept
