"""The discovery document: service-contract.md §Endpoints and §Prefetch."""
from __future__ import annotations

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
