"""Every code fhir-data-profile.md names is recognized as what the profile says it is. The codes are copied from the
profile, not read from the value-set files: a code dropped from a file (by an edit, a merge) fails here."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.order import is_blinatumomab
from cds_service.record import no_server
from cds_service.valuesets import get_valuesets

RXNORM, NDC, HCPCS = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/ndc", \
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
CVX, LOINC, SNOMED = "http://hl7.org/fhir/sid/cvx", "http://loinc.org", "http://snomed.info/sct"

# §The order
BLINATUMOMAB = [(RXNORM, code) for code in ("1597258", "1597262", "1597267", "1597263", "1651249", "1651250",
                                            "1651252", "1651253", "1597260", "1597266")] + \
    [(NDC, code) for code in ("55513-0160", "55513016001", "55513016021", "5551316001", "55513-0150")]
# §Immunizations
LIVE_VACCINES = ["02", "03", "04", "05", "06", "07", "19", "21", "25", "37", "38", "54", "55", "74", "75", "80", "94",
                 "105", "111", "116", "119", "121", "122", "125", "143", "149", "151", "169", "174", "178", "179",
                 "182", "183", "184"]
UNSPECIFIED_VACCINES = ["82", "188", "206"]
# §Medications
BY_CLASS = [("medications-tki", code) for code in ("282388", "475342", "1307619")] + \
    [("medications-inotuzumab", code) for code in ("1942950", "1942954", "1942955")] + \
    [("medications-antineoplastic", code) for code in ("3002", "3639", "11202", "6851", "103", "8640")] + \
    [("medications-dexamethasone", "3264")]
# §Labs
QUALITATIVE = [("result-positive", SNOMED, "10828004"), ("result-positive", SNOMED, "260373001"),
               ("result-negative", SNOMED, "260385009"), ("result-negative", SNOMED, "260415000"),
               ("result-positive", LOINC, "LA9633-4"), ("result-negative", LOINC, "LA9634-2")]


def _order(system: str, code: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": "o", "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": system, "code": code}]}}


@pytest.mark.parametrize(("system", "code"), BLINATUMOMAB)
def test_each_blinatumomab_code_identifies_the_order(system: str, code: str) -> None:
    assert is_blinatumomab(_order(system, code), no_server)


@pytest.mark.parametrize("code", LIVE_VACCINES)
def test_each_live_vaccine_code_is_live(code: str) -> None:
    assert get_valuesets().has("vaccines-live", {"system": CVX, "code": code})


@pytest.mark.parametrize("code", UNSPECIFIED_VACCINES)
def test_each_unspecified_formulation_is_unspecified_not_live(code: str) -> None:
    coding = {"system": CVX, "code": code}
    assert get_valuesets().has("vaccines-unspecified", coding) and not get_valuesets().has("vaccines-live", coding)


@pytest.mark.parametrize(("name", "code"), BY_CLASS)
def test_each_named_medication_is_in_its_class(name: str, code: str) -> None:
    assert get_valuesets().has(name, {"system": RXNORM, "code": code})


@pytest.mark.parametrize(("name", "system", "code"), QUALITATIVE)
def test_each_qualitative_answer_reads_as_the_profile_says(name: str, system: str, code: str) -> None:
    assert get_valuesets().has(name, {"system": system, "code": code})
