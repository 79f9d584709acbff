"""What the blinatumomab label says about the patient's chart and the order, whatever the payer's policy reads: a
grade 4 CRS or neurological toxicity, this course or an earlier one (the label: discontinue permanently, for the
patient rather than the course), a live vaccine near treatment (the label: not within 2 weeks before treatment,
during it, or until immune recovery), and a dose that could not be checked against the label. A policy may read none
of these (or the toxicity only for a renewal, and only this course's), and without a recognized plan nothing does, so
a card could approve such an order, or say nothing, without a word.

service-contract.md lists the cards a response carries, so these are lines of the decision card's detail (or of the
card saying no plan was found), not cards of their own: a note for the clinician, never a change to the decision.
A note the summary names opens the card's summary, before the payer's outcome, and raises the card's indicator (to
critical for what the label says stops or defers the drug, whatever the payer; to warning for a dose not checked, or
above the label where the plan's own dose limit is met): a
clinician who reads only the summary must not see a plain approval, and must see the label's word first.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from cds_service.decision import Decision
from cds_service.evaluation import NOT_MET_DECISION
from cds_service.dosing.checks import DoseReading, unused_sizes
from cds_service.facts.model import ClinicalFacts, Fact, read_within
from cds_service.sentences import mid_sentence
from cds_service.verdict import MET

# The label's "at least 2 weeks prior to the start of treatment, during treatment": the window the live-vaccine
# criterion reads, from 14 days before the course start to the 28th day of this order's infusion.
_VACCINE_WINDOW = {"days_before_course": 14, "days_after_order": 28}
# The label's word, after the chart's finding or alone (_line).
_DISCONTINUE = ("The label says to discontinue blinatumomab permanently after grade 4 cytokine release syndrome or "
                "neurological toxicity")
_DISCONTINUE_EVER = f"{_DISCONTINUE}: every later course too, even once the event resolved"
_NO_LIVE_VACCINE = ("The label advises against live vaccines from 2 weeks before treatment, during it and until immune "
                    "recovery")


class LabelNote(NamedTuple):
    text: str  # the detail's line
    summary: str = ""  # the words the card's summary opens with ("": the detail only, and the indicator as it is)
    indicator: str = "warning"  # the least indicator of a card whose summary names it
    # The summary's words in short, when several notes with a payer's outcome do not fit in full ("": the summary)
    short: str = ""


def label_notes(decision: Decision | None, facts: ClinicalFacts, dose: DoseReading) -> list[LabelNote]:
    """The label's word on what the chart and the order show, unless a criterion of the `decision` (None: no plan
    was found) asks for it, or failed on it and is critical: the card then says it in its summary and is critical
    already (Aspirus U1's live vaccine). A criterion failed on it that is not critical (Aspirus's renewal toxicity
    criterion) shows the finding in the detail, but neither the label's word nor its urgency: the note keeps its
    summary and indicator, and its line leaves the finding to that criterion (else the same fact twice in one
    detail)."""
    failed = decision.not_met_criteria() if decision else []
    said = {reference for c in failed if c.critical for reference in c.evidence}
    shown = {reference for c in failed if not c.critical for reference in c.evidence}
    notes = []
    toxicity, earlier = facts.unacceptable_toxicity, facts.severe_toxicity_before_course
    # True from the chart only for a grade 4-5 CRS or ICANS (toxicity.py). One this course says the label's word
    # already (here or in a critical criterion): an earlier course's would say it twice.
    if toxicity.value is True and not toxicity.attested:
        if _recorded(toxicity, said):
            notes.append(LabelNote(
                _line(f"{toxicity.note[:1].upper()}{toxicity.note[1:]}", _DISCONTINUE, toxicity, shown),
                "Grade 4 CRS/ICANS this course: label says discontinue permanently", "critical",
                "Grade 4 CRS/ICANS: discontinue permanently"))
    elif earlier.value and _recorded(earlier, said):
        # No payer's window reaches an earlier course (Aspirus's renewal criterion reads this one), but the label's
        # discontinuation is for the patient. The summary says when it was, not to be read as this course's.
        notes.append(LabelNote(
            _line(f"{earlier.note[:1].upper()}{earlier.note[1:]}", _DISCONTINUE_EVER, earlier, shown),
            f"Grade 4 CRS/ICANS on {earlier.value[0].isoformat()} (earlier course): label says discontinue "
            "permanently", "critical", "Grade 4 CRS/ICANS: discontinue permanently"))
    vaccine = read_within(facts.live_vaccine_in_window, _VACCINE_WINDOW)
    if _recorded(vaccine, said):
        notes.append(LabelNote(
            _line(f"Live vaccine near treatment: {vaccine.note}", _NO_LIVE_VACCINE, vaccine, shown),
            "Live vaccine near treatment: label advises against it", "critical", "Live vaccine near treatment"))
    notes.extend(_dose_notes(decision, dose, facts))
    return notes


def _line(finding: str, label: str, fact: Fact[Any], shown: set[str]) -> str:
    """The detail's line: the chart's `finding`, then the `label`'s word; the label's word alone when a criterion not
    met, listed below it, shows the finding already."""
    if shown.intersection(fact.evidence):
        return f"{label}: see the criterion not met below for what the chart records."
    return f"{finding}. {label}."


def _dose_notes(decision: Decision | None, dose: DoseReading, facts: ClinicalFacts) -> list[LabelNote]:
    if dose.missing and not dose.above and not (decision and dose.missing in decision.missing):
        # Unless the decision asks for it already (a policy that reads the label dose): nothing else would say the
        # dose went unchecked, and a child's dose is per m² of body surface. In the summary unless the order is not
        # covered anyway: why it is not is then the news, and the card a warning already.
        what = dose.missing.split(' (')[0]
        # Vital signs the EHR did not send say nothing of the chart: "no current weight" would send the clinician to
        # record one the chart may hold.
        received = facts.body.weight_kg.received
        lacks = f"no {what}" if received else f"{what} not received"
        summary = "" if decision and decision.decision == NOT_MET_DECISION else \
            f"Dose not checked against the label: {lacks}"
        unused = "".join(f"; {mid_sentence(size.note)}" for size in unused_sizes(facts))  # a weight too old, say
        chart = f"the chart has no {dose.missing}{unused}" if received else \
            f"the EHR did not send the vital signs, so the {dose.missing} is not known"
        return [LabelNote(
            f"Dose not checked against the label: {chart}. The label dose is fixed from 45 kg and per m² of body "
            "surface below it.", summary,
            short=summary and f"Dose not checked: {lacks}")]
    if dose.above and decision and any(c.kind == "dose" and c.status == MET for c in decision.criteria):
        # The plan's own dose limit met beside a dose card saying the dose is above the label: the tick alone reads
        # as "the dose is right", and an approval read alone (the first card, or the only one max-cards keeps) as
        # nothing to change. Said in the summary and raised as an unchecked dose is, the known overdose no less.
        card, named = ('the card "Likely duplicate order"', "duplicate card") if dose.by_copies else (
            "the dose card", "dose card")
        return [LabelNote(f"The plan's dose limit is met, but the dose is above the label dose ({dose.worst}): see "
                          f"{card}.", f"Dose above label (see {named})", short="Dose above label")]
    return []


def _recorded(fact: Fact[Any], said: set[str]) -> bool:
    """True (or, for the days of an earlier course's events, not empty) from the chart (not an answer the prescriber
    gave, who knows it), and not already a failed critical criterion."""
    return bool(fact.value) and not fact.attested and not said.intersection(fact.evidence)
