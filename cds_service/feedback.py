"""CDS Hooks 2.0 feedback: POST /cds-services/<service_id>/feedback, stored with the card it refers to.

Lenient where real clients differ from the specification (an `overrideReason` that is a bare Coding, a reason with
only a code, suggestions given as plain uuid strings, no `outcomeTimestamp`, an empty `acceptedSuggestions` list on an
overridden card); strict about anything else (400 with an OperationOutcome naming the field). That includes an
`overridden` item listing accepted suggestions, and an `accepted` item with an `overrideReason`: CDS Hooks 2.0 gives
each to the other outcome, and storing them would record a suggestion as taken on a card the clinician overrode, or a
reason for overriding a card the clinician accepted.

An override reason of ours is stored under its fixed system, also when it comes back in the base-URL form of the
cards issued before that system was fixed (override_reasons.OVERRIDE_REASON_SYSTEM).

Feedback is stored as received, on whatever card uuid it names and with every suggestion it accepts (a UUID read as
RFC 4122 reads it, in either case or as a `urn:uuid:` URN: `_issued_form`). Whether the card and the suggestions were
issued (a suggestion with that card) is worked out when the trail is read, not here: the call that issued them may
have been answered by another worker, whose audit writer writes it up to 0.1 s later (later while the database is
slow). The answer names the uuids not matched so far (`unknownCards`, `unknownSuggestions`).
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from cds_service import SERVICE_ID
from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry
from cds_service.exceptions import ClientError, UnknownService
from cds_service.http_errors import request_body
from cds_service.json_codec import storable
from cds_service.override_reasons import canonical_override_system
from cds_service.printable import quoted_id
from cds_service.schema_messages import error_message
from cds_service.validation import check_content_type, parse_json_object, schema_error_expression, worded_errors

log = logging.getLogger(__name__)

SERVICE_IDS = frozenset({SERVICE_ID})
FEEDBACK_ENDPOINT = "feedback.receive_feedback"
# A refused feedback call is recorded with the hook calls (routes.observe), under this hook: `audit --rejected` then
# shows a client whose feedback keeps failing. Feedback stored is in its own table.
AUDIT_HOOK = "feedback"

# Lengths are those of the feedback table's columns (db_models.py): longer is refused here, not by the database. The
# free text (a Coding's display, the clinician's comment) is stored as sent, in text columns: bounded here too, well
# above what a person types, so that one call cannot write megabytes to the trail.
_ID = {"type": "string", "minLength": 1, "maxLength": 200}
_FREE_TEXT_MAX = 10_000
# Feedback is sent per card, and a call shows at most a few cards (max-cards): more items than this is not feedback.
_ITEMS_MAX = 100
_CODING = {
    "type": "object",
    "properties": {"system": {"type": "string", "maxLength": 500}, "code": {"type": "string", "maxLength": 200},
                   "display": {"type": "string", "maxLength": _FREE_TEXT_MAX}},
    "anyOf": [{"required": ["code"]}, {"required": ["display"]}],
    "description": "a Coding with a code or a display",  # each anyOf's words, for its 400 (schema_messages.py)
}
_OVERRIDE_REASON = {
    "type": "object",
    "properties": {"reason": _CODING, "userComment": {"type": "string", "maxLength": _FREE_TEXT_MAX}},
    # Either the specified {"reason": Coding, "userComment": ...} or a bare Coding.
    "anyOf": [{"required": ["reason"]}, {"required": ["userComment"]}, _CODING],
    "description": 'an object with a "reason" Coding or a "userComment", or a bare Coding',
}
_ITEM = {
    "type": "object",
    "required": ["card", "outcome"],
    "properties": {
        "card": _ID,
        "outcome": {"enum": ["accepted", "overridden"]},
        "acceptedSuggestions": {
            "type": "array",
            "maxItems": _ITEMS_MAX,
            "items": {"anyOf": [_ID, {"type": "object", "required": ["id"], "properties": {"id": _ID}}],
                      "description": 'a suggestion\'s uuid, or an object with it as its "id"'},
        },
        "overrideReason": _OVERRIDE_REASON,
        "outcomeTimestamp": {"type": "string"},
    },
}
FEEDBACK_SCHEMA = {
    "type": "object",
    "required": ["feedback"],
    # maxItems before items: an oversized list is refused without reading its items (validation.worded_errors)
    "properties": {"feedback": {"type": "array", "maxItems": _ITEMS_MAX, "items": _ITEM}},
}
_VALIDATOR = Draft202012Validator(FEEDBACK_SCHEMA)


def feedback_blueprint(store: AuditStore) -> Blueprint:
    """The feedback endpoint; the app registers it and puts it behind the same JWT check as the service."""
    blueprint = Blueprint("feedback", __name__)

    @blueprint.post("/cds-services/<service_id>/feedback")
    def receive_feedback(service_id: str) -> Response:
        if service_id not in SERVICE_IDS:
            raise UnknownService(service_id)
        check_content_type(request.content_type)
        entries = parse_feedback(parse_json_object(request_body()))
        receipt = store.record_feedback(service_id, entries, g.get("client_iss"), g.get("tenant"))
        g.feedback_items = len(entries)  # for the call's log line (routes.observe)
        unknown, unknown_suggestions = receipt.unknown_cards, receipt.unknown_suggestions
        if unknown or unknown_suggestions:  # an EHR bug, or the call written later by another worker: say so
            log.warning("feedback naming uuids not issued (so far): cards %s; suggestions (or not with that card) %s",
                        _for_log(unknown), _for_log(unknown_suggestions))
        if receipt.already_stored:  # a retry whose first answer was lost (a 503 after the COMMIT): answered alike
            log.info("feedback: %d of %d items already stored (posted again, or twice in this call): stored once",
                     receipt.already_stored, len(entries))
        return jsonify({"stored": len(entries), "unknownCards": unknown, "unknownSuggestions": unknown_suggestions})

    return blueprint


_LOGGED_IDS = 10
# RFC 4122 §3: a UUID's hex digits are read in either case, and its URN names the same UUID. The service issues them
# in lowercase (order_answers.stable_uuids); an EHR echoing one in capitals (SQL Server's uniqueidentifier prints them
# so) or as a URN had its feedback stored as "not issued", and the audit trail showed no action on the card.
_UUID = re.compile(r"(?:urn:uuid:)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.IGNORECASE)


def _for_log(ids: list[str]) -> str:
    """Client-chosen ids as a log line can carry them: each quoted and cut (printable.quoted_id), at most ten."""
    shown = ", ".join(quoted_id(i) for i in ids[:_LOGGED_IDS]) or "-"
    return shown + (f" (+{len(ids) - _LOGGED_IDS} more)" if len(ids) > _LOGGED_IDS else "")


def parse_feedback(body: dict[str, Any]) -> list[FeedbackEntry]:
    """Validate a feedback request body and normalize its items; ClientError(400) naming the field otherwise."""
    error = best_match(worded_errors(_VALIDATOR, body))
    if error is not None:
        field = schema_error_expression(error)
        raise ClientError(400, f"{field}: {error_message(error)}", field)
    return [_entry(item, index) for index, item in enumerate(body["feedback"])]


# CDS Hooks 2.0 §Feedback: accepted suggestions come with an `accepted` outcome, an override reason with an
# `overridden` one. Stored with the other outcome, either would mislead whoever reads the trail (a suggestion taken on
# a card the clinician overrode; a reason for overriding a card the clinician accepted).
_OUTCOME_OF = {"acceptedSuggestions": "accepted", "overrideReason": "overridden"}


def _check_outcome_fields(item: dict[str, Any], index: int) -> None:
    # An empty acceptedSuggestions list says nothing, and some clients send one on every item; an empty
    # overrideReason is already refused by the schema.
    for name, outcome in _OUTCOME_OF.items():
        if item.get(name) and item["outcome"] != outcome:
            field = f"feedback[{index}].{name}"
            raise ClientError(400, f"{field}: sent with outcome {quoted_id(item['outcome'])}; CDS Hooks 2.0 gives "
                                   f"{name} to {outcome} outcomes only", field)


def _entry(item: dict[str, Any], index: int) -> FeedbackEntry:
    _check_outcome_fields(item, index)
    reason = item.get("overrideReason") or {}
    wrapped = "reason" in reason or "userComment" in reason
    coding = reason.get("reason", {}) if wrapped else reason
    return FeedbackEntry(
        card_uuid=_issued_form(item["card"]),
        outcome=item["outcome"],
        accepted_suggestions=[_issued_form(s if isinstance(s, str) else s["id"])
                              for s in item.get("acceptedSuggestions", [])],
        override_system=_optional(_system(coding.get("system"))),
        override_code=_optional(coding.get("code")),
        override_display=_optional(coding.get("display")),
        override_comment=_optional(reason.get("userComment")) if wrapped else None,
        outcome_timestamp=_timestamp(item.get("outcomeTimestamp"), f"feedback[{index}].outcomeTimestamp"),
    )


def _issued_form(uuid: str) -> str:
    """A card's or suggestion's id as the service issued it when it is a UUID (lowercase, without `urn:uuid:`);
    any other id as sent."""
    match = _UUID.fullmatch(uuid)
    return match.group(1).lower() if match else storable(uuid)


def _system(system: str | None) -> str | None:
    # Our override reasons stored under one system, whichever form the card carried
    # (override_reasons.OVERRIDE_REASON_SYSTEM).
    return None if system is None else canonical_override_system(system)


def _optional(text: str | None) -> str | None:
    return None if text is None else storable(text)


def _timestamp(raw: str | None, field: str) -> datetime | None:
    """The timestamp in UTC (naive ones are taken to be UTC already), as the feedback table keeps it. A 400 quotes
    the value cut (printable.quoted_id): a 2 MB one came back whole."""
    if raw is None:
        return None
    try:
        moment: datetime | None = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    # CPython's parser stops at a trailing NUL, and took "2026-01-01T00:00:00\0" for a time.
    if moment is None or "\x00" in raw:
        raise ClientError(400, f"{field}: {quoted_id(raw)} is not an ISO 8601 date-time", field)
    try:
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise ClientError(400, f"{field}: {quoted_id(raw)} is outside the years 1 to 9999 in UTC", field) from None
