"""The discovery document: service-contract.md §Endpoints and §Prefetch."""
from __future__ import annotations

from cds_service.discovery import Plan, discovery_document
from tests.live_server import LiveClient

# The contract's prefetch table, copied here so the test checks the code against the spec, not against itself.
CONTRACT_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "immunizations": "Immunization?patient={{context.patientId}}",
    "attestations": "QuestionnaireResponse?patient={{context.patientId}}",
}


def test_one_service_id_listed_once_per_hook(client: LiveClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200 and response.mimetype == "application/json"
    services = response.get_json()["services"]
    # order-sign last: the public CDS Hooks sandbox keeps one service per id, the last listed (its reducer keys the
    # services by discovery URL and id), and order-sign is the hook that carries the coverage decision.
    assert [s["hook"] for s in services] == ["order-select", "order-sign"]
    for service in services:
        assert service["id"] == "blinatumomab-coverage"
        assert service["title"] and service["description"]


def test_prefetch_declares_the_seven_keys(client: LiveClient) -> None:
    for service in client.get("/cds-services").get_json()["services"]:
        assert set(service["prefetch"]) == set(CONTRACT_PREFETCH)
        for key, template in CONTRACT_PREFETCH.items():
            # The service may narrow a search (extra parameters), never change what it asks for.
            assert service["prefetch"][key].startswith(template), key


def test_crd_extension_lists_version_and_configuration_options(client: LiveClient) -> None:
    for service in client.get("/cds-services").get_json()["services"]:
        extension = service["extension"]
        assert extension["davinci-crd.version"] == ["2.2"]
        options = {o["code"]: o for o in extension["davinci-crd.configuration-options"]}
        assert {code: o["type"] for code, o in options.items()} == {
            "coverage-info": "boolean",
            "off-guideline": "boolean",
            "limits": "boolean",
            "unsolicited-determ": "boolean",
            "max-cards": "integer",
        }
        assert options["unsolicited-determ"]["default"] is True
        for option in options.values():
            assert option["name"] and option["description"]
            assert isinstance(option["default"], bool if option["type"] == "boolean" else int)


def test_the_limits_option_names_each_plans_own_limits_from_its_policy(client: LiveClient) -> None:
    """Read from the policy files (Policy.limits_said), not written in the code: a plan added as data is named."""
    services = client.get("/cds-services").get_json()["services"]
    for service in services:
        [limits] = [o for o in service["extension"]["davinci-crd.configuration-options"] if o["code"] == "limits"]
        assert limits["description"] == ("Return cards for an ordered quantity or daily dose above the plan's own "
                                         "limit (Aspirus Health Plan: 28 vials per cycle; Florida Blue: 28 mcg/day), "
                                         "with a one-click correction.")


def test_plans_without_limits_are_not_listed_among_the_limits() -> None:
    document = discovery_document([Plan("Plan A"), Plan("Plan B", ("28 vials per cycle", "28 mcg/day"))])
    [limits] = [o for o in document["services"][0]["extension"]["davinci-crd.configuration-options"]
                if o["code"] == "limits"]
    assert "limit (Plan B: 28 vials per cycle, 28 mcg/day), with" in limits["description"]
    assert "Plan A, Plan B" in document["services"][0]["description"]
    [none] = [o for o in discovery_document([Plan("Plan A")])["services"][0]["extension"][
        "davinci-crd.configuration-options"] if o["code"] == "limits"]
    assert none["description"] == ("Return cards for an ordered quantity or daily dose above the plan's own limit, "
                                   "with a one-click correction.")
