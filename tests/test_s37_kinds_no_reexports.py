"""The service re-exports nothing: a name is imported from the module that defines it (config_constants' limits were
read through config, which imported them `as` themselves only to pass them on)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `import X as X` or `from M import X as X`: the form that marks a name re-exported.
_REEXPORT = re.compile(r"\bimport\b[^\n]*?\b(\w+) as \1\b")


def test_no_module_of_the_service_or_the_benchmark_re_exports_a_name() -> None:
    sources = [*(ROOT / "cds_service").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    assert len(sources) > 100
    found = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path in sources
             for match in _REEXPORT.finditer(path.read_text(encoding="utf-8"))]
    assert found == []
