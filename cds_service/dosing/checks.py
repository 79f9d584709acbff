"""`DoseChecks` for one draft order and its cycle group: what the policy engine asks about doses and quantities."""
from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple, Sequence

from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.compare import ABOVE, Finding, Patient, above_maximum, compare
from cds_service.dosing.cycle_end import (CycleEnd, PastCycle, cycle_end, cycle_infusion_days, cycle_stretches,
                                         past_cycle)
from cds_service.dosing.expected import WEIGHT_BOUNDARY_KG, above_ceiling, dosed_by_bsa
from cds_service.dosing.quantity import (SHARED_DAYS, VIAL_MCG, CycleNeeds, Offered, OrderNeed, OrderQuantity,
                                        QuantityCheck, check_quantity, order_need)
from cds_service.dosing.reading import UNPLACED, DoseLine, read_order_doses
from cds_service.dosing.rest import ShortRest, rest_unknown, short_rest
from cds_service.dosing.text import (NAMED, counted, days_list, days_text, first_few, label_mcg_text, mcg_text,
                                    mcg_text_against)
from cds_service.dosing.together import SharedDays, Together, line_starts, shares_days, unread_elsewhere
from cds_service.facts.body import ADULT_AGE, ADULT_HEIGHT_MONTHS, BSA_WINDOW, WEIGHT_WINDOW
from cds_service.facts.model import ClinicalFacts, Fact
from cds_service.facts.order import order_ref
from cds_service.sentences import mid_sentence
from cds_service.verdict import ITEMS_JOIN, MET, NOT_MET, UNKNOWN, Status, Verdict

# What to document, read after "document" in a card summary.
MISSING_WEIGHT = f"current weight (within {WEIGHT_WINDOW.days} days)"
MISSING_BSA = f"height or BSA (within {BSA_WINDOW.days} days)"
# An adult's height counts for 12 months (facts/body.py): asked "within 30 days", a clinician had measured one again.
MISSING_BSA_ADULT = f"height (within {ADULT_HEIGHT_MONTHS} months) or BSA (within {BSA_WINDOW.days} days)"
# Without a weight a height gives no BSA (Mosteller needs both): asking for a height alone had the clinician record
# one, sign again, and be asked again. A child's weight, height and BSA all count for 30 days; an adult's height for
# 12 months (facts/body.py), which "weight and height (within 30 days)" had hidden.
MISSING_BSA_UNWEIGHED = f"BSA, or weight and height (within {BSA_WINDOW.days} days)"
MISSING_BSA_UNWEIGHED_ADULT = (f"weight (within {WEIGHT_WINDOW.days} days) and height (within {ADULT_HEIGHT_MONTHS} "
                               f"months), or BSA (within {BSA_WINDOW.days} days)")
MISSING_DOSE = "each dosage line's dose written in mcg/day"
MISSING_DAYS = "each dosage line's days (its start and end, or its duration)"
MISSING_CYCLE = "cycle number of this order"
MISSING_SUPPLY = "expected supply duration in days"
# How a note names the dose a finding is compared with: the patient's label dose, or without the body size it needs
# (`missing_body_size`), the most the label allows at any weight, or for a weighed patient dosed by BSA at any height.
_LABEL_NAMED = {"": "label", MISSING_WEIGHT: "label maximum at any weight", MISSING_BSA: "label maximum at any height",
                MISSING_BSA_ADULT: "label maximum at any height"}


def order_lines(order: dict[str, Any], facts: ClinicalFacts,
                medication: dict[str, Any] | None = None) -> list[DoseLine]:
    """The order's dosage lines, days numbered within the cycle of `facts`; `medication`: the Medication it references,
    whose strength reads a volume (a contained one is read from the order)."""
    return read_order_doses(order, facts.body.bsa_m2.value, facts.cycle.start, facts.cycle.infusion_days_before,
                            medication)


def schedule_for(facts: ClinicalFacts, indication_schedule: str | None = None) -> str | None:
    """The label schedule an order's dose is checked against: the reported indication's (`label_schedule` of the
    policy's indication); else, as without a plan, the phase's (policy-rules.md §5). A relapsed/refractory course
    takes the step dose whatever indication the payer reports: the label's MRD-positive regimen (no step dose) is for
    patients in remission (docs/dosing.md). None (phase unknown): the ceiling only."""
    from_phase = _schedule_from_phase(facts)
    return from_phase if from_phase == "relapsed-refractory" else indication_schedule or from_phase


def _schedule_from_phase(facts: ClinicalFacts) -> str | None:
    phase = facts.therapy_phase.value
    if phase is None:
        return None
    return "relapsed-refractory" if phase == "relapsed-refractory" else "standard"


def patient_for(facts: ClinicalFacts, schedule: str | None, cycle: int | None = None) -> Patient:
    """The patient as the label reads them; `cycle` replaces an unknown cycle number with a supposed one."""
    number = facts.cycle.number.value
    return Patient(schedule, facts.body.weight_kg.value, facts.body.bsa_m2.value, cycle if number is None else number,
                   _adult(facts))


