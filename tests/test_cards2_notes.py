"""A fact's note, shown in the card's detail (and in its summary when it is the reason), says in words what it leaves
unnamed: "(+1 more)" had left the clinician to guess one more of what."""
from __future__ import annotations

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.medications import tki_failure
from tests.factories import condition, medication_request
from tests.test_facts_medications_cases import _active, _note, _orders
from tests.test_facts_toxicity import _toxicity


@pytest.mark.parametrize(("drugs", "ending"), [
    (("cytarabine", "methotrexate"), "cytarabine, methotrexate"),
    (("cytarabine", "methotrexate", "etoposide"), "cytarabine, methotrexate and 1 other"),
    (("cytarabine", "methotrexate", "etoposide", "vincristine"), "cytarabine, methotrexate and 2 others"),
])
def test_other_antineoplastics_left_unnamed_are_counted_in_words(drugs: tuple[str, ...], ending: str) -> None:
    assert _note(*map(_active, drugs)) == f"other antineoplastics active at the start date: {ending}"


def test_tki_stops_left_unnamed_are_counted_in_words() -> None:
    stops = [medication_request(None, text=f"{name} tablet", start="2025-01-01", status="stopped")
             for name in ("dasatinib", "imatinib", "nilotinib", "ponatinib")]
    note = tki_failure(_orders(*stops), True, Attestations()).note
    assert note == ("dasatinib tablet stopped (no reason given); imatinib tablet stopped (no reason given); and 2 "
                    "other TKI stops: not read as intolerance or inadequate response")
    assert "1 other TKI stop:" in tki_failure(_orders(*stops[:3]), True, Attestations()).note


@pytest.mark.parametrize(("count", "ending"), [(3, "G92.04 (2026-01-12)"), (4, "; and 1 other event"),
                                               (5, "; and 2 other events")])
def test_toxicity_events_left_unnamed_are_counted_in_words(count: int, ending: str) -> None:
    note = _toxicity(*[condition("G92.04", recorded=f"2026-01-1{day}") for day in range(count)]).note
    assert note.endswith(ending) and "more)" not in note
