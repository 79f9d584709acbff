"""`cds-service check` with an auth file and no public base URL (neither the file's `public_base_url` nor
`CDS_PUBLIC_BASE_URL`): the JWT audience is then the local default, which no EHR calling the real URL signs for. The
started service warned of it, the check passed the file without a word; it now says it, in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service.config import LOCAL_BASE_URL, VARIABLES

CLIENT = {"iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks.json"}
WARNING = (f"the JWT audience is {LOCAL_BASE_URL}/cds-services/..., as neither CDS_PUBLIC_BASE_URL nor "
           "public_base_url in CDS_AUTH_CONFIG is set: a token an EHR signs for the URL it calls gets a 401; set "
           "CDS_PUBLIC_BASE_URL to that URL, without /cds-services (https://cds.example.org)")


def check(tmp_path: Path, auth: dict[str, object] | None, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in VARIABLES}
    env.update(variables, CDS_DATA_DIR=str(tmp_path / "data"))
    if auth is not None:
        (tmp_path / "auth.json").write_text(json.dumps(auth))
        env["CDS_AUTH_CONFIG"] = str(tmp_path / "auth.json")
    return subprocess.run([sys.executable, "-m", "cds_service.cli", "check"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_an_auth_file_without_a_public_base_url_is_warned_of(tmp_path: Path) -> None:
    done = check(tmp_path, {"clients": [CLIENT]})
    assert done.returncode == 0  # the service starts so (a WARNING there too), and so does the check pass
    assert WARNING in done.stderr.splitlines()
    assert f"JWT required (CDS_AUTH_CONFIG); public base URL {LOCAL_BASE_URL}" in done.stdout.splitlines()


@pytest.mark.parametrize(("auth", "variables"), [
    ({"public_base_url": "https://cds.example.org", "clients": [CLIENT]}, {}),
    ({"clients": [CLIENT]}, {"CDS_PUBLIC_BASE_URL": "https://cds.example.org"}),
    (None, {}),  # local mode: no token is verified, so no audience either
])
def test_a_configured_base_url_or_local_mode_is_not_warned_of(
        tmp_path: Path, auth: dict[str, object] | None, variables: dict[str, str]) -> None:
    done = check(tmp_path, auth, **variables)
    assert done.returncode == 0, done.stderr
    assert "the JWT audience is" not in done.stderr
    assert "public base URL" in done.stdout


def test_the_local_url_configured_on_purpose_is_not_warned_of(tmp_path: Path) -> None:
    done = check(tmp_path, {"public_base_url": LOCAL_BASE_URL, "clients": [CLIENT]})
    assert done.returncode == 0, done.stderr
    assert "the JWT audience is" not in done.stderr
