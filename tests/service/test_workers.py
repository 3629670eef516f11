"""The worker processes of `semsearch serve --workers N` (service.workers): how many, and a supervisor that
cannot start."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from index.cores import usable_cores
from service import workers
from service.settings import AUTO_WORKERS, Settings


def test_serve_runs_a_process_per_core_up_to_two_unless_told() -> None:
    assert Settings().worker_count() == min(AUTO_WORKERS, usable_cores()) == min(2, usable_cores())
    assert Settings(workers=1).worker_count() == 1
    assert Settings(workers=5).worker_count() == 5


def test_one_usable_core_serves_in_one_process() -> None:
    pinned = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "from service.settings import Settings; print(Settings().worker_count())"
    )
    done = subprocess.run([sys.executable, "-c", pinned], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_a_supervisor_that_cannot_start_leaves_no_private_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise ImportError("the app could not be imported")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # serve sets it; restored after the test
    monkeypatch.setattr(workers, "_preloaded", broken)
    with pytest.raises(ImportError, match="could not be imported"):
        workers.serve(Settings(workers=2), graceful_seconds=1)
    assert list(tmp_path.iterdir()) == []
