"""How fast this machine runs plain Python just now: a fixed loop, timed at the start and at the end of a run.

The targets are absolute (milliseconds on a 2-core machine), but machines of that size differ, and a virtual
machine's speed drifts with its neighbours' load (within one hour here, this loop's time has varied by half). The
loop's time puts a run's figures in proportion: on a machine where it takes 1.5 times as long, so does each call.
`CpuTimes` says how much of a stretch of time the hypervisor gave to other machines (steal).
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

ITERATIONS = 500_000
REPEATS = 5


def _loop() -> int:
    """Integer sums and dict stores: the interpreter's everyday work, with no library and no allocation to speak of."""
    total = 0
    table: dict[int, int] = {}
    for number in range(ITERATIONS):
        total += number
        table[number & 1023] = total
    return total + len(table)


def reference_loop_ms() -> float:
    """Median over REPEATS runs of the loop, in milliseconds."""
    durations = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        _loop()
        durations.append(time.perf_counter() - began)
    return statistics.median(durations) * 1000


def interpreter() -> str:
    """The Python that runs the benchmark and the servers, e.g. "CPython 3.11.2, /usr/bin/python3.11".

    Builds of one version differ: a distribution's python3, built with profile-guided and link-time optimisation,
    ran this service's calls in about a quarter less time than a default pyenv build on the same machine.
    """
    return f"{platform.python_implementation()} {platform.python_version()}, {os.path.realpath(sys.executable)}"


class CpuTimes(NamedTuple):
    """The whole machine's CPU time so far, all cores, in clock ticks (the first line of /proc/stat)."""

    steal: int  # time the hypervisor ran other machines while this one had work
    total: int

    @classmethod
    def now(cls) -> CpuTimes:
        # cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
        ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return cls(ticks[7], sum(ticks))

    def steal_percent_until(self, later: CpuTimes) -> float:
        """The share of the time between this reading and `later` stolen by the hypervisor, in percent."""
        elapsed = later.total - self.total
        return 100.0 * (later.steal - self.steal) / elapsed if elapsed > 0 else 0.0
