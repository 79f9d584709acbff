"""The clinical facts the policies and dose checks read (fhir-data-profile.md).

A `Fact` is a value with its evidence. `value is None` means unknown; `received=False` means the data the fact
depends on was never received (prefetch key missing and not fetchable), which the card reports separately from
"received, none recorded".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, Mapping, TypeVar

from cds_service.questionnaire import ANSWER_WORDS

T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    value: T | None = None
    evidence: tuple[str, ...] = ()  # "Type/id" references of the resources that decided it
    attested: bool = False  # True when the value came from the attestation QuestionnaireResponse
    received: bool = True  # False when the underlying data was not received at all
    note: str = ""  # short, human readable: "MRD 0.05% on 2026-10-01"
    missing: str = ""  # when unknown, what exactly would decide it (else the criterion's own `missing` is asked)

    def __init__(self, value: T | None = None, evidence: tuple[str, ...] = (), attested: bool = False,
                 received: bool = True, note: str = "", missing: str = "") -> None:
        # The fields above, set as the frozen dataclass's own __init__ would, but without its object.__setattr__
        # call per field: a Fact is the object an evaluation builds most (some 35), and this halves its cost.
        fields = self.__dict__
        fields["value"], fields["evidence"], fields["attested"] = value, evidence, attested
        fields["received"], fields["note"], fields["missing"] = received, note, missing


UNKNOWN_FACT: Fact[Any] = Fact()


def needs_full_date(references: tuple[str, ...], note: str, named: str = "") -> Fact[Any]:
    """Unknown because a date of `references`, recorded only to a month or a year, may fall either side of the day
    that decides: the card asks for their full dates (a guess from the first day had approved or denied)."""
    return Fact(None, references, note=note, missing=full_date_request(references, named))


def full_date_request(references: tuple[str, ...], named: str = "") -> str:
    """What to document for `needs_full_date`. `named`: what the references are in a clinician's words ("the MRD
    result dated 2026-12"), asked for before them: the summary leaves the references to the detail
    (summary_items.py)."""
    return f"the full date of {named} ({', '.join(references)})" if named else \
        f"the full date of {' and '.join(references)}"


class Windowed(Generic[T]):
    """A fact read within a payer's window: live vaccines from some days before the course to some days after the
    order, an attested authorization in the past few years. The numbers are the policy file's (docs/policy-reading.md,
    "Windows"): the record is read once, at extraction, and `within` applies the numbers a test gives. Where no
    number could change the reading (the data was not received, nothing was attested) the fact is a plain Fact."""

    def within(self, numbers: Mapping[str, int]) -> Fact[T]:
        raise NotImplementedError


def read_within(found: Fact[T] | Windowed[T], numbers: Mapping[str, int]) -> Fact[T]:
    """A windowed fact (WINDOWS) as read with a test's numbers."""
    return found if isinstance(found, Fact) else found.within(numbers)


# The windowed facts, and the numbers a fact test on each must give: whole numbers from 0 to their maximum (far past
# any policy's, within the calendar's reach).
WINDOWS: dict[str, dict[str, int]] = {
    "live_vaccine_in_window": {"days_before_course": 3660, "days_after_order": 3660},
    "prior_authorization_on_file": {"look_back_years": 100},
    # Not a clinical fact, but read the same way: a continuation approval in the audit trail counts within the
    # look-back (prior_approval.py).
    "prior_approval": {"look_back_years": 100},
}

