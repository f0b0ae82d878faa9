"""Schemathesis against the app's own OpenAPI document, on a real server per backend.

Every check Schemathesis has runs (server errors, status codes, content types, headers and
response bodies against the spec, schema-valid requests accepted and invalid ones refused,
authentication honoured, undeclared methods answered 405 with Allow), through all four phases
(examples, coverage, fuzzing, stateful), with a fixed seed and a bounded number of examples
per operation so a run is reproducible and takes well under a minute. Where the API's
documented contract differs from a check's default, ``schemathesis.toml`` says so and why.

Reproduce a run by hand: start ``wedsync-success serve``, then
``schemathesis --config-file tests/api/schemathesis.toml run http://127.0.0.1:8000/openapi.json
-n 15 --seed 20261201 -H "Authorization: Bearer <admin key>"``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.api.conftest import Server

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 15
SEED = 20261201


def test_the_api_keeps_to_its_own_spec(server: Server, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.url}/openapi.json",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "120",  # generous: the suite may share the machine with other runs
        "--header",
        f"Authorization: Bearer {server.admin_key}",
        "--no-color",
    ]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    # Reproduction commands can carry megabytes of generated body; `st replay <id>` is shorter.
    report = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if len(line) < 2000
    )
    assert result.returncode == 0, f"Schemathesis on {server.backend}:\n{report[-12000:]}"
    spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    operations = sum(
        method in {"get", "post", "put", "patch", "delete"}
        for path in spec["paths"].values()
        for method in path
    )
    assert f"Tested: {operations}" in report, report[-3000:]  # every operation, none skipped
