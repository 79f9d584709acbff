"""ClinicalFacts for one group of blinatumomab draft orders (one cycle): every reading done once, then assembled.

Order of the readings follows what depends on what (policy-rules.md §1): the start date and the medication history
give the cycle and the course start; the disease status, phase and remission, MRD, Ph and the induction regimen are
then judged as of the course start; age, body size and the drugs given with blinatumomab at the order's start; a TKI
failure over the whole medication history. Last, the resources the shape filter left out make the facts
they bear on unknown (unreadable.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from typing import Any, Callable, Mapping, NamedTuple, Sequence, TypeVar

from cds_service.facts.attestations import (COURSE_ATTESTATION_LEAD, COURSE_ITEMS, Answer, AnswerValue,
                                            Attestations, RenewalWindow, course_answers_since, unreadable_answers)
from cds_service.facts.attestations import unreadable_relevance as attestation_relevance
from cds_service.facts.body import body_size
from cds_service.facts.body import unreadable_relevance as body_size_relevance
from cds_service.facts.codes import add_months, completed_months, last_day_named, parse_date, ref
from cds_service.facts.course import PriorOrders, SignedCycle, prior_orders, read_cycle
from cds_service.facts.diagnosis import Diagnosis, lymphoblastic, read_diagnosis
from cds_service.facts.immunizations import LiveVaccines, live_vaccine_in_window
from cds_service.facts.immunizations import unreadable_relevance as vaccine_relevance
from cds_service.facts.labs import Labs, read_labs, undated_relevance
from cds_service.facts.labs import unreadable_relevance as lab_relevance
from cds_service.facts.medications import (MedOrder, combination, induction_ino_mini_hyper_cvd,
                                           multiagent_chemo_candidate, read_med_orders, tki_failure)
from cds_service.facts.medications import unreadable_relevance as medication_relevance
from cds_service.facts.model import ATTESTED_BY, UNKNOWN_FACT, AgeRange, ClinicalFacts, CycleInfo, Fact, Windowed
from cds_service.facts.observations import ObservationIndex, code_key
from cds_service.facts.order import group_start
from cds_service.facts.phase import complete_response_to_induction, therapy_phase
from cds_service.facts.resolve import record_resolver
from cds_service.facts.shape import split_well_formed
from cds_service.facts.toxicity import ASKED, SEVERE, ToxicityReading, counted_answer
from cds_service.facts.toxicity import unreadable_relevance as toxicity_relevance
from cds_service.facts.unreadable import Unreadable, open_facts, unreadable
from cds_service.questionnaire import card_question, question
from cds_service.record import PatientRecord, Resolver
from cds_service.sentences import mid_sentence
from cds_service.valuesets import ValueSets, get_valuesets

T = TypeVar("T")

OLDEST_PLAUSIBLE_AGE_YEARS = 120  # an older birth date is a placeholder for an unknown one
# The prefetch keys whose resources are many and mostly of no use to the readers, shape-checked only when a reader
# selects one (_well_formed_record leaves them as received): the routine labs (observations.ObservationIndex), the
# supportive-care orders (medications.read_med_orders), the inactivated vaccines (live_vaccine_in_window). The facts
# read no Coverage (coverage.py checks its own).
_CHECKED_WHERE_READ = frozenset({"observations", "medicationRequests", "immunizations", "coverage"})



def extract_facts(record: PatientRecord, orders: list[dict[str, Any]], today: date,
                  other_drafts: Sequence[dict[str, Any]] = (),
                  earlier: Sequence[SignedCycle] = ()) -> ClinicalFacts:
    """The facts of the blinatumomab draft `orders` (one cycle). `other_drafts` are the request's other draft
    MedicationRequests, part of the medication picture at the start date. `earlier`: the cycles of blinatumomab
    orders signed in the same call before this one (course.dated_cycles), which count as its earlier cycles."""
    observations = ObservationIndex(record.lists.get("observations"))
    read = _read_once(record, today)
    record, resolve, attestations, diagnosis = read.record, read.resolve, read.attestations, read.diagnosis
    start = group_start(orders, today)
    signed = [order for cycle in earlier for order in cycle.orders]
    draft_ids = {str(o.get("id")) for o in (*orders, *signed)}
    # The history without the orders being signed; then the request's other drafts, whatever their ids: read only
    # when there are some (most requests sign one order), as a reading costs its set-up (the classification memos)
    # even over no orders.
    med_orders = [order for order in read.history if str(order.resource.get("id")) not in draft_ids]
    malformed_orders = [order for order in read.malformed if str(order.get("id")) not in draft_ids]
    if other_drafts:
        med_orders += read_med_orders(other_drafts, resolve, today, malformed=malformed_orders)
    priors = prior_orders(med_orders, draft_ids, start, [span for cycle in earlier for span in cycle.spans],
                          len(earlier))
    cycle = read_cycle(record, start, diagnosis, attestations, priors)
    renewal = renewal_window(cycle)
    labs = read_labs(record, attestations, cycle.course_start, diagnosis, observations, renewal.current)
    medications = _medication_facts(med_orders, priors, cycle, record.received("medicationRequests"), attestations)
    # Left out with the resources of the other keys (for _unreadable): the vaccines the reader found malformed.
    left_out = {**read.left_out, "immunizations": []}
    vaccines = live_vaccine_in_window(record, cycle.course_start, start, malformed=left_out["immunizations"])
    facts = _clinical_facts(record, cycle, attestations, diagnosis, labs, medications, vaccines, observations,
                            renewal, priors.answers_since())
    if attestations:  # the two passes over the attested facts below find nothing without an answer
        facts = _name_earlier_answers(facts, attestations, _answer_windows(cycle.course_start, renewal.current),
                                      cycle.course_start)
    # The answers that cannot be read, in practice none: looked at only when there are some.
    unread = unreadable_answers(attestations, _unread_windows(cycle.course_start, renewal, priors.answers_since(),
                                                              labs.unavailable_answers_since)
                                ) if attestations.unread or attestations.partial else []
    # The resources left out, in practice none: looked at only when there are some.
    if any(left_out.values()) or malformed_orders or observations.unreadable() or labs.undated or unread:
        toxicity_answer = counted_answer(attestations, renewal)
        context = _Context((record.patient or {}).get("id"), attestations, cycle, bool(priors.spans or signed),
                           draft_ids, resolve, toxicity_answer.authored if toxicity_answer else None, diagnosis,
                           read_birth(record.patient, cycle.start).date)
        found = _unreadable(left_out, malformed_orders, observations.unreadable(), context)
        found += unreadable(labs.undated, "Observation", undated_relevance, _no_date) + unread
        facts = open_facts(facts, found)
    # Last, from the facts as they stand: an answer an unreadable resource made unknown was not used. Replacing a
    # field of the frozen facts costs as much as building them again: only done when an answer was used.
    used = _attested_items(facts) if attestations else ()
    return replace(facts, attested_items=used) if used else facts


def _no_date(observation: Any) -> str:
    """What an undated lab result (labs.py `undated`) lacks, for the note."""
    return "it has no date"


class _MedicationFacts(NamedTuple):
    """What the orders of drugs other than blinatumomab say (the blinatumomab ones make the cycle)."""

    combination: Fact[str]  # at the order's start
    tki_failure: Fact[bool]  # over the whole medication history
    induction_ino_mini_hyper_cvd: Fact[bool]  # before the course


def _medication_facts(med_orders: list[MedOrder], priors: PriorOrders, cycle: CycleInfo, received: bool,
                      attestations: Attestations) -> _MedicationFacts:
    """`priors`: the earlier orders after which order-level answers count (course.PriorOrders.answers_since)."""
    others = [o for o in med_orders if "blinatumomab" not in o.kinds]
    order_since = priors.answers_since()
    return _MedicationFacts(
        combination=combination(others, cycle.start, received, attestations, order_since),
        tki_failure=tki_failure(others, received, attestations),
        induction_ino_mini_hyper_cvd=induction_ino_mini_hyper_cvd(others, cycle.course_start, received,
                                                                  attestations),
    )


def _clinical_facts(record: PatientRecord, cycle: CycleInfo, attestations: Attestations, diagnosis: Diagnosis,
                    labs: Labs, medications: _MedicationFacts, vaccines: Fact[bool] | LiveVaccines,
                    observations: ObservationIndex, renewal: RenewalWindow, order_since: date | None) -> ClinicalFacts:
    """The facts from the readings: the disease as of the course start, the patient and the drugs at the order's
    start (module docstring). The body size is read after the labs, which select their Observations first.
    `order_since`: from when order-level answers count (course.PriorOrders.answers_since)."""
    start, course_start = cycle.start, cycle.course_start
    birth = read_birth(record.patient, start)
    toxicity = _toxicity(record, course_start)
    return ClinicalFacts(
        start_date=start,
        cycle=cycle,
        body=body_size(record, start, birth.years.value.low if birth.years.value else None, observations),
        age_years=birth.years,
        age_months=birth.months,
        all_diagnosis=diagnosis.all_diagnosis,
        lymphoblastic_lymphoma=diagnosis.lymphoblastic_lymphoma,
        b_lineage=diagnosis.lineage_with_cd19(labs.cd19_positive),
        infant_all=diagnosis.infant_all(birth.date),
        disease_status=diagnosis.status_as_of(course_start),
        therapy_phase=therapy_phase(course_start, diagnosis, labs, attestations),
        remission_number=diagnosis.remission_number(course_start),
        complete_response_to_induction=complete_response_to_induction(course_start, diagnosis, attestations),
        induction_ino_mini_hyper_cvd=medications.induction_ino_mini_hyper_cvd,
        # The response to the consolidation before this course, not an earlier course's (attestations.py).
        end_of_consolidation_response=_attested(attestations, "end-of-consolidation-response",
                                                course_answers_since(course_start), str),
        ph_positive=labs.ph_positive, mrd_detectable=labs.mrd_detectable,
        mrd_persistent_or_rising=labs.mrd_persistent_or_rising, mrd_percent=labs.mrd_percent,
        mrd_unavailable=labs.mrd_unavailable, cd19_positive=labs.cd19_positive,
        combination=medications.combination,
        tki_failure=medications.tki_failure,
        multiagent_chemo_candidate=multiagent_chemo_candidate(course_start, attestations),
        live_vaccine_in_window=vaccines,
        unacceptable_toxicity=toxicity.unacceptable(attestations, renewal),
        severe_toxicity_before_course=toxicity.severe_before_course(),
        response_or_stabilization=labs.response_or_stabilization,
        prior_authorization_on_file=_prior_authorization_on_file(
            attestations, start, course_answers_since(course_start), order_since),
        # Florida Blue indication 2: the use of this course, which an earlier course's answer does not name.
        compendia_supported_use=_attested(attestations, "compendia-supported-use",
                                          course_answers_since(course_start), bool),
        not_received=tuple(record.not_received()),
    )


class _Context(NamedTuple):
    """What the readers need to judge whether a resource left out bears on a fact."""

    patient_id: Any  # the attestations' subject
    attestations: Attestations
    cycle: CycleInfo
    earlier_cycles: bool  # blinatumomab orders before this cycle, which a relapse or remission may split into courses
    draft_ids: set[str]  # the orders themselves: read from the request, whatever the record holds of them
    resolve: Resolver
    toxicity_answered: date | None  # the day of the unacceptable-toxicity answer counted, which judges no later event
    diagnosis: Diagnosis  # judges the Conditions, reading both ways the facts they may change (Diagnosis._settled)
    birth_date: date | None  # which infant ALL is read with (Diagnosis.infant_all)


def _unreadable(left_out: dict[str, list[Any]], med_orders: list[dict[str, Any]],
                observations: list[dict[str, Any]], ctx: _Context) -> list[Unreadable]:
    """The resources the shape filter left out (per prefetch key, the `med_orders` and `observations` a reader
    selected) that a reader finds relevant (unreadable.py)."""
    course_start, start = ctx.cycle.course_start, ctx.cycle.start
    orders = [r for r in med_orders if str(r.get("id")) not in ctx.draft_ids]
    return [
        *unreadable(left_out.get("immunizations", ()), "Immunization",
                    lambda r: vaccine_relevance(r, course_start, start)),
        *unreadable(left_out.get("conditions", ()), "Condition",
                    lambda r: ctx.diagnosis.unreadable_relevance(r, ctx.earlier_cycles, course_start, ctx.birth_date)
                    or toxicity_relevance(r, course_start, ctx.toxicity_answered)),
        *unreadable(orders, "MedicationRequest", lambda r: medication_relevance(r, ctx.resolve)),
        *unreadable(left_out.get("attestations", ()), "QuestionnaireResponse",
                    lambda r: attestation_relevance(r, ctx.patient_id, ctx.attestations)),
        *unreadable(observations, "Observation", lambda r: lab_relevance(r) or body_size_relevance(r, start)),
    ]


# What a stale renewal answer asks for (_name_earlier_answers): the question again, for now.
_CURRENT_ANSWER = {
    "response-or-stabilization": "a current answer on response or stable disease",
    "unacceptable-toxicity": "a current answer on unacceptable toxicity",
}


def _answer_windows(course_start: date, renewal_since: date) -> dict[str, date]:
    """linkId -> from when its answers count, for the items answered about this course."""
    return {**dict.fromkeys(COURSE_ITEMS, course_answers_since(course_start)),
            **dict.fromkeys(_CURRENT_ANSWER, renewal_since)}


def _unread_windows(course_start: date, renewal: RenewalWindow, order_since: date | None,
                    unavailable_since: date) -> dict[str, date]:
    """linkId -> from when its answers count (attestations.py), for the answers that cannot be read: one older would
    not have counted if readable. An unacceptable toxicity counts for the whole course (a "yes" stays true); an MRD
    "unavailable" only after the latest MRD result by the course start (`unavailable_since`, labs.py); the prior
    authorization's look-back, a policy's number, is not applied."""
    windows = {**_answer_windows(course_start, renewal.current), "unacceptable-toxicity": renewal.course,
               "prior-authorization-on-file": course_answers_since(course_start),
               "mrd-unavailable": unavailable_since}
    if order_since is None:  # no earlier order: the order-level answers count whenever authored
        return windows
    return {**windows, "combination": order_since, "cycle-number": order_since,
            "prior-authorization-on-file": max(order_since, windows["prior-authorization-on-file"])}


def _name_earlier_answers(facts: ClinicalFacts, attestations: Attestations, windows: Mapping[str, date],
                          course_start: date) -> ClinicalFacts:
    """Says, on each fact still unknown whose item was answered only before its window (`windows`: linkId -> from
    when its answers count), that the answer was for an earlier course, or for an earlier cycle of this one (a
    renewal's, renewal_window): else the card asks again with no reason the clinician can see."""
    named: dict[str, Any] = {}  # field -> its fact with the note (Any: Fact[bool], Fact[str], ...)
    for name, link_id in ATTESTED_BY.items():
        fact, since = getattr(facts, name), windows.get(link_id)
        if since is None or not isinstance(fact, Fact) or fact.value is not None:
            continue
        earlier = attestations.answered_before(link_id, since)
        if earlier is None:
            continue
        day, missing = earlier.day, fact.missing
        if earlier.authored < course_start:
            said = f"the answer of {day} was given before this course"
        else:  # this course's, for an earlier renewal: asked again, and the card says for what
            said = f"the answer of {day} is not current (renewal answers count from {since.isoformat()})"
            missing = missing or f"{_CURRENT_ANSWER[link_id]} (last answered {day})"
        # An item only the clinician answers said "not answered": it was, for another course.
        kept = fact.note and fact is not _not_answered(link_id)
        named[name] = replace(fact, note=f"{fact.note}; {said}" if kept else said, missing=missing)
    return replace(facts, **named) if named else facts


def renewal_window(cycle: CycleInfo) -> RenewalWindow:
    """From when the renewal answers count. Of this course: an answer authored before it (during an earlier course)
    does not; when the record shows no earlier cycle of the course (an attested cycle 6 whose earlier cycles are not
    on record), the course began before its recorded start, this order's: an answer written for this order, shortly
    before it, still counts. Current: given for this cycle or the one before it, authored no earlier than 30 days
    before the previous cycle's start. Aspirus renews two cycles at a time (6-7, 8-9): the answer given for cycle 6
    counts for cycle 7 and never for cycle 8, whose renewal asks again (Aspirus IV)."""
    if cycle.course_start >= cycle.start:
        course = cycle.start - COURSE_ATTESTATION_LEAD
        return RenewalWindow(course, course)
    previous = cycle.cycle_starts[-2] if len(cycle.cycle_starts) > 1 else cycle.course_start
    return RenewalWindow(cycle.course_start, max(cycle.course_start, previous - COURSE_ATTESTATION_LEAD))


class Birth(NamedTuple):
    """The birthDate as the facts use it: `date` for the infant-ALL test, the age in completed years and months."""

    date: date | None
    years: Fact[AgeRange]
    months: Fact[AgeRange]


def read_birth(patient: dict[str, Any] | None, start: date) -> Birth:
    """Completed years and months at `start` (calendar arithmetic, codes.completed_months); under a month, the note
    says the days and the day the month is complete.
    A partial birthDate (year or year-month) gives the span of ages the days it may stand for give (born "1980" is
    45 or 46 on 2026-12-01): enough for "18 or older", not for "30 or younger" at 30 or 31. `date` is the birthDate's
    first day, unless it cannot be this patient's at `start`."""
    if patient is None:
        return Birth(None, Fact(received=False), Fact(received=False))
    raw: Any = patient.get("birthDate")  # a str whenever parse_date reads a date from it
    # A FHIR date, never a dateTime: "2026-11-21T10:00:00" is no birthDate (it had made an adult a newborn).
    earliest = parse_date(raw) if not isinstance(raw, str) or len(raw) <= 10 else None
    if earliest is None:
        return _no_age("no birth date" if raw is None else "birthDate is not a usable date")
    if earliest > start:
        return _no_age(f"born {raw}: after the order's start")
    # Born by the order's start: the days of a partial date after it are not the patient's ("2026-12" for an order of
    # Dec 1 is a newborn, not a birth "after the order's start").
    latest, oldest = min(last_day_named(earliest, raw), start), completed_months(earliest, start)
    # 0001-01-01 or 1900-01-01 is a placeholder some systems write for an unknown date: taken at its word it would
    # make the patient an adult.
    if oldest >= OLDEST_PLAUSIBLE_AGE_YEARS * 12:
        return _no_age(f"born {raw}: not a plausible birth date")
    youngest = completed_months(latest, start)
    evidence = (ref(patient),)  # a Patient: prefetch.py keeps no other resource as the patient
    years, months = AgeRange(youngest // 12, oldest // 12), AgeRange(youngest, oldest)
    note = f"born {raw}" if len(raw) == 10 else f"born {raw}: {_ages(years, months)}"
    if len(raw) == 10 and oldest == 0:
        note += _days_old(earliest, start)
    return Birth(earliest, Fact(years, evidence, note=note), Fact(months, evidence, note=note))


def _ages(years: AgeRange, months: AgeRange) -> str:
    """The ages a partial birthDate allows, in years; under a year in months, which the 1-month boundary reads ("born
    2026-12: 0 months old" for an order of Dec 1, not "0 years old")."""
    low, high, unit = (months.low, months.high, "month") if years.high == 0 else (years.low, years.high, "year")
    ages = f"{low}" if low == high else f"{low} {'or' if high == low + 1 else 'to'} {high}"
    return f"{ages} {unit}{'' if ages == '1' else 's'} old"


def _days_old(born: date, start: date) -> str:
    """For a baby not yet a month old at the order's `start`: the age in days and the day it is one month old (as
    completed_months counts a month: born Oct 31, one month old on Nov 30), so that no reader works out either from
    the birth date."""
    days = (start - born).days
    return f" ({days} day{'' if days == 1 else 's'} old; 1 month old on {add_months(born, 1).isoformat()})"


def _no_age(problem: str) -> Birth:
    """Why a birthDate gives no age at the order's start."""
    return Birth(None, Fact(note=problem), Fact(note=problem))


@dataclass(frozen=True)
class _AttestedWithin(Windowed[bool]):
    """An attested authorization in the past `look_back_years` (Florida Blue Position, continuation 1: two;
    policy-rules.md §3). "In the past two years" is said as of the answer: 23 months old, it would vouch for an
    authorization almost four years before the order. So an answer counts only when given for this order (after
    the latest earlier blinatumomab order started, `order_since`, and not before this course's window,
    `course_since`) and within the look-back; an older one is as if not given, and initiation is evaluated. An older
    "yes" is named, with the window it falls outside (`_outside`): the card says why it did not count."""

    attestations: Attestations
    link_id: str
    start: date
    course_since: date
    order_since: date | None

    def within(self, numbers: Mapping[str, int]) -> Fact[bool]:
        years = numbers["look_back_years"]
        since = max(add_months(self.start, -12 * years), self.course_since, self.order_since or date.min)
        found = _attested(self.attestations, self.link_id, since, bool)
        earlier = self.attestations.answered_before(self.link_id, since) if found.value is None else None
        if earlier is None or earlier.value is not True:  # an older "no" changes nothing: initiation either way
            return found
        said = f"{mid_sentence(question(self.link_id))}: yes, answered {earlier.day}"
        return Fact(None, (earlier.reference,), note=f"{said}, {self._outside(earlier, years)}")

    def _outside(self, answer: Answer, years: int) -> str:
        """The window `answer` falls outside: the look-back when it is older than that, else the answers' own."""
        if answer.authored < add_months(self.start, -12 * years):
            return f"more than {years} year{'' if years == 1 else 's'} before this order's start ({self.start})"
        if self.order_since is not None and answer.authored < self.order_since:
            started = self.order_since - timedelta(days=1)
            return (f"on or before the day the latest earlier blinatumomab order started ({started}): given for that "
                    "order")
        lead = COURSE_ATTESTATION_LEAD.days
        return f"before this course's window (answers count from {self.course_since}, {lead} days before its start)"


def _prior_authorization_on_file(attestations: Attestations, start: date, course_since: date,
                                 order_since: date | None) -> Fact[bool] | Windowed[bool]:
    link_id = "prior-authorization-on-file"
    if attestations.get(link_id) is None:
        return UNKNOWN_FACT
    return _AttestedWithin(attestations, link_id, start, course_since, order_since)


@cache
def _not_answered(link_id: str) -> Fact[Any]:
    """An item only the clinician answers, not answered: said on the card by its question, so that an unknown or a
    pathway not met for want of it is not read as something the record lacks, nor as another item of the same
    criterion ("remission 3 attested" beside it). One per item: a Fact is frozen."""
    return Fact(note=f"{mid_sentence(card_question(link_id))}: not answered in the attestation questionnaire")


def _attested(attestations: Attestations, link_id: str, since: date, cast: Callable[[AnswerValue], T]) -> Fact[T]:
    """An item only the clinician answers: unknown when not answered since `since`."""
    found = attestations.fact(link_id, since, cast=cast)
    return _not_answered(link_id) if found is None else found


def _attested_items(facts: ClinicalFacts) -> tuple[str, ...]:
    """The linkIds whose answers decided one of the `facts`."""
    # A windowed answer counts only within a policy's numbers: the Decision names it (Decision.attested_items).
    used = [link for name, link in ATTESTED_BY.items()
            if isinstance(fact := getattr(facts, name), Fact) and fact.attested]
    if facts.cycle.number.attested:
        used.append("cycle-number")
    return tuple(dict.fromkeys(used))


def _memoized(resolve: Resolver) -> Resolver:
    """Each referenced Medication or Organization is read once per evaluation (it may be a FHIR server call).

    Not redundant with prefetch's _Resolver, which caches its server reads too: a PatientRecord's `resolve` need
    not cache (a caller's own, as tests/test_extract.py's server that counts reads; without this memo it is called
    once per order naming the Medication), and a repeated reference skips the record's lookup (resolve.py)."""
    cache: dict[str, dict[str, Any] | None] = {}

    def lookup(reference: str) -> dict[str, Any] | None:
        if reference not in cache:
            cache[reference] = resolve(reference)
        return cache[reference]

    return lookup


class _RecordRead(NamedTuple):
    """What extract_facts reads of the record alike for each cycle of a call (`_read_once`)."""

    record: PatientRecord  # _well_formed_record's
    left_out: dict[str, list[Any]]  # and what it left out
    resolve: Resolver  # its resolver, each reference looked up once a call
    attestations: Attestations
    diagnosis: Diagnosis
    history: list[MedOrder]  # the history as received (read_med_orders checks the orders it keeps)
    malformed: list[dict[str, Any]]  # its orders the check found malformed


def _read_once(record: PatientRecord, today: date) -> _RecordRead:
    """The record checked, its attestations, diagnosis and medication history, read once a call (record.memos) and
    not again for each cycle signed in it: 50 cycles, each reading again the 20,000 Conditions a 10 MB body holds,
    had held a worker 19 s (the 10,000 MedicationRequests, 6 s). The orders being signed are left out of the history
    by each cycle, as they differ from one to the next."""
    return record.once(("extract", today), lambda: _read_record(record, today))


def _read_record(record: PatientRecord, today: date) -> _RecordRead:
    checked, left_out = _well_formed_record(record)
    resolve = _memoized(checked.resolve)
    attestations = Attestations.from_record(checked)
    diagnosis = read_diagnosis(checked, attestations, left_out.get("conditions", ()))
    malformed: list[dict[str, Any]] = []
    history = read_med_orders(checked.resources("medicationRequests"), resolve, today, malformed, recorded=True)
    return _RecordRead(checked, left_out, resolve, attestations, diagnosis, history, malformed)


def _toxicity(record: PatientRecord, course_start: date) -> ToxicityReading:
    """The toxicities of the record's Conditions as of a course start, read once a call for each (record.memos: the
    checked record `_read_once` keeps): the cycles a call signs mostly share their course, and 50 of them each
    walking the 10,000 Conditions a 6 MB body holds took a second."""
    return record.once(("toxicity", course_start), lambda: ToxicityReading(record, course_start))


def _well_formed_record(record: PatientRecord) -> tuple[PatientRecord, dict[str, list[Any]]]:
    """The record without the resources (or resolved Medications) whose read elements have wrong JSON types, so
    that the evaluation does not fail on them (shape.py), and those left out per prefetch key. References are looked
    up in the record first (resolve.py). The keys of _CHECKED_WHERE_READ stay as received; the Conditions no reader
    selects are dropped unchecked (_conditions_read)."""
    lists: dict[str, list[dict[str, Any]] | None] = {}
    left_out: dict[str, list[Any]] = {}
    for key, found in record.lists.items():
        if found is None or key in _CHECKED_WHERE_READ:
            lists[key] = found
        else:
            lists[key], left_out[key] = split_well_formed(_conditions_read(found) if key == "conditions" else found)
    return PatientRecord(patient=record.patient, lists=lists, resolve=record_resolver(record)), left_out


def _conditions_read(conditions: list[Any]) -> list[Any]:
    """The Conditions without those whose code no reader selects: most of a problem list (hypertension, diabetes).
    Both readers (diagnosis.py, toxicity.py) skip such a Condition, and judge it irrelevant when it is malformed
    (unreadable_relevance): dropped before the shape check, it costs neither that check nor their readings."""
    valuesets = get_valuesets()
    memo = valuesets.memo("conditions-read")
    return [c for c in conditions
            if not (isinstance(c, dict) and c.get("resourceType") == "Condition")
            or memo.get(code_key(c.get("code")), _read_by_code, c.get("code"), valuesets)]


def _read_by_code(code: Any, valuesets: ValueSets) -> bool:
    """A lymphoblastic disease (diagnosis.py) or an event of the toxicity lists (a grade 1-2 one toxicity.py then
    ignores is kept too)."""
    return lymphoblastic(code, valuesets) or valuesets.has(SEVERE, code) or valuesets.has(ASKED, code)
