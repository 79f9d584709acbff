"""The endpoints of service-contract.md: discovery, the service, the Questionnaire, health (and readiness). Feedback and
metrics have their own blueprints (feedback.py, metrics.py); this module also authenticates and audits the hook calls,
and the feedback calls refused, and logs each call."""
from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, g, json, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from cds_service import SERVICE_ID, json_codec
from cds_service.audit import AuditStore
from cds_service.audit_answer import record_answer
from cds_service.audit_health import LIVENESS_PING_SECONDS, PING_SECONDS
from cds_service.audit_rows import InvocationRecord
from cds_service.auth import CallerRefused, JwtVerifier, ReplayUnchecked, StoredJti
from cds_service.config import Settings
from cds_service.db_errors import READ_ONLY
from cds_service.discovery import Plan, discovery_document
from cds_service.evaluation import Evaluation, EvaluationContext
from cds_service.log_format import without_message, without_tokens
from cds_service.pipeline import evaluate
from cds_service.exceptions import ClientError, UnknownService
from cds_service.fault_answers import evaluation_failed
from cds_service.feedback import AUDIT_HOOK as FEEDBACK_HOOK
from cds_service.feedback import FEEDBACK_ENDPOINT
from cds_service.hook_request import HookRequest
from cds_service.http_errors import FHIR_JSON, request_body, unproxied
from cds_service.metrics import Metrics
from cds_service.prefetch import RecordLoader
from cds_service.printable import quoted_id
from cds_service.questionnaire import QUESTIONNAIRE_ID, attestation_questionnaire
from cds_service.urls import server_allowlist
from cds_service.validation import check_content_type, hook_request, parse_json_object

log = logging.getLogger(__name__)

SERVICE_ENDPOINT = "cds.call_service"
REQUEST_ID_HEADER = "X-Request-ID"
# A client's (or proxy's) request id is echoed only if it is a plain token of at most 128 characters: UUIDs, hex, ULIDs,
# base64. Anything else is replaced, so that what the log line and the response carry is bounded and inert.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=@-]{1,128}")


@dataclass(frozen=True)
class Services:
    """What the request handlers share; built once by create_app."""

    settings: Settings
    store: AuditStore
    metrics: Metrics
    verifier: JwtVerifier | None  # None in local mode: tokens are neither required nor verified
    plans: tuple[Plan, ...] = ()  # the health plans applied, for the discovery document


def discovery(shared: Services) -> Response:
    return jsonify(discovery_document(shared.plans))


def call_service(shared: Services, service_id: str) -> Response:
    if service_id != SERVICE_ID:
        raise UnknownService(service_id)
    call = unproxied(g)
    # the environ's CONTENT_TYPE: what werkzeug's headers.get("Content-Type") returns, read without its Python calls
    check_content_type(unproxied(request).environ.get("CONTENT_TYPE"))
    body = parse_json_object(request_body())
    call.audit_body = body
    values = vars(call)  # g's values: its get() is a Python method over this dict
    hook = hook_request(body, service_id, values.get("client_iss"), values.get("tenant"))
    call.hook_request = hook
    evaluation, answer = _answer(shared, hook)
    record_answer(evaluation)  # what the EHR is given, for the audit record
    call.outcomes = evaluation.outcomes
    call.handed_out = [outcome for outcome in evaluation.outcomes if outcome.handed_out]
    call.cards = len(evaluation.cards)
    return Response(answer, mimetype="application/json")


def _answer(shared: Services, hook: HookRequest) -> tuple[Evaluation, bytes]:
    """The evaluation and the response body. The pipeline answers a fault in an order's own steps itself; a fault of
    ours outside them (fetching the record, serializing the answer) is logged with the hookInstance and answered the
    same way, with the fault card and indeterminate coverage information: an empty answer reads as nothing to say.
    The audit record's reason names the fault."""
    settings = shared.settings
    context = EvaluationContext(
        today=settings.today(), base_url=settings.public_base_url, prior_approval=shared.store.prior_approval,
        time_zone=settings.time_zone,
    )
    client = settings.auth.client(hook.client_iss) if settings.auth and hook.client_iss else None
    load_record = RecordLoader(hook, server_allowlist(settings.local_mode, client), settings.fetch_budget_seconds)
    try:
        evaluation = evaluate(hook, load_record, context)
        return evaluation, _response_body(evaluation)
    except ClientError:
        raise
    except Exception as exc:  # a fault of ours, not the client's: the EHR must still get a usable answer
        log.error("evaluation failed for hookInstance %s", hook.hook_instance, exc_info=without_message(exc))
        g.fault = f"evaluation failed ({type(exc).__name__}): answered as a fault"
    evaluation = evaluation_failed(hook, load_record.for_fault(), context)
    return evaluation, _response_body(evaluation)


