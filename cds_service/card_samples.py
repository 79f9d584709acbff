"""Representative contexts of every card template, shaped as cards.py and dosing/cards.py pass them.

The start-up renders each template in use with each of its contexts (startup_checks.py,
`card_text.render_problem`): a variable or attribute misspelt in an operator's copy (CDS_CARDS_DIR) then stops the
start-up, naming the template and the line, instead of turning every order that reaches the template into an
"evaluation failed" card. A template renders one branch per context, so the contexts cover the branches the code
chooses between (each decision, each kind of no-plan card); a typo in a branch no context reaches is not found. The
keys match what the code passes (tests/test_card_templates.py compares them).
"""
from __future__ import annotations

from typing import Any

from cds_service.decision import CriterionResult, Decision, IndicationResult
from cds_service.dosing.api import QuantityLimit

QUESTIONNAIRE = "https://cds.example.org/fhir/Questionnaire/blinatumomab-coverage-attestation"
_MET = CriterionResult("U1", "met", "Aspirus III", "No live vaccine in the window", ("Immunization/i1",),
                       kind="universal", note="none recorded")
_NOT_MET = CriterionResult("adult.mrd", "not-met", "Aspirus III (ALL, adult)", "MRD detectable", ("Observation/o1",),
                           note="MRD 0.05% on 2026-11-15 [a note]", summary="MRD detectable", critical=True)
_UNKNOWN = CriterionResult("adult.ph", "unknown", "Aspirus III (ALL, adult)", "Ph status known", missing="Ph result",
                           attested=True, received=False)
_INDICATION = IndicationResult("adult", "adult relapsed/refractory", "Aspirus III (ALL, adult)", "unknown", "unknown",
                               (_MET, _NOT_MET, _UNKNOWN))


def _decision(decision: Any, **changes: Any) -> Decision:
    fields: dict[str, Any] = {
        "policy_id": "aspirus-magellan", "policy_version": "2023", "payer_label": "Aspirus Health Plan",
        "policy_url": "https://aspirushealthplan.com/", "decision": decision, "request_type": "renewal",
        "indication": "adult", "indication_title": "adult relapsed/refractory", "cycle": 2,
        "authorization": {"start": "2026-11-20", "end": "2027-05-19", "cycles": 2},
        "criteria": [_MET, _NOT_MET, _UNKNOWN], "missing": ["Ph result"], "not_received": ["immunizations"],
        "indications": [_INDICATION], "shown_indication": "adult", "policy_title": "Blincyto (blinatumomab)",
    }
    return Decision(**{**fields, **changes})


def _decision_context(decision: Decision, **changes: Any) -> dict[str, Any]:
    context = {
        "d": decision, "blocked": "", "needed": ["Ph result"], "alternatives": ["CD19 result"],
        "document": "Ph result", "document_hint": " (another indication would need: CD19 result)",
        "reason": "MRD detectable", "as_ordered": False, "general": [_MET],
        "shown": _INDICATION,
        "shown_role": "Closest indication", "others": ["adult consolidation"],
        "not_met_others": [("pediatric MRD-positive; infant ALL", [_NOT_MET])],
        "attested": ["Therapy phase"],
        "not_received": ["immunizations"], "askable": True, "questionnaire": QUESTIONNAIRE, "determination": True,
        "label_notes": [],
        "order": "28 mcg/day continuous IV infusion — starts 2026-12-01 (MedicationRequest/mr1)",
        "coverage": None,
        "payer": decision.payer_label, "lapse": "", "dose_days": "", "unknown_for_want": False,
    }
    return {**context, **changes}


# The Coverage a decision is for, ending within the cycle (cards._coverage_context).
_MID_CYCLE = {"reference": "Coverage/c1", "period": "2026-01-01 to 2026-12-15", "end": "2026-12-15",
              "last_day": "2026-12-28", "mid_cycle": True, "secondary": False, "rank": "", "primary": "",
              "primary_payer": "", "primary_plan": ""}
