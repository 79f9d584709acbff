"""The words of a dose correction: what a suggestion writes on each stretch of days, in the order's own unit, and the
label dose it follows, so that a pharmacist can check its arithmetic; and the days it changes for the payer's daily
maximum though within the label."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from cds_service.dosing.compare import Patient
from cds_service.dosing.expected import Expected
from cds_service.dosing.reading import DoseForm, DoseLine
from cds_service.dosing.rewrite import Correction, Segment, written_dose
from cds_service.dosing.text import bsa_text, days_text, label_mcg_text, mcg_text, per_m2_text


def label_segments(order: dict[str, Any], lines: list[DoseLine], correction: Correction,
                   patient: Patient) -> list[dict[str, Any]]:
    forms = dose_forms(lines)
    segments = []
    for s in correction.segments:
        value, unit = segment_written(order, forms, s)
        segments.append({"written": f"{value} {unit}", "days": days_text(s.first_day, s.last_day),
                         "explain": _explain(s, forms[s.line], unit, patient)})
    return segments


def dose_forms(lines: list[DoseLine]) -> dict[int, DoseForm]:
    """Each read line's dose form, by its index: every corrected line has one."""
    return {line.index: line.form for line in lines if line.form is not None}


def segment_written(order: dict[str, Any], forms: dict[int, DoseForm], segment: Segment) -> tuple[str, str]:
    """What the suggestion writes on a segment's line, and its unit: ('1.16', 'mcg/h'), not its 27.84 mcg/day."""
    return written_dose(order["dosageInstruction"][segment.line], forms[segment.line], segment.value, segment.unit)


def _explain(segment: Segment, form: DoseForm, unit: str, patient: Patient) -> str:
    """What a segment's dose is, after it in the suggestion's label, so that its arithmetic checks. In mcg/day: the
    label dose it follows (`_arithmetic`). In another unit (0.375 mcg/h, 0.028 mg/day, 15 mcg/m²/day), the daily dose
    it gives first, as a clinician knows doses, unless its cap says it: '9 mcg/day', '4.584 mcg/day: 5 mcg/m²/day ×
    0.932 m² = 4.66, rounded down', '22.125 mcg/day at 1.475 m²', 'capped at 9 mcg/day'."""
    arithmetic = _arithmetic(segment, patient)
    expected = segment.expected
    capped = expected is not None and _capped(expected, patient)
    if unit == "mcg/day" or (capped and expected is not None and segment.mcg_per_day == expected.mcg_per_day):
        return arithmetic
    daily = f"{label_mcg_text(segment.mcg_per_day)} mcg/day"
    if form.per_m2 and segment.unit is None and patient.bsa_m2 is not None and not capped:  # still per m²
        return f"{daily} at {bsa_text(patient.bsa_m2)}"
    return f"{daily}: {arithmetic}" if arithmetic else daily


def _arithmetic(segment: Segment, patient: Patient) -> str:
    """The label dose a corrected segment follows: its BSA dose ('15 mcg/m²/day × 1.2 m²') or cap ('capped at 28
    mcg/day'); and when the correction is below it, being rounded down (never above the label: rewrite.py), that too,
    with the label dose the table shows: '15 mcg/m²/day × 1.333 m² = 19.995, rounded down', 'label 28 mcg/day, rounded
    down'. "" for a fixed dose written whole, or a segment kept."""
    expected = segment.expected
    if expected is None:
        return ""
    label, capped = label_mcg_text(expected.mcg_per_day), _capped(expected, patient)
    per_m2 = None if capped or expected.basis != "bsa" else expected.per_m2
    if per_m2 is not None and patient.bsa_m2 is not None:
        basis = per_m2_text(per_m2, patient.bsa_m2)
        below = f"{basis} = {label}, rounded down"
    else:
        basis = f"capped at {label} mcg/day" if capped else ""
        below = f"{basis or f'label {label} mcg/day'}, rounded down"
    return basis if segment.mcg_per_day >= expected.mcg_per_day else below


def _capped(expected: Expected, patient: Patient) -> bool:
    """Whether the label dose is the cap, the BSA dose being above it."""
    return (expected.basis == "bsa" and expected.per_m2 is not None and patient.bsa_m2 is not None
            and expected.mcg_per_day == expected.cap and expected.per_m2 * patient.bsa_m2 > expected.cap)


def plan_limit(correction: Correction | None, payer: str, ceiling: Decimal | None) -> dict[str, str] | None:
    """The dose cards' `plan`: the days the correction sets to the label dose though within the label's rounding,
    being above the payer's `ceiling` (`Segment.for_ceiling`), else None. A clinician sees days 8-28 change that the
    card does not call above the label."""
    days = [days_text(s.first_day, s.last_day) for s in correction.segments if s.for_ceiling] if correction else []
    return {"days": ", ".join(days), "payer": payer, "ceiling": mcg_text(ceiling)} if days and ceiling else None
