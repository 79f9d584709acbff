"""Lab results of one moment (fhir-data-profile.md §Labs): read together, never by the order the EHR lists them.

Two MRD results dated alike, 0.05% and "not detected", read MRD positive listed one way and MRD negative the other
(clinical review). Where results of the latest moment disagree on what a criterion reads, the fact is unknown,
naming both and asking which is current; where they agree, they read as one result did.
"""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.labs import Labs
from cds_service.facts.model import Fact
from tests.test_facts_labs import (COURSE_START, FLORIDA_BLUE_MRD_PERCENT, NEGATIVE, PANEL, POSITIVE, concept, labs,
                                   mrd, obs, qty)
from tests.test_policy_florida_blue import BASELINES, decide

DAY = "2026-09-20"  # before COURSE_START 2026-10-01: what the MRD criteria read
NOT_DETECTED = concept("260415000")
BOTH = ("Observation/a", "Observation/b")


def _read_both_ways(*observations: dict[str, Any]) -> Labs:
    """The lab facts of the Observations as listed, checked to be those of the reverse order."""
    found, reversed_ = labs(*observations), labs(*reversed(observations))
    assert _facts(found) == _facts(reversed_)
    return found


def _facts(found: Labs) -> tuple[Fact[Any], ...]:
    return (found.mrd_detectable, found.mrd_percent, found.mrd_persistent_or_rising, found.mrd_unavailable,
            found.cd19_positive, found.response_or_stabilization, found.latest_mrd_before(COURSE_START))


def _at_least(found: Labs) -> bool | None:
    """Florida Blue's "MRD of 0.1% or more" (Position 1.b.i), at the threshold its policy file states."""
    measured = found.mrd_percent.value
    return None if measured is None else measured.at_least(FLORIDA_BLUE_MRD_PERCENT)


# ---- MRD ------------------------------------------------------------------------------------------------------


def test_mrd_results_of_one_day_that_disagree_leave_mrd_unknown_whichever_is_listed_first() -> None:
    found = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **NOT_DETECTED))
    asks = "which MRD result of 2026-09-20 is current (0.05% or negative)"
    assert found.mrd_detectable == Fact(None, BOTH, note="MRD results of 2026-09-20 disagree: 0.05%, negative",
                                        missing=asks)
    # Not a rise within a day, nor the detectable MRD the phase would be inferred from.
    assert found.mrd_persistent_or_rising == found.mrd_detectable
    assert found.latest_mrd_before(COURSE_START).value is None
    assert found.mrd_unavailable == Fact(False, BOTH, note=found.mrd_detectable.note)  # the same results, said alike


def test_agreeing_results_of_one_day_read_as_one() -> None:
    twice = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("a", DAY, **qty(0.05)))  # one result listed twice
    assert twice.mrd_detectable == labs(mrd("a", DAY, **qty(0.05))).mrd_detectable
    assert twice.mrd_percent == labs(mrd("a", DAY, **qty(0.05))).mrd_percent
    negatives = _read_both_ways(mrd("a", DAY, **NOT_DETECTED), mrd("b", DAY, **NEGATIVE))
    assert negatives.mrd_detectable == Fact(False, BOTH, note="MRD negative (2026-09-20)")
    # The same value in two units is one reading.
    alike = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **qty(500, "/10*6")))
    assert alike.mrd_detectable == Fact(True, BOTH, note="MRD 0.05% (2026-09-20)")


def test_results_of_one_day_both_detectable_are_mrd_positive_naming_both() -> None:
    found = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **qty(0.2)))
    assert found.mrd_detectable.value is True
    assert found.mrd_detectable.note == "MRD results of 2026-09-20: 0.05%, 0.2%"


