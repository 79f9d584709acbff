"""The three-valued AND and OR of cds_service.verdict (policy-rules.md §1), over every combination of statuses: the
OR as a policy group finds it, by OR_RANK."""
from __future__ import annotations

from itertools import product

import pytest

from cds_service.verdict import MET, NOT_MET, OR_RANK, UNKNOWN, all_of

STATUSES = (MET, NOT_MET, UNKNOWN)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_and_and_or_over_every_combination(count: int) -> None:
    for statuses in product(STATUSES, repeat=count):
        expected_and = NOT_MET if NOT_MET in statuses else UNKNOWN if UNKNOWN in statuses else MET
        expected_or = MET if MET in statuses else UNKNOWN if UNKNOWN in statuses else NOT_MET
        assert all_of(statuses) == expected_and and all_of(iter(statuses)) == expected_and
        if statuses:  # a group has children (the policy schema says)
            assert max(statuses, key=OR_RANK.__getitem__) == expected_or
