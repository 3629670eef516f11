"""The OpenAPI document tells the truth: schemathesis' own command line, with every check it has (status
codes, content types, headers, response schemas, negative data rejected, positive data accepted, auth not
ignored, unsupported methods, use after free, resources available) and all four phases (examples,
coverage, fuzzing, stateful), against a real server on 127.0.0.1 with both API keys set. Bounded by its
examples per operation and a time budget (about 14,000 cases in 200 s on 2 cores)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_server import free_port, running, server_env

pytestmark = pytest.mark.integration

READ = "schema-read-key-0123456789"
WRITE = "schema-write-key-0123456789"
BUDGET_SECONDS = 200
# What the schema cannot state (the filter language's meaning, unique ids in an upload...): see the file.
CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_schemathesis_finds_nothing_with_every_check(tmp_path: Path) -> None:
    port = free_port()
    keys = {"SEMSEARCH_READ_KEY": READ, "SEMSEARCH_WRITE_KEY": WRITE}
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, port, server_env(tmp_path / "data", **keys), tmp_path / "server.log"):
        schemathesis = Path(sys.executable).with_name("schemathesis")
        run = subprocess.run(
            [
                str(schemathesis),
                "--config-file",
                str(CONFIG),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {WRITE}",
                "--max-examples",
                "25",
                "--max-time",
                str(BUDGET_SECONDS),
                "--seed",
                "17",
                # One worker: hypothesis reads lambda sources with ast.parse, which CPython 3.11 does not
                # make safe across threads (a SystemError, once, in CI).
                "--workers",
                "1",
                # The name pattern of {collection} makes the generator filter much; a generation health
                # check, not a check of the API.
                "--suppress-health-check",
                "filter_too_much",
                "--request-timeout",
                "60",
                # Creating a collection with the torch backend loads torch and the model: about 10 s on
                # this shared 2-core machine (10.7 s once, over schemathesis' default limit of 10 s).
                "--max-response-time",
                "30",
                "--generation-database",
                "none",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=BUDGET_SECONDS + 300,
            cwd=tmp_path,
        )
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
