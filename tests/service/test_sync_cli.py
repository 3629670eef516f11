"""``semsearch sync`` on a data directory (the fake embedder): add, replace, delete, dry run, watch."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service import runtime
from service.cli import app
from tests.documents import encrypt_pdf
from tests.fakes import FakeEmbedder

FILES = Path(__file__).resolve().parents[1] / "data" / "files"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "load_embedder", lambda *_, **__: FakeEmbedder())


def sync(folder: Path, data: Path, *extra: str) -> dict[str, Any]:
    result = runner.invoke(app, ["sync", str(folder), "--data-dir", str(data), "--json", *extra])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return report


def ids(data: Path) -> list[str]:
    result = runner.invoke(
        app, ["search", "lamps keepers tide notes", "-k", "50", "--data-dir", str(data), "--json"]
    )
    return sorted({json.loads(line)["doc_id"] for line in result.stdout.splitlines()})


def folder_with_files(tmp_path: Path) -> Path:
    folder = tmp_path / "handbook"
    (folder / "sub").mkdir(parents=True)
    (folder / "lighthouse.pdf").write_bytes((FILES / "lighthouse.pdf").read_bytes())
    (folder / "lighthouse.docx").write_bytes((FILES / "lighthouse.docx").read_bytes())
    (folder / "sub" / "tide.md").write_text("# Tide notes\n\nThe tide turns twice a day.", encoding="utf-8")
    (folder / "corpus.jsonl").write_text('{"_id": "x", "text": "a line"}\n', encoding="utf-8")
    (folder / "sub" / "budget.numbers").write_bytes(b"PK\x03\x04")  # Apple's, not read
    return folder


def test_sync_adds_replaces_and_deletes_only_what_came_from_the_folder(tmp_path: Path) -> None:
    folder, data = folder_with_files(tmp_path), tmp_path / "data"
    other = tmp_path / "other.md"
    other.write_text("# Tide notes elsewhere\n\nNot from the folder.", encoding="utf-8")
    assert runner.invoke(app, ["index", str(other), "--data-dir", str(data), "--no-progress"]).exit_code == 0

    dry = sync(folder, data, "--dry-run")
    assert (dry["added"], dry["dry_run"]) == (["lighthouse.docx", "lighthouse.pdf", "sub/tide.md"], True)
    assert ids(data) == ["other.md"]

    first = sync(folder, data)
    assert first["added"] == ["lighthouse.docx", "lighthouse.pdf", "sub/tide.md"]
    assert first["skipped"][0] == "1 file of types semsearch does not read (.numbers 1)"
    assert [note.split(":")[0] for note in first["skipped"][1:]] == ["corpus.jsonl"]
    assert ids(data) == ["lighthouse.docx", "lighthouse.pdf", "other.md", "sub/tide.md"]

    assert sync(folder, data)["unchanged"] == 3  # nothing read or written again

    (folder / "sub" / "tide.md").write_text("# Tide notes\n\nThe tide turns twice a day, mostly.", "utf-8")
    (folder / "lighthouse.docx").unlink()
    second = sync(folder, data)
    assert (second["added"], second["updated"], second["deleted"]) == (
        [],
        ["sub/tide.md"],
        ["lighthouse.docx"],
    )
    assert ids(data) == ["lighthouse.pdf", "other.md", "sub/tide.md"]


def test_a_moved_file_keeps_its_embeddings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Moving a folder's files to another folder was a delete and an add: every chunk embedded again."""
    embedder = FakeEmbedder()
    monkeypatch.setattr(runtime, "load_embedder", lambda *_, **__: embedder)
    folder, data = folder_with_files(tmp_path), tmp_path / "data"
    sync(folder, data)
    (folder / "archive").mkdir()
    (folder / "lighthouse.pdf").rename(folder / "archive" / "lighthouse.pdf")
    (folder / "sub" / "tide.md").rename(folder / "archive" / "tide.md")
    calls = embedder.calls

    moved = sync(folder, data)

    assert (moved["added"], moved["deleted"], moved["moved"]) == (
        ["archive/lighthouse.pdf", "archive/tide.md"],
        ["lighthouse.pdf", "sub/tide.md"],
        2,
    )
    assert embedder.calls == calls  # no chunk embedded: both took the stored embeddings
    assert ids(data) == ["archive/lighthouse.pdf", "archive/tide.md", "lighthouse.docx"]


