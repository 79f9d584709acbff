"""Benchmarks: in-process latency, HTTP throughput against a minimal Flask app, growth with the record, memory.

    .venv/bin/python bench/run.py            # full run, about three minutes (`make bench`)
    .venv/bin/python bench/run.py --quick    # a fast pass over every step (numbers are rough)
    .venv/bin/python bench/run.py --no-http --profile 300   # plus a pyinstrument profile

Traffic goes only to 127.0.0.1; every loop is bounded in count and time. Results are printed and written as JSON to
bench/results/. See docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `bench` importable

from bench import comparison, hotspots, inprocess, machine, targets, workload  # noqa: E402
from bench.inprocess import Budget, ScalePoint  # noqa: E402
from bench.load import CONNECTIONS  # noqa: E402
from bench.pipeline import PIPELINES, Call, describe, encode  # noqa: E402
from bench.stats import Summary  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
WARMUP_CALLS = 3


@dataclass(frozen=True)
class Plan:
    """How long each step may take; --quick shrinks everything."""

    latency: Budget
    scaling: Budget
    load_seconds: float
    rounds: int
    observation_sizes: tuple[int, ...] = inprocess.OBSERVATION_SIZES
    medication_sizes: tuple[int, ...] = inprocess.MEDICATION_SIZES


@dataclass
class Report:
    pipeline: str = ""
    commit: str = ""  # `git describe --always --dirty` of the code measured ("" outside a git checkout)
    interpreter: str = ""  # bench/machine.interpreter(): the venv's Python, which the gunicorn servers run too
    answer: str = ""
    resources: int = 0
    latency: Summary | None = None
    scaling: list[ScalePoint] = field(default_factory=list)
    http: comparison.Comparison | None = None
    targets: list[targets.Target] = field(default_factory=list)
    # 1-minute load average at the start and the end: above the core count, other work skewed the numbers.
    load_average: list[float] = field(default_factory=list)
    # bench/machine.py's loop at the start and the end: how fast the machine ran plain Python meanwhile.
    reference_loop_ms: list[float] = field(default_factory=list)


def code_version() -> str:
    try:
        found = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True,
                               timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return found.stdout.strip() if found.returncode == 0 else ""


def make_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(Budget(50, 1.0), Budget(2, 0.5), args.load_seconds or 2.0, 1)
    return Plan(Budget(3000, 10.0), Budget(30, 4.0), args.load_seconds or 10.0, max(1, min(args.rounds, 10)))


def run_inprocess(report: Report, plan: Plan, call: Call) -> None:
    """Steps 1 and 3: the realistic request's latency, then the growth with Observations and MedicationRequests."""
    request = workload.order_sign_request()
    body = encode(request)
    report.resources = workload.resource_count(request)
    for _ in range(WARMUP_CALLS):  # first calls fill caches (templates, compiled schemas), as in a warm server
        report.answer = describe(call(body))
    print(f"in-process, {report.pipeline} path, realistic request ({report.resources} prefetch resources, "
          f"{len(body) // 1024} KiB): {report.answer}")
    report.latency = inprocess.measure_latency(call, body, plan.latency)
    print(f"  p50 {report.latency.p50_ms:.3f} ms  p99 {report.latency.p99_ms:.3f} ms  "
          f"CPU {report.latency.cpu_ms:.3f} ms per call  ({report.latency.calls} calls)")
    report.scaling = inprocess.measure_scaling(call, "observations", plan.observation_sizes, plan.scaling)
    report.scaling += inprocess.measure_scaling(call, "medicationRequests", plan.medication_sizes, plan.scaling)
    print("growth with the record (median per request):")
    for point in report.scaling:
        print(f"  {point.kind:>18} {point.size:>6}: {point.median_ms:9.3f} ms  ({point.body_kib} KiB, {point.calls} calls)")


def run_http(report: Report, plan: Plan, folder: Path) -> None:
    """Steps 2 and 4: the service against the two baseline apps over HTTP, and the workers' peak memory."""
    report.http = http = comparison.compare(plan.load_seconds, plan.rounds, folder)
    print(f"HTTP, gunicorn 2 sync workers, {CONNECTIONS} connections, {plan.load_seconds:g} s x {plan.rounds} round(s):")
    for name, result in http.results.items():
        print(f"  {name:>11}: {result.requests_per_s:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
              f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}  ({result.tool})  "
              f"worker CPU {http.worker_cpu_ms[name]:.2f} ms/request  "
              f"worker peak RSS {', '.join(f'{mb:.0f}' for mb in http.worker_peak_mb[name])} MB")
        print(f"  {'':>11}  {http.spread(name)}")
    print(f"  throughput ratio service/minimal: {http.ratio:.2f} (the target); "
          f"service/checks-only: {http.ratio_to('checks-only'):.2f}")