@pytest.mark.parametrize("first, second", [
    ("2026-09-20T08:00:00Z", "2026-09-20T14:00:00Z"),
    ("2026-09-20", "2026-09-20T08:00:00Z"),  # a date alone reads as its midnight: the timed one decided alone
])
def test_results_of_one_day_are_read_together_with_or_without_their_times(first: str, second: str) -> None:
    """A day is one point: two assays of one marrow, and a result dated without a time beside a timed one, which
    otherwise decided alone, the other never said."""
    found = _read_both_ways(mrd("a", first, **NOT_DETECTED), mrd("b", second, **qty(0.05)))
    assert found.mrd_detectable.value is None and found.mrd_detectable.evidence == BOTH
    assert found.mrd_detectable.note == "MRD results of 2026-09-20 disagree: negative, 0.05%"


def test_a_value_the_days_other_results_allow_decides() -> None:
    """0.05% beside "<0.1%" (a less sensitive assay) or a qualitative "detected" is no disagreement: the value
    decides, both named."""
    for other, said in ((qty(0.1, comparator="<"), "<0.1%"), (POSITIVE, "positive")):
        found = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **other))
        assert found.mrd_detectable == Fact(True, BOTH, note=f"MRD 0.05% (2026-09-20; that day also {said})")
        assert _at_least(found) is False
    assert _at_least(_read_both_ways(mrd("a", DAY, **qty(0.2)), mrd("b", DAY, **POSITIVE))) is True
    # Not allowed: a value at a strict bound, or beside "not detected".
    assert _read_both_ways(mrd("a", DAY, **qty(0.1)), mrd("b", DAY, **qty(0.1, comparator="<"))).mrd_detectable \
        .value is None


def test_an_unavailable_result_of_the_day_of_a_value_yields_to_it() -> None:
    """"MRD unavailable" beside a result of the same day: the result is on record, not both read."""
    absent = mrd("a", DAY, dataAbsentReason={"coding": [{"code": "not-performed"}]})
    found = _read_both_ways(absent, mrd("b", DAY, **NOT_DETECTED))
    assert found.mrd_unavailable.value is False and found.mrd_detectable.value is False


@pytest.mark.parametrize("first, second, at_least", [
    (qty(0.05), qty(0.2), None),  # either side of 0.1%: which is current decides
    (qty(0.05), NOT_DETECTED, False),  # both below 0.1%, whichever is current
    (qty(0.01, comparator="<"), qty(0.05), False),
    (qty(0.15), qty(0.2), True),
    (qty(0.2), qty(0.1, comparator="<"), None),  # "<0.1%" does not allow 0.2%: either side of the threshold
])
def test_florida_blue_reads_results_of_one_day_at_its_threshold(first: dict[str, Any], second: dict[str, Any],
                                                                 at_least: bool | None) -> None:
    found = _read_both_ways(mrd("a", DAY, **first), mrd("b", DAY, **second))
    assert _at_least(found) is at_least
    assert found.mrd_percent.evidence == BOTH
    assert found.mrd_percent.missing.startswith("which MRD result of 2026-09-20 is current (")


def test_florida_blue_asks_which_result_is_current_never_denies() -> None:
    across = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **qty(0.2))).mrd_percent
    decision = decide({**BASELINES["fb-mrd-positive"], "mrd_percent": across}, only="fb-mrd-positive")
    assert decision.decision == "information-needed"
    assert decision.missing == ["which MRD result of 2026-09-20 is current (0.05% or 0.2%)"]
    below = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **NOT_DETECTED)).mrd_percent
    assert decide({**BASELINES["fb-mrd-positive"], "mrd_percent": below},
                  only="fb-mrd-positive").decision == "criteria-not-met"


