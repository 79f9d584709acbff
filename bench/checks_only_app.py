"""A second baseline for the HTTP comparison: the checks every request must pass before any clinical reading.

It validates a request as the service does (Content-Type, JSON, the request schema, each draft order coded as
blinatumomab validated by the service's own order_validation: service-contract.md's 400s), then returns the minimal
app's fixed card. Served like the other two apps, it separates what the contract's checks cost from what the
evaluation costs.
"""
from __future__ import annotations

from flask import Flask, Response, request

from bench.minimal_app import FIXED_RESPONSE
from bench.workload import SERVICE_ID, SERVICE_PATH
from cds_service import json_codec
from cds_service.draft_orders import medication_requests
from cds_service.facts.order import is_blinatumomab
from cds_service.order_validation import validate_orders
from cds_service.record import no_server
from cds_service.validation import check_content_type, hook_request, parse_json_object


def create_app() -> Flask:
    app = Flask(__name__)
    answer = json_codec.dumps(FIXED_RESPONSE)

    @app.post(SERVICE_PATH)
    def service() -> Response:
        check_content_type(request.headers.get("Content-Type"))
        hook = hook_request(parse_json_object(request.get_data(cache=False)), SERVICE_ID)
        # As pipeline.evaluate's first check: the orders known as blinatumomab by their own code.
        validate_orders(hook, medication_requests(hook), lambda order: is_blinatumomab(order, no_server), set())
        return Response(answer, mimetype="application/json")

    return app
