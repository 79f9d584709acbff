"""Text from the patient's record or the client is shown as written on every card: CDS Hooks card detail is
GitHub-flavoured Markdown the EHR renders, so a link, emphasis, a heading or a table cell in it must stay text
(cards/README.md). The short texts (summary, suggestion label) are plain text: shown as written, unescaped."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.card_text import Markdown, markdown_text, plain_text

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
URL = "/cds-services/blinatumomab-coverage"
# An EHR string that would otherwise be a link, bold text, and a heading on a line of its own.
INJECTED = "[click](https://evil.example) **now**\n# Heading"
ESCAPED = r"\[click\](https://evil.example) \*\*now\*\* \# Heading"


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EXAMPLES / f"{name}.json").read_text()))


def post(client: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["cards"]


def card_of(cards: list[dict[str, Any]], topic: str) -> dict[str, Any]:
    return next(card for card in cards if card["source"]["topic"]["code"] == topic)


def test_a_vaccine_name_asked_about_is_text_in_what_to_document(client: Any) -> None:
    """A live vaccine whose date cannot place it: the card asks for "the date <vaccine> was given", the vaccine named
    as the EHR calls it (facts/immunizations.py)."""
    body = example("aspirus-live-vaccine-critical")
    [mmr] = [e["resource"] for e in body["prefetch"]["immunizations"]["entry"]]
    del mmr["occurrenceDateTime"]
    mmr["occurrenceString"] = "last week"
    mmr["vaccineCode"]["text"] = INJECTED
    card = card_of(post(client, body), "coverage-info")
    assert f"the date {INJECTED} was given" in card["extension"]["coverage-decision"]["missing"]
    assert f"- the date {ESCAPED} was given" in card["detail"]
    assert "[click](" not in card["detail"] and "\n# Heading" not in card["detail"]


def test_a_unit_quoted_on_the_unreadable_dose_card_is_text(client: Any) -> None:
    body = example("aspirus-live-vaccine-critical")
    rate = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][1]["doseAndRate"][0]
    rate["rateQuantity"] = {"value": 28, "unit": "ug/d | *x* |"}
    card = card_of(post(client, body), "off-guideline")
    assert card["summary"] == "Dose not checked: dosage line 2 could not be read; write the dose in mcg/day"
    assert r"- Line 2: unknown unit 'ug/d \| \*x\* \|'" in card["detail"]


def test_the_order_answered_is_text_its_fhir_id_unchanged(client: Any) -> None:
    """An id has only the characters FHIR allows (letters, digits, '-' and '.'): printed as it is; the order's
    dosage text beside it is free text."""
    body = example("aspirus-live-vaccine-critical")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["id"] = "1.-blin"
    order["dosageInstruction"][0]["text"] = "9 ug/d <b>IV</b> _step_"
    card = card_of(post(client, body), "coverage-info")
    assert r"Order: 9 mcg/day \<b\>IV\</b\> \_step\_; 28 mcg/day" in card["detail"]
    assert "(MedicationRequest/1.-blin)\n" in card["detail"]


def test_a_note_from_the_record_is_text(client: Any) -> None:
    """The criterion's note names the vaccine as recorded; the summary, plain text, names it as written."""
    body = example("aspirus-live-vaccine-critical")
    [mmr] = [e["resource"] for e in body["prefetch"]["immunizations"]["entry"]]
    mmr["vaccineCode"]["text"] = "MMR *live*\n# x"
    card = card_of(post(client, body), "coverage-info")
    assert r"; MMR \*live\* \# x dated 2026-11-24; window between" in card["detail"]
    assert card["summary"].endswith("(MMR *live* # x dated 2026-11-24; start on or after 2026-12-09)")


@pytest.mark.parametrize(("text", "shown"), [
    ("Aspirus Health Plan", "Aspirus Health Plan"),
    ("MedicationRequest/b.2-x", "MedicationRequest/b.2-x"),
    ("28.5", "28.5"),
    ("| cell | `code` ~~gone~~ <br> a\\b", r"\| cell \| \`code\` \~\~gone\~\~ \<br\> a\\b"),
    ("- not a list", r"\- not a list"),
    ("  + nor this", r"  \+ nor this"),
    ("1. nor a numbered one", r"1\. nor a numbered one"),
    ("2) either", r"2\) either"),
    ("line\r\n## two", r"line \#\# two"),
    (Markdown("**the service's own**"), "**the service's own**"),
    (3, "3"),
    (-1, "-1"),
    (True, "True"),
])
def test_markdown_text_escapes_what_markdown_would_read(text: Any, shown: str) -> None:
    assert markdown_text(text) == shown


@pytest.mark.parametrize("text", ["- a *b* [c](d) \\ e", "1. x", "#x|y", "plain"])
def test_plain_text_undoes_markdown_text(text: str) -> None:
    assert plain_text(markdown_text(text)) == text
