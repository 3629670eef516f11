"""Crash safety with the real server and model: 20 SIGKILLs during writes lose nothing acknowledged."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Embedder, SearchIndex
from tests.integration.crash_harness import run

pytestmark = pytest.mark.integration


def test_kill_9_during_writes_loses_nothing_acknowledged(tmp_path: Path, real_embedder: Embedder) -> None:
    data = tmp_path / "data"
    result = run(data, kills=20, seed=7, log=tmp_path / "server.log")
    assert result["documents_acknowledged"] > 40  # the rounds did write
    assert result["deleted"] > 0
    assert result["cut_off_requests"] >= 15  # the kills did land mid-request
    with SearchIndex.open(data, real_embedder, read_only=True) as index:
        sides = index.consistency()
        assert sides["store"] == sides["keyword"] == sides["vectors"]
        assert index.keyword_documents_consistent()
        # Requests cut off by a kill may have committed or not; everything else is exactly as acknowledged.
        assert result["alive"] <= index.stats().documents <= result["alive"] + result["uncertain"]
