"""The worker processes of `semsearch serve --workers N` (service.workers): their settings, and a supervisor
that cannot start."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from index.cores import usable_cores
from service import workers
from service.settings import AUTO_WORKERS, Settings
from service.workers import worker_settings


def test_each_replica_gets_its_share_of_the_cores_and_the_writer_all_unless_told() -> None:
    assert worker_settings(Settings(workers=2), cores=2).encode_threads == 1
    assert worker_settings(Settings(workers=2), cores=8).encode_threads == 4
    assert worker_settings(Settings(workers=3), cores=2).encode_threads == 1
    assert worker_settings(Settings(workers=2, encode_threads=2), cores=2).encode_threads == 2
    assert worker_settings(Settings(workers=2), cores=2, role="writer").encode_threads is None


def test_serve_runs_a_process_per_core_up_to_two_unless_told() -> None:
    assert Settings().worker_count() == min(AUTO_WORKERS, usable_cores()) == min(2, usable_cores())
    assert Settings(workers=1).worker_count() == 1
    assert Settings(workers=5).worker_count() == 5
    assert worker_settings(Settings(), cores=2).encode_threads == (1 if usable_cores() >= 2 else 2)


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
