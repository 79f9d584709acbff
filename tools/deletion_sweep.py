"""Deletion and corruption sweep: every example request (and bench/workload.py's) sent once per variant that deletes
one element (a JSON key at any depth, one array item) or corrupts one value (null, wrong type, a number as text,
empty string, empty array or object, a date in another layout, a coding of another system), through the app
in-process (Flask's test client): some 49,000 variants, a few minutes. A date is also cut to its year-month and its
year, sent as a number (20261112), and written on the same calendar day at the offsets +14:00 and -12:00; a Bundle
entry of the prefetch is sent twice (a copy under another id: two attestations, two results; an attestation's copy
also with each yes/no answer reversed, a tie the service must not settle by document order); a payer name that
names Florida Blue is sent naming the Federal Employee Program or the State Account Organization as well.

Flags, one JSON line each on stdout, a count per class on stderr:
- `5xx`: the service failed;
- `denied`: an order's decision moved from meets-criteria or information-needed to criteria-not-met (missing or
  unreadable data is information needed, never a denial: policy-rules.md §1), to be judged case by case;
- `approval-kept`: an approval survived a change to a resource a met criterion cited, the criterion still met but
  read differently (its note changed): a candidate for an approval without a fact it needed (keys that carry no
  fact are skipped);
- `approved`: an order not approved before is approved after the change (the data that kept it from approval gone
  or unreadable: unreadable data is information needed, not an approval), to be judged case by case;
- `summary`: a card summary over the limit;
- `moved`: a change that takes nothing away moved a decision: a date written on its own calendar day at another
  offset (the day is the clinically recorded one: fhir-data-profile.md), or a prefetch entry sent twice;
- `uuid`: two cards, or two suggestions, of one answer with one uuid (the uuids are derived from what they say);
- `program-decided`: a payer name naming a program Florida Blue's guideline leaves to its own (Program Exceptions)
  still got a decision under a policy.

    PYTHONPATH=. .venv/bin/python tools/deletion_sweep.py [--only NAME] [--every N] [--kind KIND] > flags.jsonl
"""
from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

from bench.workload import SERVICE_PATH, order_sign_request
from cds_service.app import create_app
from cds_service.card_text import SUMMARY_LIMIT
from cds_service.config import Settings
from cds_service.evaluation import _no_prior_approval
from cds_service.valuesets import get_valuesets

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
Path_ = tuple[str | int, ...]
SYSTEMS = ("http://snomed.info/sct", "http://loinc.org", "http://hl7.org/fhir/sid/icd-10-cm")
# Keys whose loss or corruption takes no fact away: names shown to a reader, narrative, bookkeeping.
FACTLESS = frozenset(("display", "div", "meta", "fullUrl", "search", "total", "link", "hookInstance"))
# Variants that take nothing away: a decision they move is flagged whatever the direction.
SAME_FACTS = frozenset(("offset+14", "offset-12", "duplicate"))
# How EHRs write the programs Florida Blue's guideline leaves to their own guidelines, beside the plan's name.
PROGRAMS = ("{} FEP", "{} - Federal Employee Program", "{} Federal Employees Program", "FEP Blue Standard ({})",
            "{} SAO", "{} State Account Organization")


def requests() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.stem != "expected":
            yield path.stem, json.loads(path.read_text())
    yield "bench-workload", order_sign_request()


def walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from walk(child, (*path, key))


def other_layout(text: str) -> str | None:
    """A FHIR date or dateTime written as an EHR might print it (MM/DD/YYYY), else None."""
    if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        return f"{text[5:7]}/{text[8:10]}/{text[:4]}{text[10:]}"
    return None


def full_date(text: str) -> bool:
    return len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit() and text[5:7].isdigit()


