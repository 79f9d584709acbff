"""What the blinatumomab label says about the patient's chart, whatever the payer's policy reads: a grade 4 CRS or
neurological toxicity this course (the label: discontinue permanently), a live vaccine near treatment (the label:
not within 2 weeks before treatment, during it, or until immune recovery). Florida Blue's policy reads neither, and
Aspirus's reads the toxicity only for a renewal, so a decision card could approve such an order without a word.

service-contract.md lists the cards a response carries, so these are lines of the decision card's detail, not cards
of their own: a note for the clinician, never a change to the decision.
"""
from __future__ import annotations

from cds_service.decision import Decision
from cds_service.facts.model import ClinicalFacts, Fact, read_within

# The label's "at least 2 weeks prior to the start of treatment, during treatment": the window Aspirus U1 reads, from
# 14 days before the course start to the 28th day of this order's infusion.
_VACCINE_WINDOW = {"days_before_course": 14, "days_after_order": 28}


def label_notes(decision: Decision, facts: ClinicalFacts) -> list[str]:
    """The label's word on what the chart shows, unless a criterion of the decision already failed on it."""
    shown = {reference for c in decision.not_met_criteria() for reference in c.evidence}
    notes = []
    toxicity = facts.unacceptable_toxicity
    if _recorded(toxicity, shown):  # True from the chart only for a grade 4-5 CRS or ICANS (toxicity.py)
        notes.append(f"{toxicity.note[:1].upper()}{toxicity.note[1:]}. The label says to discontinue blinatumomab "
                     "permanently after grade 4 cytokine release syndrome or neurological toxicity.")
    vaccine = read_within(facts.live_vaccine_in_window, _VACCINE_WINDOW)
    if _recorded(vaccine, shown):
        notes.append(f"Live vaccine near treatment: {vaccine.note}. The label advises against live vaccines from 2 "
                     "weeks before treatment, during it and until immune recovery.")
    return notes


def _recorded(fact: Fact[bool], shown: set[str]) -> bool:
    """True from the chart (not an answer the prescriber gave, who knows it), and not already a failed criterion."""
    return fact.value is True and not fact.attested and not shown.intersection(fact.evidence)
