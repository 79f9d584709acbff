"""A payer policy as loaded from its file (docs/policy-reading.md): indications, criteria with their compiled tests,
authorization lengths and renewals (policy-rules.md §4), all data: no payer is known in code.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, Iterator, Mapping, NamedTuple

from cds_service.evaluation import INITIAL
from cds_service.dosing.api import QuantityLimit
from cds_service.facts.codes import add_months
from cds_service.facts.model import ATTESTED_BY, WINDOWS
from cds_service.policies.vocabulary import Test


# --------------------------------------------------------------------------------------------------------------
# The policy as loaded
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriterionSpec:
    id: str
    kind: str
    text: str
    citation: str
    missing: str
    test: Mapping[str, Any]
    summary: str = ""
    critical: bool = False
    from_cycle: int | None = None  # applies only from this cycle number on (renewal criteria)
    uses_schedule: bool = False  # the outcome depends on the indication's label schedule (compiled into `run`)
    result_id: str = ""  # the id its results carry: "<indication>.<criterion>", or the criterion id at policy level
    askable: bool = False  # it reads a fact the attestation Questionnaire asks about (facts/model.ATTESTED_BY)
    # The test compiled (compile_test): one function for every criterion of the policy with the same test (and label
    # schedule, for a dose schedule test), whose outcome an evaluation memoizes (vocabulary.Context).
    run: Test = field(kw_only=True, compare=False, repr=False)


@dataclass(frozen=True)
class AuthorizationSpec:
    anchor: str  # "course" (Aspirus) or "order" (Florida Blue)
    weeks: int = 0
    months: int = 0
    years: int = 0
    cycles: int | None = None
    citation: str = ""  # the policy's section on the length of authorization (policy file `authorization_citation`)

    def end(self, start: date) -> date:
        """The end of an authorization of this length from `start` (policy-rules.md §4): its calendar months, then
        its weeks. Months of none leave the day as it is (add_months is not called)."""
        return add_months(start, self._months) + self._weeks if self._months else start + self._weeks

    # The length as `end` adds it, worked out once: every met decision computes the end of its period.
    @cached_property
    def _months(self) -> int:
        return self.months + 12 * self.years

    @cached_property
    def _weeks(self) -> timedelta:
        return timedelta(weeks=self.weeks)


@dataclass(frozen=True)
class RenewalSpec:
    from_cycle: int
    cycles_per_renewal: int
    weeks: int

    @cached_property
    def authorization(self) -> AuthorizationSpec:
        """The length of a renewal's authorization, anchored at its first cycle."""
        return AuthorizationSpec("course", weeks=self.weeks)


@dataclass(frozen=True)
class IndicationSpec:
    id: str
    title: str
    citation: str
    authorization: AuthorizationSpec
    criteria: tuple[CriterionSpec, ...]
    label_schedule: str | None = None
    request: str = INITIAL
    renewal: RenewalSpec | None = None
    exclusive_when: str | None = None  # id of a criterion: when met, this is the only indication evaluated
    shown_last: bool = False  # a catch-all, not-met by default: never the closest while another indication can be


# Criteria in policy order with their compiled tests (`run`), in the same order: the engine looks their outcomes up
# by map, with no Python loop.
Criteria = tuple[tuple[CriterionSpec, ...], tuple[Test, ...]]


class Stage(NamedTuple):
    """What an evaluation reads of the policy for an order's cycle: the policy-level criteria that apply, and each
    indication with its criteria that apply, those gated by `exclusive_when` apart from the others (each in policy
    order)."""

    universal: Criteria
    gated: tuple[tuple[IndicationSpec, Criteria], ...]
    ungated: tuple[tuple[IndicationSpec, Criteria], ...]


class ByCycle:
    """The criteria that apply to an order's cycle: a renewal criterion from its `from_cycle` on, every one when the
    cycle is unknown. Worked out when the policy loads for each span of cycles between the `from_cycle` numbers of
    the policy, so an evaluation picks one Stage instead of filtering the criteria of every indication it reads."""

    def __init__(self, universal: tuple[CriterionSpec, ...], indications: tuple[IndicationSpec, ...]) -> None:
        every = (*universal, *(c for i in indications for c in i.criteria))
        self.starts = tuple(sorted({c.from_cycle for c in every if c.from_cycle is not None}))
        self.every = _stage(universal, indications, self.starts)
        # stages[k]: the criteria of a cycle with k of the starts at or below it (bisect_right).
        self.stages = tuple(_stage(universal, indications, self.starts[:k]) for k in range(len(self.starts) + 1))

    def of(self, cycle: int | None) -> Stage:
        """The criteria of `cycle`, with their compiled tests."""
        return self.every if cycle is None else self.stages[bisect_right(self.starts, cycle)]


