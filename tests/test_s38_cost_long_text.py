"""Worst-case cost of a long dosage text (the contract caps the body, 10 MB, not a text), counted in the Python calls
a request makes, not timed (bench/ measures speed), through HTTP."""
from __future__ import annotations

import threading
from typing import Any

from tests.live_server import LiveClient
from tests.test_pipeline import example, post


def _with_text(doses: int) -> dict[str, Any]:
    """A line above the label (28 mcg/day from day 1) whose text states its dose and its days `doses` times."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    [line] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    line["text"] = "28 ug/d days 1-28, " * doses
    return body


def _calls(client: LiveClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The Python calls (and generator steps) the request's server thread made, and its answer."""
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        calls += event == "call"

    threading.setprofile(profile)  # the threads started from now: the server's for this request
    try:
        answer = post(client, body)
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]  # None removes it, as the standard library documents
    return calls, answer


def test_a_long_dosage_text_costs_in_proportion_to_its_length(client: LiveClient) -> None:
    """Each dose a text states was looked for in each of its day numbers (the decision card's Order line, the
    corrected text): quadratic, a megabyte of text held a worker 30 s (minutes for a line the dose check corrects,
    its text rebuilt for each dose), past gunicorn's 30 s timeout. The work grows as the text does."""
    post(client, _with_text(50))  # what a first request reads once (imports, memos) not counted
    calls = {doses: _calls(client, _with_text(doses)) for doses in (50, 200, 800)}
    assert any(card["summary"].startswith("Dose above label") for card in calls[800][1]["cards"])  # corrected
    # 600 doses more than 200 cost about 4 times what 150 more than 50 do (16 times, were a step quadratic).
    assert calls[800][0] - calls[200][0] < 6 * (calls[200][0] - calls[50][0])


def test_a_split_line_whose_text_runs_on_in_spaces_is_answered(client: LiveClient) -> None:
    """The last-infusion-day note a split line's text may hold was looked for from each of its characters, each
    look walking the spaces after it: quadratic, a text of 100,000 spaces held a worker 33 s (200,000: past the
    client's hang guard, live_server.REQUEST_GUARD_SECONDS; no timed assertion here)."""
    body = _with_text(0)
    [line] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    line["text"] = "28 ug/d" + " " * 200_000
    answer = post(client, body)
    suggested = [action["resource"] for card in answer["cards"] for suggestion in card.get("suggestions", [])
                 for action in suggestion["actions"] if "resource" in action]
    assert suggested and suggested[0]["dosageInstruction"][0]["text"].startswith("9 ug/d")  # split, its dose restated