def test_persistence_needs_results_of_two_days() -> None:
    """A same-day pair is not a rise: before, "negative then 0.05%" on one day read as rising MRD."""
    pair = _read_both_ways(mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **qty(0.2)))
    assert pair.mrd_persistent_or_rising == Fact(None, BOTH, note="persistence needs MRD results of two days")
    earlier = mrd("e", "2026-08-01", **NEGATIVE)
    rising = _read_both_ways(earlier, mrd("a", DAY, **qty(0.05)), mrd("b", DAY, **qty(0.2)))
    assert rising.mrd_persistent_or_rising == Fact(
        True, ("Observation/e", *BOTH), note="MRD rising: negative (2026-08-01) then 0.05%, 0.2% (2026-09-20)")
    # An earlier day whose results disagree: persistent or rising, met whichever is current.
    mixed = _read_both_ways(mrd("c", "2026-08-01", **qty(0.3)), mrd("d", "2026-08-01", **NEGATIVE),
                            mrd("a", DAY, **qty(0.2)))
    assert mixed.mrd_persistent_or_rising.value is True
    assert mixed.mrd_persistent_or_rising.note.startswith("MRD persistent or rising: 0.3%, negative (2026-08-01)")
    unread = _read_both_ways(mrd("c", "2026-08-01", **qty(0.3)), mrd("d", "2026-08-01", **qty(0.3, None)),
                             mrd("a", DAY, **qty(0.2)))
    assert unread.mrd_persistent_or_rising == Fact(None, ("Observation/d",),
                                                   note="previous MRD 0.3 (no usable unit) unreadable")


# ---- response (renewals) --------------------------------------------------------------------------------------


def test_a_response_needs_the_latest_results_to_agree_on_it() -> None:
    later = "2026-10-25"  # after COURSE_START
    split = _read_both_ways(mrd("a", later, **qty(0.3)), mrd("b", later, **NEGATIVE))
    assert split.response_or_stabilization == Fact(
        None, BOTH, note="MRD results of 2026-10-25 disagree: 0.3%, negative",
        missing="which MRD result of 2026-10-25 is current (0.3% or negative)")
    both_fell = _read_both_ways(mrd("base", "2026-09-01", **qty(1)), mrd("a", later, **qty(0.3)),
                                mrd("b", later, **NEGATIVE))
    assert both_fell.response_or_stabilization == Fact(
        True, ("Observation/base", *BOTH), note="MRD fell from 1% (2026-09-01) to 0.3%, negative (2026-10-25)")
    both_negative = _read_both_ways(mrd("a", later, **NOT_DETECTED), mrd("b", later, **NEGATIVE))
    assert both_negative.response_or_stabilization == Fact(True, BOTH, note="latest MRD negative (2026-10-25)")
    remission = {"resourceType": "Condition", "id": "r", "code": {"coding": [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.01"}]},
        "clinicalStatus": {"coding": [{"code": "remission"}]}, "recordedDate": "2026-10-28"}
    in_remission = labs(mrd("a", later, **qty(0.3)), mrd("b", later, **NEGATIVE), conditions=[remission])
    assert in_remission.response_or_stabilization.evidence == ("Condition/r",)


# ---- CD19 -----------------------------------------------------------------------------------------------------


def test_cd19_results_of_one_day_that_disagree_leave_cd19_unknown() -> None:
    found = _read_both_ways(obs("a", PANEL, DAY, valueString="CD19+ blasts"),
                            obs("b", PANEL, DAY, valueString="CD19 negative"))
    assert found.cd19_positive == Fact(
        None, BOTH, note="CD19 results of 2026-09-20 disagree: CD19 positive, CD19 negative",
        missing="which CD19 result of 2026-09-20 is current (CD19 positive or CD19 negative)")
    agree = _read_both_ways(obs("a", PANEL, DAY, valueString="CD19+ blasts"),
                            obs("b", PANEL, DAY, valueString="Blasts positive for CD19, CD22"))
    assert agree.cd19_positive == Fact(True, BOTH, note="CD19 positive (2026-09-20)")
    later = _read_both_ways(obs("a", PANEL, DAY, valueString="CD19+ blasts"),
                            obs("b", PANEL, DAY, valueString="CD19 negative"),
                            obs("c", PANEL, "2026-09-25", valueString="CD19 positive"))
    assert later.cd19_positive == Fact(True, ("Observation/c",), note="CD19 positive (2026-09-25)")