# The secondary coverage, below a supported plan's primary one, below one this service does not check, and ranked
# 3rd with no primary received.
_SECONDARY = {**_MID_CYCLE, "mid_cycle": False, "secondary": True, "rank": "", "primary": "Coverage/c0",
              "primary_payer": "Florida Blue", "primary_plan": "Florida Blue"}
_SECONDARY_UNCHECKED = {**_SECONDARY, "primary_payer": "Acme Health", "primary_plan": ""}
_SECONDARY_ALONE = {**_SECONDARY, "rank": "ranked 3rd", "primary": "", "primary_payer": "", "primary_plan": ""}


_FINDING = {"days": "days 1–7", "ordered": "28", "read": "", "together": "MedicationRequest/mr2", "expected": "9",
            "ordered_said": "28 mcg/day", "expected_said": "9 mcg/day", "basis": "fixed dose (45 kg or more)",
            "cap": "9", "cap_applies": True}
_FINDINGS = {"first": _FINDING, "worst": _FINDING,
             "findings": [_FINDING, {**_FINDING, "days": "days 8–28", "together": ""}],
             "ranges": "28 mcg/day on days 1–7 of cycle 1; label is 9 mcg/day", "other_days": "days 8–28", "cycle": 1,
             "body": "Weight 80 kg on 2026-11-20", "schedule_text": "relapsed/refractory schedule",
             "counted_first_cycle": "cycle 1 of the course that started 2026-12-01"}


def _no_plan(not_received: str = "", coverage: str | None = None, unreadable: str = "",
             label_notes: tuple[str, ...] = (), out_of_force: dict[str, Any] | None = None,
             payer: str = "") -> dict[str, Any]:
    return {"not_received": not_received, "coverage": coverage, "unreadable": unreadable, "out_of_force": out_of_force,
            "plans": ["Aspirus Health Plan", "Florida Blue"], "label_notes": list(label_notes),
            "dose_checked": not label_notes, "payer": payer}


# A supported plan's Coverage whose period leaves out the order's start (cards._out_of_force_context): ended, not
# yet begun.
_ENDED = {"payer": "Florida Blue", "start": "2026-01-01", "end": "2026-11-30", "order_start": "2026-12-01",
          "ended": True, "in_force": ""}
_NOT_YET = {**_ENDED, "start": "2027-01-01", "end": "", "ended": False}
_BESIDE_ANOTHER = {**_ENDED, "in_force": "Coverage/other"}  # an unsupported plan's Coverage in force


def _row(**changed: Any) -> dict[str, Any]:
    """A row of the quantity card's table: an order against what its own days use."""
    return {"which": "9 mcg/day on days 1–7", "this": False, "answered": True, "finding": "above", "why": "",
            "ordered": "20 vials", "dose": "63", "fewest": "2", "most": "7", "unit": "vials", "ended": None,
            "corrected": False, "beyond": False, **changed}


# Aspirus II's limit with its 84-day window from cycle 6 on: a card of an unknown cycle number says it.
_LONGER_FROM_CYCLE_6 = QuantityLimit(vials=28, units=980, days=42, days_continued=84, continued_from_cycle=6,
                                     citation="Aspirus II")


def _quantity(**changed: Any) -> dict[str, Any]:
    """A quantity card's context (dosing/cards.py quantity_card), with `changed`."""
    return {"ordered": "41 vials (1435 mcg)", "allowed": "28 vials (980 mcg)", "window": 42, "supply": "42",
            "cycle": 1, "orders": 2, "several": True, "target": "", "which": "this order",
            "rows": [_row(this=True), _row()], "more": 0, "overlapping": False, "unselected": False, "unread": False,
            "beyond": False,
            "limit": QuantityLimit(vials=28, units=980, days=42, citation="Aspirus II"), **changed}