# ClinicalFacts field -> the attestation linkId that can decide it (for `attested_items`).
ATTESTED_BY = {
    "b_lineage": "b-cell-precursor",
    "infant_all": "diagnosed-before-age-1",
    "therapy_phase": "therapy-phase",
    "remission_number": "remission-number",
    "complete_response_to_induction": "complete-response-to-induction",
    "induction_ino_mini_hyper_cvd": "induction-ino-mini-hyper-cvd",
    "end_of_consolidation_response": "end-of-consolidation-response",
    "ph_positive": "ph-positive",
    "mrd_detectable": "mrd-percent",
    "mrd_persistent_or_rising": "mrd-percent",
    "mrd_percent": "mrd-percent",
    "mrd_unavailable": "mrd-unavailable",
    "combination": "combination",
    "tki_failure": "tki-failure",
    "multiagent_chemo_candidate": "multiagent-chemo-candidate",
    "unacceptable_toxicity": "unacceptable-toxicity",
    "response_or_stabilization": "response-or-stabilization",
    "prior_authorization_on_file": "prior-authorization-on-file",
    "compendia_supported_use": "compendia-supported-use",
}
# The answer codes of each coded item of the Questionnaire (attestations.py reads only these).
ANSWER_CODES = {link_id: frozenset(words) for link_id, words in ANSWER_WORDS.items()}
# The values each string-valued fact takes (the Questionnaire's answer options where it asks the item), against which
# policy files are checked when loaded.
VOCABULARIES: dict[str, frozenset[str]] = {
    "disease_status": frozenset({"relapsed", "refractory", "remission", "active"}),
    **{fact: ANSWER_CODES[link_id] for fact, link_id in ATTESTED_BY.items() if link_id in ANSWER_CODES},
}


class Graded:
    """A value known only as well as the record tells it, for the threshold tests of policy files: `at_least` and
    `at_most` answer True, False, or None when the record cannot say."""

    def at_least(self, threshold: Decimal) -> bool | None:
        raise NotImplementedError

    def at_most(self, threshold: Decimal) -> bool | None:
        raise NotImplementedError


@dataclass(frozen=True)
class AgeRange(Graded):
    """A whole number known to lie in low..high: the age from a birth year alone (born "1980": 45 or 46)."""

    low: int
    high: int

    def at_least(self, threshold: Decimal) -> bool | None:
        return True if self.low >= threshold else False if self.high < threshold else None

    def at_most(self, threshold: Decimal) -> bool | None:
        return True if self.high <= threshold else False if self.low > threshold else None


@dataclass(frozen=True)
class Measured(Graded):
    """A result as the lab reported it, for the threshold tests of policy files (`at_least`, `at_most`): a value
    with its comparator, or only a qualitative reading. "<0.01" (or "<=0.01") is "not detected at a sensitivity of
    0.01" (fhir-data-profile.md §Labs); a qualitative positive has no value, so it decides no threshold."""

    value: Decimal | None  # None: qualitative only
    comparator: str = ""  # "", "<", "<=", ">", ">="
    positive: bool | None = None  # the qualitative reading, used when there is no value

    def at_least(self, threshold: Decimal) -> bool | None:
        """Whether the result is >= threshold; None when the report cannot say."""
        if self.value is None:
            return False if self.positive is False else None
        if self.comparator in ("<", "<="):
            return False if self.value <= threshold else None
        if self.comparator in (">", ">="):
            return True if self.value >= threshold else None
        return self.value >= threshold

    def at_most(self, threshold: Decimal) -> bool | None:
        """Whether the result is <= threshold; None when the report cannot say."""
        if self.value is None:
            return True if self.positive is False else None
        if self.comparator in ("<", "<="):
            return True if self.value <= threshold else None
        if self.comparator == ">":
            return False if self.value >= threshold else None
        if self.comparator == ">=":
            return False if self.value > threshold else None
        return self.value <= threshold


@dataclass(frozen=True)
class PreviousCycle:
    """The cycle before this one, when it gave its 28 infusion days: the label's 14 days without infusion follow its
    last infusion day (dosing/rest.py). An earlier order's or one signed in the same call."""

    last: date  # its last infusion day
    evidence: tuple[str, ...]  # its orders


@dataclass(frozen=True)
class CycleInfo:
    """Where the order sits in the patient's blinatumomab history (fhir-data-profile.md §Course and cycles)."""

    number: Fact[int]  # cycle number of this order within the course (attested cycle-number overrides)
    start: date  # day 1 of this cycle (the earliest start of its draft blinatumomab orders)
    course_start: date  # start of the first cycle of the course (= start for cycle 1)
    cycle_starts: tuple[date, ...] = ()  # start of every cycle of the course, cycle 1 first, this cycle last
    infusion_days_before: int = 0  # infusion days already given in this cycle when the order continues it
    previous: PreviousCycle | None = None  # the cycle before, when it gave its 28 infusion days and this one is new
    # The days without infusion before this cycle, when the record cannot tell them (earlier orders dated only to a
    # month or a year): unknown, with the full dates to document (dosing/rest.py); None when known.
    rest_unknown: Fact[Any] | None = None


