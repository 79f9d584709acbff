"""Decision cards: summary, indicator, source, detail, links, override reasons, extension (service-contract.md)."""
from __future__ import annotations

import copy
import random
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import takewhile
from pathlib import Path
from typing import Any

import pytest

from cds_service import cards
from cds_service.cards import DATA_NAMES, decision_card, no_plan_card
from cds_service.label_safety import label_notes
from cds_service.override_reasons import OVERRIDE_REASON_SYSTEM
from cds_service.coverage_info import coverage_information_action
from tests.crd_invariants import check_crd_invariants
from tests.test_pipeline import example, post
from cds_service.decision import CriterionResult, Decision
from cds_service.evaluation import NOT_MET_DECISION
from cds_service.dosing.checks import DoseReading
from cds_service.facts.coverage import OutOfForce, PayerMatch, Primary, Standing
from cds_service.facts.model import BodySize, ClinicalFacts, CycleInfo, Fact, Measured
from cds_service.policies import evaluate_policy, load_policy
from cds_service.record import PREFETCH_KEYS
from cds_service.verdict import Verdict

START = date(2026, 12, 1)
BASE = "https://cds.example.org"
ORDER = {"resourceType": "MedicationRequest", "id": "blin-1", "status": "draft", "intent": "order"}
CHECKED = DoseReading(missing="", above=False)  # the label dose checked, and not above it
BOOLEAN = (True, True, False, None)
DOMAINS: dict[str, tuple[Any, ...]] = {
    "age_years": (0, 10, 15, 30, 31, 40, None),
    "therapy_phase": ("induction", "consolidation", "maintenance", "relapsed-refractory", None),
    "combination": ("single-agent", "single-agent", "with-tki", "with-ino-mini-hyper-cvd", "alternating-with-pomp",
                    "with-interfant", "with-multiagent-chemo", None),
    "end_of_consolidation_response": ("complete", "less-than-complete", None),
    "remission_number": (1, 2, 3, None),
    "mrd_percent": (Measured(Decimal("0.5")), Measured(Decimal("0.01"), "<"), Measured(None, positive=True), None),
    **{name: BOOLEAN for name in (
        "all_diagnosis", "lymphoblastic_lymphoma", "b_lineage", "infant_all", "complete_response_to_induction",
        "induction_ino_mini_hyper_cvd", "ph_positive", "mrd_detectable", "mrd_persistent_or_rising",
        "mrd_unavailable", "cd19_positive", "tki_failure", "multiagent_chemo_candidate",
        "response_or_stabilization", "prior_authorization_on_file", "compendia_supported_use")},
    "live_vaccine_in_window": (False, False, False, True, None),
    "unacceptable_toxicity": (False, False, True, None),
}


class Answers:
    """Test double of DoseChecks answering every check with one status."""

    def __init__(self, status: str) -> None:
        self.verdict = Verdict(status, ("MedicationRequest/blin-1",), missing="current weight")

    def schedule(self, schedule: str) -> Verdict:
        return self.verdict

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        return self.verdict

    def quantity(self, limit: Any) -> Verdict:
        return self.verdict


def facts(cycle: int | None = 1, **values: Any) -> ClinicalFacts:
    info = CycleInfo(number=Fact(cycle), start=START, course_start=START, cycle_starts=(START,))
    years = values.get("age_years")
    values.setdefault("age_months", None if years is None else years * 12 + 6)
    evidenced = {k: Fact(v, evidence=(f"Condition/{k}",) if v is not None else (), note=f"{k} recorded")
                 for k, v in values.items()}
    return ClinicalFacts(start_date=START, cycle=info, body=BodySize(), **evidenced)


def random_cases(count: int) -> list[tuple[Decision, ClinicalFacts]]:
    rng = random.Random(20261201)
    cases = []
    for n in range(count):
        values = {name: rng.choice(domain) for name, domain in DOMAINS.items()}
        case_facts = facts(cycle=rng.choice((1, 2, 5, 6, 7, 10, None)), **values)
        policy = load_policy(("aspirus-magellan", "florida-blue")[n % 2])
        doses = Answers(rng.choice(("met", "met", "met", "not-met", "unknown")))
        cases.append((evaluate_policy(policy, case_facts, doses, Fact(rng.random() < 0.2)), case_facts))
    return cases


CASES = random_cases(600)