def date_corruptions(text: str) -> Iterator[tuple[str, Any]]:
    """A full date cut to year-month and year, as a number, and on its own calendar day at the extreme offsets."""
    yield "date-year-month", text[:7]
    yield "date-year", text[:4]
    if text[8:10].isdigit():
        yield "date-as-number", int(text[:4] + text[5:7] + text[8:10])
    # The same written day, its instant moved a day either way in UTC.
    yield "offset+14", f"{text[:10]}T00:30:00+14:00"
    yield "offset-12", f"{text[:10]}T23:30:00-12:00"


def program_names(text: str) -> Iterator[tuple[str, Any]]:
    if get_valuesets().policy_for("payers", text) == "florida-blue":
        for form in PROGRAMS:
            yield "program", form.format(text)


def corruptions(node: Any) -> Iterator[tuple[str, Any]]:
    yield "null", None
    if isinstance(node, bool):
        yield "wrong-type", "yes"
    elif isinstance(node, (int, float)):
        yield "wrong-type", "12.5 abc"
        yield "number-as-text", str(node)
    elif isinstance(node, str):
        yield "wrong-type", 12345
        yield "empty-string", ""
        layout = other_layout(node)
        if layout is not None:
            yield "date-layout", layout
        if full_date(node):
            yield from date_corruptions(node)
        yield from program_names(node)
    elif isinstance(node, dict):
        yield "empty-object", {}
        if isinstance(node.get("system"), str) and "code" in node:
            other = next(s for s in SYSTEMS if s not in node["system"])
            yield "other-system", {**node, "system": other}
    elif isinstance(node, list):
        yield "empty-array", []


def variants(request: dict[str, Any]) -> Iterator[tuple[Path_, str, Any]]:
    """(path, kind, new value; unused for a deletion) of every variant."""
    for path, node in walk(request):
        if not path:
            continue
        yield path, "delete", None
        for kind, value in corruptions(node):
            yield path, kind, value
        if path[0] == "prefetch" and path[-2:-1] == ("entry",) and isinstance(node, dict):
            yield path, "duplicate", node
            if (node.get("resource") or {}).get("resourceType") == "QuestionnaireResponse":
                yield path, "duplicate-reversed", reversed_answers(node)


def reversed_answers(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with each yes/no answer of its QuestionnaireResponse reversed."""
    copy: dict[str, Any] = json.loads(json.dumps(entry))
    for _, node in walk(copy):
        if isinstance(node, dict) and isinstance(node.get("valueBoolean"), bool):
            node["valueBoolean"] = not node["valueBoolean"]
    return copy


def copied(entry: dict[str, Any]) -> dict[str, Any]:
    """A Bundle entry's copy under another id (and fullUrl): another resource saying the same."""
    copy: dict[str, Any] = json.loads(json.dumps(entry))
    resource = copy.get("resource")
    if isinstance(resource, dict) and isinstance(resource.get("id"), str):
        resource["id"] += "-copy"
    if isinstance(copy.get("fullUrl"), str):
        copy["fullUrl"] += "-copy"
    return copy


def applied(request: dict[str, Any], path: Path_, kind: str, value: Any) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(request))
    parent: Any = changed
    for key in path[:-1]:
        parent = parent[key]
    if kind == "delete":
        del parent[path[-1]]
    elif kind.startswith("duplicate"):
        parent.insert(int(path[-1]) + 1, copied(value))
    else:
        parent[path[-1]] = value
    return changed


def resource_of(request: dict[str, Any], path: Path_) -> str | None:
    """'Type/id' of the resource the path is in (prefetch or draft orders), if any."""
    node: Any = request
    found = None
    for key in path:
        node = node[key]
        if isinstance(node, dict) and "resourceType" in node and node.get("resourceType") != "Bundle":
            found = f"{node['resourceType']}/{node.get('id')}"
    return found