def _response_body(evaluation: Evaluation) -> bytes:
    return json_codec.dumps({"cards": evaluation.cards, "systemActions": evaluation.system_actions})


def questionnaire(shared: Services) -> Response:
    body = json.dumps(attestation_questionnaire(shared.settings.public_base_url))
    return Response(body, mimetype=FHIR_JSON)


def healthz(shared: Services) -> Response:
    """Liveness: 200 while the process serves, whatever the database's state, so that a liveness probe does not restart
    a worker through a database outage (its queued audit records would go with it). The body still says whether the
    database answers and how the audit trail fares (service-contract.md), as /readyz does."""
    return jsonify(_health(shared, LIVENESS_PING_SECONDS)[0])


def readyz(shared: Services) -> tuple[Response, int]:
    """Readiness: 503 when the database does not answer within PING_SECONDS, or the audit trail is not being written:
    a load balancer or Kubernetes then sends calls elsewhere, and an operator reads why in the body."""
    body, ready = _health(shared, PING_SECONDS)
    return jsonify(body), 200 if ready else 503


def _health(shared: Services, ping_seconds: float) -> tuple[dict[str, Any], bool]:
    """The state both answer with, and whether it is ready; the database asked for at most `ping_seconds`. The
    problems say why, in the service's words (db_errors.error_summary: error classes, codes, the cause), which name no
    server, user or password: anyone who reaches them is answered. The log has the database's URL (PingLog)."""
    store = shared.store
    cause = store.database_problem(ping_seconds)
    state = "ok" if cause is None else "read-only" if cause == READ_ONLY else "unreachable"
    problem = [] if cause is None else [cause if state == "read-only" else f"database unreachable: {cause}"]
    writer = store.status()
    problems = problem + writer.problems()
    body = {"status": "error" if problems else "ok", "database": state, "audit": writer.as_dict(),
            "problems": problems}
    return body, not problems


def authenticate(shared: Services) -> None:
    """JWT check for every POST under /cds-services/ (the service and its feedback endpoint)."""
    verifier = shared.verifier
    if verifier is None:
        return
    incoming = unproxied(request)
    if incoming.method != "POST" or not incoming.path.startswith("/cds-services/"):
        return
    try:
        caller = verifier.authenticate(incoming.headers.get("Authorization"), incoming.path)
    except CallerRefused as refused:
        # Signed by a configured client, refused by a later check: its audit record names that client, so the
        # rejected calls show who keeps failing. A token whose signature did not hold names nobody there.
        g.client_iss, g.tenant = refused.caller.iss, refused.caller.tenant
        raise
    except ReplayUnchecked as unchecked:
        # A client's valid token the database could not check (a 503): its record names the client and, the
        # caller being known, the call's ids from the body, as a 4xx's record does.
        g.client_iss, g.tenant = unchecked.caller.iss, unchecked.caller.tenant
        _read_ids_for_audit()
        raise unchecked.error from None
    if caller is not None:
        g.client_iss, g.tenant, g.jti = caller


def _read_ids_for_audit() -> None:
    """The body of a hook call kept for its audit record, which takes its ids only (hook, hookInstance, and the
    context's patient, user and encounter ids: routes._invocation); a body that cannot be read leaves them empty."""
    if request.endpoint != SERVICE_ENDPOINT:
        return
    try:
        check_content_type(request.headers.get("Content-Type"))
        g.audit_body = parse_json_object(request_body())
    except (ClientError, HTTPException):
        return