def test_the_random_cases_cover_every_decision_of_both_policies() -> None:
    seen = {(d.policy_id, d.decision) for d, _ in CASES}
    assert len(seen) == 6
    assert any(d.critical for d, _ in CASES)


def test_every_summary_is_short_and_names_the_payer() -> None:
    for decision, case_facts in CASES:
        card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
        assert 0 < len(card["summary"]) < 140, card["summary"]
        assert f"{decision.payer_label}:" in card["summary"]  # after the label's word, when there is one
        assert "\n" not in card["summary"]


def test_every_card_has_the_contract_shape() -> None:
    for decision, case_facts in CASES:
        card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
        expected = {"meets-criteria": "info", "information-needed": "warning", "criteria-not-met": "warning"}
        if any(note.summary for note in label_notes(decision, case_facts, CHECKED)):
            # The label's word on a grade 4 toxicity or a live vaccine in the summary: critical whatever the payer.
            expected = dict.fromkeys(expected, "critical")
        assert card["indicator"] == ("critical" if decision.critical else expected[decision.decision])
        assert card["source"]["topic"] == {"system": "http://terminology.hl7.org/CodeSystem/cdshooks-card-type",
                                           "code": "coverage-info", "display": "Coverage Information"}
        assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": "MedicationRequest/blin-1"}]
        assert card["extension"]["coverage-decision"]["decision"] == decision.decision
        assert ("overrideReasons" in card) == (decision.decision == "criteria-not-met")
        labels = [link["label"] for link in card["links"]]
        assert ("Attestation questionnaire" in labels) == (decision.decision == "information-needed")
        assert all(link["type"] == "absolute" for link in card["links"])


def test_every_coverage_action_satisfies_the_crd_invariants() -> None:
    for decision, _ in CASES:
        for unsolicited in (True, False):
            action = coverage_information_action(ORDER, decision, "Coverage/c1", "a-1", START,
                                                 f"{BASE}/fhir/Questionnaire/q", unsolicited)
            assert check_crd_invariants(action["resource"]["extension"][-1]) == []


def pick(kind: str, policy: str = "aspirus-magellan") -> tuple[Decision, ClinicalFacts]:
    """A random case of `kind` under `policy`, neither critical nor with a label note (those change the card)."""
    return next((d, f) for d, f in CASES if d.decision == kind and d.policy_id == policy and not d.critical
                and not label_notes(d, f, CHECKED))


def test_met_card_gives_the_indication_and_authorization_end() -> None:
    decision, case_facts = pick("meets-criteria")
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
    assert f"meets criteria ({decision.indication_title})" in card["summary"]
    assert decision.authorization["end"] in card["summary"]
    assert "Indication met" in card["detail"]


def test_information_needed_card_lists_what_to_document_with_citations_and_evidence() -> None:
    decision, case_facts = pick("information-needed")
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
    assert card["summary"].endswith("to confirm coverage")
    assert all(item in card["detail"] for item in decision.missing)
    assert "**document:**" in card["detail"]
    assert "❓ unknown" in card["detail"]
    shown = [c for c in decision.criteria if c.status == "met" and c.evidence]
    assert all(c.citation in card["detail"] for c in decision.criteria)
    assert all(c.evidence[0].replace("_", "\\_") in card["detail"] for c in shown)
    assert f"{BASE}/fhir/Questionnaire/blinatumomab-coverage-attestation" in card["detail"]


@pytest.mark.parametrize("items", [1, 2])
def test_an_item_too_long_for_the_summary_is_cut_between_words_and_the_summary_ends_whole(items: int) -> None:
    """Cut at the limit, it had ended "to confirm c…"."""
    decision, case_facts = pick("information-needed")
    long_item = "Ph status, use with a TKI or alone, induction regimen or candidacy for multi-agent chemotherapy " * 2
    others = [f"item {n}" for n in range(items - 1)]
    unknown = [c for c in decision.criteria if c.status == "unknown"][:items]
    assert len(unknown) == items
    wanted = [long_item, *others]
    shown = [c._replace(missing=wanted[unknown.index(c)]) if c in unknown else c for c in decision.criteria]
    card = decision_card(replace(decision, criteria=shown, missing=wanted), case_facts, ORDER, BASE, CHECKED)
    assert len(card["summary"]) < 140 and card["summary"].endswith("to confirm coverage")
    assert ("… and 1 more item to confirm" if items == 2 else "… to confirm") in card["summary"]


