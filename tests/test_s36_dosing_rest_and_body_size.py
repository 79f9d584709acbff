"""A dose criterion missing both the body size its label dose needs and the days without infusion before the cycle
(an earlier cycle's end recorded only to a month: dosing/rest.py `rest_unknown`). The rest had been asked only once
a weight was documented, so the clinician signed twice to learn of the second gap: both are asked at once, and the
answer stays information needed. Around it, each alone, and a short rest known without the weight."""
from __future__ import annotations

from typing import Any

from tests.dates_support import answer, covered, service, summaries
from tests.test_orders33_prior_cycle_ends import ASKED, with_earlier_cycle
from tests.test_orders35_rest_unknown import _attested_cycle

__all__ = ["service"]

Json = dict[str, Any]
WEIGHT = "current weight (within 30 days)"
DOSE_CRITERION = "adult-relapsed-refractory.dose-schedule"


def _request(end: str, weighed: bool) -> Json:
    """The cycle-6 renewal example (Dec 1-28), cycle 6 attested (the cycle number in no doubt), its cycle 5 order
    from Nov 1 to `end`; without its weight unless `weighed` (the observations still received in full)."""
    request = _attested_cycle(with_earlier_cycle("2026-11-01", end), 6)
    if not weighed:
        observations = request["prefetch"]["observations"]
        observations["entry"] = [e for e in observations["entry"] if e["resource"]["id"] != "weight-1"]
        observations["total"] = len(observations["entry"])
    return request


def _decision(found: Json) -> Json:
    decision: Json = found["cards"][0]["extension"]["coverage-decision"]
    return decision


def _dose_criterion(found: Json) -> Json:
    [criterion] = [c for c in _decision(found)["criteria"] if c["id"] == DOSE_CRITERION]
    return criterion


def _asked(found: Json) -> str:
    """What the decision asks to document, one item a line."""
    return "\n".join(_decision(found)["missing"])


def test_without_the_weight_and_the_rest_both_are_asked_at_once(service: Any) -> None:
    found = answer(service, _request("2026-11", weighed=False))
    assert covered(found) == "conditional", summaries(found)
    assert _dose_criterion(found)["status"] == "unknown"
    assert WEIGHT in _asked(found) and ASKED in _asked(found), _asked(found)
    assert not _decision(found)["not-received"]
    # The pharmacist sees both gaps in the criterion's note, and the earlier order among its evidence.
    note = _dose_criterion(found)["note"]
    assert "without a weight" in note and "days without infusion before this cycle depend" in note, note
    assert "MedicationRequest/prior-cycle-5" in _dose_criterion(found)["evidence"]


def test_with_the_weight_only_the_rest_is_asked(service: Any) -> None:
    found = answer(service, _request("2026-11", weighed=True))
    assert covered(found) == "conditional", summaries(found)
    assert ASKED in _asked(found) and WEIGHT not in _asked(found), _asked(found)


def test_with_the_rest_known_and_none_owed_only_the_weight_is_asked(service: Any) -> None:
    """Cycle 5 interrupted on Nov 10: the label restarts the cycle, no days without infusion are owed."""
    found = answer(service, _request("2026-11-10", weighed=False))
    assert covered(found) == "conditional", summaries(found)
    assert WEIGHT in _asked(found) and ASKED not in _asked(found), _asked(found)


def test_a_short_rest_known_is_not_met_without_the_weight(service: Any) -> None:
    """Cycle 5 full to Nov 30, cycle 6 from Dec 1: no days without infusion, whatever the weight."""
    found = answer(service, _request("2026-11-30", weighed=False))
    assert _dose_criterion(found)["status"] == "not-met"
    assert covered(found) == "not-covered", summaries(found)


def test_with_both_known_the_dose_is_met(service: Any) -> None:
    """Cycle 5 ended Oct 28, 33 days off before Dec 1: the rest is the label's, the weight on record."""
    request = _attested_cycle(with_earlier_cycle("2026-10-01", "2026-10-28"), 6)
    found = answer(service, request)
    assert _dose_criterion(found)["status"] == "met", _dose_criterion(found)
    assert covered(found) == "covered", summaries(found)


def test_with_the_body_size_not_received_the_rest_is_in_the_note_not_listed_as_not_received(service: Any) -> None:
    """The EHR sent no Observations: the weight is a gap of the EHR's, listed as not received. The criterion holds one
    item to document, so the full date is not listed with it (it would read as data to wait for), but its note names
    it beside the weight, on the same card."""
    request = _attested_cycle(with_earlier_cycle("2026-11-01", "2026-11"), 6)
    del request["prefetch"]["observations"]
    found = answer(service, request)
    assert covered(found) == "indeterminate", summaries(found)
    assert ASKED not in "\n".join(_decision(found)["not-received"]), _decision(found)["not-received"]
    assert "days without infusion before this cycle depend" in _dose_criterion(found)["note"]


def test_both_are_listed_apart_and_the_summary_names_both_whole(service: Any) -> None:
    """Joined as one item, the summary cut the date in mid-item ("the full date of…") and the label note, not
    finding the weight among the items, said "Dose not checked: no current weight" again."""
    found = answer(service, _request("2026-11", weighed=False))
    missing = _decision(found)["missing"]
    assert WEIGHT in missing and any(item.startswith(ASKED) for item in missing), missing
    [summary] = [line for line in summaries(found).splitlines() if "document" in line]
    assert "…" not in summary and WEIGHT.split(" (")[0] in summary and ASKED in summary, summary
    assert "Dose not checked" not in summaries(found), summaries(found)