def _adult(facts: ClinicalFacts) -> bool:
    """Whether the height window is an adult's, as facts/body.py chose it (the age's lowest reading)."""
    age = facts.age_years.value
    return age is not None and age.low >= ADULT_AGE


def _bsa_asked(adult: bool) -> str:
    return MISSING_BSA_ADULT if adult else MISSING_BSA


def missing_body_size(patient: Patient) -> str:
    """What to document so the label dose is known ("" once it is)."""
    if patient.weight_kg is None and not (patient.schedule == "interfant" and patient.bsa_m2 is not None):
        return MISSING_WEIGHT
    needs_bsa = patient.bsa_m2 is None and dosed_by_bsa(patient.schedule, patient.weight_kg)
    return _bsa_asked(patient.adult) if needs_bsa else ""


def unused_sizes(facts: ClinicalFacts) -> list[Fact[Decimal]]:
    """The weight and BSA on record that could not be used, whose notes say why (too old, not plausible): the
    pharmacist asked for a body size sees what the chart holds, not only that no size was used."""
    body = facts.body
    unused = [size for size in (body.weight_kg, body.bsa_m2) if size.value is None and size.note]
    if len(unused) == 2 and set(unused[1].evidence) <= set(unused[0].evidence):
        unused = unused[:1]  # no BSA because of that weight: said once
    return unused


def needs_bsa_only(lines: list[DoseLine], together: Sequence[Together] = ()) -> bool:
    """Whether every line that cannot be read is this order's, written per m² and unread for want of a BSA."""
    unreadable = [line for line in lines if line.unreadable]
    return bool(unreadable) and all(line.needs_bsa for line in unreadable) and not any(t.unreadable for t in together)


# A verdict's note is a clause, lowercase like a fact's ("label dose not known without a weight", "runs to day 35:
# ..."): the decision card joins it after "; " or a colon, and the coverage information within parentheses.
def findings_note(findings: Sequence[Finding], missing: str = "") -> str:
    """Every off range: one as '28 mcg/day on days 1–7; label 9 mcg/day' (or, `missing` a body size, '...; label maximum
    at any weight 28 mcg/day', '...; label maximum at any height 17.745 mcg/day'), a sum of lines saying whose ('48
    mcg/day on days 1–28 (lines 1 and 2 together); label 28 mcg/day'); several as '9 mcg/day on days 1–7 (label 7.375
    mcg/day); 28 mcg/day on days 8–28 (label 22.125 mcg/day)'. Label doses exact (`label_mcg_text`). Past NAMED + 1
    ranges (an order of many lines), the NAMED most severe (`most_severe`) and how many more: a pharmacist correcting
    days 1-7 must not miss days 8-28, and a note does not grow with the order."""
    label = _LABEL_NAMED[missing]
    if len(findings) == 1:
        [finding] = findings
        together = f" ({finding.together.text})" if finding.together else ""
        return f"{_ordered_on(finding)}{together}; {label} {label_mcg_text(finding.expected.mcg_per_day)} mcg/day"
    shown = list(findings)
    if len(findings) > NAMED + 1:  # `sorted` keeps the earlier of equals first, as `most_severe` does
        worst = sorted(range(len(findings)), key=lambda index: findings[index].severity, reverse=True)[:NAMED]
        shown = [findings[index] for index in sorted(worst)]
    # One text shared by every range (a likely duplicate's sum on each) is said once, after them: repeated per range
    # it buried the doses.
    texts = {f.together.text if f.together else "" for f in shown}
    shared = texts.pop() if len(texts) == 1 else ""
    parts = [f"{_ordered_on(f)} ({f'{f.together.text}; ' if f.together and not shared else ''}{label} "
             f"{label_mcg_text(f.expected.mcg_per_day)} mcg/day)" for f in shown]
    more = len(findings) - len(shown)
    tail = (f"; and {more} more day ranges" if more else "") + (f"; each range: {shared}" if shared else "")
    return "; ".join(parts) + tail


def schedule_finding(above: Sequence[Finding], missing: str, past: PastCycle | None, rest: ShortRest | None) -> str:
    """Which part of the label schedule the order fails, in a few words for the decision card's summary: 'dose above
    label on days 8–28', 'infusion past day 28', 'rest too short (2 of 14 days)', joined by '; '. The criterion's note
    keeps the doses, the label doses and the dates; the dose or rest card beside it, the correction."""
    parts = [_above_words(above, missing)] if above else []
    if past is not None:
        parts.append("infusion past day 28")
    if rest is not None:
        least = "at least " if rest.owed.unknown else ""
        parts.append("cycle starts before the previous one ended" if rest.days_off < 0 else
                     f"rest too short ({rest.days_off} of {least}{rest.owed.days} days)")
    return "; ".join(parts)