def decisions(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each order's coverage decision by its reference."""
    found = {}
    for card in answer.get("cards", []):
        extension = card.get("extension", {})
        if "coverage-decision" in extension:
            for ref in extension.get("davinci-crd.associated-resource", []):
                found[ref["reference"]] = extension["coverage-decision"]
    return found


def cited_met(decision: dict[str, Any]) -> dict[str, tuple[set[str], str]]:
    """Each met criterion's evidence and note (what was read)."""
    return {c["id"]: (set(c["evidence"]), c.get("note", "")) for c in decision["criteria"] if c["status"] == "met"}


def flags(base: dict[str, Any], answer: dict[str, Any], resource: str | None, key: str | int,
          kind: str = "delete") -> Iterator[tuple[str, str]]:
    before, after = decisions(base), decisions(answer)
    if kind == "program" and after:
        yield "program-decided", f"{sorted(after)} decided under {sorted({d['policy'] for d in after.values()})}"
    for ref, decision in after.items():
        old = before.get(ref)
        if old is None:
            continue
        if kind in SAME_FACTS and old["decision"] != decision["decision"]:
            yield "moved", f"{ref} {old['decision']} -> {decision['decision']}"
        if old["decision"] in ("meets-criteria", "information-needed") and decision["decision"] == "criteria-not-met":
            failed = [c["id"] for c in decision["criteria"] if c["status"] == "not-met"]
            yield "denied", f"{ref} {old['decision']} -> not-met: {failed}"
        if old["decision"] == decision["decision"] == "meets-criteria" and resource and key not in FACTLESS:
            still = cited_met(decision)
            # Met as before on the same resource but read differently: the change reached a fact the approval used.
            kept = [f"{i}: {note!r} -> {still[i][1]!r}" for i, (cited, note) in cited_met(old).items()
                    if resource in cited and i in still and still[i][1] != note]
            if kept:
                yield "approval-kept", f"{ref}: {kept}"
        if old["decision"] != "meets-criteria" and decision["decision"] == "meets-criteria":
            yield "approved", f"{ref} {old['decision']} -> meets-criteria"
    for card in answer.get("cards", []):
        if len(card.get("summary", "")) > SUMMARY_LIMIT:
            yield "summary", card["summary"]
    yield from uuid_flags(answer.get("cards", []))


def uuid_flags(cards: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """Any uuid two cards, or two suggestions, of the answer share (feedback names a card or suggestion by it)."""
    for things in (cards, [s for card in cards for s in card.get("suggestions", [])]):
        seen = collections.Counter(thing.get("uuid") for thing in things)
        for uuid, count in seen.items():
            if count > 1:
                yield "uuid", f"{uuid} on {count}: {[t.get('summary', t.get('label')) for t in things][:4]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="only the request of this name")
    parser.add_argument("--every", type=int, default=1, help="send one variant in N (a sample)")
    parser.add_argument("--kind", action="append", help="only variants of this kind (delete, date-year, ...)")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    app = create_app(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/cds.db"))
    # No decision of one variant is an earlier approval for the next (Florida Blue continuation).
    app.extensions["cds_service"].store.prior_approval = _no_prior_approval
    client = app.test_client()
    counts: collections.Counter[str] = collections.Counter()
    for name, request in requests():
        if args.only and name != args.only:
            continue
        base = client.post(SERVICE_PATH, json=request).get_json()
        for index, (path, kind, value) in enumerate(variants(request)):
            if index % args.every or (args.kind and kind not in args.kind):
                continue
            counts["variants"] += 1
            response = client.post(SERVICE_PATH, json=applied(request, path, kind, value))
            counts[f"status {response.status_code}"] += 1
            if response.status_code != 200:  # where the refused variants were changed: the envelope, or the record
                counts[f"status {response.status_code} at {'/'.join(map(str, path[:2]))}"] += 1
            found = [("5xx", response.get_data(as_text=True)[:300])] if response.status_code >= 500 else []
            if response.status_code == 200:
                found += list(flags(base, response.get_json(), resource_of(request, path), path[-1], kind))
            shown = None if kind in ("delete", "empty-object") or kind.startswith("duplicate") else value
            for flag, what in found:
                counts[flag] += 1
                print(json.dumps({"flag": flag, "request": name, "path": "/".join(map(str, path)), "kind": kind,
                                  "value": shown, "what": what}), flush=True)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
