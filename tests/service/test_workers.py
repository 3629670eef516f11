"""Settings of the worker processes of `semsearch serve --workers N` (service.workers)."""

from __future__ import annotations

from service.settings import Settings
from service.workers import worker_settings


def test_each_worker_gets_its_share_of_the_cores_unless_told() -> None:
    assert worker_settings(Settings(workers=2), cores=2).encode_threads == 1
    assert worker_settings(Settings(workers=2), cores=8).encode_threads == 4
    assert worker_settings(Settings(workers=3), cores=2).encode_threads == 1
    assert worker_settings(Settings(workers=2, encode_threads=2), cores=2).encode_threads == 2
