"""The dose cards of a dose off the label dose, and their words: above it, with the one-click correction to it;
lines running together above it, whose sum no one click can settle; without the body size the label dose needs,
above the label maximum at any body size; more than 10% below it, without a suggestion. Their templates
(cards/dose-above.j2, dose-above-together.j2, dose-above-maximum.j2, dose-below.j2) share one context
(`_finding_context`): each off range of days with the dose ordered and the label dose, the summary's account of them,
the body size and schedule they were read for; and the contract's `dose-check` extension (service-contract.md)."""
from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any, Callable

from cds_service.card_kinds import DOSE_KIND
from cds_service.card_text import SUMMARY_LIMIT, render_card
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.dosing.compare import Finding, Patient, most_severe
from cds_service.dosing.correction_text import label_segments, plan_limit
from cds_service.dosing.expected import STEP_DAYS, WEIGHT_BOUNDARY_KG, Expected
from cds_service.dosing.order_card import order_card
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.rewrite import correct_order
from cds_service.dosing.suggestions import offer_correction, to_correct
from cds_service.dosing.text import (bsa_text, days_list, days_text, dose_said, label_mcg_text, mcg_text,
                                    mcg_text_against, per_m2_text)
from cds_service.facts.body import TALLEST_HEIGHT_CM, largest_bsa, weight_text
from cds_service.facts.model import WINDOWS, ClinicalFacts, read_within

_SUMMARY_PREFIX = "Dose above label: "  # cards/dose-above.j2 and dose-below.j2 (same length)
_SCHEDULE_TEXT = {
    "relapsed-refractory": "relapsed/refractory schedule",
    "standard": "standard schedule",
    "interfant": "Interfant: 15 mcg/m²/day",
    None: "label ceiling",
}


def _dose_check(findings: list[Finding], patient: Patient) -> dict[str, Any]:
    """service-contract.md `dose-check`: the first off range, plus every off range under `findings`."""
    shaped = [f.as_json(patient) for f in findings]
    return {**shaped[0], "findings": shaped}


def above_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
               above: list[Finding], source_label: str, checks: OrderDoseChecks,
               ceiling: Decimal | None) -> dict[str, Any]:
    """A warning with the one-click correction (of the order and lines `to_correct` gives); without one when a line
    above the label is a volume read through its Medication's strength (`DoseForm.volume`): the rate alone is not the
    dose to change (the bag's contents are pharmacy's, and a new rate changes how long it runs), and correcting the
    other lines would leave it above."""
    by_volume = "; ".join(dict.fromkeys(f"line {f.line + 1} ({f.volume})" for f in above if f.volume))
    written, corrected = to_correct(checks)
    correction = None if by_volume else correct_order(written, corrected, patient, facts.cycle.start,
                                                      facts.cycle.infusion_days_before, ceiling=ceiling,
                                                      starts=checks.cycle.starts())
    context = _finding_context(facts, patient, above, lines)
    unreadable = "; ".join(f"line {line.index + 1}: {line.unreadable}" for line in lines if line.unreadable)
    segments = label_segments(written, corrected, correction, patient) if correction else []
    lines_after = len((correction.resource if correction else order).get("dosageInstruction") or [])
    in_mcg = correction is not None and any(s.unit for s in correction.segments)
    text = render_card("dose-above.j2", segments=segments, unreadable=unreadable, lines=lines_after,
                       multi=lines_after > 1, in_mcg=in_mcg, by_volume=by_volume,
                       plan=plan_limit(correction, source_label, ceiling), **context)
    card = order_card(order, text, "warning", source_label, DOSE_KIND)
    card["extension"]["dose-check"] = _dose_check(above, patient)
    if correction is not None:
        offer_correction(card, text, correction, facts, checks)
    return card


def above_together_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
                        above: list[Finding], source_label: str) -> dict[str, Any]:
    """Lines (of this order, or of the cycle's orders) that add up above the label: no one-click correction can know
    which of them to lower, stop or move, and correcting this order's other days alone would leave the sum."""
    unreadable = "; ".join(f"line {line.index + 1}: {line.unreadable}" for line in lines if line.unreadable)
    # A likely duplicate order has its own card, whose one click removes the copies: this card says so rather than
    # that no change is suggested, when on every day above the label the order runs only with its copies (their
    # removal then leaves one order's dose): how many.
    together = [f.together for f in above if f.together is not None]
    duplicate = together[0].order_count if together and all(t.duplicate for t in together) else 0
    # An active order of the record among them: this order may be meant to replace it, which the EHR says by naming it
    # as the order's priorPrescription (dosing/duplicates.running_orders); the card says how, and on which of the
    # days above the label it runs ("these days" had named ranges it does not run on).
    running = [days_text(t.first_day, t.last_day) for t in together if t.active]
    active = days_list(running) if running else ""
    text = render_card("dose-above-together.j2", unreadable=unreadable, duplicate=duplicate, active=active,
                       **_finding_context(facts, patient, above, lines))
    card = order_card(order, text, "warning", source_label, DOSE_KIND)
    card["extension"]["dose-check"] = _dose_check(above, patient)
    return card