# An order whose dose could not be read: what its days use at most (a bag a day), less than it holds.
_UNREAD_ROW = _row(this=True, finding="undecided", why="its dose could not be read", beyond=True, ordered="40 vials",
                   dose="", fewest="", most="35")

_PLAN_LINE = {"days": "days 1–28", "ordered": "28.3", "corrected": "28", "read": ""}
_PLAN_VOLUME = {"days": "days 1–14", "ordered": "28.3", "corrected": "", "read": "10 mL/h of 28.3 mcg per 240 mL"}

# One cycle of an order whose lines fall in several (order-spans-cycles.j2's `parts`).
_SPAN_PART = {"name": "cycle 2", "this": False, "lines": "lines 2 and 3", "doses": "28 mcg/day on days 1–28",
              "dates": "2027-01-12 to 2027-02-08", "quantity": "28 vials"}


def _spans(**changes: Any) -> dict[str, Any]:
    context = {"cycles": 2, "starts": ["2026-12-01", "2027-01-12"], "parts": [{**_SPAN_PART, "this": True}, _SPAN_PART],
               "offered": True, "why_not": "", "quantity_left": "", "described": 0, "withheld": False,
               "guessed": False}
    return {**context, **changes}


def _rest(**changes: Any) -> dict[str, Any]:
    """A short rest card's context (dosing/rest_card.py): cycle 2 after cycle 1's last infusion day, with `changes`."""
    context = {"last": "2026-12-08", "earliest": "2026-12-23", "rest": 14, "long_cycle": None, "unknown": "",
               "longer": ""}
    return {**context, **changes}


def _duplicate(**changes: Any) -> dict[str, Any]:
    """A duplicate order's card context (dosing/duplicates.py): two orders, the second removed, with `changes`."""
    rows = [{"reference": "MedicationRequest/a", "written": "28 mcg/day continuous IV infusion", "kept": True},
            {"reference": "MedicationRequest/b", "written": "", "kept": False}]
    context = {"count": 2, "doses": "28 mcg/day on days 1–28", "rows": rows, "more": 0, "kept": "MedicationRequest/a",
               "cycle": "cycle 2", "folded": False, "active": False}
    return {**context, **changes}


