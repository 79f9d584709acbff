"""`cds-service evaluate REQUEST.json`: run one hook request through the service without an EHR.

Prints each card and, for decision cards, the criteria table a pharmacist checks against the policy;
`--json` prints the raw CDS Hooks response instead.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from cds_service import SERVICE_ID
from cds_service.audit_words import counted
from cds_service.card_config import DECISION_EXTENSION
from cds_service.config import ConfigError, Settings, checked_base_url
from cds_service.coverage_info import EXTENSION_URL
from cds_service.evaluation import EvaluationContext
from cds_service.pipeline import evaluate
from cds_service.exceptions import ClientError
from cds_service.prefetch import RecordLoader
from cds_service.startup_checks import check_files
from cds_service.urls import server_allowlist
from cds_service.validation import hook_request, parse_json_object

STATUS_MARK = {"met": "met    ", "not-met": "NOT MET", "unknown": "unknown"}


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("evaluate", help="evaluate a hook request file and print the cards")
    parser.add_argument("request", type=Path, help="a CDS Hooks request (JSON), e.g. fhir_examples/*.json")
    parser.add_argument("--json", action="store_true", help="print the raw CDS Hooks response")
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="evaluation date (YYYY-MM-DD; default: today in CDS_TIME_ZONE, as the service)")
    parser.add_argument("--base-url", type=_base_url, default=None,
                        help="public base URL used in links (default: the service's: the auth configuration's "
                             "public_base_url, CDS_PUBLIC_BASE_URL or http://127.0.0.1:8080)")
    parser.set_defaults(handler=run)


def _base_url(text: str) -> str:
    try:
        return checked_base_url(text, "--base-url")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    try:  # what the service reads and checks at start-up: the cards are those it would give
        settings = Settings.from_env()
        check_files()
    except ConfigError as exc:
        print(f"cds-service evaluate: {exc}", file=sys.stderr)
        return 2
    try:
        body = args.request.read_bytes()
    except OSError as exc:
        print(f"cannot read {args.request}: {exc.strerror}", file=sys.stderr)
        return 2
    context = EvaluationContext(today=args.today or settings.today(),
                                base_url=args.base_url or settings.public_base_url, time_zone=settings.time_zone)
    try:
        response, orders = _evaluate(body, context, settings.fetch_budget_seconds)
    except ClientError as exc:
        where = f" ({exc.expression})" if exc.expression else ""
        print(f"rejected with HTTP {exc.status}: {exc.message}{where}", file=sys.stderr)
        return 1
    print(json.dumps(response, indent=2) if args.json else render(response, orders))
    return 0


def _evaluate(body: bytes, context: EvaluationContext, fetch_budget_seconds: float) -> tuple[dict[str, Any], int]:
    """The CDS Hooks response to the request, and how many blinatumomab orders it answered."""
    request = hook_request(parse_json_object(body), SERVICE_ID)
    # The service's local mode: any http(s) FHIR server but an internal one, with the URL checks of production.
    load_record = RecordLoader(request, server_allowlist(True, None), fetch_budget_seconds)
    result = evaluate(request, load_record, context)
    return {"cards": result.cards, "systemActions": result.system_actions}, len(result.outcomes)


def render(response: dict[str, Any], orders: int) -> str:
    """The response as a terminal reader wants it: cards, criteria, coverage information. `orders`: the blinatumomab
    orders answered, which the request's configuration may have left without a card."""
    if not response["cards"] and not response["systemActions"]:
        if orders:
            return (f"No cards: nothing to show for the {counted(orders, 'blinatumomab order')} evaluated (the "
                    "request's davinci-crd.configuration may turn cards off).")
        return "No cards: no blinatumomab order to evaluate."
    blocks = [_render_card(card) for card in response["cards"]]
    blocks += [_render_action(action) for action in response["systemActions"]]
    return "\n\n".join(blocks)


def _render_card(card: dict[str, Any]) -> str:
    lines = [f"[{card['indicator'].upper()}] {card['summary']}", f"  from: {card['source']['label']}"]
    decision = card.get("extension", {}).get(DECISION_EXTENSION)
    if decision:
        lines.append(f"  decision: {decision['decision']}  indication: {decision['indication'] or '-'}"
                     f"  request: {decision['request']}  cycle: {decision['cycle']}")
        if decision.get("authorization"):
            auth = decision["authorization"]
            cycles = auth.get("cycles")
            count = f"{cycles} cycle{'s' if cycles != 1 else ''}" if cycles else "cycles not counted"
            lines.append(f"  authorized: {auth['start']} to {auth['end']} ({count})")
        lines += [_criterion_line(c) for c in decision["criteria"]]
        lines += [f"  to document: {item}" for item in decision.get("missing", [])]
    for suggestion in card.get("suggestions", []):
        lines.append(f"  suggestion: {suggestion['label']}")
    return "\n".join(lines)


def _criterion_line(criterion: dict[str, Any]) -> str:
    evidence = ", ".join(criterion.get("evidence", [])) or "no record"
    note = f" ({criterion['note']})" if criterion.get("note") else ""
    return (f"  {STATUS_MARK.get(criterion['status'], criterion['status'])}  {criterion['id']}"
            f"  [{criterion['citation']}]  {criterion['text']}\n             <- {evidence}{note}")


def _render_action(action: dict[str, Any]) -> str:
    resource = action.get("resource", {})
    infos = [e for e in resource.get("extension", []) if e.get("url") == EXTENSION_URL]
    parts = [f"{sub['url']}={_value(sub)}" for info in infos for sub in info.get("extension", [])]
    return f"coverage information for {resource.get('resourceType')}/{resource.get('id')}: " + "; ".join(parts)


def _value(extension: dict[str, Any]) -> Any:
    if "extension" in extension:  # a complex sub-extension (`detail`): its parts' values
        return " / ".join(str(_value(part)) for part in extension["extension"])
    value = next((v for k, v in extension.items() if k.startswith("value")), None)
    if isinstance(value, dict) and "value" in value:  # a Quantity (a detail's allowed quantity)
        return f"{value['value']} {value.get('unit', '')}".rstrip()
    if isinstance(value, dict):
        codes = ", ".join(str(coding.get("code")) for coding in value.get("coding") or ())
        return value.get("reference") or value.get("text") or value.get("code") or codes or json.dumps(value)
    return value
