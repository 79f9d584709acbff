"""Worst-case cost of reading a diagnosis's text for a negation after a lineage word (facts/codes.py `negated`),
through HTTP. No timed assertion: the old reading tried every split of the runs of spaces after the word, quadratic,
and a text of 200,000 spaces ran past the client's hang guard (live_server.REQUEST_GUARD_SECONDS), 100,000 past
gunicorn's 30 s (42 s)."""
from __future__ import annotations

import pytest

from tests.live_server import LiveClient
from tests.test_s37_labs2_lineage_negated_after import ASPIRUS, lineage


@pytest.mark.parametrize(("after", "expected"), [
    ("ALL", ("criteria-not-met", "not-met")),  # no negation after the spaces: T-lineage
    ("markers negative", ("information-needed", "unknown")),  # negated after them
])
def test_a_lineage_word_followed_by_thousands_of_spaces_is_read_as_before(client: LiveClient, after: str,
                                                                          expected: tuple[str, str]) -> None:
    """A term followed by 200,000 spaces (about 3 minutes, read the old way)."""
    decided, found = lineage(client, ASPIRUS, f"ALL with T-cell{' ' * 200_000}{after}")
    assert (decided, found["status"]) == expected
