"""The attestation QuestionnaireResponses: what structured data cannot say (fhir-data-profile.md §Attestations).

Responses to Questionnaire/blinatumomab-coverage-attestation (any base, optional |version) with status completed or
amended, about this patient, are merged item by item: per linkId the latest `authored` answer wins.

An answer counts only for the time it can speak for: each reader passes its item's `authored_since`
(docs/data-requirements.md §Attestations tables every linkId):
- facts about the disease or its history (`b-cell-precursor`, `diagnosed-before-age-1`, `ph-positive` at diagnosis,
  a `tki-failure` that happened): no limit;
- the course, its indication and the state it began in (`therapy-phase`, `remission-number`, the response to and
  regimen of the therapy before it, `multiagent-chemo-candidate`, `compendia-supported-use`, `mrd-percent`,
  `mrd-unavailable`): course_answers_since; the two MRD answers also give way to an MRD result on record (labs.py);
- the order (`combination`, `cycle-number`), the renewal (`response-or-stabilization`, `unacceptable-toxicity`) and
  `prior-authorization-on-file`: their own windows (course.py, extract.py).
An answer outside its window is as if not given: the record decides, or the fact stays unknown (information needed).

An answer that cannot be read (a value of the wrong type or none, a code or number outside the item's, two answers
of one response that disagree, or of two responses authored at the same moment) is not guessed and not ignored
either: the clinician's answer may be what overrides the record, so the facts of its item are unknown
(unreadable.py), unless a readable answer authored later outranks it (`unreadable_answers`). So is a readable answer
authored only to a month or a year that straddles the start of its item's window (it may or may not count), or that
runs past the latest answer which says otherwise (it may be the later one): `_undatable`. Where the record settles a
fact whatever any answer says (a grade 4-5 CRS or ICANS since the course start, an MRD result on record:
`_SETTLED`), the record decides and the answer is named beside it. An item the service does not read is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping, NamedTuple, TypeVar

from cds_service.facts.codes import last_day_named, parse_datetime, ref, to_decimal
from cds_service.facts.model import ANSWER_CODES, ATTESTED_BY, Fact
from cds_service.facts.shape import rules_out
from cds_service.facts.unreadable import Bearing, Relevance, Unreadable
from cds_service.questionnaire import ANSWER_WORDS, CARD_QUESTIONS, ITEMS, QUESTIONS
from cds_service.record import PatientRecord
from cds_service.sentences import mid_sentence

QUESTIONNAIRE_SUFFIX = "Questionnaire/blinatumomab-coverage-attestation"
_USABLE_STATUSES = frozenset({"completed", "amended"})

AnswerValue = bool | int | Decimal | str
T = TypeVar("T")

# A course-level answer written shortly before the course began (e.g. at the planning visit) still describes it.
COURSE_ATTESTATION_LEAD = timedelta(days=30)
# The items counted from course_answers_since (module docstring; docs/data-requirements.md §Attestations).
COURSE_ITEMS = frozenset({
    "therapy-phase", "remission-number", "complete-response-to-induction", "induction-ino-mini-hyper-cvd",
    "end-of-consolidation-response", "multiagent-chemo-candidate", "compendia-supported-use", "mrd-percent",
    "mrd-unavailable",
})

# The answer type of each item of the Questionnaire, and for coded strings its codes (model.ANSWER_CODES); an
# answer outside these is not read, never guessed (module docstring). Unknown linkIds accept any supported type.
_TYPES = {"boolean": bool, "choice": str, "integer": int, "decimal": Decimal}
_ITEM_TYPES: dict[str, type] = {link_id: _TYPES[kind] for link_id, kind, _, _ in ITEMS}
_LARGEST_COUNT = 100  # cycles of a course, remissions: a blinatumomab course has at most 9 cycles
# What an item's answer must be, said where one is not (_parse checks each).
_EXPECTED = {
    "boolean": "true or false (valueBoolean)",
    "choice": "one of the item's codes (valueString or valueCoding.code)",
    "integer": f"a whole number from 1 to {_LARGEST_COUNT} (valueInteger)",
    "decimal": "a number from 0 to 100 (valueDecimal, or valueInteger for a whole one)",
}
_ITEM_EXPECTED = {link_id: _EXPECTED[kind] for link_id, kind, _, _ in ITEMS}


def _a_result(fact: Fact[Any]) -> bool:
    """An MRD fact read from results on record by the course start (their references its evidence): the
    `mrd-percent` answer is read only without one (labs.py), so no answer changes it."""
    return bool(fact.evidence)


def _severe(fact: Fact[Any]) -> bool:
    """The record's unacceptable toxicity, a grade 4-5 CRS or ICANS since the course start: no answer overrides it
    (toxicity.py; fhir-data-profile.md §Attestations)."""
    return fact.value is True


# What the record gives that no answer of the item could change (unreadable.Bearing.settled): then the record decides
# and the unreadable answer is only named. Every other attested fact is one an answer overrides.
_SETTLED = {"mrd_detectable": _a_result, "mrd_percent": _a_result, "mrd_persistent_or_rising": _a_result,
            "unacceptable_toxicity": _severe}
# The facts each item decides, for an answer that cannot be read (unreadable.py): unknown, attested or not, since it
# may be the latest answer, unless the record settles them (_SETTLED).
_BEARINGS: dict[str, tuple[Bearing, ...]] = {
    link_id: tuple(Bearing(fact, settled=_SETTLED.get(fact)) for fact, item in ATTESTED_BY.items() if item == link_id)
    for link_id in ATTESTED_BY.values()
} | {"cycle-number": (Bearing("cycle.number"),)}


@dataclass(frozen=True)
class Answer:
    value: AnswerValue
    authored: date  # the day its response was authored (the first day of a month or a year authored alone)
    reference: str  # "QuestionnaireResponse/id", the evidence
    written: str = field(default="", compare=False)  # its response's `authored` as written

    @property
    def day(self) -> str:
        """The day authored as a clinician is told it: a month or a year as recorded ("2026-05"), never its first
        day, which would claim a date the record does not give."""
        return self.written if 0 < len(self.written) < 10 else self.authored.isoformat()


@dataclass(frozen=True)
class _Dated:
    moment: datetime
    answer: Answer


def _in_time(dated: _Dated) -> tuple[date, datetime]:
    """An answer's place in time: the day it was authored (what the windows compare), then its moment. The day
    first, as for lab results (lab_result.in_time_order): a response dated 2026-11-20 alone (its midnight UTC) had
    been outranked by one of 8 pm on Nov 19 in Chicago, 02:00 UTC on Nov 20."""
    return dated.answer.authored, dated.moment


class _Unread(NamedTuple):
    """An answer to an item the service reads that cannot be read (module docstring)."""

    link_id: str
    moment: datetime  # its response's `authored`, the last moment a partial one may stand for (_latest_moment)
    reference: str  # "QuestionnaireResponse/id"
    problem: str  # "the cycle-number answer is not a whole number from 1 to 100 (valueInteger)"


class _Partial(NamedTuple):
    """A readable answer whose response is `authored` only to a month or a year ("2026-01"): read as of its first
    day, it may have been given on any day up to `last`, so within its item's window or before it."""

    link_id: str
    first: date
    last: datetime
    authored: str
    reference: str
    value: AnswerValue