def start(shared: Services) -> None:
    """The request's start (its latency and its audit record's time), then its caller (`authenticate`): one
    before_request hook, not two, as Flask looks at each hook (is it a coroutine?) on every request."""
    call = unproxied(g)
    call.started = time.perf_counter()
    call.started_at = datetime.now(timezone.utc)
    authenticate(shared)


def observe(shared: Services, response: Response) -> Response:
    """Metrics and the request id for every request; the audit record for every hook call, error statuses included,
    and for every feedback call refused (stored feedback is recorded in its own table); one log line for every hook
    and feedback call, and for every request refused."""
    call, incoming = vars(unproxied(g)), unproxied(request)  # g's values: its get() is a Python method over them
    seconds = time.perf_counter() - call.get("started", time.perf_counter())
    status = response.status_code
    if incoming.method != "OPTIONS":  # a CORS preflight, answered by flask-cors: no call, though on a call's route
        shared.metrics.observe_request(_route(incoming), status, seconds)
    if status == 503 and call.get("jti"):
        # Refused after its token's jti was stored (feedback, with the database gone meanwhile): a jti is used by a
        # call accepted with it, so the client's retry with the token is answered, and a third call is a replay.
        jti: StoredJti = call["jti"]
        shared.store.release_jti(jti.key, jti.attempt, jti.expires_at)
    request_id = _request_id(incoming.environ.get("HTTP_X_REQUEST_ID"))
    response.headers[REQUEST_ID_HEADER] = request_id
    # Cards, OperationOutcomes and the audit's health name a patient's care: no proxy or browser cache keeps them.
    response.headers.setdefault("Cache-Control", "no-store")
    # A 404 or 400 quotes the client's path or value back: a browser must read it as the type said, never as a page.
    response.headers["X-Content-Type-Options"] = "nosniff"
    endpoint, posted = incoming.endpoint, incoming.method == "POST"
    if endpoint == SERVICE_ENDPOINT and posted:
        hook: HookRequest | None = call.get("hook_request")  # set whenever there are outcomes
        for outcome in call.get("handed_out", []):
            if hook and outcome.policy and outcome.decision:
                shared.metrics.count_decision(hook.hook, outcome.policy, outcome.decision, outcome.what_if)
        shared.store.record_invocation(_invocation(call, incoming, status, seconds, request_id))
    elif endpoint == FEEDBACK_ENDPOINT and status >= 400:
        # Its client, tenant and reason (the field or check at fault); nothing of its body, which may hold a
        # clinician's free text.
        shared.store.record_invocation(replace(_invocation(call, incoming, status, seconds, request_id),
                                               hook=FEEDBACK_HOOK))
    if (posted and endpoint in (SERVICE_ENDPOINT, FEEDBACK_ENDPOINT)) or "rejection" in call:
        _log_request(call, incoming, status, seconds, request_id)
    return response


def _request_id(sent: str | None) -> str:
    """The client's X-Request-ID when it is a plain token (_REQUEST_ID), else a new one: 128 random bits in hex,
    the form nginx's $request_id has."""
    return sent if sent is not None and _REQUEST_ID.fullmatch(sent) else secrets.token_hex(16)


def _log_request(call: dict[str, Any], incoming: Request, status: int, seconds: float, request_id: str) -> None:
    """One line per hook or feedback call, and per request refused: what finds it in the EHR's logs, the audit trail
    (`cds-service audit show`) and a proxy's log (the request id), and numbers. Ids and numbers only: never a token,
    nor anything of the body but its hookInstance and hook, quoted (they are the client's text). A failed
    authentication or a 5xx is a warning, anything else information (a stray browser 404 among them)."""
    hook: HookRequest | None = call.get("hook_request")
    body = call.get("audit_body")
    body = body if isinstance(body, dict) else {}
    instance = hook.hook_instance if hook else body.get("hookInstance")
    named = f", hookInstance {quoted_id(instance)}" if isinstance(instance, str) else ""
    fields = []
    if hook:
        fields.append(f"hook={hook.hook}")
    elif isinstance(body.get("hook"), str):  # a call refused by its checks: the client's text, quoted
        fields.append(f"hook={quoted_id(body['hook'])}")
    if "cards" in call:  # answered: the orders it decided and the cards it returned
        fields += [f"orders={len(call['outcomes'])}", f"cards={call['cards']}"]
    if "feedback_items" in call:
        fields.append(f"items={call['feedback_items']}")
    if call.get("client_iss"):  # set only when the token's signature held: a configured client's issuer
        fields.append(f"iss={call['client_iss']}")
    fields += [f"ms={seconds * 1000:.1f}", f"remote={incoming.environ.get('REMOTE_ADDR', '-')}",
               f"request_id={request_id}"]
    level = logging.WARNING if status == 401 or status >= 500 else logging.INFO
    log.log(level, "%s on %s %s%s: %s; %s", status, incoming.method, incoming.path, named,
            call.get("rejection") or call.get("fault") or "ok", " ".join(fields))


