"""An MRD result not read says why, in the criterion's note, through the endpoint.

A value outside FHIR's quantity-comparator ("≤"), below 0 or above 100% of cells, or whose printed unit and UCUM code
name different units, is unreadable (tests/test_s37_labs_comparators.py, test_s37_labs_mrd_range.py): the MRD facts
unknown and the value asked for. The note had said "MRD unreadable (2026-11-15)" for some of them, and "its unit and
unit code disagree" without which: the pharmacist could not see what to correct. It now says the reason and quotes
what was sent (facts/labs.py `_read_mrd`, result_text.py `unread_number`).
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_s37_labs_comparators import UCUM, mrd_positive, percent
from tests.test_s37_labs_mrd_ratio import criterion, ratio

MRD_POSITIVE = "adult-consolidation-mrd-positive.mrd-positive"


@pytest.mark.parametrize(("value", "note"), [
    (percent(0.01, "≤"), 'MRD unreadable (comparator "≤" is not one FHIR defines) (2026-11-15)'),
    (ratio(1, 10000, {"comparator": "~"}), 'MRD unreadable (comparator "~" is not one FHIR defines) (2026-11-15)'),
    (percent(150), "MRD 150% (above 100% of cells) (2026-11-15)"),
    (percent(-0.01), "MRD -0.01% (below 0) (2026-11-15)"),
    ({"valueString": "-0.01%"}, 'MRD unreadable ("-0.01%" is below 0) (2026-11-15)'),
    (ratio(-1, 10000), "MRD unreadable (its numerator is below 0) (2026-11-15)"),
    ({"valueQuantity": {"value": 0.05, "unit": "%", "system": UCUM, "code": "1"}},
     'MRD 0.05 (unit "%" and unit code "1" disagree) (2026-11-15)'),
])
def test_an_unread_mrd_value_says_why_in_the_note(client: LiveClient, value: dict[str, Any], note: str) -> None:
    decision = mrd_positive(client, value)
    assert decision["decision"] == "information-needed"
    found = criterion(decision, MRD_POSITIVE)
    assert (found["status"], found["evidence"], found["note"]) == ("unknown", ["Observation/mrd-1"], note)


def test_a_value_in_words_no_one_can_read_is_still_just_unreadable(client: LiveClient) -> None:
    """No number was sent: nothing more to say than that the words were not read."""
    found = criterion(mrd_positive(client, {"valueString": "see report"}), MRD_POSITIVE)
    assert found["note"] == "MRD unreadable (2026-11-15)"