SAMPLES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("decision.j2", _decision_context(_decision("meets-criteria", not_received=[]), needed=[], alternatives=[],
                                      shown_role="Indication met", others=[])),
    ("decision.j2", _decision_context(_decision("meets-criteria", not_received=[]), needed=[], alternatives=[],
                                      shown_role="Indication met", others=[],
                                      label_notes=["Live vaccine near treatment: MMR dated 2026-11-24."])),
    ("decision.j2", _decision_context(_decision("meets-criteria", not_received=[]), needed=[], alternatives=[],
                                      shown_role="Indication met", others=[], coverage=_MID_CYCLE)),
    ("decision.j2", _decision_context(_decision("meets-criteria", not_received=[]), needed=[], alternatives=[],
                                      shown_role="Indication met", others=[], lapse="2026-12-28")),
    ("decision.j2", _decision_context(_decision("information-needed"), coverage=_SECONDARY,
                                      payer="Aspirus Health Plan (secondary coverage)")),
    ("decision.j2", _decision_context(_decision("meets-criteria", not_received=[]), needed=[], alternatives=[],
                                      shown_role="Indication met", others=[], coverage=_SECONDARY_UNCHECKED,
                                      payer="Aspirus Health Plan (secondary coverage)")),
    ("decision.j2", _decision_context(_decision("criteria-not-met", authorization=None), coverage=_SECONDARY_ALONE,
                                      payer="Aspirus Health Plan (secondary coverage)")),
    ("decision.j2", _decision_context(_decision("criteria-not-met", authorization=None, not_received=[]),
                                      as_ordered=True, dose_days="dose above label on days 8–28",
                                      unknown_for_want=True)),
    ("decision.j2", _decision_context(  # a policy that counts no cycles (Florida Blue): no cycle named
        _decision("meets-criteria", not_received=[], counts_cycles=False,
                  authorization={"start": "2026-11-20", "end": "2027-11-20", "cycles": None}),
        needed=[], alternatives=[], shown_role="Indication met", others=[])),
    ("decision.j2", _decision_context(_decision("information-needed"), blocked="dose above the label")),
    ("decision.j2", _decision_context(_decision("information-needed"), determination=False)),
    ("decision.j2", _decision_context(_decision(  # an attested authorization too old to count
        "information-needed", not_counted=("Blinatumomab authorized: yes, answered 2024-11-30, more than 2 years "
                                           "before this order's start (2026-12-01); continuation not applied",)))),
    ("decision.j2", _decision_context(_decision("information-needed", not_received=[]), not_received=[])),
    ("decision.j2", _decision_context(_decision("criteria-not-met", authorization=None, cycle=None, critical=True),
                                      needed=[], alternatives=[], shown=None)),
    ("decision.j2", _decision_context(_decision("criteria-not-met", authorization=None), needed=[], alternatives=[],
                                      as_ordered=True, reason="meets adult consolidation except dose above the label")),
    ("decision-no-plan.j2", _no_plan(not_received="coverage")),
    ("decision-no-plan.j2", _no_plan(not_received="payer", coverage="Coverage/primary")),
    ("decision-no-plan.j2", _no_plan(coverage="Coverage/primary", unreadable="order is text, not a whole number")),
    ("decision-no-plan.j2", _no_plan()),
    ("decision-no-plan.j2", _no_plan(payer="Florida Blue FEP")),
    ("decision-no-plan.j2", _no_plan(coverage="Coverage/primary", out_of_force=_ENDED)),
    ("decision-no-plan.j2", _no_plan(coverage="Coverage/primary", out_of_force=_NOT_YET)),
    ("decision-no-plan.j2", _no_plan(coverage="Coverage/primary", out_of_force=_BESIDE_ANOTHER)),
    ("decision-no-plan.j2", _no_plan(label_notes=("Dose not checked against the label: no current weight.",))),
    ("evaluation-failed.j2", {"hook_instance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}),
    ("order-unidentified.j2", {}),
    ("dose-above.j2", {**_FINDINGS, "segments": [{"written": "9 mcg/day", "days": "days 1–7",
                                                  "explain": "capped at 9 mcg/day"},
                                                 {"written": "1.16 mcg/h", "days": "days 8–28",
                                                  "explain": "27.84 mcg/day: label 28 mcg/day, rounded down"}],
                       "unreadable": "line 3: no rate", "lines": 2, "multi": True, "in_mcg": True, "by_volume": "",
                       "plan": {"days": "days 8–28", "payer": "Florida Blue", "ceiling": "28"}}),
    ("dose-above.j2", {**_FINDINGS, "findings": [{**_FINDING, "read": "12 mL/h of 28 mcg per 240 mL"}],
                       "segments": [], "unreadable": "", "lines": 1, "multi": False, "in_mcg": False,
                       "by_volume": "line 1 (12 mL/h of 28 mcg per 240 mL)", "plan": None}),
    ("dose-above-maximum.j2", {**_FINDINGS, "missing": "current weight (within 30 days)", "any_height": None}),
    ("dose-above-maximum.j2", {**_FINDINGS, "missing": "height or BSA (within 30 days)",
                               "any_height": {"why": "Under 45 kg", "weight": "39.7 lb (18 kg)", "tallest": "280",
                                              "bsa": "1.183 m²"}}),
    ("dose-above-together.j2", {**_FINDINGS, "unreadable": "line 3: no rate", "duplicate": 0, "active": "days 15–28"}),
    ("dose-above-together.j2", {**_FINDINGS, "unreadable": "", "duplicate": 1, "active": ""}),
    ("dose-above-together.j2", {**_FINDINGS, "unreadable": "", "duplicate": 2, "active": ""}),
    ("dose-below.j2", _FINDINGS),
    ("dose-above-plan-limit.j2", {"payer": "Florida Blue", "ceiling": "28", "citation": "Florida Blue Position 1.d",
                                  "lines": [_PLAN_LINE, _PLAN_LINE],
                                  "first": _PLAN_LINE, "other_days": "days 29–35", "change": "28 mcg/day (each line)",
                                  "in_mcg": False, "by_volume": ""}),
    ("dose-above-plan-limit.j2", {"payer": "Florida Blue", "ceiling": "28", "citation": "Florida Blue Position 1.d",
                                  "lines": [_PLAN_LINE],
                                  "first": _PLAN_LINE, "other_days": "", "change": "28 mcg/day", "in_mcg": True,
                                  "by_volume": ""}),
    ("dose-above-plan-limit.j2", {"payer": "Florida Blue", "ceiling": "28", "citation": "",
                                  "lines": [_PLAN_VOLUME, _PLAN_LINE],
                                  "first": _PLAN_VOLUME, "other_days": "days 1–28", "change": "", "in_mcg": False,
                                  "by_volume": "line 1 (10 mL/h of 28.3 mcg per 240 mL)"}),
    ("dose-per-m2-without-bsa.j2", {"lines": [1], "weight": "80 kg", "fixed": "28 mcg/day", "multi": False,
                                    "segments": [{"written": "28 mcg/day", "days": "days 1–28", "explain": ""}],
                                    "plan": None}),
    ("dose-per-m2-without-bsa.j2", {"lines": [1], "weight": "80 kg", "fixed": "9 mcg/day", "multi": True,
                                    "segments": [{"written": "9 mcg/day", "days": "days 1–7", "explain": ""},
                                                 {"written": "28 mcg/day", "days": "days 8–28", "explain": ""}],
                                    "plan": {"days": "days 8–28", "payer": "Florida Blue", "ceiling": "28"}}),
    ("dose-per-m2-without-bsa.j2", {"lines": [1, 2], "weight": "80 kg", "segments": [], "multi": True,
                                    "fixed": "9 mcg/day on days 1–7, 28 mcg/day on days 8–28", "plan": None}),
    ("dose-past-cycle.j2", {"last": 35, "days": "days 29–35", "infusion_day": None, "end": "2026-12-28",
                            "cycle": 1, "rest": 14, "combined": False, "unreadable": "", "offered": True,
                            "why_not": ""}),
    ("dose-past-cycle.j2", {"last": 35, "days": "days 29–35", "infusion_day": None, "end": "2026-12-28",
                            "cycle": 7, "rest": 56, "combined": True, "unreadable": "", "offered": False,
                            "why_not": "line 3 starts after it: removing lines is the prescriber's call"}),
    ("dose-past-cycle.j2", {"last": 40, "days": "days 34–40", "infusion_day": 35, "end": "", "cycle": None,
                            "rest": 14, "combined": True, "unreadable": "line 2: no dose or rate", "offered": False,
                            "why_not": ""}),
    ("cycle-rest.j2", _rest(cycle=2, previous="cycle 1", days_off=2, start="2026-12-11")),
    ("cycle-rest.j2", _rest(cycle=None, previous="the previous cycle", days_off=-3, start="2026-12-05",
                            unknown="the previous cycle's number", longer="56 after relapsed/refractory cycle 6 on")),
    ("cycle-rest.j2", _rest(cycle=3, previous="cycle 2", days_off=0, start="2026-12-09")),
    ("cycle-rest.j2", _rest(cycle=7, previous="cycle 6", days_off=2, start="2026-12-11", earliest="2027-02-03",
                            rest=56, long_cycle=84)),
    ("dose-unreadable.j2", {"reasons": ["Line 1: a rate in mL/h without the concentration"], "periods": [],
                            "doses": True, "unread": "dosage line 1", "shared": ""}),
    ("dose-unreadable.j2", {"reasons": ["Line 2: dose per m² needs a BSA (or weight and height)",
                                        "Another order being signed, on days 1–7: order o2 line 1: no dose or rate"],
                            "periods": [], "doses": True, "unread": "dosage line 2", "shared": "days 1–7"}),
    ("dose-unreadable.j2", {"reasons": ["The order has no dosage instruction"], "periods": [], "doses": True,
                            "unread": "", "shared": ""}),
    ("dose-unreadable.j2", {"reasons": ["Line 1: its end is before its start"],
                            "periods": [{"line": 1, "reason": "its end is before its start"}], "doses": False,
                            "unread": "dosage line 1", "shared": ""}),
    ("dose-unreadable.j2", {"reasons": ["Line 1: its end is before its start", "Line 2: no dose or rate"],
                            "periods": [{"line": 1, "reason": "its end is before its start"}], "doses": True,
                            "unread": "dosage lines 1 and 2", "shared": ""}),
    ("dose-unreadable.j2", {"reasons": ["Line 1: its end is before its start", "Line 2: its end is before its start"],
                            "periods": [{"line": 1, "reason": "its end is before its start"},
                                        {"line": 2, "reason": "its end is before its start"}], "doses": False,
                            "unread": "dosage lines 1 and 2", "shared": ""}),
    ("quantity-over.j2", _quantity(target="7 vials", which="order of 9 mcg/day on days 1–7")),
    ("quantity-over.j2", _quantity(target="28 vials", rows=[_row(this=True, ended=28)])),
    ("quantity-over.j2", _quantity(target="28 vials", rows=[_row(this=True, ended=28, corrected=True)])),
    ("quantity-over.j2", _quantity(target="28 vials", rows=[_row(this=True, corrected=True)])),
    ("quantity-over.j2", _quantity(orders=1, several=False, target="7 vials", rows=[_row(this=True)])),
    ("quantity-over.j2", _quantity(orders=1, several=False, rows=[_row(this=True, finding="short")])),
    ("quantity-over.j2", _quantity(orders=1, several=False, unread=True, beyond=True, rows=[_UNREAD_ROW])),
    ("quantity-over.j2", _quantity(unread=True, beyond=True, rows=[_row(this=True, finding="within"),
                                                                   {**_UNREAD_ROW, "this": False}])),
    ("quantity-over.j2", _quantity(overlapping=True, rows=[_row(finding="undecided", why="it runs on the same days as "
                                                                "another blinatumomab order of the cycle")])),
    ("quantity-over.j2", _quantity(unselected=True, rows=[_row(this=True, finding="within"),
                                                          _row(answered=False), _row(finding="no quantity")])),
    ("quantity-over.j2", _quantity(cycle=None, orders=1, more=2, limit=_LONGER_FROM_CYCLE_6,
                                   rows=[_row(finding="short"), _row(finding="unreadable",
                                                                     why="quantity unit 'mL' not readable")])),
    ("order-spans-cycles.j2", _spans(described=1)),
    ("order-spans-cycles.j2", _spans(withheld=True)),
    ("order-spans-cycles.j2", _spans(withheld=True, guessed=True, offered=False, why_not="the number is not known")),
    ("order-spans-cycles.j2", _spans(guessed=True, offered=False, why_not="the number is not known")),
    ("order-spans-cycles.j2", _spans(cycles=3, starts=["2026-12-01", "2027-01-12", "2027-02-23"], offered=False,
                                     why_not="line 3's days could not be read, so the cycle it "
                                     "belongs to is not known", quantity_left="its dose could not be read",
                                     parts=[{**_SPAN_PART, "quantity": "", "doses": ""}, _SPAN_PART, _SPAN_PART])),
    ("duplicate-order.j2", _duplicate()),
    ("duplicate-order.j2", _duplicate(folded=True)),
    ("duplicate-order.j2", _duplicate(count=50, more=46)),
    ("duplicate-order.j2", _duplicate(active=True)),
)