def _route(incoming: Request) -> str:
    """The metrics label of a request: its route's rule, not the path (bounded labels). A method the route does not
    allow (a 405) leaves the request without a rule; it is still that route's, found again with a method it allows.
    Only a path no route has is "unmatched"."""
    if incoming.url_rule is not None:
        return incoming.url_rule.rule
    refused = incoming.routing_exception
    if isinstance(refused, MethodNotAllowed) and refused.valid_methods:
        adapter = current_app.url_map.bind_to_environ(incoming.environ)
        try:
            rule, _ = adapter.match(method=next(iter(refused.valid_methods)), return_rule=True)
        except HTTPException:
            return "unmatched"
        return rule.rule
    return "unmatched"


def _invocation(call: dict[str, Any], incoming: Request, status: int, seconds: float,
                request_id: str) -> InvocationRecord:
    """The audit record of the call, from what the request's handlers left in `call` (Flask's g, its values), with
    the request id its response and log line carry (`_request_id`: a plain token, safe to store as it is)."""
    hook: HookRequest | None = call.get("hook_request")
    body: dict[str, Any] = call.get("audit_body") or {}
    context = body.get("context")
    context = context if isinstance(context, dict) else {}
    return InvocationRecord(
        time=call.get("started_at") or datetime.now(timezone.utc),
        # A 404's id is the client's path: any token put there is not stored (log_format.without_tokens).
        service_id=without_tokens(_text((incoming.view_args or {}).get("service_id", SERVICE_ID))),
        hook=hook.hook if hook else _text(body.get("hook"), 100),
        hook_instance=_text(hook.hook_instance if hook else body.get("hookInstance")),
        client_iss=call.get("client_iss"),
        tenant=call.get("tenant"),
        patient_id=_text(hook.patient_id if hook else context.get("patientId")) or None,
        user_id=_text(hook.user_id if hook else context.get("userId")) or None,
        encounter_id=_text(hook.encounter_id if hook else context.get("encounterId")) or None,
        status=status,
        reason=call.get("rejection") or call.get("fault"),
        latency_ms=seconds * 1000.0,
        outcomes=list(call.get("outcomes", [])),
        request_id=request_id,
    )


def _text(value: Any, limit: int = 200) -> str:
    """A client's field made safe to store: a string, bounded by its column's length, without what a database
    refuses (json_codec.storable: a NUL becomes "?"; json_codec.loads refuses an unpaired surrogate already)."""
    return json_codec.storable(value[:limit]) if isinstance(value, str) else ""


def register(app: Flask) -> None:
    """The endpoints and the request hooks, bound to the app's services (create_app put them in its extensions
    first): finding them through Flask's current_app proxy cost ~10 k instructions a request."""
    shared: Services = app.extensions["cds_service"]
    app.before_request(partial(start, shared))
    app.after_request(partial(observe, shared))
    blueprint = Blueprint("cds", __name__)
    blueprint.add_url_rule("/cds-services", "discovery", partial(discovery, shared), methods=["GET"])
    blueprint.add_url_rule("/cds-services/<service_id>", "call_service", partial(call_service, shared),
                           methods=["POST"])
    blueprint.add_url_rule(f"/fhir/Questionnaire/{QUESTIONNAIRE_ID}", "questionnaire", partial(questionnaire, shared),
                           methods=["GET"])
    blueprint.add_url_rule("/healthz", "healthz", partial(healthz, shared), methods=["GET"])
    blueprint.add_url_rule("/readyz", "readyz", partial(readyz, shared), methods=["GET"])
    app.register_blueprint(blueprint)
