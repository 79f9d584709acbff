"""Each Florida Blue indication's criteria cite that indication's own section of the Position Statement, through the
endpoint: a pharmacist checks a criterion against the section its card names.

The relapsed/refractory and Ph+ criteria are shared by several uses of 1.b and had cited ranges ("1.b.ii-iii",
"1.b.iii-iv"): on the card of Ph+ induction (1.b.iv), the Ph+ criterion pointed to the relapsed/refractory use (1.b.iii)
as well, and on the card of relapsed/refractory Ph- disease (1.b.ii), the relapsed criterion to the Ph+ one.
"""
from __future__ import annotations

import pytest

from tests.live_server import LiveClient
from tests.test_fb34_criteria_http import _answer
from tests.test_florida_blue_http import CONSOLIDATION, INDUCTION, MRD, PH_POSITIVE, RR

# What every indication 1 use shares: the disease (initiation 1), CD19+ (1.a) and the dose (1.d).
SHARED = {"Florida Blue Position, initiation 1", "Florida Blue Position 1.a", "Florida Blue Position 1.d"}


@pytest.mark.parametrize(("name", "section"), [
    (MRD, "1.b.i"), (RR, "1.b.ii"), (PH_POSITIVE, "1.b.iii"), (INDUCTION, "1.b.iv"), (CONSOLIDATION, "1.b.v"),
])
def test_each_use_of_indication_1_cites_its_own_section(client: LiveClient, name: str, section: str) -> None:
    decision, _ = _answer(client, name, [])
    assert decision["decision"] == "meets-criteria"
    own = {c["citation"] for c in decision["criteria"]} - SHARED
    assert own == {f"Florida Blue Position {section}"}, decision["criteria"]