def _above_words(above: Sequence[Finding], missing: str) -> str:
    """'dose above label on days 1–7 and 8–28' (every range, days_list); without the body size the label dose needs,
    above the label's maximum (at any weight or height)."""
    ranges = list(dict.fromkeys(days_text(f.first_day, f.last_day)
                                for f in sorted(above, key=lambda f: (f.first_day, f.last_day))))
    return f"dose above label{' maximum' if missing else ''} on {days_list(ranges)}"


def _ordered_on(finding: Finding) -> str:
    """'33.6 mcg/day on days 1–28', with how a volume was read: '(12 mL/h of 28 mcg per 240 mL)'."""
    volume = f" ({finding.volume})" if finding.volume else ""
    return f"{mcg_text(finding.ordered)} mcg/day on {days_text(finding.first_day, finding.last_day)}{volume}"


def ordered_note(lines: list[DoseLine], verdict: str, against: Decimal | None = None,
                 together: Sequence[Together] = ()) -> str:
    """'9 mcg/day on days 1–7; 28 mcg/day on days 8–28: not above the label schedule': what a pharmacist checks,
    then the sums of lines running together. `against`: a limit the doses are told from however close (28.0008, not
    28, is above 28). The lines in the order of their days, not of the list: the sequence places them (an order
    listing its days 8-28 line first read "28 mcg/day on days 8-28; 9 mcg/day on days 1-7")."""
    parts = [f"{_dose_text(line.mcg_per_day, against)} mcg/day on {days_text(line.first_day, line.last_day)}"
             + (f" ({line.form.volume})" if line.form is not None and line.form.volume else "")
             for line in sorted(lines, key=_first_day) if line.mcg_per_day is not None]
    if together:
        parts += [f"{_dose_text(t.mcg_per_day, against)} mcg/day on {days_text(t.first_day, t.last_day)} ({t.text})"
                  for t in together]
    return f"{'; '.join(parts)}: {verdict}" if parts else verdict


def _first_day(line: DoseLine) -> int:
    return line.first_day


def _dose_text(mcg_per_day: Decimal, against: Decimal | None) -> str:
    return mcg_text(mcg_per_day) if against is None else mcg_text_against(mcg_per_day, against)


def missing_period(lines: list[DoseLine]) -> str:
    """What to document for the lines whose period, not dose, could not be read (`DoseLine.period_unread`): 'a
    corrected infusion period for dosage line 1 (its end is before its start)'; "" when there are none."""
    unread = [line for line in lines if line.period_unread]
    if not unread:
        return ""
    named = first_few([str(line.index + 1) for line in unread[:NAMED + 1]], len(unread), "more")
    which = f"line {named[0]}" if len(unread) == 1 else f"lines {', '.join(named)}"
    reasons = "; ".join(dict.fromkeys(line.period_unread for line in unread[:NAMED + 1]))
    return f"a corrected infusion period for dosage {which} ({reasons})"


def unreadable_note(lines: list[DoseLine], together: Sequence[Together] = ()) -> str:
    """The lines whose dose cannot be read, and the other orders' lines running with them (their sum is unknown):
    past NAMED + 1 of those, the first NAMED (`Together.unreadable` holds NAMED + 2 when there are more). Lines unread
    for their period alone are said so: their dose may be readable."""
    unread = [line for line in lines if line.unreadable]
    reasons = [f"line {line.index + 1}: {line.unreadable}" for line in unread]
    if together:  # usually none: the step dose's lines run alone
        reasons += unread_elsewhere(together)
    periods = len(reasons) == len(unread) and all(line.period_unread and not line.dose_unread for line in unread)
    return f"{'infusion period' if periods else 'dose'} not readable ({'; '.join(reasons)})" if reasons else ""


def _quantity_note(check: QuantityCheck) -> str:
    """The cycle's quantity with the supply the orders state, then the limit per its window: the check's supply (at
    least the window) is not the supply ordered. A supply longer than the window scales the limit: said too. Vials
    first, what the pharmacy dispenses and the plan limits, as the quantity card says them ("40 vials (1400 mcg)")."""
    supply = "not stated" if check.ordered_days is None else f"{mcg_text(check.ordered_days)} days"
    if check.supply_unread:
        supply = f"{check.supply_unread} (not read in days)"
    rounded_up = ", rounded up to whole vials of 35 mcg" if check.rounded_up else ""
    vials = counted(mcg_text(check.vials), "vials")
    ordered = f"{vials} ({mcg_text(check.total_mcg)} mcg{rounded_up}), supply {supply}"
    if not check.counted and not check.unreadable:  # "0 vials (0 mcg)" read as an order for nothing
        ordered = f"no dispense quantity on the order{'s' if len(check.orders) > 1 else ''}"
    return f"{ordered}; {_limit_text(check)}"