class Attestations:
    """Answers per linkId, oldest first; the answers that cannot be read."""

    def __init__(self, answers: dict[str, list[_Dated]] | None = None, unread: list[_Unread] | None = None,
                 partial: list[_Partial] | None = None) -> None:
        self._answers = answers or {}
        self._unread = unread or []
        self._partial = partial or []

    @classmethod
    def from_record(cls, record: PatientRecord) -> Attestations:
        patient_id = (record.patient or {}).get("id")
        answers: dict[str, list[_Dated]] = {}
        unread: list[_Unread] = []
        partial: list[_Partial] = []
        for response in record.resources("attestations", "QuestionnaireResponse"):
            if not _usable(response, patient_id):
                continue
            moment = parse_datetime(response.get("authored"))
            if moment is None:
                continue
            read, problems = _answers_of(response.get("item"))
            for link_id, value in read.items():
                answer = Answer(value, moment.date(), ref(response), response["authored"])
                answers.setdefault(link_id, []).append(_Dated(moment, answer))
            latest = _latest_moment(response.get("authored"), moment)
            if problems:
                unread += (_Unread(link_id, latest, ref(response), problem) for link_id, problem in problems.items())
            if latest != moment:
                partial += (_Partial(link_id, moment.date(), latest, response["authored"], ref(response), value)
                            for link_id, value in read.items())
        for link_id, dated in answers.items():
            dated.sort(key=_in_time)  # stable: same moment keeps document order
            unread += _tied(link_id, dated)
        return cls(answers, unread, partial)

    @property
    def unread(self) -> list[_Unread]:
        """The answers that cannot be read, of every item the service reads (`unreadable_answers` weighs them)."""
        return self._unread

    @property
    def partial(self) -> list[_Partial]:
        """The readable answers authored only to a month or a year (`unreadable_answers` weighs them)."""
        return self._partial

    def __bool__(self) -> bool:
        """Whether any answer was read: without one, no fact is attested and none was answered too early."""
        return bool(self._answers)

    def answered_after(self, link_id: str, moment: datetime) -> bool:
        """Whether an answer to `link_id` was authored after `moment`: it outranks any answer authored then."""
        dated = self._answers.get(link_id)
        return bool(dated and _in_time(dated[-1]) > (moment.date(), moment))

    def answered_before(self, link_id: str, since: date) -> Answer | None:
        """The latest answer to `link_id` when it was authored before `since` (none was since): an answer outside
        its window, which a card names so that the clinician sees why the item is asked again."""
        latest = self.get(link_id)
        return latest if latest is not None and latest.authored < since else None

    def get(self, link_id: str, authored_since: date | None = None) -> Answer | None:
        """The latest answer to `link_id`, only from responses authored on or after `authored_since` if given."""
        answers = self._answers.get(link_id)
        if not answers:  # the usual case, asked of every item a fact may be attested by: no list made for it
            return None
        for dated in reversed(answers):
            if authored_since is None or dated.answer.authored >= authored_since:
                return dated.answer
        return None

    def fact(self, link_id: str, since: date | None = None, *, cast: Callable[[AnswerValue], T],
             note: str | Callable[[T], str] = "") -> Fact[T] | None:
        """The latest answer to `link_id` authored on or after `since` as an attested Fact (its value `cast`, its
        response the evidence, its `note` fixed or made from the value), or None when there is none: the reader
        then falls back on the record."""
        # Asked of every item a fact may be attested by, mostly unanswered: no call to `get` for those.
        answer = self.get(link_id, authored_since=since) if link_id in self._answers else None
        if answer is None:
            return None
        value = cast(answer.value)
        # The answer and its date on the card: a pharmacist checks the criterion against them.
        if callable(note):
            said = note(value)
        else:
            asked = note or CARD_QUESTIONS.get(link_id) or QUESTIONS.get(link_id, link_id)
            said = f"{asked}: {_shown(link_id, answer.value)}"
        # A clause, as every fact's note: the card reads it on after "; " or a colon.
        return Fact(value, (answer.reference,), attested=True, note=f"{mid_sentence(said)} (answered {answer.day})")


