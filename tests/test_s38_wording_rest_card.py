"""The rest card reads in one pass (session 38): with the rest owed not known, its heading said "the label's at least
14 days without infusion"; it now gives the least after the days. A cycle starting the day after the one before
said "after 0 days without infusion" in the detail, beside its summary's "the day after"."""
from __future__ import annotations

from typing import Any

from tests.live_server import LiveClient
from tests.test_dosing_rest import on_record_after
from tests.test_pipeline import post
from tests.test_s37_dosing_rest_many_partial import _cards, _with_priors


def _rest_card(client: LiveClient, body: dict[str, Any]) -> dict[str, Any]:
    [rest] = [card for card in post(client, body)["cards"] if card["summary"].startswith(("Cycle", "This cycle"))]
    return rest


def test_a_cycle_starting_the_day_after_says_so_in_the_detail(client: LiveClient) -> None:
    rest = _rest_card(client, on_record_after("2026-12-09", "2027-01-05"))
    assert rest["summary"].startswith("Cycle 2 starts the day after cycle 1 ended: ")
    detail = " ".join(rest["detail"].split())
    assert ("this order starts cycle 2 on 2026-12-09, the day after, with no day without infusion. The earliest start "
            "the label allows is 2026-12-23.") in detail
    assert "after 0 days" not in detail


def test_a_rest_owed_not_known_gives_its_least_after_the_days(client: LiveClient) -> None:
    rest = _cards(client, _with_priors(("2026-10-21", "2026-11-17")))["infusion-days-rest"]
    assert rest["detail"].startswith(
        "**This cycle starts before the label's days without infusion (at least 14) have passed.**")