def test_live_vaccine_card_is_critical_and_says_why() -> None:
    decision, case_facts = next((d, f) for d, f in CASES if d.critical)
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
    assert card["indicator"] == "critical"
    assert "not covered — live vaccine too close to treatment" in card["summary"]
    # Not "proceeding, the plan may not pay": the card's word is to wait, not about who pays.
    assert [r["code"] for r in card["overrideReasons"]] == ["criteria-met-documentation-to-follow",
                                                            "plan-exception-requested"]


def test_override_reasons_name_one_system_whatever_the_base_url() -> None:
    """Built from the public base URL, the system differed between environments, and so did feedback's codes."""
    decision, case_facts = next((d, f) for d, f in CASES if d.critical)
    systems = {reason["system"] for base in (BASE, "http://127.0.0.1:18101")
               for reason in decision_card(decision, case_facts, ORDER, base, CHECKED)["overrideReasons"]}
    assert systems == {OVERRIDE_REASON_SYSTEM}


@pytest.mark.parametrize(("vaccine", "ending"), [
    ("MMRV ProQuad live vaccine", "(MMRV ProQuad live vaccine dated 2026-11-24)"),
    ("measles, mumps, rubella and varicella virus vaccine live",
     "(measles, mumps, rubella and varicella virus… dated 2026-11-24)"),
])
def test_a_long_vaccine_note_is_shortened_by_clauses_never_cut_in_a_date(vaccine: str, ending: str) -> None:
    decision, case_facts = next((d, f) for d, f in CASES if d.critical)
    note = f"{vaccine} dated 2026-11-24; window between 2026-11-17 and 2026-12-29"
    criteria = [c._replace(note=note) if c.critical else c for c in decision.criteria]
    card = decision_card(replace(decision, criteria=criteria), case_facts, ORDER, BASE, CHECKED)
    assert card["summary"].endswith(ending) and len(card["summary"]) < 140


def test_attested_facts_and_data_not_received_are_shown() -> None:
    decision, case_facts = pick("information-needed", "florida-blue")
    case_facts = ClinicalFacts(start_date=START, cycle=case_facts.cycle, body=BodySize(),
                               attested_items=("therapy-phase", "combination"), not_received=("immunizations",))
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
    assert ("Attested by the prescriber (attestation questionnaire): therapy phase of this blinatumomab course; "
            "how blinatumomab is used in this order.") in card["detail"]
    assert "Data not received (no criterion was left unknown by it): immunizations." in card["detail"]


def test_record_text_cannot_inject_markdown() -> None:
    decision, case_facts = pick("meets-criteria")
    note = "[click](http://evil.example) *bold*"
    criteria = [c._replace(note=note) for c in decision.criteria]
    decision = replace(decision, criteria=criteria)
    detail = decision_card(decision, case_facts, ORDER, BASE, CHECKED)["detail"]
    assert "[click](http" not in detail
    assert "\\[click\\]" in detail


def test_cards_dir_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "decision.j2").write_text("{% set summary %}{{ d.payer_label }}: custom{% endset %}custom detail")
    monkeypatch.setenv("CDS_CARDS_DIR", str(tmp_path))
    decision, case_facts = pick("meets-criteria")
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
    assert (card["summary"], card["detail"]) == ("Aspirus Health Plan: custom", "custom detail")


def test_no_plan_card_is_info_from_the_service() -> None:
    card = no_plan_card(ORDER, pick("meets-criteria")[1], CHECKED)
    assert card["indicator"] == "info"
    assert card["source"]["label"] == "Blinatumomab coverage check"
    assert card["summary"] == "No supported health plan found: coverage not checked"
    assert "The dose is still checked against the label" in card["detail"]
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": "MedicationRequest/blin-1"}]


def test_every_prefetch_key_has_a_name_for_the_card() -> None:
    """A key added to the prefetch templates is named in clinicians' words when not received, not by its key."""
    assert set(DATA_NAMES) == set(PREFETCH_KEYS)


def test_no_plan_card_says_when_the_coverage_was_not_received() -> None:
    case_facts = pick("meets-criteria")[1]
    card = no_plan_card(ORDER, case_facts, CHECKED, not_received="coverage")
    assert card["indicator"] == "info"
    assert card["summary"] == "Coverage data not received: health plan unknown, coverage not checked"
    assert "The EHR did not send the patient's insurance coverage" in card["detail"]
    assert "prefetch `coverage` was not answered" in card["detail"]
    assert "still checked against the label" in card["detail"]
    payer = no_plan_card(ORDER, case_facts, CHECKED, not_received="payer")
    assert payer["summary"] == "Payer data not received: health plan unknown, coverage not checked"


