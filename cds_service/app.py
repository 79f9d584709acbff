"""The WSGI application factory: `gunicorn 'cds_service.app:create_app()'` or `cds-service serve`."""
from __future__ import annotations

import gc
import logging
import re
import sys
from typing import Any, Callable

from flask import Flask, Response, request
from flask_cors import CORS

from cds_service import routes
from cds_service.audit import AuditStore
from cds_service.auth import JwtVerifier
from cds_service.config import ConfigError, Settings
from cds_service.config_constants import METRICS_DIR_VARIABLE
from cds_service.db_errors import SchemaError
from cds_service.discovery import Plan
from cds_service.feedback import feedback_blueprint
from cds_service.http_errors import register_error_handlers
from cds_service.log_format import LINE_FORMAT, LogFormatter
from cds_service.metrics import Metrics, metrics_blueprint, writes_metric_files
from cds_service.policies import load_policy, policy_ids
from cds_service.printable import json_value
from cds_service.startup_checks import check_files
from cds_service.startup_report import announce

log = logging.getLogger(__name__)
# gunicorn's exit status for "App failed to load" (gunicorn.arbiter.Arbiter.APP_LOAD_ERROR): its arbiter stops,
# where an exception would be logged with its traceback by every worker, and a worker exiting otherwise be replaced.
APP_LOAD_ERROR = 4


def create_app(settings: Settings | None = None) -> Flask:
    """The app for `settings`. Opens the audit database, which closes at exit.

    Without `settings` (gunicorn's `create_app()`) they are read from the environment, what the app applies is logged
    (startup_report.announce), and a configuration error is logged in one line and exits the process with
    APP_LOAD_ERROR."""
    if settings is not None:
        return _build(settings)
    _log_format()
    try:
        settings = Settings.from_env()
        app = _build(settings)
    except ConfigError as exc:
        log.error("not starting: %s", exc)
        sys.exit(APP_LOAD_ERROR)
    announce(settings)
    return app


def _build(settings: Settings) -> Flask:
    _configure_logging(settings.log_level)
    check_files()
    app = _App(__name__)
    # `/cds-services/` and `.../blinatumomab-coverage/` are answered as without the slash: an EHR's base URL
    # configured with one should not turn every call into a 404.
    app.url_map.strict_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep documents in the order the spec shows them
    store = AuditStore(settings.database_url)
    try:
        store.start()  # registers its own atexit close, which drains the queued audit records
    except SchemaError as exc:
        raise ConfigError(str(exc)) from None
    if settings.metrics_dir is not None and not writes_metric_files():
        raise ConfigError(f"{METRICS_DIR_VARIABLE} was set after prometheus_client was imported, which then keeps "
                          "every metric in memory: set it in gunicorn's environment before gunicorn starts (not with "
                          "-e or raw_env)")
    metrics = Metrics(store.status, settings.metrics_dir)
    if settings.metrics_dir is not None:
        # A scrape another worker answers reads this worker's audit state from the metric files: the writer keeps it
        # current. A single process's scrape asks its writer (Metrics.render), with no work in between.
        store.report_status(metrics.publish_audit)
    app.extensions["cds_service"] = routes.Services(settings, store, metrics, _verifier(settings, store),
                                                      _plans())
    register_error_handlers(app)
    if settings.cors_origins != ("*",):  # registered before CORS, so that they run after flask-cors's own hook
        app.after_request(_vary_on_origin)
        app.after_request(_log_refused_origin)
    # Browser clients such as the CDS Hooks sandbox send Authorization and Content-Type, so preflights must allow them,
    # and X-Request-ID, which README invites clients to send (the id their call is logged and audited under).
    # A public https page (the sandbox) calling the service on 127.0.0.1 or a private address is private network
    # access to Chrome, whose preflight asks for it (Access-Control-Request-Private-Network): flask-cors allows it only
    # to an origin the CORS configuration allows, so CDS_CORS_ORIGINS stays the one gate.
    CORS(
        app,
        resources=BROWSER_PATHS,
        origins=_cors_origins(settings.cors_origins),
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", routes.REQUEST_ID_HEADER],
        expose_headers=[routes.REQUEST_ID_HEADER],  # a browser client may read the id its call is logged under
        allow_private_network=True,
        max_age=600,
    )
    routes.register(app)
    app.register_blueprint(feedback_blueprint(store))
    app.register_blueprint(metrics_blueprint(metrics))
    app.remember_sync()
    settle_collector()
    return app