def _stage(universal: tuple[CriterionSpec, ...], indications: tuple[IndicationSpec, ...],
           starts: tuple[int, ...]) -> Stage:
    """The criteria that apply from `starts` on (those without a from_cycle, and those from one of them)."""
    def applying(criteria: tuple[CriterionSpec, ...]) -> Criteria:
        picked = tuple(c for c in criteria if c.from_cycle is None or c.from_cycle in starts)
        return picked, tuple(c.run for c in picked)
    return Stage(applying(universal), tuple((i, applying(i.criteria)) for i in indications if i.exclusive_when),
                 tuple((i, applying(i.criteria)) for i in indications if not i.exclusive_when))


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    title: str
    payer_label: str
    url: str
    universal: tuple[CriterionSpec, ...]
    indications: tuple[IndicationSpec, ...] = field(default_factory=tuple)
    # Which file this is, for the audit trail (set by load_policy): the sha256 of its bytes (first 16 hex digits),
    # and "shipped" or "CDS_POLICY_DIR". The `version` is the file's own word, which an edit need not change.
    digest: str = ""
    source: str = ""

    @cached_property
    def by_cycle(self) -> ByCycle:
        return ByCycle(self.universal, self.indications)

    @cached_property
    def quantity_limit(self) -> QuantityLimit | None:
        """The per-cycle quantity limit of the policy (Aspirus II), for the quantity card: at most one, at policy
        level (loading.py); None when it has none."""
        spec = next((c for c in self.universal if "quantity" in c.test), None)
        return QuantityLimit(**spec.test["quantity"], citation=spec.citation) if spec else None

    @cached_property
    def dose_ceiling(self) -> Decimal | None:
        """The fixed daily maximum of the policy (Florida Blue: 28 mcg/day), for the plan-limit card: one value, at
        policy level or in every indication (loading.py); None when none."""
        spec = self._ceiling_spec
        return Decimal(str(spec.test["mcg_per_day"])) if spec else None

    def dose_ceiling_citation(self, indication: str | None) -> str:
        """The policy's section setting that maximum for `indication` (the decision's shown one), which the
        plan-limit card cites: Florida Blue sets it in each route ("Position 1.d", "Position 2.b", "continuation 3");
        the policy's first when the indication has none of its own; "" when none."""
        own = (c for i in self.indications if i.id == indication for c in i.criteria)
        spec = next((c for c in (*self.universal, *own) if c.test.get("dose") == "ceiling"), self._ceiling_spec)
        return spec.citation if spec else ""

    @cached_property
    def _ceiling_spec(self) -> CriterionSpec | None:
        specs = (*self.universal, *(c for i in self.indications for c in i.criteria))
        return next((c for c in specs if c.test.get("dose") == "ceiling"), None)

    @cached_property
    def limits_said(self) -> tuple[str, ...]:
        """Its plan limits in a few words, for the discovery document: "28 vials per cycle", "28 mcg/day"."""
        said = [f"{self.quantity_limit.vials} vials per cycle"] if self.quantity_limit else []
        return (*said, f"{self.dose_ceiling} mcg/day") if self.dose_ceiling is not None else tuple(said)

    @cached_property
    def windows(self) -> tuple[tuple[str, dict[str, int]], ...]:
        """The windowed facts its tests read (facts/model.py WINDOWS), each with the numbers a test gives, each pair
        once: a fact read twice with the same numbers (Florida Blue's gate) is one window."""
        specs = [*self.universal, *(c for i in self.indications for c in i.criteria)]
        read = [(t["fact"], {key: t[key] for key in WINDOWS[t["fact"]]})
                for spec in specs for t in fact_tests(spec.test) if t["fact"] in WINDOWS]
        return tuple(window for i, window in enumerate(read) if window not in read[:i])

    @cached_property
    def attestable_windows(self) -> tuple[tuple[str, dict[str, int], str], ...]:
        """The `windows` an attestation can decide (facts/model.py ATTESTED_BY), each with that attestation item:
        picked once, not for every decision (`attested_items`)."""
        return tuple((name, numbers, ATTESTED_BY[name]) for name, numbers in self.windows if name in ATTESTED_BY)

    @cached_property
    def counts_cycles(self) -> bool:
        """Whether its authorizations are counted in cycles (an indication's `cycles`, a renewal by cycles): only
        then does the cycle number the record gives an order bear on its authorization. Florida Blue's are periods
        from the order's start: a continuation whose earlier cycles are not on record is a renewal in "cycle 1"."""
        return any(i.authorization.cycles is not None or i.renewal is not None for i in self.indications)

    @cached_property
    def reads_prior_approval(self) -> bool:
        """Whether a criterion asks the audit trail for a prior approval: only then is the database queried."""
        specs = [*self.universal, *(c for i in self.indications for c in i.criteria)]
        return any(mentions(spec.test, "fact", "prior_approval") for spec in specs)


def fact_tests(test: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The fact tests of a test, those nested in any/all included."""
    if "fact" in test:
        yield test
    for sub in (*test.get("any", ()), *test.get("all", ())):
        yield from fact_tests(sub)


def mentions(test: Any, key: str, value: str) -> bool:
    """Whether a test, or any test nested in it, has `key = value` (fact = "prior_approval", dose = "schedule")."""
    if isinstance(test, Mapping):
        return test.get(key) == value or any(mentions(v, key, value) for v in test.values())
    if isinstance(test, (list, tuple)):
        return any(mentions(v, key, value) for v in test)
    return False
