"""What the fuzz tests (test_s38_fuzz_hooks.py) found, each minimised to the request that showed it, through HTTP."""
from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from tests.live_server import LiveClient
from tests.test_pipeline import example, post

UCUM = "http://unitsofmeasure.org"
# bounds[x] that state no days the dose check reads: a Period with neither start nor end, and a Range of durations.
@pytest.mark.parametrize("bounds", [("boundsPeriod", {}), ("boundsPeriod", {"id": "days"}),
                                    ("boundsRange", {"low": {"value": 28, "unit": "d", "system": UCUM, "code": "d"}})])
def test_a_split_line_states_its_days_in_one_bounds_only(client: LiveClient, bounds: tuple[str, Any]) -> None:
    """A line above the label from day 1 whose bounds state no days read is split, its step days given a
    boundsDuration: that had been written beside the line's own bounds[x], two values of one choice element, and
    the EHR refuses the suggested MedicationRequest (fhir.resources: "Any of one field value is expected")."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    [line] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    repeat = line["timing"]["repeat"]
    repeat.pop("boundsPeriod")
    repeat[bounds[0]] = bounds[1]
    answer = post(client, body)
    resources = [action["resource"] for card in answer["cards"] for suggestion in card.get("suggestions", [])
                 for action in suggestion["actions"] if "resource" in action]
    assert resources  # the split is suggested
    for resource in resources:
        MedicationRequest.model_validate(resource)
    step = resources[0]["dosageInstruction"][0]["timing"]["repeat"]
    assert [key for key in step if key.startswith("bounds")] == ["boundsDuration"]
