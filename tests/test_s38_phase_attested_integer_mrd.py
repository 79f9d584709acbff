"""An attested MRD percent (`mrd-percent`, a decimal item of the attestation Questionnaire) sent as valueInteger,
through the endpoint.

An EHR's form often sends a whole percent (0, 5) as valueInteger. It had been unread for its value[x] type, its
QuestionnaireResponse named and a readable answer asked for, though a whole number is that decimal as it stands
(attestations._parse; factories.answer_item sends a Python int as valueInteger). A string or a boolean stays unread:
a value of another kind is never guessed. mrd-percent is the Questionnaire's only decimal item (questionnaire.ITEMS).
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_s37_labs2_attested_mrd_range import florida_blue
from tests.test_s37_labs_mrd_ratio import FB_THRESHOLD, criterion


@pytest.mark.parametrize("percent", [5, 1])
def test_a_whole_percent_sent_as_valueinteger_is_read(client: LiveClient, percent: int) -> None:
    decision = florida_blue(client, percent)
    found = criterion(decision, FB_THRESHOLD)
    assert (decision["decision"], decision["missing"], found["status"]) == ("meets-criteria", [], "met")
    assert found["note"] == f"MRD {percent}% attested"


def test_a_zero_sent_as_valueinteger_is_read_as_no_detectable_mrd(client: LiveClient) -> None:
    """0 % is below the 0.1 % threshold: not met on the answer (as valueDecimal 0.0 is), not asked for again."""
    decision = florida_blue(client, 0)
    assert (decision["decision"], decision["missing"]) == ("criteria-not-met", [])


@pytest.mark.parametrize("percent", ["5", True])
def test_a_string_or_a_boolean_stays_unread(client: LiveClient, percent: Any) -> None:
    """factories.answer_item sends a str as valueString, a bool as valueBoolean."""
    decision = florida_blue(client, percent)
    asked = [item for item in decision["missing"] if item.startswith("a readable mrd-percent answer in ")]
    assert (decision["decision"], criterion(decision, FB_THRESHOLD)["status"], len(asked)) == (
        "information-needed", "unknown", 1)
