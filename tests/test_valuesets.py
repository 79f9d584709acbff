"""Value sets: every list the profile names loads, code families match, text fallbacks, operator extension, and the
small coding/date helpers they rely on."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cds_service.facts.codes import (
    codings, concept_text, effective_date, negated, normalize_system, parse_date, parse_datetime, parse_end_date,
    readable_date, ref,
)
from cds_service.valuesets import BUILTIN_DIR, ENV_DIR, ValueSets, get_valuesets, load_valuesets

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CVX = "http://hl7.org/fhir/sid/cvx"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def coding(system: str, code: str, display: str = "") -> dict:
    return {"system": system, "code": code, "display": display} if display else {"system": system, "code": code}


def _reloaded() -> ValueSets:
    """The value sets read again (the process reads them once: get_valuesets is cached)."""
    get_valuesets.cache_clear()
    return get_valuesets()


@pytest.fixture(scope="module")
def vs():
    return _reloaded()


def test_every_builtin_file_is_a_named_list():
    names = {json.loads(p.read_text())["name"] for p in BUILTIN_DIR.glob("*.json")}
    for needed in ("medications-blinatumomab", "acute-lymphoblastic-leukemia", "lymphoblastic-lymphoma", "b-lineage",
                   "t-lineage", "all-relapse", "all-remission", "result-positive", "result-negative", "ph-tests",
                   "ph-exclusions", "mrd", "cd19-immunophenotype", "medications-tki", "medications-inotuzumab",
                   "medications-antineoplastic", "medications-dexamethasone", "medications-intrathecal",
                   "vaccines-live", "vaccines-unspecified", "toxicity-severe", "toxicity-asked", "payers"):
        assert needed in names


@pytest.mark.parametrize("system,code", [
    (RX, "1597258"), (RX, "1597267"), (RX, "1651253"), (HCPCS, "J9039"),
    (NDC, "55513-0160-01"), (NDC, "55513-160-01"), (NDC, "55513016001"), (NDC, "55513016021"), (NDC, "5551316001"),
    (NDC, "55513-0150-01"), ("https://www.nlm.nih.gov/research/umls/rxnorm", "1597262"),
    ("urn:oid:2.16.840.1.113883.6.88", "1597266"),
])
def test_blinatumomab_codes_in_every_form(vs, system, code):
    assert vs.has("medications-blinatumomab", coding(system, code))


@pytest.mark.parametrize("system,code", [(RX, "3264"), (NDC, "55513-0170-01"), (NDC, "55514016001"), (HCPCS, "J9040"),
                                         (LOINC, "1597258")])
def test_other_codes_are_not_blinatumomab(vs, system, code):
    assert not vs.has("medications-blinatumomab", coding(system, code))


def test_blinatumomab_text_fallback_on_concept_text_and_display(vs):
    assert vs.has("medications-blinatumomab", {"text": "BLINCYTO 35 mcg IV infusion"})
    assert vs.has("medications-blinatumomab", coding("urn:local", "123", "Blinatumomab 28 mcg/day"))
    assert not vs.has("medications-blinatumomab", {"text": "inotuzumab"})


def test_icd_prefix_ranges_with_and_without_dot(vs):
    for code in ("C91.0", "C91.00", "C91.01", "C91.02", "C9102"):
        assert vs.has("acute-lymphoblastic-leukemia", coding(ICD, code))
    assert not vs.has("acute-lymphoblastic-leukemia", coding(ICD, "C91.10"))
    assert vs.has("lymphoblastic-lymphoma", coding(ICD, "C83.59"))
    assert not vs.has("lymphoblastic-lymphoma", coding(ICD, "C83.30"))
    assert vs.has("toxicity-asked", coding(ICD, "K85.91"))
    assert vs.has("toxicity-asked", coding("https://hl7.org/fhir/sid/icd-10-cm", "R65.21"))


def test_codes_without_text_do_not_match_by_display(vs):
    # ALL has no verified-text fallback: a display alone must not make a Condition ALL.
    assert not vs.has("acute-lymphoblastic-leukemia", {"text": "acute lymphoblastic leukemia"})
    assert vs.has("acute-lymphoblastic-leukemia", coding(SCT, "277571004"))


def test_toxicity_grades_are_separate(vs):
    assert vs.has("toxicity-severe", coding(ICD, "D89.834"))
    assert not vs.has("toxicity-asked", coding(ICD, "D89.832"))
    assert vs.has("toxicity-ignored", coding(ICD, "G92.01"))
    assert vs.has("toxicity-asked", {"text": "Posterior leukoencephalopathy"})


def test_cvx_with_or_without_leading_zero(vs):
    assert vs.has("vaccines-live", coding(CVX, "03"))
    assert vs.has("vaccines-live", coding(CVX, "3"))
    assert not vs.has("vaccines-live", coding(CVX, "141"))
    assert vs.has("vaccines-unspecified", coding(CVX, "206"))


def test_text_is_whole_word_and_case_insensitive(vs):
    assert vs.matches_text("mrd", "Bone marrow MRD by flow")
    assert vs.matches_text("mrd", "Measurable Residual Disease")
    assert not vs.matches_text("mrd", "hmrdx panel")
    assert vs.matches_text("ph-tests", "t(9;22) FISH")
    assert vs.matches_text("ph-exclusions", "Ph-like ALL signature")


def test_negative_words_are_found_before_positive_ones(vs):
    # "not detected" contains "detected": callers check result-negative first, which must match it.
    assert vs.matches_text("result-negative", "Not detected")
    assert vs.has("result-negative", coding(SCT, "260415000"))
    assert vs.has("result-positive", coding(LOINC, "LA9633-4"))


def test_payer_policy_by_name_and_operator_identifier(tmp_path: Path):
    (tmp_path / "payers.json").write_text(json.dumps({"name": "payers", "codes": [
        {"system": "http://example.org/payer-id", "code": "ABC123", "display": "Acme", "policy": "florida-blue"}]}))
    sets = load_valuesets(str(tmp_path))
    assert sets.policy_for("payers", "Aspirus Health Plan, Inc.") == "aspirus-magellan"
    assert sets.policy_for("payers", "Blue Cross and Blue Shield of Florida") == "florida-blue"
    assert sets.policy_for("payers", "Acme Health", [{"system": "https://example.org/payer-id", "value": "ABC123"}]) \
        == "florida-blue"
    assert sets.policy_for("payers", "Blue Shield of California") is None
    # A name holding two plans' fragments names neither: which applies is not guessed (was the alphabetical first).
    assert sets.policy_for("payers", "Florida Blue / Aspirus Health Plan") is None
    assert sets.policy_for("payers", "Florida Blue (Blue Cross and Blue Shield of Florida)") == "florida-blue"


def test_operator_directory_extends_and_adds_lists(tmp_path: Path, monkeypatch):
    (tmp_path / "mrd.json").write_text(json.dumps({"name": "mrd", "codes": [coding(LOINC, "99999-9")]}))
    (tmp_path / "site.json").write_text(json.dumps({"name": "site-extra", "text": ["local drug"]}))
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    try:
        sets = _reloaded()
        assert sets.has("mrd", coding("https://loinc.org", "99999-9"))
        assert sets.matches_text("mrd", "MRD")  # the built-in text is kept
        assert sets.matches_text("site-extra", "a Local Drug order")
        assert get_valuesets() is sets  # cached
    finally:
        monkeypatch.delenv(ENV_DIR)
        get_valuesets.cache_clear()
    assert not get_valuesets().has("mrd", coding(LOINC, "99999-9"))


def test_bad_operator_files_fail_loudly(tmp_path: Path):
    (tmp_path / "bad.json").write_text('{"name": "x", "codes": [{"code": "1"}]}')
    with pytest.raises(ValueError, match="system"):
        load_valuesets(str(tmp_path))
    with pytest.raises(ValueError, match="not a directory"):
        load_valuesets(str(tmp_path / "missing"))
    with pytest.raises(KeyError):
        get_valuesets().has("no-such-list", {})


# ---- codes.py helpers ----------------------------------------------------------------------------------------


def test_normalize_system_accepts_http_https_and_trailing_slash():
    assert normalize_system("https://loinc.org/") == normalize_system("http://loinc.org") == "loinc.org"
    assert normalize_system("urn:oid:2.16.840.1.113883.6.96") == normalize_system("http://snomed.info/sct")


def test_concepts_text_and_references():
    concept = {"text": "ALL", "coding": [{"system": ICD, "code": "C91.00", "display": "ALL not in remission"}, "junk"]}
    assert len(codings(concept)) == 1 and codings(None) == [] and codings({"coding": "x"}) == []
    assert concept_text(concept) == "ALL | ALL not in remission"
    assert concept_text(None) == ""
    assert ref({"resourceType": "Observation", "id": "m1"}) == "Observation/m1"


@pytest.mark.parametrize("value,expected", [
    ("2026", date(2026, 1, 1)), ("2026-09", date(2026, 9, 1)), ("2026-09-02", date(2026, 9, 2)),
    ("2026-09-02T23:30:00-05:00", date(2026, 9, 2)), ("2026-13-01", None), ("soon", None), (None, None),
])
def test_parse_partial_dates(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["9999-12-31", "9999-12", "0001-01-01", "1799-12-31", "2201", "0001-01-01T00:00:00+14:00",
                                   "9999-12-31T23:59:59-12:00"])
def test_placeholder_years_are_no_dates(value):
    """0001-01-01 and 9999-12-31 stand for "unknown" and "no end"; read as dates they crashed date arithmetic."""
    assert parse_date(value) is None and parse_end_date(value) is None and parse_datetime(value) is None


@pytest.mark.parametrize("value", [
    "2026-W44-1", "2026-W44", "2026-11-01garbage!!", "2026-11-01_10:00:00Z", "20261101", "2026-11-01T10:00:00z",
    "２０２６-11-01", "２０２６", "2026-11-01T", "2026-1-01", "2026-11-01T25:00:00Z", "+202", " 202", "2026- 1",
    "2026-11-01T10:00:00Zx",
])
def test_dates_not_written_as_fhir_writes_them_are_unreadable(value):
    """Python's ISO 8601 parser reads week dates, any separator for the T and a date followed by text; a reader must
    not guess a clinical date from them."""
    assert parse_date(value) is None and parse_end_date(value) is None and parse_datetime(value) is None


@pytest.mark.parametrize("value,expected", [
    ("2026-11-01T10:00Z", datetime(2026, 11, 1, 10, tzinfo=timezone.utc)),
    ("2026-11-01 10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=timezone.utc)),  # RFC 3339's space for the T
    ("2026-11-01T10:00:00.123456789-05:00", datetime(2026, 11, 1, 15, 0, 0, 123456, tzinfo=timezone.utc)),
    # A leap second (FHIR's dateTime allows :60) is the second before it: unread, it had dropped an order's line.
    ("2026-11-01T23:59:60Z", datetime(2026, 11, 1, 23, 59, 59, tzinfo=timezone.utc)),
    ("2026-11-01T23:59:60.5Z", datetime(2026, 11, 1, 23, 59, 59, 500000, tzinfo=timezone.utc)),
])
def test_fhir_date_times_with_short_times_or_long_fractions_are_read(value, expected):
    assert parse_datetime(value) == expected and parse_date(value) == date(2026, 11, 1)


@pytest.mark.parametrize("value,readable", [
    ("2026-11-01", True), ("2026", True), ("2026-11-01T23:59:60Z", True),
    ("9999-12-31", True), ("0001-01-01", True),  # placeholders: days, that parse_date reads as absent
    ("2026-13-01", False), ("2026-02-30", False), ("2026-1-1", False), ("", False), ("2026-W44-1", False),
])
def test_a_readable_date_names_a_day_whatever_its_year(value, readable):
    assert readable_date(value) is readable


def test_a_date_longer_than_any_fhir_date_time_is_unreadable_and_not_remembered():
    """FHIR allows at most nine decimals of seconds; Python reads any number. A client's 100 kB "date" had been read
    and kept in two process-wide caches (the date parser's and the shape check's) for as long as the worker ran."""
    from cds_service.facts import codes, shape

    longest = "2026-11-01T10:00:00.123456789+14:00"
    assert readable_date(longest) and parse_date(longest) == date(2026, 11, 1)
    too_long = "2026-11-01T10:00:00." + "0" * 100_000
    kept, kept_days = codes._calendar_day.cache_info().currsize, codes._clinical_day.cache_info().currsize
    assert not readable_date(too_long) and parse_date(too_long) is None and parse_datetime(too_long) is None
    assert not shape.well_formed({"resourceType": "Observation", "status": "final", "effectiveDateTime": too_long})
    assert shape.problem_at({"resourceType": "Observation", "effectiveDateTime": too_long})[0] == "effectiveDateTime"
    assert codes._calendar_day.cache_info().currsize == kept and too_long not in shape._READABLE_DATES
    assert codes._clinical_day.cache_info().currsize == kept_days


def test_parse_datetime_keeps_zones_and_assumes_utc():
    assert parse_datetime("2026-09-02T10:00:00+02:00") == datetime(2026, 9, 2, 8, tzinfo=timezone.utc)
    assert parse_datetime("2026-09-02T10:00:00Z") == datetime(2026, 9, 2, 10, tzinfo=timezone.utc)
    assert parse_datetime("2026-09") == datetime(2026, 9, 1, tzinfo=timezone.utc)
    assert parse_datetime("2026-09-02T10:00:00").utcoffset() == timedelta(0)
    assert parse_datetime("2026-09-02Tnoon") is None


def test_effective_date_per_resource_type():
    assert effective_date({"effectivePeriod": {"start": "2026-01-05"}}) == date(2026, 1, 5)
    assert effective_date({"issued": "2026-02-01T08:00:00Z"}) == date(2026, 2, 1)
    assert effective_date({"recordedDate": "2026-03", "onsetDateTime": "2025"}) == date(2026, 3, 1)
    assert effective_date({"onsetDateTime": "2025"}) == date(2025, 1, 1)
    assert effective_date({"authored": "2026-04-04"}) == date(2026, 4, 4)
    assert effective_date({"occurrenceDateTime": "2026-05-05"}) == date(2026, 5, 5)
    assert effective_date({}) is None


def test_negation_helper():
    assert negated("Not T-cell lineage", "t-cell")
    assert negated("ALL, non-T-cell", "T-cell")
    assert not negated("T-cell ALL", "t-cell")
    assert not negated("not B-cell; T-cell ALL", "t-cell")
    assert not negated("B-cell ALL", "t-cell")


# ---- the code table (names_for, members) and the classification cache ------------------------------------------


def _reference_has(vs, name: str, concept: dict) -> bool:
    """`has` rebuilt from the per-list primitives, independent of the code table."""
    listed = vs[name]
    coded = concept.get("coding") if "coding" in concept or "code" not in concept else [concept]
    if any(isinstance(c, dict) and listed.has_code(c) for c in coded or []):
        return True
    text = concept_text(concept) if "coding" in concept or "code" not in concept else concept.get("display", "")
    return listed.matches_text(text)


CONCEPTS = [
    {"coding": [coding(RX, "1597258")]},
    {"coding": [coding(ICD, "C91.00"), coding(SCT, "91857003", "Acute lymphoblastic leukemia")]},
    {"coding": [coding(LOINC, "718-7", "Hemoglobin")], "text": "Hemoglobin"},
    {"text": "Blincyto 35 mcg"},
    {"text": "dexamethasone 20 mg with imatinib"},
    {"coding": [coding(CVX, "03")]},
    {"system": ICD, "code": "C91.0"},  # a Coding passed where a concept is expected
    {"coding": [{"system": ["not", "a", "string"], "code": 7}], "text": 5},
]


@pytest.mark.parametrize("concept", CONCEPTS)
def test_members_agree_with_each_list(vs, concept):
    names = frozenset(json.loads(p.read_text())["name"] for p in BUILTIN_DIR.glob("*.json"))
    expected = {name for name in names if _reference_has(vs, name, concept)}
    assert vs.members(names, [concept]) == expected
    assert {name for name in names if vs.has(name, concept)} == expected


def test_names_for_covers_codes_and_prefixes(vs):
    assert "medications-blinatumomab" in vs.names_for(coding(RX, "1597258"))
    assert "acute-lymphoblastic-leukemia" in vs.names_for(coding(ICD, "C91.02"))  # by the C91.0 prefix
    assert vs.names_for(coding(LOINC, "718-7")) == frozenset()
    assert vs.names_for({"system": RX}) == frozenset()
    with pytest.raises(KeyError):
        vs.has_code("no-such-list", {})


def test_a_long_key_is_computed_for_but_not_kept():
    """Codes and names are short; a client's megabyte code must not stay in a process-wide cache."""
    from cds_service.valuesets import Memo

    memo = Memo()
    calls: list[str] = []
    huge = ("text", True, ("http://loinc.org", "x" * 100_000, None))
    for _ in range(2):
        memo.get(huge, lambda: calls.append("huge") or "kind")
        memo.get(("text", True, ("http://loinc.org", "1234-5", None)), lambda: calls.append("short") or "kind")
    assert calls == ["huge", "short", "huge"]
    same = [b"x" * 100_000, b"x" * 100_000]
    assert memo.get_each(same, lambda arg: calls.append(arg) or arg, ["a", "b"]) == ["a", "b"]
    assert calls[-2:] == ["a", "b"]