class _App(Flask):
    """Flask, with the answer of `ensure_sync` (is the function a coroutine function?) worked out once for the
    functions registered when the app is built (`remember_sync`; Flask's documentation says to override
    ensure_sync). Flask asks it of every hook, view and teardown function on every request, and for the bound
    partials of routes.register inspect.iscoroutinefunction unwraps each anew: ~17 k instructions a request. Any
    other function (an error handler) is asked as before, and not remembered: nothing of a request is kept."""

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def remember_sync(self) -> None:
        registered: list[Callable[..., Any]] = [*self.view_functions.values(), *self.teardown_appcontext_funcs]
        for by_blueprint in (self.before_request_funcs, self.after_request_funcs, self.teardown_request_funcs):
            registered += [func for funcs in by_blueprint.values() for func in funcs]
        self._sync = {func: Flask.ensure_sync(self, func) for func in registered}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        sync = self._sync.get(func)
        return super().ensure_sync(func) if sync is None else sync


# The paths a browser client calls (the CDS Hooks sandbox: discovery, the hook and feedback calls; the Questionnaire a
# card links to), the only ones CORS opens to other origins. /metrics, /healthz and /readyz are the operator's: with
# CORS there too (and the default `*`), any web page opened on a machine that reaches the service read them.
BROWSER_PATHS = re.compile(r"/(cds-services|fhir)(/|\Z)")


# A hook call allocates thousands of containers (its parsed body alone) and frees nearly all of them by reference
# counting: at Python's default threshold (700) the collector ran about once a call to scan and promote the call's live
# objects, which then made full collections come often: ~70 us of CPU a call. A call leaves a few objects in cycles
# (for the collector to free), so a threshold of 10,000 keeps at most a couple of MB of them (peak RSS +1 MB over 3,000
# calls) and collections all but stop (~9 us a call).
_GC_YOUNG_THRESHOLD = 10_000


def _cors_origins(origins: tuple[str, ...]) -> list[str | re.Pattern[str]]:
    """The configured origins as flask-cors must match them: each as a whole, in any case (config.py checked their
    form). flask-cors takes a string with brackets or other regex characters for a regular expression, and matches
    that from the start only: an IPv6 origin such as http://[::1]:8080 would then allow http://1:8080 and refuse
    itself. "*" stays a string: every origin."""
    return [origin if origin == "*" else re.compile(re.escape(origin) + r"\Z", re.IGNORECASE) for origin in origins]


def _vary_on_origin(response: Response) -> Response:
    """Vary: Origin on every response when CORS allows a list of origins: whether a response carries
    Access-Control-Allow-Origin depends on the request's Origin, so a cache must not serve one origin's answer to
    another. flask-cors adds it only to the responses of an allowed origin."""
    response.vary.add("Origin")
    return response


def _log_refused_origin(response: Response) -> Response:
    """A WARNING for a browser's preflight that CORS refused (its origin is not in CDS_CORS_ORIGINS): the browser
    then sends nothing, so the service logged nothing at all, and an engineer whose EHR web client or sandbox "shows
    nothing" had no line to find. The origin is quoted as JSON, cut: a browser sends it, but any client may."""
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS" and origin is not None and BROWSER_PATHS.match(request.path) \
            and "Access-Control-Allow-Origin" not in response.headers:
        log.warning("CORS preflight from origin %s to %s refused: not in CDS_CORS_ORIGINS", json_value(origin, 100),
                    request.path)
    return response


def settle_collector() -> None:
    """The garbage collector as a worker runs with once its app is built (the benchmark's in-process path sets it
    too, to measure what a worker pays). Process-wide: set in each gunicorn worker, which builds its app after the
    fork (or inherited from the master with --preload), and in the `cds-service serve` process."""
    # What is loaded by now (Flask, SQLAlchemy, the FHIR models' schemas) lives as long as the worker: take it out of
    # the collector's view, so that full collections stop re-scanning it (they paused a request for ~20 ms).
    gc.freeze()
    _young, *older = gc.get_threshold()
    gc.set_threshold(max(_young, _GC_YOUNG_THRESHOLD), *older)


def _plans() -> tuple[Plan, ...]:
    """The plans the policy files apply, with their own limits, as the discovery document names them."""
    return tuple(Plan(policy.payer_label, policy.limits_said) for policy in map(load_policy, policy_ids()))


def _verifier(settings: Settings, store: AuditStore) -> JwtVerifier | None:
    if settings.auth is None:
        log.warning(
            "LOCAL MODE: no CDS_AUTH_CONFIG, so JWTs are not required and presented tokens are NOT verified, and any "
            "http(s) FHIR server is allowed. Do not expose this service; see docs/configuration.md."
        )
        return None
    if not settings.auth.require_jwt:
        log.warning("require_jwt is false in CDS_AUTH_CONFIG: a call without a JWT is answered, from any caller (no "
                    "FHIR server is read for it); presented tokens are verified. Set it to true once every EHR sends "
                    "one")
    return JwtVerifier(settings.auth, settings.public_base_url, store)


def _log_format() -> None:
    if not logging.getLogger().handlers:  # gunicorn or a test runner may have set up logging already
        handler = logging.StreamHandler()
        handler.setFormatter(LogFormatter(LINE_FORMAT))
        logging.basicConfig(handlers=[handler])


def _configure_logging(level: str) -> None:
    _log_format()
    logging.getLogger("cds_service").setLevel(level)