def _limit_text(check: QuantityCheck) -> str:
    """'limit 980 mcg per 42 days', with the limit scaled to a longer supply: '(1960 mcg for 84 days)'."""
    limit = f"limit {mcg_text(check.window_mcg)} mcg per {check.window_days} days"
    if check.supply_days > check.window_days:
        limit += f" ({mcg_text(check.allowed_mcg)} mcg for {mcg_text(check.supply_days)} days)"
    return limit


def _with_rest(verdict: Verdict, rest: ShortRest | None) -> Verdict:
    """`verdict` with the orders of the cycle before as evidence when this order starts its cycle too early."""
    if rest is None:
        return verdict
    return verdict._replace(evidence=tuple(dict.fromkeys(verdict.evidence + rest.evidence)))


_NONE: Mapping[int, dict[str, Any]] = MappingProxyType({})


class CycleLines:
    """What the checks of a cycle's orders share, each read once for the cycle: every order's dosage lines, the days
    on which they run together (each order's checks add the others' lines on its days) and the cycle's quantity.
    Read for each order, these would cost every order of the Bundle the work of all of them.

    `running`: the record's active blinatumomab orders that no draft replaces (dosing/duplicates.running_orders),
    their days numbered on this cycle's: they run beside the drafts, so their lines add to the drafts' daily dose on
    the days they share (docs/dosing.md, "Lines given together"), and to nothing else: their quantity was dispensed
    already, and their days before this cycle's start are the cycle's days given (facts/course.py)."""

    def __init__(self, orders: list[dict[str, Any]], facts: ClinicalFacts,
                 medications: Mapping[int, dict[str, Any]] = _NONE, running: Sequence[dict[str, Any]] = ()) -> None:
        self.orders = orders
        self.running = running
        self.facts = facts
        self._medications = medications  # id(order) -> the Medication it references, as the request holds it
        self._lines: dict[int, list[DoseLine]] = {}
        self._shared: SharedDays | None = None
        self._positions: dict[int, int] = {}  # id(order) -> its place in `orders`, as SharedDays numbers them
        self._quantities: dict[QuantityLimit, QuantityCheck] = {}
        self._needs: dict[QuantityLimit, CycleNeeds] = {}
        self._stretches: list[Sequence[int]] | None = None
        self._offered: dict[int, Offered] = {}  # id(order) -> its lines as its suggestion writes them (`offer`)

    def of(self, order: dict[str, Any]) -> list[DoseLine]:
        key = id(order)  # the orders are the request's own objects, alive for the whole evaluation
        if key not in self._lines:
            self._lines[key] = order_lines(order, self.facts, self._medications.get(key))
        return self._lines[key]

    def among(self, orders: list[dict[str, Any]]) -> CycleLines:
        """The cycle's reading over `orders` instead, each order's lines read once for both (an order's lines are its
        own, read alike whatever the other orders): the cycle once a likely duplicate's copies are removed, or with
        an active order a draft repeats (dosing/duplicates.py)."""
        members = {id(order) for order in orders}
        other = CycleLines(orders, self.facts, self._medications,
                           [order for order in self.running if id(order) not in members])
        other._lines = self._lines
        return other

    def rewritten(self, order: dict[str, Any], resource: dict[str, Any]) -> list[DoseLine]:
        """The dosage lines of `resource`, a suggestion's rewrite of `order`, read with `order`'s Medication."""
        return order_lines(resource, self.facts, self._medications.get(id(order)))

    def together(self, order: dict[str, Any]) -> tuple[Together, ...]:
        """The ranges of `order`'s days on which more than one line of the cycle runs."""
        if len(self.orders) == 1 and not self.running and not shares_days(self.of(order)):
            return ()  # the usual order: one line, or lines one after the other
        if self._shared is None:
            # The active orders first: the orders a note or the evidence names are the first few.
            every = [*self.running, *self.orders]
            self._shared = SharedDays([(str(o.get("id", "")), self.of(o)) for o in every], len(self.running))
            self._positions = {id(o): position for position, o in enumerate(every)}
        return self._shared.of(self._positions[id(order)])

    def starts(self) -> list[int]:
        """The first days of the cycle's lines: a line stating no end runs until a later one of any order of the
        cycle takes over (`together.span_of`), as in "9 mcg/day from day 1" then another order "from day 8"."""
        return line_starts(line for o in self.orders for line in self.of(o))

    def stretches(self) -> list[Sequence[int]]:
        """The infusion days of every order of the cycle, cut where a cycle of their own begins (`cycle_stretches`):
        read once, for the days card and the split of an order whose lines fall in several cycles alike."""
        if self._stretches is None:
            days = cycle_infusion_days(self.of(o) for o in self.orders)
            cycle = self.facts.cycle
            self._stretches = cycle_stretches(days, cycle.infusion_days_before, cycle.number.value)
        return self._stretches

    def past_cycle(self, order: dict[str, Any]) -> PastCycle | None:
        """`order`'s days past the cycle's 28th infusion day, counted over every order of the cycle."""
        cycle = self.facts.cycle
        return past_cycle(self.of(order), self.stretches(), cycle.infusion_days_before, cycle.start,
                          cycle.number.value)

    def quantity(self, limit: QuantityLimit) -> QuantityCheck:
        # One lookup, not `in` then [ ]: each hashes the limit, a dataclass, in Python.
        check = self._quantities.get(limit)
        if check is None:
            check = self._quantities[limit] = check_quantity(self.orders, limit, self.facts.cycle.number.value)
        return check

    def offer(self, order: dict[str, Any], offered: Offered) -> None:
        """`order`'s cards offer a suggestion writing its lines as `offered` (`OrderDoseChecks.offered`): its quantity
        is judged on those lines (`needs`)."""
        assert not self._needs, "the cycle's needs were read before this order's suggestion was offered"
        self._offered[id(order)] = offered

    def needs(self, limit: QuantityLimit) -> CycleNeeds:
        """Each order's quantity against what its own lines use (`order_need`) as its suggestions leave them: read
        once for the cycle, for the quantity cards of all its orders, once every order's suggestion is offered
        (`offer`). Judged as written, an order ended on day 28 (days 8-35 with 28 vials: within its days as
        written), or whose dose per m² was not read without a BSA, was corrected only on signing it again."""
        needs = self._needs.get(limit)
        if needs is None:
            judged = {id(q.order): self._need(q) for q in self.quantity(limit).orders}
            of = {key: need for key, (need, _) in judged.items()}
            needs = self._needs[limit] = CycleNeeds(of, any(n.undecided == SHARED_DAYS for n in of.values()),
                                                    tuple(key for key, need in of.items() if need.above),
                                                    {key: position for position, key in enumerate(of)},
                                                    {key: offered for key, (_, offered) in judged.items() if offered})
        return needs

    def _need(self, quantity: OrderQuantity) -> tuple[OrderNeed, Offered | None]:
        """The need of `quantity`'s order, and the lines its suggestion writes when that is what it is judged on. An
        order running on the same days as another stays untold (which of them the quantity is for is the
        prescriber's call); a dose not read as written is told on the lines the suggestion writes, which is what
        the quantity card's suggestion is combined with (reconcile_corrections)."""
        order = quantity.order
        shared = any(t.order_count for t in self.together(order))
        offered = None if shared else self._offered.get(id(order))
        need = order_need(quantity, self.of(order) if offered is None else offered.lines, shared)
        return need, offered if offered is not None and not need.undecided else None


