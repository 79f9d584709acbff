"""The ObservationIndex shared by the lab and body readers: record order, one classification per distinct code,
shape checks only for what a reader selects, and no crash on malformed entries."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.observations import ObservationIndex, code_key, trusted
from cds_service.valuesets import Memo

LOINC = "http://loinc.org"


def obs(oid: str, code: Any, status: str = "final", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": status, "code": code, **extra}


def loinc(code: str, text: str = "") -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": LOINC, "code": code}]}
    if text:
        concept["text"] = text
    return concept


class Counting:
    """A classifier keeping the LOINC codes it was asked about."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.wanted_text = ""
        self.seen: list[Any] = []

    def __call__(self, code: Any) -> str:
        self.seen.append(code)
        if self.wanted_text and isinstance(code, dict) and code.get("text") == self.wanted_text:
            return "text"
        codings = code.get("coding") if isinstance(code, dict) else None
        found = codings[0].get("code") if isinstance(codings, list) and codings else None
        return found if found in self.wanted else ""


def test_selected_observations_come_in_record_order_with_their_kind() -> None:
    index = ObservationIndex([obs("a", loinc("1")), obs("b", loinc("2")), obs("c", loinc("1")), obs("d", loinc("3"))])
    picked = index.select(Counting({"1", "3"}))
    assert [(o["id"], kind) for o, kind in picked] == [("a", "1"), ("c", "1"), ("d", "3")]


def test_each_distinct_code_is_classified_once_and_a_memo_carries_over() -> None:
    observations = [obs(str(i), loinc(str(i % 3))) for i in range(30)]
    classify = Counting({"0"})
    assert len(ObservationIndex(observations).select(classify)) == 10
    assert len(classify.seen) == 3
    memo, first, second = Memo(), Counting({"0"}), Counting({"0"})
    ObservationIndex(observations).select(first, memo)
    assert len(ObservationIndex(observations).select(second, memo)) == 10
    assert len(first.seen) == 3 and second.seen == []


def test_only_usable_dict_observations_are_indexed() -> None:
    index = ObservationIndex([obs("p", loinc("1"), status="preliminary"), obs("l", loinc("1"), status=["final"]),
                              {"resourceType": "Condition", "status": "final", "code": loinc("1")}, "junk", None,
                              obs("ok", loinc("1"), status="amended")])
    assert [o["id"] for o, _ in index.select(Counting({"1"}))] == ["ok"]
    assert index.received and not ObservationIndex(None).received


@pytest.mark.parametrize(("status", "read"), [
    ("final", True), ("amended", True), ("corrected", True), ("preliminary", False), ("registered", False),
    ("cancelled", False), ("entered-in-error", False), ("unknown", False),
])
def test_observations_are_read_when_final_amended_or_corrected(status: str, read: bool) -> None:
    """fhir-data-profile.md §General rules: a corrected MRD or weight must count, a preliminary one not."""
    index = ObservationIndex([obs("o", loinc("1"), status=status)])
    assert bool(index.select(Counting({"1"}))) is read


def test_malformed_selected_observations_are_dropped_and_checked_once() -> None:
    checked: list[str] = []

    def check(observation: dict[str, Any]) -> bool:
        checked.append(observation["id"])
        return observation.get("valueQuantity") != "high"

    index = ObservationIndex([obs("good", loinc("1")), obs("bad", loinc("1"), valueQuantity="high"),
                              obs("unread", loinc("2"), valueQuantity="high")], check=check)
    assert [o["id"] for o, _ in index.select(Counting({"1"}))] == ["good"]
    index.select(Counting({"1"}))
    assert checked == ["good", "bad"]  # "unread" is never selected, so never checked


def test_an_observation_without_a_status_is_unreadable_not_passed_over() -> None:
    """FHIR requires a status: one left out (or null) may be a final result, so it is no result a reader reads and no
    result to pass over either (unreadable.py); a preliminary one is passed over."""
    missing, null = obs("missing", loinc("1")), obs("null", loinc("1"), status=None)  # type: ignore[arg-type]
    del missing["status"]
    index = ObservationIndex([missing, null, obs("p", loinc("1"), status="preliminary"), obs("ok", loinc("1"))])
    assert [o["id"] for o, _ in index.select(Counting({"1"}))] == ["ok"]
    assert [o["id"] for o in index.unreadable()] == ["missing", "null"]


def test_the_default_check_is_the_shape_check() -> None:
    index = ObservationIndex([obs("bad", loinc("1"), valueQuantity={"value": "high"}), obs("good", loinc("1"))])
    assert [o["id"] for o, _ in index.select(Counting({"1"}))] == ["good"]