def above_maximum_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
                       above: list[Finding], missing: str, source_label: str) -> dict[str, Any]:
    found = _finding_context(facts, patient, above, lines)
    any_height = _any_height(patient, facts)
    text = render_card("dose-above-maximum.j2", missing=missing, any_height=any_height, **found)
    if len(text.line) >= SUMMARY_LIMIT and found["other_days"]:
        # The other days give way, whole, to what to record; the table lists them (a cut had ended "; r…").
        found["other_days"] = ""
        text = render_card("dose-above-maximum.j2", missing=missing, any_height=any_height, **found)
    card = order_card(order, text, "warning", source_label, DOSE_KIND)
    card["extension"]["dose-check"] = _dose_check(above, patient)
    return card


def _any_height(patient: Patient, facts: ClinicalFacts) -> dict[str, str] | None:
    """For a weighed patient dosed by BSA who has no BSA (`label_maximum`): why the label dose is per m², and the
    tallest height accepted and the BSA it gives at this weight, for which the label maximum shown was computed.
    None without a weight: the maximum is the fixed dose."""
    if patient.weight_kg is None:
        return None
    return {"why": "Interfant" if patient.schedule == "interfant" else f"Under {WEIGHT_BOUNDARY_KG} kg",
            "weight": weight_text(patient.weight_kg, facts.body.weight_recorded), "tallest": f"{TALLEST_HEIGHT_CM}",
            "bsa": bsa_text(largest_bsa(patient.weight_kg))}


def below_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
               below: list[Finding], source_label: str) -> dict[str, Any]:
    """The info card of a dose more than 10% below the label dose of a matched indication: no suggestion, as a lower
    dose is often deliberate."""
    text = render_card("dose-below.j2", **_finding_context(facts, patient, below, lines))
    card = order_card(order, text, "info", source_label, DOSE_KIND)
    card["extension"]["dose-check"] = _dose_check(below, patient)
    return card


def _finding_context(facts: ClinicalFacts, patient: Patient, findings: list[Finding],
                    lines: list[DoseLine]) -> dict[str, Any]:
    # A sum of lines is read in mcg/day: its lines may be written in different terms.
    per_m2 = {line.index for line in lines if line.form is not None and line.form.per_m2}
    rows = [
        {
            "days": days_text(f.first_day, f.last_day),
            "ordered": _ordered_number(f, f.ordered),
            "read": f.volume or _per_m2_read(f, patient, per_m2),
            "together": f.together.text if f.together else "",
            "expected": label_mcg_text(f.expected.mcg_per_day),
            # In the summary, a dose written per m² is read in the clinician's own terms first.
            "ordered_said": dose_said(f.ordered, _said(f.ordered, patient.bsa_m2 if f.line in per_m2
                                                       and not f.together else None, shown=partial(_ordered_number, f)))
                            + (f" ({f.together.brief})" if f.together else ""),
            "expected_said": _expected_said(f.expected, patient.bsa_m2 if f.line in per_m2 else None),
            "basis": _basis_text(f, patient),
            "cap": mcg_text(f.expected.cap),
            "cap_applies": f.expected.basis == "bsa" and f.expected.mcg_per_day == f.expected.cap,
        }
        for f in findings
    ]
    body = "; ".join(fact.note for fact in (facts.body.weight_kg, facts.body.bsa_m2) if fact.note)
    worst = rows[findings.index(most_severe(findings))]
    other_days = days_besides(rows, worst)
    direction = "above" if findings[0].ordered > findings[0].expected.mcg_per_day else "below"
    # `first` and `cycle` are printed by no shipped template since the summaries name the ranges (`ranges`), but
    # stay in the context the templates' headers document: an operator's copy may print them (cards/README.md).
    return {"first": rows[0], "worst": worst, "findings": rows, "other_days": other_days,
            "ranges": _ranges(rows, worst, patient.cycle, direction, other_days),
            "cycle": patient.cycle, "body": body,
            "schedule_text": _SCHEDULE_TEXT.get(patient.schedule, patient.schedule),
            "counted_first_cycle": _counted_first_cycle(facts, patient, findings)}


def _per_m2_read(finding: Finding, patient: Patient, per_m2: set[int]) -> str:
    """How the table's mcg/day of a line written per m² was read: '5 mcg/m²/day × 1.989 m²' (a volume's reading is
    `Finding.volume`); "" for a line in mcg/day or a sum of lines. From 45 kg the label dose is fixed, and the BSA
    appeared only in the summary: a pharmacist could not tell where 9.95 mcg/day came from."""
    if finding.line not in per_m2 or finding.together or patient.bsa_m2 is None:
        return ""
    return per_m2_text(finding.ordered / patient.bsa_m2, patient.bsa_m2)