def test_an_unreadable_file_is_reported_and_its_document_kept(tmp_path: Path) -> None:
    folder, data = folder_with_files(tmp_path), tmp_path / "data"
    sync(folder, data)
    (folder / "lighthouse.pdf").write_bytes(encrypt_pdf((FILES / "lighthouse.pdf").read_bytes(), "pw"))
    report = sync(folder, data)
    assert report["updated"] == []
    assert "encrypted" in report["failed"][0]
    assert "lighthouse.pdf" in ids(data)


def test_sync_with_a_prefix_into_a_collection(tmp_path: Path) -> None:
    folder, data = folder_with_files(tmp_path), tmp_path / "data"
    assert runner.invoke(app, ["collections", "create", "handbook", "--data-dir", str(data)]).exit_code == 0
    report = sync(folder, data, "--collection", "handbook", "--prefix", "hb/", "--source", "handbook")
    assert report["added"] == ["hb/lighthouse.docx", "hb/lighthouse.pdf", "hb/sub/tide.md"]
    assert ids(data) == []  # the default collection is untouched


def test_watch_follows_the_folder_until_its_timeout(tmp_path: Path) -> None:
    folder, data = folder_with_files(tmp_path), tmp_path / "data"

    def edit() -> None:
        time.sleep(1.5)
        (folder / "new.md").write_text("# New\n\nA new note about lamps.", encoding="utf-8")

    editor = threading.Thread(target=edit)
    editor.start()
    started = time.monotonic()
    result = runner.invoke(
        app, ["sync", str(folder), "--data-dir", str(data), "--json", "--watch", "--watch-timeout", "4"]
    )
    editor.join()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30  # stopped by itself
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert reports[0]["added"] == ["lighthouse.docx", "lighthouse.pdf", "sub/tide.md"]
    assert ["new.md"] in [report["added"] for report in reports[1:]]


def test_a_legacy_text_file_fails_until_its_encoding_is_named(tmp_path: Path) -> None:
    folder, data = tmp_path / "old", tmp_path / "data"
    folder.mkdir()
    (folder / "tide.txt").write_bytes("Tide notes: the mar\u00e9e turns twice a day.".encode("cp1252"))
    first = sync(folder, data)
    assert first["added"] == []
    assert len(first["failed"]) == 1
    assert "name the encoding it is in" in first["failed"][0]
    second = sync(folder, data, "--encoding", "windows-1252")
    assert (second["added"], second["failed"]) == (["tide.txt"], [])
    assert ids(data) == ["tide.txt"]


def test_sync_follows_gitignore_and_a_file_ignored_later_is_deleted(tmp_path: Path) -> None:
    folder, data = folder_with_files(tmp_path), tmp_path / "data"
    (folder / "sub" / "drafts").mkdir()
    (folder / "sub" / "drafts" / "tide.md").write_text("# Draft tide notes\n\nUnfinished.", encoding="utf-8")
    (folder / ".gitignore").write_text("drafts/\n", encoding="utf-8")
    first = sync(folder, data)
    assert first["added"] == ["lighthouse.docx", "lighthouse.pdf", "sub/tide.md"]
    assert "1 path .gitignore files leave out (sub/drafts/)" in first["skipped"]
    every = sync(folder, data, "--no-ignore")
    assert every["added"] == ["sub/drafts/tide.md"]
    # Mirroring what the folder's rules take: a file they leave out now is no longer the folder's
    (folder / ".gitignore").write_text("drafts/\n*.docx\n", encoding="utf-8")
    again = sync(folder, data)
    assert again["deleted"] == ["lighthouse.docx", "sub/drafts/tide.md"]
    assert ids(data) == ["lighthouse.pdf", "sub/tide.md"]