def test_a_long_system_uri_is_normalized_but_not_remembered():
    from cds_service.facts import codes

    kept = codes._normalized_cached.cache_info().currsize
    assert normalize_system("HTTPS://LOINC.org/" + "x" * 100_000 + "/") == "loinc.org/" + "x" * 100_000
    assert codes._normalized_cached.cache_info().currsize == kept


def test_memo_is_bounded_and_computes_unhashable_keys_uncached():
    from cds_service.valuesets import Memo

    calls: list[object] = []

    def compute(key):
        return lambda: calls.append(key) or len(calls)

    memo = Memo(size=2)
    assert memo.get("a", compute("a")) == 1
    assert memo.get("a", compute("a")) == 1  # cached
    memo.get("b", compute("b"))
    memo.get("c", compute("c"))  # full: emptied, then stored
    assert memo.get("a", compute("a")) == 4
    assert memo.get(["x"], compute("x")) == 5 and memo.get(["x"], compute("x")) == 6


def test_a_reload_starts_with_empty_caches():
    before = _reloaded()
    before.memo("test").get("k", lambda: "old")
    after = _reloaded()
    assert after.memo("test").get("k", lambda: "new") == "new"


def test_display_is_the_name_a_list_gives_a_code() -> None:
    valuesets = get_valuesets()
    assert valuesets.display({"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}) == "MMR (measles, mumps, rubella)"
    assert valuesets.display({"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}) == ""  # in no list
    assert valuesets.display({"system": "http://hl7.org/fhir/sid/cvx"}) == ""
