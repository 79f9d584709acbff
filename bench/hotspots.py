"""One pyinstrument profile of the in-process path, reduced to the functions where the time goes."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pyinstrument import Profiler
from pyinstrument.frame import Frame

from bench.pipeline import Call

Times = defaultdict[str, float]  # function -> seconds

SAMPLE_INTERVAL_SECONDS = 0.001  # pyinstrument default: finer sampling inflates what it measures


def _name(frame: Frame) -> str:
    return f"{frame.function} ({frame.file_path_short}:{frame.line_no})"


def _walk(frame: Frame, on_path: frozenset[str], self_time: Times, cumulative: Times) -> None:
    for child in frame.children:
        if child.is_synthetic_leaf:  # pyinstrument's "[self]" leaf: time spent in `frame` itself
            self_time[_name(frame)] += child.time
            continue
        name = _name(child)
        if name not in on_path:  # recursion must not count the same time twice
            cumulative[name] += child.time
        _walk(child, on_path | {name}, self_time, cumulative)


def _largest(times: Times) -> list[tuple[str, float]]:
    return sorted(times.items(), key=lambda item: item[1], reverse=True)


def profile(call: Call, body: bytes, calls: int, report: Path, top: int = 15) -> str:
    """Profiles `calls` calls; writes pyinstrument's call tree to `report` and returns the top functions."""
    call(body)  # warm caches outside the profile, as a running server has
    profiler = Profiler(interval=SAMPLE_INTERVAL_SECONDS)
    profiler.start()
    for _ in range(calls):
        call(body)
    session = profiler.stop()
    report.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    self_time: Times = defaultdict(float)
    cumulative: Times = defaultdict(float)
    root = session.root_frame()
    if root is not None:
        _walk(root, frozenset(), self_time, cumulative)
        self_time.pop(_name(root), None)  # the profiling loop itself
    # Shares, not milliseconds: sampling slows the profiled code, but not one part more than another.
    percent = 100 / root.time if root is not None and root.time else 0.0
    project = [(n, t) for n, t in _largest(cumulative) if "cds_service" in n]
    lines = [f"profile of {calls} calls; call tree in {report}", "top self time (% of the profiled time):"]
    lines += [f"  {t * percent:5.1f}%  {n}" for n, t in _largest(self_time)[:top]]
    lines.append("top cumulative time in cds_service (% of the profiled time):")
    lines += [f"  {t * percent:5.1f}%  {n}" for n, t in project[:top]]
    return "\n".join(lines)
