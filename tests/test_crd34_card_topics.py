"""Every card's `source.topic` is a Coding of the CDS Hooks card-type code system (HL7 THO) with that code system's
own display for its code (CDS Hooks 2.0 Coding; an EHR validating against THO refuses another display), and the
service's own kind of card is in the card's `card-kind` extension, which the topic used to carry as its display."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from cds_service.dosing.rest_card import rest_card
from tests.test_crd_examples import NAMES
from tests.test_dosing_cycle_end import card as days_checked, checks_of
from tests.test_dosing_cycle_end import with_40_vials
from tests.test_dosing_rest import cycle_2
from tests.test_dosing_support import line, order, rate
from tests.test_duplicate_orders import with_copies
from tests.test_examples import _card_kind
from tests.test_order_spans_cycles import spanning
from tests.test_pipeline import example, post, with_configuration

CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
# The code system's concepts and displays, copied from HL7 THO (CodeSystem cdshooks-card-type 1.0.0), not from the
# service: the test holds the cards to the code system, not to themselves.
THO_DISPLAYS = {
    "coverage-info": "Coverage Information", "unsolicited-determ": "Unsolicited Determination", "claim": "Claim",
    "insurance": "Insurance", "limits": "Limits", "network": "Network", "appropriate-use": "Appropriate Use",
    "cost": "Cost", "therapy-alternatives-opt": "Optional Therapy Alternatives",
    "therapy-alternatives-req": "Required Therapy Alternatives", "clinical-reminder": "Clinical Reminder",
    "duplicate-therapy": "Duplicate Therapy", "contraindication": "Contraindication", "guideline": "Guideline",
    "off-guideline": "Off Guideline",
}
# Each kind of card the service sends, and the topic code it is sent under (what a client turns off with it).
KIND_TOPICS = {
    "decision": "coverage-info", "no-plan": "coverage-info", "evaluation-failed": "coverage-info",
    "order-unidentified": "coverage-info", "dose": "off-guideline", "infusion-days": "off-guideline",
    "dose-and-infusion-days": "off-guideline", "duplicate-order": "off-guideline", "order-per-cycle": "off-guideline",
    "plan-dose-limit": "limits", "quantity-limit": "limits",
}


# What test_examples.py makes of a card from its machine-readable parts, and the kind the card says it is.
EXAMPLE_KINDS = {"decision": "decision", "no-plan": "no-plan", "quantity": "quantity-limit",
                 "above-plan-limit": "plan-dose-limit"}


def assert_typed(card: dict[str, Any]) -> None:
    topic = card["source"]["topic"]
    assert topic.keys() == {"system", "code", "display"}, topic
    assert topic["system"] == CARD_TYPES
    assert topic["display"] == THO_DISPLAYS[topic["code"]], topic
    kind = kind_of(card)
    assert kind is not None and KIND_TOPICS[kind] == topic["code"], (kind, topic)
    # CDS Hooks 2.0: selectionBehavior with suggestions, and only then (CRD's cards without suggestions have none).
    assert ("selectionBehavior" in card) == bool(card.get("suggestions")), card.get("selectionBehavior")


@pytest.mark.parametrize("name", NAMES)
def test_every_card_of_every_example_has_the_code_systems_display_and_its_kind(client: Any, name: str) -> None:
    body = example(name)
    drafted = body["context"]["draftOrders"]["entry"][0]["resource"]
    for card in post(client, body)["cards"]:
        assert_typed(card)
        assert kind_of(card) == EXAMPLE_KINDS.get(_card_kind(card, drafted), "dose")


# Requests whose cards the examples do not hold: a duplicate pair, an order spanning two cycles, an order past its
# cycle's 28th infusion day with more vials than the plan allows.
MORE = {
    "duplicate-order": lambda: with_copies("florida-blue-consolidation", "copy"),
    "order-per-cycle": spanning,
    "infusion-days": lambda: with_40_vials("aspirus-adult-relapsed-refractory-cycle1"),
    "quantity-limit": lambda: with_40_vials("aspirus-adult-relapsed-refractory-cycle1"),
}


@pytest.mark.parametrize("kind", sorted(MORE))
def test_the_cards_the_examples_lack_have_the_code_systems_display_too(client: Any, kind: str) -> None:
    cards = post(client, MORE[kind]())["cards"]
    assert kind in [kind_of(card) for card in cards]
    for card in cards:
        assert_typed(card)


def test_the_dose_card_ending_the_days_too_and_the_rest_card_are_typed() -> None:
    combined = days_checked(checks_of(order(line(rate(28), "2026-12-01", "2027-01-04", sequence=1))))
    rest = rest_card(cycle_2(2).order, "Plan", cycle_2(2), "standard")
    assert combined is not None and rest is not None
    assert (kind_of(combined), kind_of(rest)) == ("dose-and-infusion-days", "infusion-days")
    assert_typed(combined)
    assert_typed(rest)


def test_a_fault_card_and_its_kind(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("cds_service.pipeline.extract_facts", fail)
    [card] = post(client, example("aspirus-adult-maintenance"))["cards"]
    assert kind_of(card) == "evaluation-failed"
    assert_typed(card)


@pytest.mark.parametrize("kind", sorted(MORE))
@pytest.mark.parametrize("topic", ["off-guideline", "limits"])
def test_a_topic_turned_off_takes_every_kind_under_it_and_no_other(client: Any, kind: str, topic: str) -> None:
    """CRD: a server SHALL behave as the client configures it; the option is the topic's code, whatever the kind. (A
    duplicate's cards are told once only beside its card: with dose cards off, each order keeps its own.)"""
    kept = {kind_of(card) for card in post(client, with_configuration(MORE[kind](), **{topic: False}))["cards"]}
    every = {kind_of(card) for card in post(client, MORE[kind]())["cards"]}
    assert kept == {k for k in every if k is None or KIND_TOPICS[k] != topic}
    assert kind in every and (kind in kept) == (KIND_TOPICS[kind] != topic)
