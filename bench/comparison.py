"""Steps 2 and 4: the service, the minimal Flask app and the checks-only app under gunicorn with the same settings,
side by side, then the workers' peak memory."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench import workload
from bench.load import LoadResult, run_load
from bench.machine import CpuTimes
from bench.pipeline import encode
from bench.servers import cpu_seconds, gunicorn, peak_rss_mib, worker_pids

APPS = {
    "service": "cds_service.app:create_app()",
    "minimal": "bench.minimal_app:create_app()",  # the target's baseline
    "checks-only": "bench.checks_only_app:create_app()",  # the contract's request checks, no evaluation
}
WARMUP_SECONDS = 2.0  # the first requests fill each worker's caches
MIB_TO_MB = 1.048576


@dataclass(frozen=True)
class Round:
    """One load run of one app."""

    result: LoadResult
    peaks_mb: list[float]
    cpu_ms_per_request: float
    # The machine's CPU time the hypervisor gave to other machines meanwhile: a round that lost much of it is slow
    # for a reason outside the app (on a shared virtual machine one round in a few loses 10-20 %).
    steal_percent: float


@dataclass
class Comparison:
    results: dict[str, LoadResult] = field(default_factory=dict)  # app name -> medians over the rounds
    rounds: dict[str, list[Round]] = field(default_factory=dict)  # app name -> each round, in order
    worker_peak_mb: dict[str, list[float]] = field(default_factory=dict)  # app name -> per worker, highest seen
    # App name -> median over the rounds of the workers' CPU (all threads, user + system) per answered request: what
    # the app costs, apart from the load generator and the kernel's side of the sockets.
    worker_cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Service throughput as a fraction of the minimal app's (the target)."""
        return self.ratio_to("minimal")

    def ratio_to(self, baseline: str) -> float:
        """Service throughput as a fraction of `baseline`'s."""
        return self.results["service"].requests_per_s / self.results[baseline].requests_per_s

    def spread(self, name: str) -> str:
        """Each round's requests/s, p99, worker CPU and stolen time of app `name`: how far the machine moved under
        the medians."""
        found = self.rounds[name]
        return (f"rounds: {', '.join(f'{r.result.requests_per_s:.0f}' for r in found)} req/s, "
                f"p99 {', '.join(f'{r.result.p99_ms:.1f}' for r in found)} ms, "
                f"worker CPU {', '.join(f'{r.cpu_ms_per_request:.2f}' for r in found)} ms/request, "
                f"stolen {', '.join(f'{r.steal_percent:.0f}' for r in found)} %")


def _median_result(results: list[LoadResult]) -> LoadResult:
    return LoadResult(
        tool=results[0].tool,
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        requests_per_s=statistics.median(r.requests_per_s for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
    )


def _load_one(name: str, folder: Path, body: bytes, seconds: float) -> Round:
    metrics = folder / f"{name}-metrics"  # the README's multiprocess metrics: a folder of its own per server
    metrics.mkdir(exist_ok=True)
    env = {"CDS_DATABASE_URL": f"sqlite:///{folder / f'{name}.db'}", "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    with gunicorn(name, APPS[name], env, body, folder / f"{name}.log") as server:
        run_load(server.url, body, min(WARMUP_SECONDS, seconds), workload.PATIENT_ID)
        workers = worker_pids(server.process.pid)
        cpu_before, machine_before = sum(cpu_seconds(pid) for pid in workers), CpuTimes.now()
        result = run_load(server.url, body, seconds, workload.PATIENT_ID)
        cpu = sum(cpu_seconds(pid) for pid in workers) - cpu_before
        stolen = machine_before.steal_percent_until(CpuTimes.now())
        peaks = [peak_rss_mib(pid) * MIB_TO_MB for pid in workers]
    return Round(result, peaks, cpu * 1000 / max(result.requests, 1), stolen)


def compare(seconds: float, rounds: int, folder: Path) -> Comparison:
    """`rounds` load runs of `seconds` per app, alternating the order of the apps (the machine drifts)."""
    body = encode(workload.order_sign_request())
    by_app: dict[str, list[Round]] = {name: [] for name in APPS}
    for round_number in range(rounds):
        for name in list(APPS) if round_number % 2 == 0 else list(APPS)[::-1]:
            by_app[name].append(_load_one(name, folder, body, seconds))
    return Comparison(
        results={name: _median_result([r.result for r in found]) for name, found in by_app.items()},
        rounds=by_app,
        worker_peak_mb={name: [max(peaks) for peaks in zip(*(r.peaks_mb for r in found))]
                        for name, found in by_app.items()},
        worker_cpu_ms={name: statistics.median(r.cpu_ms_per_request for r in found) for name, found in by_app.items()},
    )
