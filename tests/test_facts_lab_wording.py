"""Realistic lab wording (fhir-data-profile.md §Labs): result sentences, CD19 in flow reports, assay-parameter
Observations, breakpoint-specific and karyotype Ph results. Unreadable or ambiguous wording is unknown, never a
guess either way."""
from __future__ import annotations

import pytest

from cds_service.facts import result_text
from cds_service.facts.model import Fact
from tests.test_facts_labs import MRD_CODE, NEGATIVE, labs, loinc, obs

PH_FISH = {"text": "BCR-ABL1 FISH"}


# ---- result sentences -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("No MRD detected", False),
    ("No residual leukemia detected (sensitivity 0.01%)", False),
    ("MRD not detected; sensitivity 10^-4", False),
    ("No evidence of measurable residual disease", False),
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


# ---- Ph: karyotypes, and results that cannot be read ----------------------------------------------------------

KARYOTYPE = {"text": "Philadelphia chromosome t(9;22) by karyotype"}
LATER_NEGATIVE = obs("n", loinc("21821-4"), "2026-08-01", **NEGATIVE)


@pytest.mark.parametrize("karyotype", ["46,XX,t(9;22)(q34;q11.2)[20]", "46,XY,der(22)t(9;22)(q34;q11.2)[15]/46,XY[5]",
                                       "45,XX,-7,t(9;22)(q34.1;q11.2)[12]", "Ph+ clone in 18 of 20 metaphases"])
def test_ph_positive_karyotype_is_read(karyotype):
    found = labs(obs("k", KARYOTYPE, "2024-03-01", valueString=karyotype), LATER_NEGATIVE).ph_positive
    assert found == Fact(True, ("Observation/k",), note="BCR::ABL1 positive (2024-03-01)")


@pytest.mark.parametrize("value", ["No t(9;22) detected", "46,XX,t(9;22) not identified"])
def test_ph_negated_karyotype_notation_is_negative(value):
    """Read as the negative it states, not as unknown (which `is not True` had let pass)."""
    found = labs(obs("k", KARYOTYPE, "2024-03-01", valueString=value)).ph_positive
    assert found == Fact(False, ("Observation/k",), note="BCR::ABL1 negative (2024-03-01)")


@pytest.mark.parametrize("value", [{"valueString": "See scanned report"},
                                   {"valueString": "47,XX,+21[15]/46,XX[5]"}])  # abnormal: its notation is not read
def test_an_unreadable_ph_result_leaves_ph_negative_unproven(value):
    found = labs(obs("u", KARYOTYPE, "2024-03-01", **value), LATER_NEGATIVE).ph_positive
    assert found == Fact(None, ("Observation/u",), note="Ph result unreadable (2024-03-01)")


@pytest.mark.parametrize("karyotype", ["46,XX[20]", "46,XY", " 46, xy [15] "])
def test_a_normal_karyotype_on_a_ph_test_is_its_negative(karyotype):
    found = labs(obs("k", KARYOTYPE, "2024-03-01", valueString=karyotype), LATER_NEGATIVE).ph_positive
    assert found.value is False


def test_ph_observations_without_a_result_are_not_unreadable_results():
    absent = obs("a", KARYOTYPE, "2024-03-01", dataAbsentReason={"text": "not performed"})
    panel = obs("p", {"text": "BCR-ABL1 panel"}, "2024-03-01", hasMember=[{"reference": "Observation/n"}])
    assert labs(absent, panel, LATER_NEGATIVE).ph_positive.value is False
    after_course_start = obs("u", KARYOTYPE, "2026-12-01", valueString="See scanned report")
    assert labs(after_course_start, LATER_NEGATIVE).ph_positive.value is False


# ---- Ph: numbers outside the quantitative transcript tests --------------------------------------------------------


def fish(value: float, *flags: str) -> dict:
    interpretation = [{"coding": [{"code": flag}]} for flag in flags]  # often sent without a system
    return obs("f", PH_FISH, "2025-03-01", valueQuantity={"value": value, "code": "%"},
               **({"interpretation": interpretation} if interpretation else {}))


@pytest.mark.parametrize("flag,expected", [("N", False), ("NEG", False), ("ND", False), ("A", True), ("H", True),
                                           ("POS", True), ("DET", True)])
def test_fish_percentage_is_read_from_the_labs_interpretation(flag, expected):
    assert labs(fish(0.5, flag)).ph_positive.value is expected


def test_fish_percentage_without_interpretation_is_unreadable():
    assert labs(fish(0.5)).ph_positive == Fact(None, ("Observation/f",), note="Ph result unreadable (2025-03-01)")
    v3 = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}
    coded = obs("f", PH_FISH, "2025-03-01", valueQuantity={"value": 0.5, "code": "%"},
                interpretation=[{"coding": [v3]}])
    assert labs(coded).ph_positive.value is False


def test_quantitative_transcript_codes_keep_greater_than_zero_positive():
    transcript = obs("q", loinc("46434-7"), "2025-03-01", valueQuantity={"value": 0.02, "code": "%"},
                     interpretation=[{"coding": [{"code": "N"}]}])
    assert labs(transcript).ph_positive.value is True
    copies = obs("k", KARYOTYPE, "2025-03-01", valueQuantity={"value": 3, "code": "{copies}"})
    assert labs(copies).ph_positive.value is None


# ---- text the readers bound ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,clauses", [
    ("t(9;22)(q34;q11.2) detected; p210 not", ["t(9;22)(q34;q11.2) detected", " p210 not"]),
    ("(a; b) c; d", ["(a; b) c", " d"]),
    ("a; b)", ["a; b)"]),  # the next parenthesis closes: inside, as the lookahead the splitter replaced read it
    ("a; (b; c", ["a", " (b", " c"]),
    ("MRD 0.01%. Not detected", ["MRD 0.01%", " Not detected"]),
])
def test_result_text_is_split_into_clauses_outside_parentheses(text, clauses):
    assert result_text.ClauseSplitter(r"[;,\n]|\.(?=\s|$)").split(text) == clauses


def test_a_result_text_longer_than_the_limit_is_left_unread():
    """Request text is not ours to trust: past the limit it is not read at all, and the fact stays unknown."""
    padding = " " * (result_text.MAX_RESULT_TEXT - len("Residual disease detected"))
    assert labs(obs("m", MRD_CODE, "2026-09-01", valueString="Residual disease detected" + padding)
                ).mrd_detectable.value is True
    assert labs(obs("m", MRD_CODE, "2026-09-01", valueString="Residual disease detected" + padding + " ")
                ).mrd_detectable.value is None
    panel = {"coding": [{"system": "http://loinc.org", "code": "101119-6"}]}
    assert labs(obs("f", panel, "2026-09-01", valueString="CD19 positive " * 400)).cd19_positive.value is None
    assert labs(obs("f", panel, "2026-09-01", valueString="CD19 positive " * 200)).cd19_positive.value is True


@pytest.mark.parametrize("text,expected", [(" " * 5000 + "0.5 %  \n", True), (" " * 70_000 + "x", None),
                                           ("<\t0.01%", False)])
def test_a_numeric_result_is_read_whatever_whitespace_surrounds_it(text, expected):
    assert labs(obs("m", MRD_CODE, "2026-09-01", valueString=text)).mrd_detectable.value is expected
