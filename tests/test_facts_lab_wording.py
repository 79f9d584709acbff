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
