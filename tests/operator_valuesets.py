"""An operator's value set file (CDS_VALUESET_DIR) for one test, the value sets read again with it and after it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from cds_service.valuesets import ENV_DIR, get_valuesets


def operator_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                   codes: list[dict[str, Any]]) -> Iterator[None]:
    """For a fixture to yield from: value set `name` extended with `codes`."""
    (tmp_path / f"{name}.json").write_text(json.dumps({"name": name, "codes": codes}))
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    get_valuesets.cache_clear()
    yield
    monkeypatch.delenv(ENV_DIR)
    get_valuesets.cache_clear()
