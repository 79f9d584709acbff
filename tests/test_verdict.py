"""The three-valued AND and OR of cds_service.verdict (policy-rules.md §1), over every combination of statuses."""
from __future__ import annotations

from itertools import product

import pytest

from cds_service.verdict import MET, NOT_MET, UNKNOWN, all_of, any_of

STATUSES = (MET, NOT_MET, UNKNOWN)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_and_and_or_over_every_combination(count: int) -> None:
    for statuses in product(STATUSES, repeat=count):
        expected_and = NOT_MET if NOT_MET in statuses else UNKNOWN if UNKNOWN in statuses else MET
        expected_or = MET if MET in statuses else UNKNOWN if UNKNOWN in statuses else NOT_MET
        assert all_of(statuses) == expected_and and all_of(iter(statuses)) == expected_and
        assert any_of(statuses) == expected_or and any_of(iter(statuses)) == expected_or
