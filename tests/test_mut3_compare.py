"""The day-by-day comparison's runs (dosing/compare.py `_runs`) against the plain reading of Aspirus V: each day
compared with its own label dose, consecutive days with the same outcome one finding. `_runs` compares once per part
of a stretch (step days or not) and no longer merges a part into the run before it: that step was never reached
(no two parts with the same outcome touch), which these cases check over schedules, cycles, body sizes and doses."""
from __future__ import annotations

from decimal import Decimal
from itertools import product
from typing import Callable

import pytest

from cds_service.dosing.compare import ABOVE, Finding, Patient, _outcome, above_maximum, compare
from cds_service.dosing.expected import Expected
from cds_service.dosing.reading import DoseLine

PATIENTS = [Patient(schedule, weight, bsa, cycle)
            for schedule, (weight, bsa), cycle in product(
                (None, "standard", "relapsed-refractory", "interfant"),
                ((Decimal(70), None), (Decimal(30), Decimal("1.05")), (None, Decimal("0.5")), (None, None)),
                (1, 2, None))]
LINES = [DoseLine(0, first, last, Decimal(dose))
         for (first, last), dose in product(((1, 28), (1, 7), (5, 12), (8, 28), (6, 9)), ("5", "9", "12", "28", "40"))]


def _by_day(line: DoseLine, label: Callable[[int], Expected | None]) -> list[tuple[str, int, int, Decimal]]:
    """The plain reading: every day of the line compared alone, runs of consecutive days with one outcome."""
    assert line.last_day is not None and line.mcg_per_day is not None
    runs: list[tuple[str, int, int, Expected]] = []
    for day in range(line.first_day, line.last_day + 1):
        outcome = _outcome(line.mcg_per_day, label(day))
        if outcome is None:
            continue
        if runs and runs[-1][2] == day - 1 and (runs[-1][0], runs[-1][3]) == outcome:
            runs[-1] = (runs[-1][0], runs[-1][1], day, runs[-1][3])
        else:
            runs.append((outcome[0], day, day, outcome[1]))
    return [(kind, first, last, expected.mcg_per_day) for kind, first, last, expected in runs]


def _said(findings: list[Finding]) -> list[tuple[str, int, int, Decimal]]:
    return [(f.kind, f.first_day, f.last_day, f.expected.mcg_per_day) for f in findings]


@pytest.mark.parametrize("patient", PATIENTS, ids=str)
def test_each_findings_days_are_the_days_a_day_by_day_reading_groups(patient: Patient) -> None:
    for line in LINES:
        assert _said(compare([line], patient)) == _by_day(line, patient.expected), line
        above = [run for run in _by_day(line, patient.maximum) if run[0] == ABOVE]
        assert _said(above_maximum([line], patient)) == above, line


def test_a_dose_above_both_label_doses_is_two_findings_each_with_its_label_dose() -> None:
    """40 mcg/day on days 1-28 of relapsed/refractory cycle 1 (70 kg): above the 9 of days 1-7 and the 28 of days
    8-28. The two touch and are both above, but their label doses differ: never one finding."""
    findings = compare([DoseLine(0, 1, 28, Decimal(40))], Patient("relapsed-refractory", Decimal(70), None, 1))
    assert _said(findings) == [(ABOVE, 1, 7, Decimal(9)), (ABOVE, 8, 28, Decimal(28))]
