"""The benchmark harness works: valid requests, the in-process steps run, the pure helpers compute right.

No timing assertions (the machine is noisy). `make bench` runs the servers; here only small loopback apps.
"""
from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from flask import Flask, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` lives at the repository root

from bench import checks_only_app, hotspots, load, machine, minimal_app, run, workload  # noqa: E402
from bench.comparison import Comparison, Round  # noqa: E402
from bench.inprocess import Budget, ScalePoint, growth_exponent, measure_scaling  # noqa: E402
from bench.machine import CpuTimes  # noqa: E402
from bench.pipeline import direct_call, encode  # noqa: E402
from bench.servers import cpu_seconds  # noqa: E402
from bench.stats import percentile  # noqa: E402
from bench.targets import Target  # noqa: E402
from cds_service.exceptions import ClientError  # noqa: E402
from cds_service.record import PREFETCH_KEYS  # noqa: E402
from cds_service.validation import hook_request, parse_json_object  # noqa: E402
from tests.live_server import serving  # noqa: E402

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000/cds-services/blinatumomab-coverage
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.04ms    3.10ms  40.21ms   80.00%
  Latency Distribution
     50%  850.00us
     75%   13.00ms
     90%   15.00ms
     99%    1.20s
  2471 requests in 2.01s, 1.02MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1230.04
Transfer/sec:    520.12KB
"""


def test_realistic_request_passes_validation_and_fhir_parsing() -> None:
    request = workload.order_sign_request()
    parsed = hook_request(parse_json_object(encode(request)), workload.SERVICE_ID)
    assert parsed.hook == "order-sign" and parsed.patient_id == workload.PATIENT_ID
    assert set(request["prefetch"]) == set(PREFETCH_KEYS)
    assert workload.resource_count(request) == 100
    resources = [request["prefetch"]["patient"], *(r["resource"] for r in request["context"]["draftOrders"]["entry"])]
    for key in PREFETCH_KEYS[1:]:
        resources += [entry["resource"] for entry in request["prefetch"][key]["entry"]]
    for resource in resources:  # raises on any invalid element
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_sizes_are_respected() -> None:
    request = workload.order_sign_request(observations=1_000, medication_requests=10)
    assert len(request["prefetch"]["observations"]["entry"]) == 1_000
    assert len(request["prefetch"]["medicationRequests"]["entry"]) == 10
    assert len(workload.order_sign_request(observations=2)["prefetch"]["observations"]["entry"]) == 2


def test_order_has_step_dose_lines() -> None:
    order = workload.order_sign_request()["context"]["draftOrders"]["entry"][0]["resource"]
    rates = [line["doseAndRate"][0]["rateQuantity"] for line in order["dosageInstruction"]]
    assert [(r["value"], r["code"]) for r in rates] == [(9, "ug/d"), (28, "ug/d")]
    assert order["medicationCodeableConcept"]["coding"][0]["code"] == "1597262"


def test_quick_inprocess_steps_run_and_are_judged() -> None:
    plan = run.Plan(Budget(5, 2.0), Budget(1, 1.0), 0.0, 1, observation_sizes=(10, 100), medication_sizes=(10, 100))
    report = run.Report(pipeline="direct")
    run.run_inprocess(report, plan, direct_call())
    assert report.latency is not None and 1 <= report.latency.calls <= 5
    assert [(p.kind, p.size) for p in report.scaling] == [
        ("observations", 10), ("observations", 100), ("medicationRequests", 10), ("medicationRequests", 100)]
    names = [t.name for t in run.judge(report)]
    assert names == ["in-process p50, realistic request", "growth exponent, observations",
                     "growth exponent, medicationRequests"]


def test_scaling_sizes_take_turns_so_a_slow_spell_falls_on_each() -> None:
    sizes = (10, 100, 1_000)
    seen: list[int] = []  # the body lengths called with, in order

    def call(body: bytes) -> dict[str, object]:
        seen.append(len(body))
        return {}

    points = measure_scaling(call, "observations", sizes, Budget(3, 60.0))
    by_length = {length: index for index, length in enumerate(sorted(set(seen)))}
    order = [by_length[length] for length in seen]
    assert order == [0, 1, 2] + [0, 1, 2] + [1, 2, 0] + [2, 0, 1]  # warm-up, then rounds in rotating order
    assert [(p.size, p.calls) for p in points] == [(10, 3), (100, 3), (1_000, 3)]


def test_direct_path_runs_with_the_workers_garbage_collector() -> None:
    gc.unfreeze()  # as at Python's start: an app built by an earlier test has set both
    gc.set_threshold(700, 10, 10)
    direct_call()
    assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] >= 10_000


def test_checks_only_app_answers_the_fixed_card_after_the_services_checks() -> None:
    with serving(checks_only_app.create_app()) as client:
        response = client.post(workload.SERVICE_PATH, data=encode(workload.order_sign_request()),
                               content_type="application/json")
    assert response.status_code == 200 and response.get_json() == minimal_app.FIXED_RESPONSE


def test_checks_only_app_validates_the_blinatumomab_order() -> None:
    """Without this check the baseline would not measure what the service must pay before evaluating."""
    request = workload.order_sign_request()
    request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["timing"] = "daily"
    app = checks_only_app.create_app()
    app.testing = True  # the error reaches the test instead of becoming a 500
    with pytest.raises(ClientError, match="not a valid MedicationRequest") as raised:
        app.test_client().post(workload.SERVICE_PATH, data=encode(request), content_type="application/json")
    assert raised.value.expression == "context.draftOrders.entry[0].resource.dosageInstruction[0].timing"


@pytest.mark.parametrize("client", ["wrk", "python"])
def test_each_request_of_the_load_is_the_body_for_another_patient(client: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every occurrence of the patient id gets the same unique suffix, and nothing else in the body changes."""
    if client == "wrk" and not shutil.which("wrk"):
        pytest.skip("wrk is not installed (Debian package wrk)")
    if client == "python":
        monkeypatch.setattr(load.shutil, "which", lambda name: None)
    template = encode(workload.order_sign_request()).decode()
    received: list[str] = []
    app = Flask(__name__)

    @app.post(workload.SERVICE_PATH)
    def record() -> dict[str, list[str]]:
        received.append(request.get_data(as_text=True))
        return {"cards": []}

    with serving(app) as live:
        result = load.run_load(live.base_url + workload.SERVICE_PATH, template.encode(), 1, workload.PATIENT_ID)
    patients = [json.loads(body)["context"]["patientId"] for body in received]
    assert result.tool == client and result.errors == 0 and len(received) >= 10
    assert len(set(patients)) == len(patients) and workload.PATIENT_ID not in patients
    for body, patient in zip(received, patients):
        assert body.count(patient) == template.count(workload.PATIENT_ID) > 1
        assert body.replace(patient, workload.PATIENT_ID) == template


def test_parse_wrk_converts_units_and_counts_errors() -> None:
    result = load.parse_wrk(WRK_OUTPUT)
    assert (result.requests, result.errors, result.requests_per_s) == (2471, 7, 1230.04)
    assert result.p50_ms == pytest.approx(0.85) and result.p99_ms == pytest.approx(1200.0)


def test_spread_lists_each_round_in_order() -> None:
    rounds = [Round(load.LoadResult("wrk", 4000, 0, 400.4, 30.0, 48.25), [98.0, 99.0], 3.456, 14.6),
              Round(load.LoadResult("wrk", 5000, 0, 500.6, 25.0, 41.0), [98.5, 98.0], 3.1, 0.2)]
    comparison = Comparison(rounds={"service": rounds})
    assert comparison.spread("service") == ("rounds: 400, 501 req/s, p99 48.2, 41.0 ms, "
                                            "worker CPU 3.46, 3.10 ms/request, stolen 15, 0 %")


def test_steal_share_is_the_stolen_part_of_the_ticks_between_two_readings() -> None:
    assert CpuTimes(steal=10, total=1000).steal_percent_until(CpuTimes(steal=40, total=1200)) == pytest.approx(15.0)
    assert CpuTimes(steal=10, total=1000).steal_percent_until(CpuTimes(steal=10, total=1000)) == 0.0
    now = CpuTimes.now()  # this machine's own /proc/stat: steal is one of the ticks counted
    assert 0 <= now.steal <= now.total


def test_percentile_interpolates() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([0.0, 10.0], 0.99) == pytest.approx(9.9)


@pytest.mark.parametrize(("power", "expected"), [(1, 1.0), (2, 2.0)])
def test_growth_exponent_reads_the_two_largest_sizes(power: int, expected: float) -> None:
    points = [ScalePoint("observations", n, float(n**power) + (50.0 if n == 10 else 0.0), 1, 0) for n in (10, 100, 1000)]
    assert growth_exponent(points) == pytest.approx(expected)


def test_profile_names_the_project_functions(tmp_path: Path) -> None:
    summary = hotspots.profile(direct_call(), encode(workload.order_sign_request()), 3, tmp_path / "profile.txt")
    assert "cds_service/pipeline.py" in summary
    assert "evaluate" in (tmp_path / "profile.txt").read_text()


def test_reference_loop_does_its_fixed_work_and_is_timed() -> None:
    n = machine.ITERATIONS
    assert machine._loop() == n * (n - 1) // 2 + 1024  # the running sum, plus the table's 1,024 keys
    assert machine.reference_loop_ms() > 0


def test_targets_compare_in_the_stated_direction() -> None:
    assert Target("ratio", 0.6, 0.5, "", at_least=True).passed
    assert not Target("p99", 51.0, 50.0, "ms").passed
    assert Target("p99", 12.0, 50.0, "ms").line() == "PASS  p99: 12 ms (target <= 50 ms)"


def test_cpu_seconds_reads_the_process_cpu_from_proc() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # burn a little CPU in this process
        pass
    assert cpu_seconds(os.getpid()) > before >= 0


def test_the_run_records_the_code_version() -> None:
    assert run.code_version()  # the tests run from a git checkout


def test_the_run_names_the_interpreter_it_ran_on() -> None:
    name = machine.interpreter()
    assert name.startswith(f"{platform.python_implementation()} {platform.python_version()}, ")
    assert Path(name.split(", ", 1)[1]).is_file()  # the real file behind the venv's link
