from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from index import Document, InvalidInputError
from service import runtime
from service.settings import Settings, unknown_variables
from tests.fakes import FakeEmbedder


def test_defaults_are_safe() -> None:
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.data_dir == Path("semsearch-data")
    assert settings.model == "sentence-transformers/all-MiniLM-L6-v2"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_DATA_DIR", "/tmp/x")
    monkeypatch.setenv("SEMSEARCH_MAX_K", "7")
    monkeypatch.setenv("SEMSEARCH_SEED_DEMO", "false")
    settings = Settings()
    assert (settings.data_dir, settings.max_k, settings.seed_demo) == (Path("/tmp/x"), 7, False)


def test_a_file_where_a_folder_belongs_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "data"
    afile.write_text("", encoding="utf-8")
    for name in ("data_dir", "model_cache_dir", "snapshot_dir"):
        with pytest.raises(ValidationError, match="is a file, not a folder"):
            Settings.model_validate({name: afile})
    assert Settings(data_dir=tmp_path / "new").data_dir == tmp_path / "new"  # made when first used


def test_a_folder_that_cannot_be_looked_into_is_left_to_where_it_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a folder this user may not read, ``exists()`` raises PermissionError: the settings take the
    path, and the command that uses it says what is wrong with it (not a traceback from the settings)."""

    def denied(path: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "exists", denied)
    assert Settings(data_dir=tmp_path / "locked" / "data").data_dir == tmp_path / "locked" / "data"


def test_an_empty_variable_is_one_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose's ``"${SEMSEARCH_WORKERS:-}"`` sets an empty string: that failed the start (not an
    integer), and an empty data directory was the current folder. Empty is now unset: the default."""
    names = [
        f"SEMSEARCH_{name}" for name in ("WORKERS", "PORT", "DATA_DIR", "MODEL", "CORS_ORIGINS", "SEED_DEMO")
    ]
    for name in names:
        monkeypatch.delenv(name, raising=False)
    unset = Settings()
    for name in names:
        monkeypatch.setenv(name, "")
    assert Settings() == unset
    assert (unset.workers, unset.data_dir) == (None, Path("semsearch-data"))


@pytest.mark.parametrize(
    "bad",
    [
        {"port": 0},
        {"max_k": 0},
        {"chunk_max_tokens": 4},
        {"chunk_max_tokens": 40, "chunk_overlap_tokens": 30},
        {"log_level": "loud"},
        {"no_such_setting": 1},
    ],
)
def test_nonsense_is_rejected_at_start(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_filter_limits_come_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "load_embedder", lambda *_, **__: FakeEmbedder())
    settings = Settings(data_dir=tmp_path / "data", max_filter_depth=2, max_filter_clauses=50)
    with runtime.open_index(settings) as index:
        index.upsert([Document("a", "Cats purr.", metadata={"x": 1})])
        shallow = {"must": [{"field": "x", "eq": 1}]}
        assert [hit.doc_id for hit in index.search("cats", filter=shallow).hits] == ["a"]
        with pytest.raises(InvalidInputError, match="deeper than 2 levels"):
            index.search("cats", filter={"must": [shallow]})


def test_the_collection_schema_names_every_encoder_backend() -> None:
    """service.schemas spells out index's Backend values (importing index would weigh down the client)."""
    from typing import get_args

    from index.encoders.base import Backend
    from service.schemas import CollectionIn

    literal, none = get_args(CollectionIn.model_fields["embed_backend"].annotation)
    assert none is type(None)
    assert get_args(literal) == get_args(Backend)


def test_unknown_variables_are_those_no_setting_reads() -> None:
    every = {f"SEMSEARCH_{name.upper()}": "1" for name in Settings.model_fields}
    assert unknown_variables({**every, "SEMSEARCH_URL": "http://x", "HOME": "/root", "PATH": "/bin"}) == []
    assert unknown_variables({"SEMSEARCH_MAXK": "5", "semsearch_data_dri": "x", "SEMSEARCH_BOGUS": "1"}) == [
        "SEMSEARCH_BOGUS",
        "SEMSEARCH_MAXK (did you mean SEMSEARCH_MAX_K?)",
        "semsearch_data_dri (did you mean SEMSEARCH_DATA_DIR?)",
    ]