def judge(report: Report) -> list[targets.Target]:
    found = []
    if report.latency:
        found.append(targets.Target("in-process p50, realistic request", report.latency.p50_ms,
                                    targets.INPROCESS_P50_MS, "ms"))
    for kind in ("observations", "medicationRequests"):
        points = [p for p in report.scaling if p.kind == kind]
        if len(points) >= 2:
            found.append(targets.Target(f"growth exponent, {kind}", inprocess.growth_exponent(points),
                                        targets.GROWTH_EXPONENT, ""))
    largest = [p for p in report.scaling if p.kind == "observations" and p.size == 5_000]
    if largest:
        found.append(targets.Target("5,000 Observations", largest[0].median_ms, targets.OBSERVATIONS_5000_MS, "ms"))
    if report.http:
        service = report.http.results["service"]
        found += [
            targets.Target("HTTP throughput / minimal app", report.http.ratio, targets.THROUGHPUT_RATIO, "",
                           at_least=True),
            targets.Target("HTTP p99, service", service.p99_ms, targets.HTTP_P99_MS, "ms"),
            targets.Target("HTTP errors, service", service.errors, 0, ""),
            targets.Target("worker peak RSS (VmHWM)", max(report.http.worker_peak_mb["service"], default=0.0),
                           targets.WORKER_PEAK_MB, "MB"),
        ]
    return found


def save(report: Report) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / time.strftime("bench-%Y%m%dT%H%M%SZ.json", time.gmtime())
    data: dict[str, Any] = asdict(report)
    data["targets"] = [{**asdict(t), "passed": t.passed} for t in report.targets]
    path.write_text(json.dumps(data, indent=2))
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short budgets everywhere: checks the harness runs")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn servers and the load generator")
    parser.add_argument("--rounds", type=int, default=3, help="HTTP rounds per app; medians are reported")
    parser.add_argument("--load-seconds", type=float, default=0.0, help="duration of each HTTP load run")
    parser.add_argument("--pipeline", choices=sorted(PIPELINES), default="direct",
                        help="in-process path: validation + evaluation functions, or the app's test client")
    parser.add_argument("--profile", type=int, default=0, metavar="CALLS",
                        help="also profile CALLS in-process calls with pyinstrument")
    parser.add_argument("--profile-observations", type=int, default=workload.DEFAULT_OBSERVATIONS, metavar="N",
                        help="Observations in the profiled request (default: the realistic request's)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    report = Report(pipeline=args.pipeline, commit=code_version(), interpreter=machine.interpreter(),
                    load_average=[os.getloadavg()[0]], reference_loop_ms=[machine.reference_loop_ms()])
    print(f"code {report.commit or 'unknown'}; {report.interpreter}; {os.cpu_count()} cores, "
          f"load average {report.load_average[0]:.2f}, "
          f"reference loop {report.reference_loop_ms[0]:.1f} ms (bench/machine.py: what plain Python costs here)")
    with tempfile.TemporaryDirectory(prefix="cds-bench-") as folder:
        # An in-process app reads its settings when created: a throw-away database, never the developer's.
        os.environ["CDS_DATABASE_URL"] = f"sqlite:///{Path(folder) / 'inprocess.db'}"
        call = PIPELINES[args.pipeline]()
        run_inprocess(report, plan, call)
        if args.profile:
            RESULTS.mkdir(exist_ok=True)
            body = encode(workload.order_sign_request(observations=args.profile_observations))
            print(hotspots.profile(call, body, args.profile, RESULTS / "profile.txt"))
        if not args.no_http:
            run_http(report, plan, Path(folder))
    report.load_average.append(os.getloadavg()[0])
    report.reference_loop_ms.append(machine.reference_loop_ms())
    report.targets = judge(report)
    print("targets (2-core machine):")
    for target in report.targets:
        print("  " + target.line())
    print(f"load average at the end {report.load_average[-1]:.2f}, "
          f"reference loop {report.reference_loop_ms[-1]:.1f} ms; results: {save(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