def test_no_plan_card_names_a_supported_plan_out_of_force_after_the_label_word() -> None:
    """The Coverage's end and the order's start after the label's word, cut between words if need be."""
    facts = pick("meets-criteria")[1]
    lapsed = OutOfForce(PayerMatch("florida-blue", "Coverage/f"), date(2026, 1, 1), date(2026, 11, 30))
    card = no_plan_card(ORDER, facts, DoseReading(missing="current weight", above=False), coverage="Coverage/f",
                        out_of_force=lapsed)
    # The label's word in short: in full, it left the outcome cut in its middle.
    assert card["summary"] == ("Dose not checked: no current weight — Florida Blue coverage ends 2026-11-30, before "
                               "this order starts (2026-12-01): coverage not checked")
    assert len(card["summary"]) < 140
    assert "(Coverage/f, 2026-01-01 to 2026-11-30)" in card["detail"]


def test_a_coverage_ending_mid_cycle_gives_way_in_the_summary_after_the_indication_and_before_the_label() -> None:
    """The indication's name gives way first, then the coverage's end (the detail says it still), never cut in the
    middle; the label's word before it stays."""
    decision, case_facts = pick("meets-criteria")
    coverage = Standing("Coverage/c1", date(2026, 1, 1), date(2026, 12, 15))
    which = "order of 9 mcg/day on days 1–7"
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED, which=which, coverage=coverage,
                         last_day=date(2026, 12, 28))
    assert card["summary"] == ("Aspirus Health Plan: meets criteria, approved to 2027-05-18; coverage ends 2026-12-15, "
                               f"mid-cycle — {which}")
    card = decision_card(decision, case_facts, ORDER, BASE, DoseReading(missing="current weight", above=False),
                         coverage=coverage, last_day=date(2026, 12, 28))
    assert card["summary"] == ("Dose not checked against the label: no current weight — Aspirus Health Plan: meets "
                               "criteria, approved to 2027-05-18")
    assert "(Coverage/c1, 2026-01-01 to 2026-12-15)" in card["detail"]
    # Ending on the last infusion day, or before the start (no plan decides then): nothing said.
    for end in (date(2026, 12, 28), date(2026, 11, 30)):
        card = decision_card(decision, case_facts, ORDER, BASE, CHECKED, coverage=coverage._replace(end=end),
                             last_day=date(2026, 12, 28))
        assert "mid-cycle" not in card["summary"] + card["detail"]


def test_an_authorization_ending_before_the_cycles_last_infusion_day_is_said() -> None:
    """A course-anchored period can end as a late cycle starts: the approval names the infusion's last day in its
    summary (given up before the label's word) and the detail says the later days are outside the authorization."""
    decision, case_facts = pick("meets-criteria")
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED, last_day=date(2027, 6, 1))
    assert card["summary"] == ("Aspirus Health Plan: meets criteria (pediatric MRD-positive ALL), approved to "
                               "2027-05-18; infusion runs to 2027-06-01")
    assert "**Authorization ends mid-cycle:** the authorization ends 2027-05-18, before this cycle's last infusion " \
        "day, 2027-06-01. The days after 2027-05-18 are outside it" in card["detail"]
    preview = decision_card(decision, case_facts, ORDER, BASE, CHECKED, determination=False, last_day=date(2027, 6, 1))
    assert "infusion runs" not in preview["summary"] and "the authorization would end 2027-05-18" in preview["detail"]
    for last_day in (date(2027, 5, 18), None):
        card = decision_card(decision, case_facts, ORDER, BASE, CHECKED, last_day=last_day)
        assert "infusion runs" not in card["summary"] and "Authorization ends" not in card["detail"]
    not_met, not_met_facts = pick("criteria-not-met")
    card = decision_card(not_met, not_met_facts, ORDER, BASE, CHECKED, last_day=date(2099, 1, 1))
    assert "Authorization ends" not in card["detail"]


