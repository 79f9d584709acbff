"""CD19 on blasts read from flow text (facts/cd19.py; fhir-data-profile.md §Labs, Florida Blue Position 1.a: CD19+
disease documented by a laboratory result, the latest result deciding). Mutants of cd19.py that the other tests let
live."""
from __future__ import annotations

from tests.test_facts_labs import NEGATIVE, PANEL, labs, obs


def test_a_cd19_therapy_named_after_a_list_head_is_no_cd19_result() -> None:
    """A CD19-negative relapse after CAR-T, then a panel naming the CD19 CAR-T beside the markers the blasts express:
    the CAR-T is a treatment, not CD19 on blasts, so the June result is still the latest CD19 result and the disease
    is not CD19+. Read as a list item after "positive for", the therapy's CD19 had made the disease CD19+."""
    relapse = obs("f1", PANEL, "2026-06-01", valueString="CD19 negative blasts")
    after_car_t = obs("f2", PANEL, "2026-09-01", valueString="Blasts positive for CD22, CD34 after CD19 CAR-T")
    fact = labs(relapse, after_car_t).cd19_positive
    assert (fact.value, fact.evidence) == (False, ("Observation/f1",))


def test_a_report_naming_only_a_cd19_directed_therapy_says_nothing_of_cd19() -> None:
    fact = labs(obs("f", PANEL, "2026-09-01", valueString="Positive for CD10, CD22 post CD19-directed therapy"))
    assert fact.cd19_positive.value is None


def test_the_list_cd19_is_in_decides_not_a_word_of_the_next_list() -> None:
    """"negative for CD19, positive for CD10 and CD22 (bright)": the next list's head ends CD19's list, so its
    "bright" describes CD22; CD19 is in the "negative for" list."""
    text = "Blasts negative for CD19, positive for CD10 and CD22 (bright)"
    assert labs(obs("f", PANEL, "2026-09-01", valueString=text)).cd19_positive.value is False


def test_the_nearest_list_head_before_cd19_decides() -> None:
    """Two lists in one sentence: CD19 belongs to the later one, "positive for"."""
    text = "Blasts negative for CD20 and CD34, positive for CD10, CD19, CD22"
    assert labs(obs("f", PANEL, "2026-09-01", valueString=text)).cd19_positive.value is True


def test_a_panel_reporting_cd19_in_a_component_is_read_from_it() -> None:
    """CD19+ at diagnosis, then a relapse panel whose text names other markers and whose CD19 component is negative:
    the latest CD19 result is negative, so the disease is not CD19+ (Florida Blue Position 1.a)."""
    diagnosis = obs("f1", PANEL, "2025-01-01", valueString="CD19+ blasts")
    cd19_negative = {"code": {"text": "CD19 on blasts"}, **NEGATIVE}
    relapse = obs("f2", PANEL, "2026-09-01", valueString="Blasts CD22+, CD34+", component=[cd19_negative])
    fact = labs(diagnosis, relapse).cd19_positive
    assert (fact.value, fact.evidence) == (False, ("Observation/f2",))