def _counted_first_cycle(facts: ClinicalFacts, patient: Patient, findings: list[Finding]) -> str:
    """How the record makes this cycle 1, when step days are at stake for a patient with an earlier authorization
    attested: a continuation whose earlier cycles are not on record is asked for the step dose of a first cycle, and
    the clinician should know the cycle number can be attested instead (clinical review). "" otherwise."""
    number = facts.cycle.number
    if number.value != 1 or number.attested or patient.schedule != "relapsed-refractory":
        return ""
    if not any(f.first_day in STEP_DAYS for f in findings):
        return ""
    earlier = read_within(facts.prior_authorization_on_file, WINDOWS["prior_authorization_on_file"])
    return number.note if earlier.value is True else ""


def _ordered_number(finding: Finding, mcg_per_day: Decimal) -> str:
    """An ordered dose told from the highest dose the label allows (`Expected.allowed`) however close: 28.504 mcg/day
    shown as 28.5 read as within the fixed dose's 0.5 mcg/day rounding, on a card saying it was above."""
    return mcg_text_against(mcg_per_day, finding.expected.allowed)


def _said(mcg_per_day: Decimal, bsa_m2: Decimal | None, per_m2: Decimal | None = None,
          shown: Callable[[Decimal], str] = mcg_text) -> str:
    """'18.63 mcg/day', or with the BSA of a line written per m² '20 mcg/m²/day (18.63 mcg/day)'; the mcg/day
    `shown` by `label_mcg_text` for a label dose."""
    if not bsa_m2:
        return f"{shown(mcg_per_day)} mcg/day"
    per_m2 = per_m2 if per_m2 is not None else mcg_per_day / bsa_m2
    return f"{mcg_text(per_m2)} mcg/m²/day ({shown(mcg_per_day)} mcg/day)"


def days_besides(rows: list[dict[str, Any]], shown: dict[str, Any]) -> str:
    """The days of the `rows` besides the one a summary `shown`, in words ("days 1–7 and 29–35"; "" when none)."""
    others = list(dict.fromkeys(r["days"] for r in rows if r["days"] != shown["days"]))
    return days_list(others) if others else ""


def _ranges(rows: list[dict[str, Any]], worst: dict[str, Any], cycle: int | None, direction: str,
            other_days: str) -> str:
    """The summary's account of the off days, after "Dose above (below) label: ": every range when they fit (a
    clinician correcting days 1-7 must not miss days 8-28), else the `worst` (`most_severe`: 56 mcg/day against 28
    on days 8-28 rather than the first, 18 against 9 on days 1-7) and the days of the others ("also above on days
    1–7"; "(+1 more day range)" had left the clinician to open the card for them), else how many others: a cut
    within their days would leave some out unsaid."""
    of_cycle = f" of cycle {cycle}" if cycle else ""
    one = f"{worst['ordered_said']} on {worst['days']}{of_cycle}; label is {worst['expected_said']}"
    if len(rows) == 1:
        return one
    every = "; ".join(f"{r['ordered_said']} on {r['days']} (label {r['expected_said']})" for r in rows)
    if len(_SUMMARY_PREFIX) + len(every) < SUMMARY_LIMIT:
        return every
    shorter = one.replace(of_cycle, "", 1)  # the cycle, which the card's detail says, before the other days
    also = f"also {direction} on {other_days}"
    others = len({r["days"] for r in rows} - {worst["days"]})
    counted = f"also {direction} on {others} other day range{'s' if others > 1 else ''}"
    return next((said for said in (f"{one}; {also}", f"{shorter}; {also}")
                 if len(_SUMMARY_PREFIX) + len(said) < SUMMARY_LIMIT), f"{shorter}; {counted}")


def _expected_said(expected: Expected, bsa_m2: Decimal | None) -> str:
    """The label dose per m² only when it is one: a fixed dose (45 kg or more) or the cap is a dose per day."""
    if expected.per_m2 is None or expected.mcg_per_day == expected.cap:
        return _said(expected.mcg_per_day, None, shown=label_mcg_text)
    return _said(expected.mcg_per_day, bsa_m2, expected.per_m2, label_mcg_text)


def _basis_text(finding: Finding, patient: Patient) -> str:
    if finding.expected.basis == "fixed" or finding.expected.per_m2 is None or patient.bsa_m2 is None:
        return f"fixed dose ({WEIGHT_BOUNDARY_KG} kg or more)"
    return per_m2_text(finding.expected.per_m2, patient.bsa_m2)