def test_a_secondary_coverage_card_fits_its_reason_to_the_room_the_words_take() -> None:
    """"(secondary coverage)" after the payer is counted in the room left for a not-met reason or a documentation
    request; after a label's word that leaves no room, it gives way (the detail says it). The summary is never cut
    where the same card of a primary coverage is not."""
    secondary = Standing("Coverage/c2", None, None, 2, True, Primary("Coverage/c1", 1, None))
    for decision, case_facts in CASES:
        primary = decision_card(decision, case_facts, ORDER, BASE, CHECKED)["summary"]
        card = decision_card(decision, case_facts, ORDER, BASE, CHECKED, coverage=secondary)
        summary = card["summary"]
        assert len(summary) < 140 and (not summary.endswith("…") or primary.endswith("…")), summary
        if not label_notes(decision, case_facts, CHECKED):  # no label's word before the payer
            assert summary.startswith(f"{decision.payer_label} (secondary coverage): "), summary
        assert ("(Coverage/c2); the primary coverage (Coverage/c1: a plan this service does not check), pays "
                "first") in " ".join(card["detail"].split())


def test_a_met_card_lists_no_other_routes_and_counts_one_cycle_in_the_singular() -> None:
    decision, case_facts = pick("meets-criteria")
    one_cycle = replace(decision, authorization={"start": "2026-12-01", "end": "2026-12-29", "cycles": 1})
    card = decision_card(one_cycle, case_facts, ORDER, BASE, CHECKED)
    assert "Other indications still possible" not in card["detail"]
    assert "(1 cycle)." in card["detail"]


def test_information_needed_leads_with_the_failure_of_an_otherwise_met_indication() -> None:
    """Clinical criteria met but the dose (or a limit) fails, while another route lacks data: fixing the order is
    the shorter way, so the summary says that first and asks for the documentation as the other way."""
    class DoseAbove(Answers):  # a flat dose on days 1-7: above the relapsed/refractory step, fine for the others
        def schedule(self, schedule: str) -> Verdict:
            status = "not-met" if schedule == "relapsed-refractory" else "met"
            return Verdict(status, ("MedicationRequest/blin-1",), note="15 mcg/m²/day on days 1-7")

    case_facts = facts(age_years=10, all_diagnosis=True, b_lineage=True, therapy_phase="relapsed-refractory",
                       combination="single-agent", live_vaccine_in_window=False, unacceptable_toxicity=False)
    decision = evaluate_policy(load_policy("aspirus-magellan"), case_facts, DoseAbove("met"), Fact(False))
    assert (decision.decision, decision.indication) == ("information-needed", "pediatric-relapsed-refractory")
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
    failing = decision.not_met_criteria()[0]
    assert card["summary"].startswith(f"{decision.payer_label}: not covered as ordered — meets "
                                      f"{decision.indication_title} except {failing.summary or failing.text}")
    assert len(card["summary"]) < 140
    # The heading says what the summary says, not only "more documentation needed".
    assert card["detail"].startswith(f"**{decision.payer_label}: not covered as ordered, or documentation for another "
                                     "indication**")
    # What to document belongs to other indications: the detail says so, instead of listing it as this one's.
    assert "**What to document for another indication of the policy**" in card["detail"]
    assert "- MRD result" in card["detail"]


def test_a_not_met_card_heads_its_detail_with_the_summary_words() -> None:
    """The clinician's review: the summary said "not covered", the detail's heading "criteria not met"."""
    decision, case_facts = pick("criteria-not-met")
    card = decision_card(decision, case_facts, ORDER, BASE, CHECKED)
    heading = card["detail"].split("\n", 1)[0]
    said = "not covered as ordered" if "not covered as ordered" in card["summary"] else "not covered"
    assert f"{decision.payer_label}: not covered" in card["summary"]
    assert heading.startswith(f"**{decision.payer_label}: {said}**")