@dataclass(frozen=True)
class BodySize:
    """Weight, height and BSA as of the order's start (fhir-data-profile.md §The patient)."""

    weight_kg: Fact[Decimal] = UNKNOWN_FACT
    height_cm: Fact[Decimal] = UNKNOWN_FACT
    bsa_m2: Fact[Decimal] = UNKNOWN_FACT  # recorded (if plausible) else Mosteller, to 3 decimals; note says which
    weight_recorded: str = ""  # the weight used as recorded when in another unit than kg ("99.2 lb"), else ""


@dataclass(frozen=True)
class ClinicalFacts:
    """Everything the policies read about one group of blinatumomab draft orders (one cycle) for one patient.

    String-valued facts use the exact vocabularies of the attestation Questionnaire (fhir-data-profile.md), except
    `disease_status`, which the Questionnaire does not ask: its values are listed in VOCABULARIES.
    """

    start_date: date  # the order's start = day 1 of the cycle
    cycle: CycleInfo
    body: BodySize
    age_years: Fact[AgeRange] = UNKNOWN_FACT  # completed years at start_date (a span when the birthDate is partial)
    age_months: Fact[AgeRange] = UNKNOWN_FACT  # completed months at start_date
    # Diagnosis
    all_diagnosis: Fact[bool] = UNKNOWN_FACT  # ALL Condition (C91.0x or SNOMED ALL codes)
    lymphoblastic_lymphoma: Fact[bool] = UNKNOWN_FACT  # C83.5x Condition
    b_lineage: Fact[bool] = UNKNOWN_FACT  # True B-cell precursor; False T-lineage
    infant_all: Fact[bool] = UNKNOWN_FACT  # ALL diagnosed before the first birthday
    # Disease status and phase, as of the course start
    disease_status: Fact[str] = UNKNOWN_FACT  # "relapsed", "refractory", "remission", "active"
    therapy_phase: Fact[str] = UNKNOWN_FACT  # induction / consolidation / maintenance / relapsed-refractory
    remission_number: Fact[int] = UNKNOWN_FACT
    complete_response_to_induction: Fact[bool] = UNKNOWN_FACT
    induction_ino_mini_hyper_cvd: Fact[bool] = UNKNOWN_FACT
    end_of_consolidation_response: Fact[str] = UNKNOWN_FACT  # "complete" / "less-than-complete"
    # Labs
    ph_positive: Fact[bool] = UNKNOWN_FACT  # True Ph+, False Ph- (both breakpoints tested negative), None unknown
    mrd_detectable: Fact[bool] = UNKNOWN_FACT  # latest MRD: True detectable, False undetectable (Aspirus reading)
    mrd_persistent_or_rising: Fact[bool] = UNKNOWN_FACT
    # Latest MRD, % of cells as reported (Measured; lab_result.Concurrent when results of its moment differ):
    # thresholds are the policies' (at_least)
    mrd_percent: Fact[Graded] = UNKNOWN_FACT
    mrd_unavailable: Fact[bool] = UNKNOWN_FACT  # True only when explicit (dataAbsentReason or attested)
    cd19_positive: Fact[bool] = UNKNOWN_FACT  # latest blast immunophenotype (lab result only, never attested)
    # Medications, at the order's start
    combination: Fact[str] = UNKNOWN_FACT  # single-agent / with-tki / with-ino-mini-hyper-cvd / ...
    tki_failure: Fact[bool] = UNKNOWN_FACT
    multiagent_chemo_candidate: Fact[bool] = UNKNOWN_FACT
    # Safety and renewal
    live_vaccine_in_window: Fact[bool] | Windowed[bool] = UNKNOWN_FACT  # True = a live vaccine in the window
    unacceptable_toxicity: Fact[bool] = UNKNOWN_FACT  # since the course start (Aspirus renewal)
    # Days of grade 4-5 CRS or ICANS before the course start, latest first: the label reads them (label_safety.py)
    severe_toxicity_before_course: Fact[tuple[date, ...]] = UNKNOWN_FACT
    response_or_stabilization: Fact[bool] = UNKNOWN_FACT
    # Attested only
    prior_authorization_on_file: Fact[bool] | Windowed[bool] = UNKNOWN_FACT  # attested within the look-back
    compendia_supported_use: Fact[bool] = UNKNOWN_FACT
    # Bookkeeping for the card
    attested_items: tuple[str, ...] = ()  # linkIds whose answers were used (a windowed one: Decision.attested_items)
    not_received: tuple[str, ...] = ()  # prefetch keys that were not received

    def __init__(self, start_date: date, cycle: CycleInfo, body: BodySize, age_years: Fact[AgeRange] = UNKNOWN_FACT,
                 age_months: Fact[AgeRange] = UNKNOWN_FACT, all_diagnosis: Fact[bool] = UNKNOWN_FACT,
                 lymphoblastic_lymphoma: Fact[bool] = UNKNOWN_FACT, b_lineage: Fact[bool] = UNKNOWN_FACT,
                 infant_all: Fact[bool] = UNKNOWN_FACT, disease_status: Fact[str] = UNKNOWN_FACT,
                 therapy_phase: Fact[str] = UNKNOWN_FACT, remission_number: Fact[int] = UNKNOWN_FACT,
                 complete_response_to_induction: Fact[bool] = UNKNOWN_FACT,
                 induction_ino_mini_hyper_cvd: Fact[bool] = UNKNOWN_FACT,
                 end_of_consolidation_response: Fact[str] = UNKNOWN_FACT, ph_positive: Fact[bool] = UNKNOWN_FACT,
                 mrd_detectable: Fact[bool] = UNKNOWN_FACT, mrd_persistent_or_rising: Fact[bool] = UNKNOWN_FACT,
                 mrd_percent: Fact[Graded] = UNKNOWN_FACT, mrd_unavailable: Fact[bool] = UNKNOWN_FACT,
                 cd19_positive: Fact[bool] = UNKNOWN_FACT, combination: Fact[str] = UNKNOWN_FACT,
                 tki_failure: Fact[bool] = UNKNOWN_FACT, multiagent_chemo_candidate: Fact[bool] = UNKNOWN_FACT,
                 live_vaccine_in_window: Fact[bool] | Windowed[bool] = UNKNOWN_FACT,
                 unacceptable_toxicity: Fact[bool] = UNKNOWN_FACT,
                 severe_toxicity_before_course: Fact[tuple[date, ...]] = UNKNOWN_FACT,
                 response_or_stabilization: Fact[bool] = UNKNOWN_FACT,
                 prior_authorization_on_file: Fact[bool] | Windowed[bool] = UNKNOWN_FACT,
                 compendia_supported_use: Fact[bool] = UNKNOWN_FACT, attested_items: tuple[str, ...] = (),
                 not_received: tuple[str, ...] = ()) -> None:
        # The fields above, set as the frozen dataclass's own __init__ would (tests/test_extract.py checks that this
        # signature is its fields'), without its object.__setattr__ call per field, as Fact does: two thirds less.
        self.__dict__.update(
            start_date=start_date, cycle=cycle, body=body, age_years=age_years, age_months=age_months,
            all_diagnosis=all_diagnosis, lymphoblastic_lymphoma=lymphoblastic_lymphoma, b_lineage=b_lineage,
            infant_all=infant_all, disease_status=disease_status, therapy_phase=therapy_phase,
            remission_number=remission_number, complete_response_to_induction=complete_response_to_induction,
            induction_ino_mini_hyper_cvd=induction_ino_mini_hyper_cvd,
            end_of_consolidation_response=end_of_consolidation_response, ph_positive=ph_positive,
            mrd_detectable=mrd_detectable, mrd_persistent_or_rising=mrd_persistent_or_rising, mrd_percent=mrd_percent,
            mrd_unavailable=mrd_unavailable, cd19_positive=cd19_positive, combination=combination,
            tki_failure=tki_failure, multiagent_chemo_candidate=multiagent_chemo_candidate,
            live_vaccine_in_window=live_vaccine_in_window, unacceptable_toxicity=unacceptable_toxicity,
            severe_toxicity_before_course=severe_toxicity_before_course,
            response_or_stabilization=response_or_stabilization,
            prior_authorization_on_file=prior_authorization_on_file, compendia_supported_use=compendia_supported_use,
            attested_items=attested_items, not_received=not_received)
