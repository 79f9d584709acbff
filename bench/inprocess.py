"""In-process measurements: latency of the realistic request, and how time grows with the patient's record."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from bench import workload
from bench.pipeline import Call, encode
from bench.stats import Summary, percentile, summarize, time_calls

OBSERVATION_SIZES = (10, 100, 1_000, 5_000)
MEDICATION_SIZES = (10, 100, 1_000)


@dataclass(frozen=True)
class Budget:
    """Bounds of one timing loop."""

    max_calls: int
    max_seconds: float


@dataclass(frozen=True)
class ScalePoint:
    kind: str  # "observations" or "medicationRequests"
    size: int
    median_ms: float
    calls: int
    body_kib: int


def measure_latency(call: Call, body: bytes, budget: Budget) -> Summary:
    cpu_before = time.process_time()
    durations = time_calls(lambda: call(body), budget.max_calls, budget.max_seconds, warmup=0)
    return summarize(durations, time.process_time() - cpu_before)


def _request_body(kind: str, size: int) -> bytes:
    if kind == "observations":
        return encode(workload.order_sign_request(observations=size))
    return encode(workload.order_sign_request(medication_requests=size))


def measure_scaling(call: Call, kind: str, sizes: tuple[int, ...], budget: Budget) -> list[ScalePoint]:
    """Median time per record size; the other list keeps its realistic default size.

    The sizes take turns, one call each per round (the order rotating), so that a slow spell of the machine falls on
    every size alike: the growth exponent compares medians taken over the same stretch of time.
    """
    bodies = [_request_body(kind, size) for size in sizes]
    for body in bodies:
        call(body)  # warm-up: the first call of a size fills caches a warm server already has
    durations: list[list[float]] = [[] for _ in sizes]
    deadline = time.perf_counter() + budget.max_seconds * len(sizes)
    for round_number in range(budget.max_calls):
        if time.perf_counter() >= deadline:
            break
        turn = round_number % len(sizes)
        for index in [*range(turn, len(sizes)), *range(turn)]:
            began = time.perf_counter()
            call(bodies[index])
            durations[index].append(time.perf_counter() - began)
    return [ScalePoint(kind, size, percentile(timed, 0.5) * 1000, len(timed), len(body) // 1024)
            for size, body, timed in zip(sizes, bodies, durations)]


def growth_exponent(points: list[ScalePoint]) -> float:
    """Slope of log(time) against log(size) between the two largest sizes: about 1 is linear, 2 quadratic.

    The largest sizes are used because at small sizes the fixed cost of a call hides how the rest grows.
    """
    small, large = sorted(points, key=lambda p: p.size)[-2:]
    return math.log(large.median_ms / small.median_ms) / math.log(large.size / small.size)