@pytest.mark.parametrize("full_order_vials", [None, 28])
def test_orders_signed_together_are_told_apart_in_their_summaries(client: Any, full_order_vials: int | None) -> None:
    """The clinician's review: a step dose written as two orders gave two cards with the same summary; and again
    when they were not covered (28 vials on each: over the cycle's limit), the reason having taken the room."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    entries = body["context"]["draftOrders"]["entry"]
    step = entries[0]["resource"]
    full = {**step, "id": "blin-full", "dosageInstruction": step["dosageInstruction"][1:]}
    full.pop("dispenseRequest", None)  # the cycle's vials on the first order only: within the quantity limit
    if full_order_vials:
        full["dispenseRequest"] = copy.deepcopy(step["dispenseRequest"])
        full["dispenseRequest"]["quantity"]["value"] = full_order_vials
    step["dosageInstruction"] = step["dosageInstruction"][:1]
    entries.append({"resource": full})
    answer = post(client, body)
    summaries = [c["summary"] for c in answer["cards"] if "coverage-decision" in c["extension"]]
    assert len(summaries) == 2 and len(set(summaries)) == 2, summaries
    assert summaries[0].endswith("— order of 9 mcg/day on days 1–7")
    assert summaries[1].endswith("— order of 28 mcg/day on days 8–28")
    assert all(("not covered as ordered — more than 28 vials" in s) is bool(full_order_vials) for s in summaries)
    alone = post(client, example("aspirus-adult-relapsed-refractory-cycle1"))["cards"][0]["summary"]
    assert "order of" not in alone


def test_the_questionnaire_is_offered_only_for_what_it_asks_about(client: Any) -> None:
    """The clinician's review: it was offered when only a weight was missing, which it cannot record."""
    from tests.test_label_safety import _without_weight

    offer = "What the record cannot show can be answered in the [attestation questionnaire]"
    weight = post(client, _without_weight(example("aspirus-adult-relapsed-refractory-cycle1")))["cards"][0]
    assert weight["extension"]["coverage-decision"]["decision"] == "information-needed"
    assert offer not in weight["detail"]
    assert "Attestation questionnaire" in [link["label"] for link in weight["links"]]  # the contract's link stays
    mrd = post(client, example("aspirus-consolidation-mrd-missing"))["cards"][0]
    assert mrd["extension"]["coverage-decision"]["decision"] == "information-needed" and offer in mrd["detail"]


def test_an_order_failing_on_dose_and_quantity_names_the_dose() -> None:
    """The clinician's second review: a duplicate order's card led with "more than 28 vials" rather than the doubled
    dose."""
    decision, case_facts = pick("criteria-not-met")
    dose = CriterionResult("adult.dose", "not-met", "Aspirus V", "Daily dose per the label", kind="dose",
                           summary="dose above the label schedule")
    quantity = CriterionResult("quantity", "not-met", "Aspirus II", "At most 28 vials", kind="quantity",
                               summary="more than 28 vials (980 mcg) per cycle")
    met = [c for c in decision.criteria if c.status == "met"]
    card = decision_card(replace(decision, criteria=[quantity, *met, dose]), case_facts, ORDER, BASE, CHECKED)
    assert "not covered as ordered" in card["summary"] and "dose above the label schedule" in card["summary"]
    assert "vials" not in card["summary"]


