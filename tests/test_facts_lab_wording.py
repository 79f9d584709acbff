"""Realistic lab wording (fhir-data-profile.md §Labs): result sentences, CD19 in flow reports, assay-parameter
Observations, breakpoint-specific and karyotype Ph results. Unreadable or ambiguous wording is unknown, never a
guess either way."""
from __future__ import annotations

import pytest

from tests.test_facts_labs import MRD_CODE, NEGATIVE, labs, loinc, obs

PH_FISH = {"text": "BCR-ABL1 FISH"}


# ---- result sentences -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("No MRD detected", False),
    ("No residual leukemia detected (sensitivity 0.01%)", False),
    ("MRD not detected; sensitivity 10^-4", False),
    ("Residual disease detected", True),
    ("Not detected (positive control valid)", None),  # one clause with both: unreadable
    ("Positive; negative", None),  # two results disagreeing about the same thing: unknown for MRD
])
def test_mrd_result_sentences(text, expected):
    assert labs(obs("m", MRD_CODE, "2026-09-01", valueString=text)).mrd_detectable.value is expected


@pytest.mark.parametrize("text,expected", [
    ("No BCR-ABL1 fusion detected", False),
    ("p190 (e1a2) transcript DETECTED; p210 (e13a2/e14a2) NOT DETECTED", True),
    ("POSITIVE for BCR-ABL1 p190; negative for p210", True),
    ("p210 not detected, p190 detected", True),
    # the positive clause is about the assay's control gene, not a breakpoint: unknown, not Ph+
    ("BCR-ABL1 not detected; ABL1 control gene detected", None),
])
def test_ph_result_sentences(text, expected):
    found = labs(obs("p", {"text": "t(9;22) BCR::ABL1 by RT-PCR"}, "2025-03-01", valueString=text))
    assert found.ph_positive.value is expected


# ---- CD19 on blasts in immunophenotyping text -----------------------------------------------------------------

PANEL = {"coding": [{"system": "http://loinc.org", "code": "101119-6"}]}


@pytest.mark.parametrize("text,expected", [
    ("CD20-negative, CD19-positive blasts", True),
    ("Population is CD19-positive; CD20 negative", True),
    ("Abnormal B-lymphoblasts positive for CD10, CD19, CD22, CD34 and TdT; negative for CD20", True),
    ("Positive for CD10, CD19, CD22 and CD34, negative for CD20", True),  # the next list head ends the list
    ("Blasts express CD34, CD10, CD19 (dim)", True),
    ("Blasts CD10, CD19 and CD22 positive", True),
    ("CD19 dim negative", False),
    ("CD19 dim", True),
    ("Blasts lack CD19; CD22 positive", False),
    ("CD19 not assessed (post CD19-directed therapy)", None),
    ("CD19 not evaluated", None),
    ("Status post CD19-directed therapy; CD19 negative", False),  # a therapy's name is not a result
    ("CD19 positive at diagnosis; CD19 negative now", None),  # one report saying both: unknown
])
def test_cd19_in_flow_wording(text, expected):
    assert labs(obs("f", PANEL, "2026-09-01", valueString=text)).cd19_positive.value is expected


def test_cd19_not_assessed_leaves_an_earlier_result_standing():
    earlier = obs("f1", PANEL, "2026-01-01", valueString="CD19+ blasts")
    not_assessed = obs("f2", PANEL, "2026-09-01", valueString="CD19 not assessed (post CD19-directed therapy)")
    assert labs(earlier, not_assessed).cd19_positive.evidence == ("Observation/f1",)


# ---- MRD: the assay's parameters are not results ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["MRD limit of detection", "MRD LOD", "MRD assay sensitivity",
                                  "MRD total events analyzed", "MRD cells acquired", "MRD specimen adequacy"])
def test_mrd_assay_parameters_are_not_results(name):
    result = obs("m", MRD_CODE, "2026-09-01", valueString="Not detected")
    parameter = obs("lod", {"text": name}, "2026-09-01", valueQuantity={"value": 0.001, "code": "%"})
    assert labs(result, parameter).mrd_detectable.evidence == ("Observation/m",)
    assert labs(result, parameter).mrd_detectable.value is False


def test_mrd_result_name_with_its_sensitivity_in_parentheses_is_a_result():
    named = obs("m", {"text": "MRD by flow cytometry (sensitivity 0.01%)"}, "2026-09-01", valueQuantity={
        "value": 0.2, "code": "%"})
    assert labs(named).mrd_detectable.value is True


# ---- Ph: what an uncoded test's name covers -------------------------------------------------------------------


def test_uncoded_single_breakpoint_test_covers_only_that_breakpoint():
    minor = obs("min", {"text": "BCR-ABL1 p190 (minor) PCR, Philadelphia chromosome"}, "2025-03-01",
                valueString="Not detected")
    assert labs(minor).ph_positive.value is None
    assert labs(minor).ph_positive.note == "no Ph test covering both breakpoints"
    major = obs("maj", {"text": "BCR-ABL1 major transcript (p210) by FISH"}, "2025-03-02", valueString="Negative")
    assert labs(major).ph_positive.value is None
    both = labs(minor, major).ph_positive
    assert both.value is False and both.evidence == ("Observation/maj", "Observation/min")


def test_uncoded_test_naming_both_breakpoints_covers_both():
    pcr = obs("p", {"text": "BCR-ABL1 p190/p210 RT-PCR"}, "2025-03-01", valueString="Not detected")
    assert labs(pcr).ph_positive.value is False