def _shown(link_id: str, value: AnswerValue) -> str:
    """An answer in words: yes or no, a code's words from the Questionnaire's table, a number as given."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return ANSWER_WORDS.get(link_id, {}).get(value, value)
    return str(value)


def course_answers_since(course_start: date) -> date:
    """From when an answer about the course counts: on or after its start, or within COURSE_ATTESTATION_LEAD before
    it. An older one was written for an earlier course, about a disease that may have relapsed since."""
    return course_start - COURSE_ATTESTATION_LEAD


class RenewalWindow(NamedTuple):
    """From when the renewal answers (`response-or-stabilization`, `unacceptable-toxicity`; Aspirus IV) count
    (extract.py `renewal_window`; docs/policy-reading.md, "Renewal answers are current ones")."""

    course: date  # answers of this course: an unacceptable toxicity attested then stays true for the course
    current: date  # answers given for this cycle or the one before: any other renewal answer (a response, a "no")


def unreadable_relevance(response: dict[str, Any], patient_id: str | None,
                         attestations: Attestations) -> Relevance | None:
    """A QuestionnaireResponse the shape filter left out (unreadable.py) bears on the facts of the items it answers,
    when it answers our Questionnaire and what else can be read of it (status, subject) does not rule it out. An item
    a readable answer outranks (authored later than this one's readable `authored`) is not counted."""
    subject = response.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if (rules_out(response, _USABLE_STATUSES) or not _ours(response.get("questionnaire"))
            or isinstance(reference, str) and not _about(reference, patient_id)):
        return None
    authored = response.get("authored")
    first = parse_datetime(authored)
    moment = None if first is None else _latest_moment(authored, first)
    answered = dict.fromkeys(link_id for link_id, _ in _raw_answers(response.get("item"))
                             if isinstance(link_id, str) and link_id in _BEARINGS
                             and not (moment is not None and attestations.answered_after(link_id, moment)))
    if not answered:
        return None
    bearings = tuple(bearing for link_id in answered for bearing in _BEARINGS[link_id])
    return Relevance(f"an attestation answering {', '.join(answered)}", bearings)


def unreadable_answers(attestations: Attestations, since: Mapping[str, date]) -> list[Unreadable]:
    """The answers that cannot be read (module docstring) within their item's window (`since`: linkId -> from when
    its answers count; none given, any), each leaving the facts of its item unknown, unless a readable answer
    authored later outranks it (it decides, as any latest answer does). The card asks for that answer, readable."""
    return [Unreadable(unread.reference, f"an attestation answering {unread.link_id}", unread.problem,
                       _BEARINGS[unread.link_id], asked=f"a readable {unread.link_id} answer in {unread.reference}")
            for unread in attestations.unread
            if unread.moment.date() >= since.get(unread.link_id, date.min)
            and not attestations.answered_after(unread.link_id, unread.moment)] + _undatable(attestations, since)


def _undatable(attestations: Attestations, since: Mapping[str, date]) -> list[Unreadable]:
    """The readable answers authored only to a month or a year whose place in time decides: their facts are unknown
    (unless the record settles them) and the card asks for the answer with its full date (`_undated_because`)."""
    found = []
    for partial in attestations.partial:
        because = _undated_because(attestations, partial, since[partial.link_id]) if partial.link_id in since else ""
        if because:
            found.append(Unreadable(partial.reference, f"an attestation answering {partial.link_id}", because,
                                    _BEARINGS[partial.link_id],
                                    asked=f"the full date of {partial.reference} ({partial.link_id})",
                                    failed="cannot be placed in time"))
    return found


def _undated_because(attestations: Attestations, partial: _Partial, since: date) -> str:
    """Why `partial` cannot be placed, or "" when it can: a period straddling the start of its item's window (it may
    speak for this course or cycle, or be older: `get` reads it as of its first day, before the window), or one
    within it running past the latest answer, which says otherwise (ranked as of its first day, the partial answer
    may yet be the later one: a "yes" of "2026-11" beside a "no" of Nov 20). Never when an answer authored after the
    whole period outranks it, or when the period ended before the window."""
    if partial.last.date() < since or attestations.answered_after(partial.link_id, partial.last):
        return ""
    if partial.first < since:
        return f"its date {partial.authored} may fall before {since}, when its answers start to count"
    latest = attestations.get(partial.link_id)
    if latest is None or latest.reference == partial.reference or latest.value == partial.value:
        return ""
    return (f"its date {partial.authored} may be after {latest.reference} ({latest.authored.isoformat()}), which "
            "answers otherwise")


def _tied(link_id: str, dated: list[_Dated]) -> list[_Unread]:
    """The latest answers to `link_id` (sorted `dated`) when responses authored at the same moment disagree, as one
    answer that cannot be read: which the clinician meant is not guessed (document order had picked the later)."""
    latest = [d for d in dated if _in_time(d) == _in_time(dated[-1])]
    if link_id not in _BEARINGS or len({d.answer.value for d in latest}) < 2:
        return []
    refs = ", ".join(dict.fromkeys(d.answer.reference for d in latest))
    return [_Unread(link_id, dated[-1].moment, dated[-1].answer.reference,
                    f"the {link_id} answers of {refs}, authored at the same moment, disagree")]


def _latest_moment(authored: Any, moment: datetime) -> datetime:
    """The last moment the `authored` an answer that cannot be read was read as (`moment`, its first) may stand for:
    "2026-10" may be any day of October, so that answer may fall within its item's window from October 10, or after a
    readable answer of October 20, which then does not outrank it (a readable one of November does)."""
    if not isinstance(authored, str) or len(authored) >= 10:
        return moment
    return datetime.combine(last_day_named(moment.date(), authored), time.max, timezone.utc)


def _usable(response: dict[str, Any], patient_id: str | None) -> bool:
    if response.get("status") not in _USABLE_STATUSES or not _ours(response.get("questionnaire")):
        return False
    subject = (response.get("subject") or {}).get("reference")
    return isinstance(subject, str) and _about(subject, patient_id)


def _ours(canonical: Any) -> bool:
    """Whether a `questionnaire` canonical names the attestation Questionnaire (any base, optional |version)."""
    return isinstance(canonical, str) and canonical.split("|", 1)[0].rstrip("/").endswith(QUESTIONNAIRE_SUFFIX)


def _about(subject: str, patient_id: str | None) -> bool:
    if patient_id is None:  # patient not received: still only responses about a Patient
        return "Patient/" in subject
    return subject == f"Patient/{patient_id}" or subject.endswith(f"/Patient/{patient_id}")


def _answers_of(items: Any) -> tuple[dict[str, AnswerValue], dict[str, str]]:
    """One response's answers: linkId -> its value, and linkId -> why its answer cannot be read, for the items the
    service reads (any other item's unparseable answer is ignored). An item with an answer that cannot be read, or
    with two that disagree, has no value: which one the clinician meant is not guessed."""
    values: dict[str, list[AnswerValue]] = {}
    problems: dict[str, str] = {}
    for link_id, answer in _raw_answers(items):
        if not isinstance(link_id, str):
            continue
        value = _parse(link_id, answer) if isinstance(answer, dict) else None
        if value is not None:
            values.setdefault(link_id, []).append(value)
        elif link_id in _BEARINGS:
            problems.setdefault(link_id, f"the {link_id} answer is not {_ITEM_EXPECTED[link_id]}")
    for link_id, found in values.items():
        if link_id in _BEARINGS and len(set(found)) > 1:
            problems.setdefault(link_id, f"the {link_id} answers disagree")
    return {link_id: found[-1] for link_id, found in values.items() if link_id not in problems}, problems


def _raw_answers(items: Any) -> Iterator[tuple[Any, Any]]:
    """(linkId, answer) for every answer, nested items (under items or under answers) included, as written: of any
    JSON type (an `answer` that is not a list is one answer)."""
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        answers = item.get("answer")
        for answer in answers if isinstance(answers, list) else () if answers is None else (answers,):
            yield item.get("linkId"), answer
            if isinstance(answer, dict):
                yield from _raw_answers(answer.get("item"))
        yield from _raw_answers(item.get("item"))


def _parse(link_id: str, answer: dict[str, Any]) -> AnswerValue | None:
    value = _raw_value(answer)
    expected = _ITEM_TYPES.get(link_id)
    if expected is Decimal and type(value) is int:
        # A whole number is a decimal item's value as it stands: an EHR's form sends an MRD of 0 or 5 % as valueInteger
        # (FHIR R4 QuestionnaireResponse). A string or a boolean stays unread (the type check below).
        value = Decimal(value)
    if value is None or (expected is not None and type(value) is not expected):
        return None
    vocabulary = ANSWER_CODES.get(link_id)
    if vocabulary is not None and value not in vocabulary:
        return None
    # The counts are integers and mrd-percent a decimal (_ITEM_TYPES, checked above).
    if link_id in ("cycle-number", "remission-number") and isinstance(value, int) and not 1 <= value <= _LARGEST_COUNT:
        return None  # a count outside it is a typing error (and 2**31 does not fit the audit trail's column)
    if link_id == "mrd-percent" and isinstance(value, Decimal) and not 0 <= value <= 100:
        return None
    return value


def _raw_value(answer: dict[str, Any]) -> AnswerValue | None:
    boolean = answer.get("valueBoolean")
    if isinstance(boolean, bool):
        return boolean
    integer = answer.get("valueInteger")
    if isinstance(integer, int) and not isinstance(integer, bool):
        return integer
    if "valueDecimal" in answer:
        return to_decimal(answer["valueDecimal"])
    text = answer.get("valueString")
    if isinstance(text, str) and text.strip():
        return text.strip()
    code = (answer.get("valueCoding") or {}).get("code") if isinstance(answer.get("valueCoding"), dict) else None
    return code.strip() if isinstance(code, str) and code.strip() else None