def test_a_card_not_met_names_every_other_pathway_and_what_failed_it(client: Any) -> None:
    """An MRD-negative Ph+ adult in consolidation without a TKI fails the MRD-positive pathway on its MRD and the
    MRD-negative one on its use: the card shows the second, which the chart follows further (its MRD), and lists the
    first with its failure; every other pathway
    with its first clinical failure, those failing on the same finding in one line (the four pediatric and infant
    pathways on the age), so a pharmacist verifies the denial from the card."""
    body = example("aspirus-adult-consolidation-mrd-negative-ph-positive-tki")
    body["prefetch"]["medicationRequests"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    [card] = post(client, body)["cards"]
    assert card["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    detail = card["detail"]
    after = detail[detail.index("**Other indications, not met**"):].splitlines()[1:]
    listed = list(takewhile(lambda line: line.startswith("- "), (line for line in after if line.strip())))
    assert [line.split(": ❌")[0] for line in listed] == [
        "- adult consolidation, MRD positive", "- adult consolidation, MRD unavailable", "- adult maintenance",
        "- adult relapsed/refractory ALL",
        "- pediatric MRD-positive ALL; pediatric less than CR after consolidation, Ph+; pediatric "
        "relapsed/refractory ALL; infant ALL with an Interfant regimen"]
    assert listed[0].count("❌") == 1 and "MRD positive" in listed[0] and "MRD negative (" in listed[0]
    # A pathway failing clinically is not charged with this order's dose (its step dose is not this course's).
    assert listed[3].endswith("❌ Relapsed or refractory disease (_Aspirus III (ALL, adult), relapsed or refractory_): "
                              "therapy phase of this blinatumomab course: consolidation (answered 2026-11-25) "
                              "(evidence: QuestionnaireResponse/attestation-1)")
    # The evidence, as for the criteria above: a pharmacist checks each denial against the resource it rests on.
    assert listed[4].endswith("(_Aspirus III (ALL, pediatric) and its AYA note_): born 1980-05-10 (evidence: "
                              "Patient/example-patient)")
    assert "**Closest indication: adult consolidation, MRD negative**" in detail  # the one shown is not listed again
    assert "requires Ph+ with TKI" in card["summary"]


def test_a_met_card_lists_no_pathway_not_met(client: Any) -> None:
    [card] = post(client, example("aspirus-adult-maintenance"))["cards"]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert "Other indications, not met" not in card["detail"]


def test_a_lymphoma_without_the_compendia_answer_is_named_with_the_route_left_open(client: Any) -> None:
    """Florida Blue, lymphoblastic lymphoma, no answer about another labeled or NCCN use: the B-ALL criterion names
    the lymphoma on record beside "ALL diagnosis", and indication 2 says it was not answered, not that the record
    lacks something (the card asked for an ALL diagnosis only)."""
    body = example("florida-blue-other-compendia-lymphoblastic-lymphoma")
    body["prefetch"]["attestations"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    [card] = post(client, body)["cards"]
    detail = card["detail"]
    assert "no ALL diagnosis in the record; lymphoblastic lymphoma on record (C83.5" in detail
    # What to document, and so the summary, asks for an ALL diagnosis only if there is one (clinical review).
    assert card["summary"].startswith("Florida Blue: document ALL diagnosis, if ALL (lymphoblastic lymphoma on record)")
    position_2 = next(line for line in detail.splitlines() if line.startswith("- other FDA-labeled or NCCN 1/2A use"))
    assert position_2.endswith("(_Florida Blue Position 2.a_): FDA-labeled or NCCN category 1/2A use: not answered in "
                               "the attestation questionnaire")  # the question in short: the criterion says it whole
    # What to document names what indication 2 would need, answerable in the questionnaire: the card pointed only to
    # indication 1's B-ALL evidence.
    others = detail.split("Other indications of the policy would need:")[1].split("\n\n")[1]
    assert "- whether this is an FDA-labeled or NCCN category 1/2A use" in others.splitlines()
    assert "can be answered in the [attestation questionnaire]" in detail


_ICANS = Fact(True, ("Condition/icans-1",), note="grade 4-5 CRS or ICANS since the course start: ICANS grade 4")
_EARLIER = Fact((date(2025, 3, 6),), ("Condition/icans-2025",), note="grade 4-5 CRS or ICANS before this course")
_VACCINE = Fact(True, ("Immunization/mmr-1",), note="MMR dated 2026-11-24")
_LABEL_FINDINGS: tuple[dict[str, Any], ...] = (
    {}, {"unacceptable_toxicity": _ICANS}, {"severe_toxicity_before_course": _EARLIER},
    {"live_vaccine_in_window": _VACCINE}, {"unacceptable_toxicity": _ICANS, "live_vaccine_in_window": _VACCINE},
    {"severe_toxicity_before_course": _EARLIER, "live_vaccine_in_window": _VACCINE})
_WHICH = ("", "order of 9 mcg/day on days 1–7", "cycle 2 order of 28 mcg/day on days 1–28",
          "cycle from 2026-12-01 order of 9 mcg/day on days 1–7; 28 mcg/day on days 8–28; …")
_STANDINGS = (None, Standing("Coverage/c1", date(2026, 1, 1), date(2026, 12, 15)),
              Standing("Coverage/c2", None, None, 2, True, Primary("Coverage/c1", 1, None)),
              Standing("Coverage/c2", date(2026, 1, 1), date(2026, 12, 15), 2, True, Primary("Coverage/c1", 1, None)))


def _uncut(*arguments: Any) -> str:
    """The decision card's summary composed with room for every part whole: what a fitted summary's parts came
    from (its reason with the chart's finding or the indication, its list of what to document in full)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cards, "SUMMARY_LIMIT", 10_000)
        summary: str = decision_card(*arguments)["summary"]
        return summary


def _words_cut(summary: str, full: str) -> list[str]:
    """The words `summary` cuts in their middle: before each of its ellipses, its last words (up to three) found in
    the `full` text only where a letter or a digit follows them. Each is found there: the summary adds no words."""
    cut = []
    for at in (at for at, character in enumerate(summary) if character == "…"):
        words = " ".join(summary[:at].split(" ")[-3:])
        ends = [found.end() for found in re.finditer(re.escape(words), full)]
        assert ends, (words, full)
        if all(full[end:end + 1].isalnum() for end in ends):
            cut.append(words)
    return cut


def test_words_cut_compares_with_the_full_text() -> None:
    """The check itself: "(not…" is a whole word of "(not renewable)", "renew…" is not, nor "ALL…" of
    "ALLERGY"."""
    full = "Florida Blue: not covered — more than 5 maintenance cycles (not renewable); ALLERGY"
    assert _words_cut("Florida Blue: not covered — more than 5 maintenance cycles (not…", full) == []
    assert _words_cut("Florida Blue: not covered — more than 5 maintenance cycles (not renew…", full) == [
        "cycles (not renew"]
    assert _words_cut("cycles (not renewable); ALL…", full) == ["(not renewable); ALL"]


def test_a_crowded_summary_gives_up_whole_parts_and_keeps_the_label_word_and_the_outcome() -> None:
    """The label's word, a payer, a secondary coverage ending mid-cycle and orders signed together: the room left
    for the outcome had gone negative, and the summary was cut in its middle ("Florida Blue:…", "document …"). Each
    optional part is there whole or not at all, the label's word (in short if need be) and the outcome always."""
    rng = random.Random(20261215)
    outcomes = {"meets-criteria": ": meets criteria", "criteria-not-met": ": not covered",
                "information-needed": ": "}
    for decision, case_facts in rng.sample(CASES, 150):
        for findings in _LABEL_FINDINGS:
            crowded = replace(case_facts, **findings)
            which, coverage = rng.choice(_WHICH), rng.choice(_STANDINGS)
            dose = rng.choice((CHECKED, DoseReading(missing="current weight", above=False)))
            arguments = (decision, crowded, ORDER, BASE, dose, rng.random() < 0.8, which, coverage, date(2026, 12, 28))
            summary = decision_card(*arguments)["summary"]
            assert len(summary) < 140, summary
            body = summary.removesuffix(f" — {which}") if which else summary
            # No cut at the limit; a not-met reason (a criterion's text) longer than the room left by the label's word
            # is the one part still cut, between words, after "not covered — ".
            assert not body.endswith("…") or " — requires " in body or ": not covered — " in body, summary
            if "…" in body:
                assert _words_cut(body, _uncut(*arguments)) == [], summary
            named = [n for n in label_notes(decision, crowded, dose) if n.summary]
            assert not named or summary.startswith((named[0].summary, named[0].short)), summary
            assert f"{decision.payer_label}{outcomes[decision.decision]}" in summary or (
                f"{decision.payer_label} (secondary coverage){outcomes[decision.decision]}" in summary), summary
            title = decision.indication_title or "none"
            for part, whole in (("coverage ends", "; coverage ends 2026-12-15, mid-cycle"),
                                ("(secondary", " (secondary coverage)"), ("order of", f" — {which}"),
                                (f" ({title[:12]}", f" ({title})")):
                assert part not in summary or whole in summary, (part, summary)


@pytest.mark.parametrize(("summary", "kept"), [
    ("more than 5 maintenance cycles (not renewable)", "more than 5 maintenance cycles"),
    ("more than one Interfant cycle (not renewable)", "more than one Interfant cycle"),
])
def test_a_reason_too_long_under_the_label_word_gives_up_its_aside_whole(summary: str, kept: str) -> None:
    """A grade 4 ICANS and a live vaccine before a not-met reason: even with the label's word in short, the reason
    with its aside did not fit and was cut in it ("(not…"). It gives up its aside, whole (the detail says the
    criterion in full), and so leaves room for both label notes in short."""
    decision, case_facts = next((d, f) for d, f in CASES if d.decision == NOT_MET_DECISION
                                and d.not_met_criteria()[0].summary == summary)
    crowded = replace(case_facts, unacceptable_toxicity=_ICANS, live_vaccine_in_window=_VACCINE)
    card = decision_card(decision, crowded, ORDER, BASE, CHECKED)
    assert card["summary"] == ("Grade 4 CRS/ICANS: discontinue permanently; Live vaccine near treatment — "
                               f"Aspirus Health Plan: not covered — {kept}")
    assert decision.not_met_criteria()[0].text in card["detail"]
