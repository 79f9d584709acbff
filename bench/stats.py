"""Bounded timing loops and percentiles: every loop stops at a call count or a time budget, whichever comes first."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Summary:
    calls: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    # CPU of the whole process (background threads included) per call: steadier than wall time on a busy machine.
    cpu_ms: float


def percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (fraction 0.5 is the median)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def time_calls(call: Callable[[], object], max_calls: int, max_seconds: float, warmup: int = 3) -> list[float]:
    """Durations in seconds of up to `max_calls` calls, stopping once `max_seconds` have been spent."""
    for _ in range(warmup):
        call()  # first calls fill caches (templates, compiled schemas): not what a warm server pays
    durations: list[float] = []
    deadline = time.perf_counter() + max_seconds
    while len(durations) < max_calls and time.perf_counter() < deadline:
        began = time.perf_counter()
        call()
        durations.append(time.perf_counter() - began)
    return durations


def summarize(durations: list[float], cpu_seconds: float) -> Summary:
    return Summary(
        calls=len(durations),
        p50_ms=percentile(durations, 0.5) * 1000,
        p99_ms=percentile(durations, 0.99) * 1000,
        mean_ms=sum(durations) / len(durations) * 1000,
        cpu_ms=cpu_seconds / len(durations) * 1000,
    )