class DoseReading(NamedTuple):
    """What the label dose check made of an order, for what the label's notes say (label_safety.py)."""

    missing: str  # the body size the label dose needs and the chart lacks (what to document), "" when known
    above: bool  # above the label dose (or its maximum at any body size): a dose card says so
    past: bool = False  # runs past the cycle's 28th infusion day: a dose card says so
    # The days furthest above the label, in words ("28 mcg/day on days 8–28; label at most 17.745 mcg/day"), "" when
    # none: said where the dose card may not be (max-cards cuts it, or the EHR turned that card type off).
    worst: str = ""
    # Above the label only with a likely duplicate's copies: the duplicate card says so, and no dose card is shown
    # (the dose cards judge the cycle as its removal leaves it).
    by_copies: bool = False
    # Every range of days above, as a dose criterion's summary says it ("dose above label on days 8–28"), "" when
    # none: a decision card that establishes no indication says the dose card's days (cards._reason).
    finding: str = ""


class OrderDoseChecks:
    """The dose checks of one order (its own lines, with the cycle's other orders on the days they run together)
    and its group (the cycle's quantity)."""

    def __init__(self, order: dict[str, Any], group: list[dict[str, Any]], facts: ClinicalFacts,
                 cycle_lines: CycleLines) -> None:
        self.order = order
        self.group = group
        self.facts = facts
        self.cycle = cycle_lines
        self.lines = self.cycle.of(order)
        self.together = self.cycle.together(order)
        self.evidence: tuple[str, ...] = (order_ref(order),)
        if self.together:  # the other orders a daily dose adds decide it too: the first NAMED + 1, as notes name them
            others = list(dict.fromkeys(o for t in self.together for o in t.orders))[:NAMED + 1]
            self.evidence += tuple(f"MedicationRequest/{o}" for o in others)
        self._schedules: dict[str, Verdict] = {}  # several indications share a schedule: compare once
        self._findings: dict[tuple[str | None, int | None], tuple[Patient, list[Finding]]] = {}
        self._past: tuple[PastCycle | None] | None = None
        self._rests: dict[str | None, ShortRest | None] = {}
        self._ending: CycleEnd | str | None = None
        # The dosage lines the dose card's suggestion writes (`record_correction`), None while it corrects no dose.
        self.corrected: list[DoseLine] | None = None

    @property
    def past(self) -> PastCycle | None:
        """The order's days past its cycle's 28th infusion day (`dosing.cycle_end`), read once."""
        if self._past is None:
            self._past = (self.cycle.past_cycle(self.order),)
        return self._past[0]

    @property
    def ending(self) -> CycleEnd | str:
        """The order ending on its cycle's 28th infusion day when it runs past it and that is a one-click correction
        (`cycle_end.cycle_end`), else why not ("" when it does not run past it, or the day's date is unknown). Read
        once, for the dose card whose suggestion carries it and the plan dose limit card beside it."""
        if self._ending is None:
            past, cycle = self.past, self.facts.cycle
            self._ending = "" if past is None else cycle_end(self.order, self.lines, past, cycle.start,
                                                            cycle.infusion_days_before)
        return self._ending

    def rest(self, schedule: str | None) -> ShortRest | None:
        """The order starting its cycle within the label's days without infusion after the cycle before, which depend
        on `schedule` (relapsed/refractory cycles 6-9 are longer: `rest.short_rest`); read once per schedule."""
        if schedule not in self._rests:
            self._rests[schedule] = short_rest(self.order, self.facts, schedule)
        return self._rests[schedule]

    def record_correction(self, resource: dict[str, Any]) -> None:
        """The dose card's suggestion writes `resource`, the order with its dose corrected (dosing.suggestions calls
        this as it builds the suggestion): `corrected` is then its dosage lines, for the quantity card (`offered`)."""
        self.corrected = self.cycle.rewritten(self.order, resource)

    def offered(self) -> Offered | None:
        """The order's lines as its dose or days card's suggestion writes them: the dose card's correction (written on
        the order ended on its cycle's 28th infusion day when that end is a one-click correction, `ending`), else
        that end alone; None when the suggestion rewrites no line."""
        ending, corrected = self.ending, self.corrected
        day = self.past.day_28 if isinstance(ending, CycleEnd) and self.past is not None else None
        if corrected is not None:
            return Offered(corrected, day, True)
        return Offered(ending.lines, day, False) if isinstance(ending, CycleEnd) else None

    def findings(self, schedule: str | None, cycle: int | None = None) -> tuple[Patient, list[Finding]]:
        """The label reading for `schedule` (None: the ceiling) and every off range of days; when the body size the
        label dose needs is missing, only the days above the label maximum at any body size. Computed once per
        schedule, for the policy and the dose card. `cycle` is supposed when the record does not tell it."""
        if (schedule, cycle) not in self._findings:
            patient = patient_for(self.facts, schedule, cycle)
            size_known = not missing_body_size(patient)
            starts = self.cycle.starts() if any(line.last_day is None for line in self.lines) else None
            found = (compare(self.lines, patient, self.together, starts) if size_known
                     else above_maximum(self.lines, patient, self.together, starts))
            self._findings[schedule, cycle] = (patient, found)
        return self._findings[schedule, cycle]

    def reading(self, schedule: str | None) -> DoseReading:
        patient, findings = self.findings(schedule)
        missing = missing_body_size(patient)
        above = [f for f in findings if f.kind == ABOVE]
        worst = max(above, key=lambda f: f.severity, default=None)
        said = "" if worst is None else (
            f"{mcg_text(worst.ordered)} mcg/day on {days_text(worst.first_day, worst.last_day)}; label "
            f"{'at most ' if missing else ''}{label_mcg_text(worst.expected.mcg_per_day)} mcg/day")
        return DoseReading(missing, worst is not None, self.past is not None, said,
                           finding=_above_words(above, missing) if above else "")

    def schedule(self, schedule: str) -> Verdict:
        """The verdict of an indication's dose criterion, against the schedule the dose card checks (schedule_for):
        a relapsed/refractory course takes the step dose under any indication, and a criterion read against another
        schedule had approved the dose the dose card called above the label."""
        verdict = self._schedules.get(schedule)
        if verdict is None:
            applied = schedule_for(self.facts, schedule) or schedule
            verdict = self._schedules[schedule] = self._schedule(applied)
            if applied != schedule and verdict.status == NOT_MET:
                verdict = verdict._replace(note=f"{verdict.note}; a relapsed/refractory course takes the step dose")
        return verdict

    def _schedule(self, schedule: str) -> Verdict:
        verdict = self._schedule_reading(schedule, None)
        if verdict.status == MET and self.facts.cycle.number.value is None:
            # Step days exist only in cycle 1: a dose fit for a later cycle may be above it on days 1-7.
            as_first = self._schedule_reading(schedule, 1)
            if as_first.status == NOT_MET:
                return Verdict(UNKNOWN, self.evidence, f"{as_first.note} if this is cycle 1", MISSING_CYCLE,
                               received=self.facts.cycle.number.received)
        return verdict

    def _schedule_reading(self, schedule: str, cycle: int | None) -> Verdict:
        patient, findings = self.findings(schedule, cycle)
        missing = missing_body_size(patient)
        above = [f for f in findings if f.kind == ABOVE]
        rest = self.rest(schedule)
        days = [found.note for found in (self.past, rest) if found]
        finding = schedule_finding(above, missing, self.past, rest)
        if above:  # without the body size: above the label at any weight (or, weighed, at any height)
            verdict = self._sized(NOT_MET, "; ".join([findings_note(above, missing), *days]), patient)
            return _with_rest(verdict._replace(finding=finding), rest)
        if days:  # whatever the dose and the body size: the label's cycle has 28 infusion days, then the days without
            return _with_rest(Verdict(NOT_MET, self.evidence, "; ".join(days), finding=finding), rest)
        if missing:
            evidence, said = self._with_sizes(unused_sizes(self.facts))
            # "usable": a size is on record, and saying "without body size" beside it read as a contradiction.
            # Named: a BSA on record beside no weight had read "without body size", as if none were charted.
            needed = "a weight" if missing == MISSING_WEIGHT else "a BSA"
            note = f"label dose not known without a usable body size ({said})" if said else \
                f"label dose not known without {needed}"
            return self._with_rest_unknown(Verdict(UNKNOWN, evidence, note, missing,
                                                   received=self._body_size_received()))
        unreadable = unreadable_note(self.lines, self.together)
        if unreadable and needs_bsa_only(self.lines, self.together):
            # From 45 kg: the dose is written, per m², and only a BSA converts it; the label dose itself is fixed
            # (the dose card offers it). Asking for the dose "in mcg/day" read as if none were written.
            note = f"{unreadable}; from {WEIGHT_BOUNDARY_KG} kg the label dose is a fixed dose in mcg/day"
            return self._with_rest_unknown(Verdict(UNKNOWN, self.evidence, note, _bsa_asked(_adult(self.facts)),
                                                   received=self._body_size_received()))
        if unreadable or not self.lines:
            return self._with_rest_unknown(Verdict(UNKNOWN, self.evidence, unreadable or "no dosage instruction",
                                                   self._missing_reading(f"{MISSING_DOSE} (or mcg/m²/day)")))
        unsure = rest_unknown(self.order, self.facts)
        if unsure is not None:  # the dose fits; the days without infusion before the cycle are not known
            return Verdict(UNKNOWN, tuple(dict.fromkeys(self.evidence + unsure.evidence)), unsure.note, unsure.missing)
        # "Not above", not "within": a dose well below the label meets the criterion (the dose card notes it).
        return self._sized(MET, ordered_note(self.lines, "not above the label schedule", together=self.together),
                           patient)

    def _with_rest_unknown(self, verdict: Verdict) -> Verdict:
        """An unknown dose `verdict` asking too for the full dates the days without infusion before the cycle need
        (`rest.rest_unknown`), when the record does not tell them: asked only once the body size (or a readable
        dose) was documented, they had taken the clinician a second signing to learn of. The dates are a second item
        to document (verdict.ITEMS_JOIN), except in the note alone when the body size was not received from the EHR
        (listed under "not received", they would read as data to wait for) or when the cycle number, unknown by the
        same dates, asks for them already (the summary had counted the one request twice, as "2 items")."""
        unsure = rest_unknown(self.order, self.facts)
        if unsure is None:
            return verdict
        number = self.facts.cycle.number
        asked = number.value is None and number.missing == unsure.missing
        both = verdict.received and not asked
        missing = ITEMS_JOIN.join((verdict.missing, unsure.missing)) if both else verdict.missing
        return verdict._replace(evidence=tuple(dict.fromkeys(verdict.evidence + unsure.evidence)),
                                note=f"{verdict.note}; {unsure.note}", missing=missing)

    def _sized(self, status: Status, note: str, patient: Patient) -> Verdict:
        """A verdict on the label dose with the body size it was read for, as evidence and in the note: the weight
        (the 45 kg boundary), and the BSA when the label dose is per m² or a line is written per m² (the BSA read its
        mcg/day, which the note gives). A pharmacist checks which one applied."""
        body = self.facts.body
        sizes = [body.weight_kg] if patient.weight_kg is not None else []
        # (An unknown weight here is Interfant's: missing_body_size asks for it otherwise.)
        per_m2 = any(line.form is not None and line.form.per_m2 for line in self.lines)
        if patient.bsa_m2 is not None and (per_m2 or dosed_by_bsa(patient.schedule, patient.weight_kg)):
            sizes.append(body.bsa_m2)
        evidence, read_for = self._with_sizes(sizes)
        return Verdict(status, evidence, f"{note} (for {read_for})" if read_for else note)

    def _with_sizes(self, sizes: list[Fact[Decimal]]) -> tuple[tuple[str, ...], str]:
        """The order's evidence with the body sizes', and the sizes' notes as words within a sentence."""
        evidence = tuple(dict.fromkeys(self.evidence + tuple(e for size in sizes for e in size.evidence)))
        return evidence, "; ".join(mid_sentence(size.note) for size in sizes if size.note)

    def _missing_reading(self, otherwise: str) -> str:
        """What to document for lines that cannot be read: their days when that is what is missing; a corrected
        period for a line whose period covers no day or more than a cycle (`missing_period`), beside `otherwise` when
        a dose could not be read too; else `otherwise`."""
        if any(line.unreadable in UNPLACED for line in self.lines):
            return MISSING_DAYS
        periods = missing_period(self.lines)
        doses = any(line.dose_unread for line in self.lines) or any(t.unreadable for t in self.together)
        return f"{otherwise} and {periods}" if periods and doses else periods or otherwise

    def _missing_bsa(self) -> str:
        """What to document to read a dose per m²: a height, or with no weight on record a weight and a height, each
        with the window facts/body.py reads it in (an unknown age: a child's)."""
        adult = _adult(self.facts)
        if self.facts.body.weight_kg.value is not None:
            return _bsa_asked(adult)
        return MISSING_BSA_UNWEIGHED_ADULT if adult else MISSING_BSA_UNWEIGHED

    def _body_size_received(self) -> bool:
        """Whether the weight and BSA the label dose needs were unknown although received (none recorded)."""
        body = self.facts.body
        return all(size.received for size in (body.weight_kg, body.bsa_m2) if size.value is None)

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        over = [line for line in self.lines
                if line.mcg_per_day is not None and above_ceiling(line.mcg_per_day, mcg_per_day)]
        # The plan limits the daily dose: lines running together count as their sum (a lower bound is enough).
        over_together = [t for t in self.together if above_ceiling(t.mcg_per_day, mcg_per_day)]
        if over or over_together:
            note = ordered_note(over, f"above {mcg_text(mcg_per_day)} mcg/day", mcg_per_day, over_together)
            return Verdict(NOT_MET, self.evidence, note)
        unreadable = unreadable_note(self.lines, self.together)
        if unreadable or not self.lines:
            # A BSA only when it is all that is missing: beside a line without a dose it had been asked alone, and
            # the order was unknown again once the BSA was documented.
            missing = self._missing_bsa() if needs_bsa_only(self.lines, self.together) else MISSING_DOSE
            return Verdict(UNKNOWN, self.evidence, unreadable or "no dosage instruction",
                           self._missing_reading(missing))
        note = ordered_note(self.lines, f"at most {mcg_text(mcg_per_day)} mcg/day", mcg_per_day, self.together)
        doses = [line.mcg_per_day for line in self.lines] + [t.mcg_per_day for t in self.together]
        if any(dose is not None and dose > mcg_per_day for dose in doses):
            note += " (above it by less than 0.005 mcg/day: a unit conversion's rounding)"
        return Verdict(MET, self.evidence, note)

    def quantity(self, limit: QuantityLimit) -> Verdict:
        check = self.cycle.quantity(limit)
        evidence = self._cycle_evidence()
        note = _quantity_note(check)
        if check.over:
            return Verdict(NOT_MET, evidence, note)
        if check.unreadable:
            reasons = first_few(check.unreadable[:NAMED + 1], len(check.unreadable), "more")
            return Verdict(UNKNOWN, evidence, "; ".join(reasons), "dispensed quantity in vials or mcg")
        if check.above:  # over the limit of the supply read, a supply not read in days may allow it
            note += f": above it, and a supply longer than {check.window_days} days allows proportionally more"
            return Verdict(UNKNOWN, evidence, note, MISSING_SUPPLY)
        later = self._over_if_continued(limit)
        if later is not None:
            note += (f"; from cycle {limit.continued_from_cycle} on, {_limit_text(later)}: above it if this is cycle "
                     f"{limit.continued_from_cycle} or later")
            return Verdict(UNKNOWN, evidence, note, MISSING_CYCLE, received=self.facts.cycle.number.received)
        return Verdict(MET, evidence, note)

    def _over_if_continued(self, limit: QuantityLimit) -> QuantityCheck | None:
        """The cycle's quantity against the window of the continued cycles (Aspirus II: 84 days from cycle 6 on) when
        the cycle number is not known and it is above it, else None. An unknown number is read against the first
        window (`QuantityLimit.window`), which allows at least as much for any supply (a supply over 42 days scales
        it up): 40 vials for 84 days had met it, 56 allowed, where from cycle 6 on 28 are. Above it beside a supply
        not read in days is no less unknown: 35 vials for 60 days and "2 mo" had met it (1400 mcg for 60 days), where
        from cycle 6 on 28 are for any supply up to 84 days."""
        continued = limit.continued_from_cycle
        if continued is None or self.facts.cycle.number.value is not None:
            return None
        later = check_quantity(self.cycle.orders, limit, continued)
        return later if later.above else None

    def _cycle_evidence(self) -> tuple[str, ...]:
        """The cycle's orders, whose quantities add up: all of them up to NAMED + 2, else the first NAMED + 1 and this
        order (in the Bundle's order), so that each of many orders' answers does not list them all."""
        orders = self.group[:NAMED + 2]
        if len(self.group) > NAMED + 2:
            orders = orders[:NAMED + 1] + ([] if any(o is self.order for o in orders) else [self.order])
        return tuple(map(order_ref, orders))