def test_codes_are_keyed_by_their_json_text_equal_ones_classified_once_across_evaluations() -> None:
    weird = {"text": "MRD", "system": ["not", "a", "string"]}  # well-formed: a concept's own system is not read
    memo = Memo()
    index = ObservationIndex([obs("w1", weird), obs("w2", dict(weird)), obs("n", loinc("1"))])
    classify = Counting({"1"})
    classify.wanted_text = "MRD"
    assert [o["id"] for o, _ in index.select(classify, memo)] == ["w1", "w2", "n"]
    assert len(classify.seen) == 2
    assert len(ObservationIndex([obs("w3", dict(weird))]).select(classify, memo)) == 1 and len(classify.seen) == 2


def test_codes_orjson_cannot_write_are_keyed_by_what_classification_reads() -> None:
    # An integer beyond 64 bits (the standard library's parser reads one): where classification does not read it,
    # equal codes share a code_key; where the key holds a list, it does not hash: classified every time, not kept.
    big = {"coding": [{"system": LOINC, "code": "1", "version": 2**70}]}
    unhashable = {"text": "MRD", "system": ["not", 2**70]}
    memo = Memo()
    index = ObservationIndex([obs("b1", big), obs("u1", unhashable), obs("b2", big), obs("u2", unhashable)])
    classify = Counting({"1"})
    classify.wanted_text = "MRD"
    assert [o["id"] for o, _ in index.select(classify, memo)] == ["b1", "u1", "b2", "u2"]
    assert len(classify.seen) == 3  # one shared key, two unhashable ones
    assert len(ObservationIndex([obs("u3", unhashable)]).select(classify, memo)) == 1 and len(classify.seen) == 4


def test_code_keys_tell_apart_what_classification_reads() -> None:
    assert code_key(loinc("1", "x")) != code_key(loinc("1", "y"))
    assert code_key({"display": "MRD"}) != code_key({"code": None, "display": "MRD"})
    assert code_key({"coding": [], "text": "a"}) != code_key({"text": "a", "code": "a"})
    assert code_key(7) == code_key(None) == ()
    one, other = {"system": LOINC, "code": "1"}, {"system": LOINC, "code": "2"}
    assert code_key({"coding": [one, other]}) != code_key({"coding": [one]}) != code_key({"coding": [other]})
    assert code_key({"coding": [one, "junk"]}) == code_key({"coding": [one]})  # non-dict codings are never read


def test_a_memo_answers_many_keys_at_once_computing_only_the_missing() -> None:
    memo, computed = Memo(), list[str]()  # Memo.get_each, as ObservationIndex.select asks
    with_unhashable: list[Any] = ["c", ["a list"]]

    def compute(arg: str) -> str:
        computed.append(arg)
        return arg.upper()

    assert memo.get_each(["a", "b"], compute, ["a", "b"]) == ["A", "B"]
    assert memo.get_each(["b", "c", "a"], compute, ["b", "c", "a"]) == ["B", "C", "A"] and computed == ["a", "b", "c"]
    assert memo.get_each(with_unhashable, compute, ["c", "d"]) == ["C", "D"] and computed[3:] == ["d"]


def test_a_code_sent_alternately_in_two_variants_is_grouped_without_mixing_them() -> None:
    plain, named = loinc("1"), loinc("1", "Hemoglobin")
    index = ObservationIndex([obs(str(i), plain if i % 2 else named) for i in range(6)])
    classify = Counting(set())
    classify.wanted_text = "Hemoglobin"
    assert [o["id"] for o, _ in index.select(classify)] == ["0", "2", "4"]


def test_codes_nested_too_deep_to_write_are_classified_each() -> None:
    def code() -> dict[str, Any]:  # equal, but nested beyond what orjson writes: keyed by a code_key that cannot hash
        deep: Any = "x"
        for _ in range(5000):
            deep = [deep]
        return {"coding": [{"system": LOINC, "code": "1"}], "text": deep}

    classify = Counting({"1"})
    index = trusted([obs("a", code()), obs("b", code()), obs("c", code())])
    assert [o["id"] for o, _ in index.select(classify)] == ["a", "b", "c"]
    assert len(classify.seen) == 3


def test_readers_sharing_a_classification_classify_once_and_keep_their_own_kinds() -> None:
    index = ObservationIndex([obs("a", loinc("1")), obs("b", loinc("2")), obs("c", loinc("1")), obs("d", loinc("3"))])
    classify = Counting({"1", "2"})
    assert [o["id"] for o, _ in index.select(classify, keep="1".__eq__)] == ["a", "c"]
    assert [o["id"] for o, _ in index.select(classify, keep="2".__eq__)] == ["b"]
    assert [o["id"] for o, _ in index.select(classify)] == ["a", "b", "c"]
    assert len(classify.seen) == 3
