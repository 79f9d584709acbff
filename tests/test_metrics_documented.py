"""Every metric /metrics exposes is in docs/audit.md's table of metrics (§Metrics), with the labels it has, and the
table names no other: an operator writing an alert reads the names and labels there. (The library's `_created`
series are said there once for all.)"""
from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from cds_service.audit_health import WriterStatus
from cds_service.metrics import Metrics

AUDIT_DOC = Path(__file__).parents[1] / "docs" / "audit.md"
# A row of the metrics table: | `name` | `label` (...), `label` | ... |
_ROW = re.compile(r"^\| `(cds_\w+)` \|([^|]*)\|", re.M)


def documented() -> dict[str, set[str]]:
    """The table's metrics and their labels: the names quoted in the labels column, outside its parentheses."""
    section = AUDIT_DOC.read_text().split("## Metrics", 1)[1]
    return {name: set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", labels)))
            for name, labels in _ROW.findall(section)}


def exposed() -> dict[str, set[str]]:
    status = WriterStatus(alive=True, schema_ready=True, backlog=0, stalled_seconds=0.0, last_error=None,
                          last_error_age_seconds=None, lost={})
    metrics = Metrics(lambda: status)
    metrics.observe_request("/cds-services/<service_id>", 200, 0.01)
    metrics.count_decision("order-sign", "florida-blue", "meets-criteria", False)
    metrics.count_decision("order-sign", "florida-blue", "meets-criteria", True)
    families = text_string_to_metric_families(metrics.render())
    return {family.name + ("_total" if family.type == "counter" else ""):
            {label for sample in family.samples for label in sample.labels if label != "le"}
            for family in families if family.name.startswith("cds_") and not family.name.endswith("_created")}


def test_every_metric_is_documented_with_its_labels() -> None:
    assert exposed() == documented()
