"""The past-day-28 card's summary names the label's rest as the rest card and every detail do, "days without
infusion" (session 38, second wording review): it alone had said "then 14 days off"; the summary stays under 140."""
from __future__ import annotations

from cds_service.card_text import SUMMARY_LIMIT
from tests.live_server import LiveClient
from tests.test_s37_cards_rest_unknown import EXAMPLE, PAST_DAY_28, _cards, _number_unknown, spanning


def test_the_past_day_28_summary_says_days_without_infusion(client: LiveClient) -> None:
    for body in (spanning(EXAMPLE, 56, PAST_DAY_28), _number_unknown(spanning(EXAMPLE, 56, PAST_DAY_28))):
        summary = _cards(client, body)["infusion-days"]["summary"]
        assert summary.endswith(" 14 days without infusion") and "days off" not in summary
        assert len(summary) < SUMMARY_LIMIT
