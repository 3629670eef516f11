from __future__ import annotations

import io
import json
import mailbox
import socket
import sqlite3
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from index import IncompatibleIndexError, InvalidInputError, SearchIndex
from index.storage.store import Store
from service import runtime
from service.cli import app
from tests.documents import scanned_file
from tests.fakes import FakeEmbedder

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "load_embedder", lambda *_, **__: FakeEmbedder())


def run(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, input=stdin)


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    (folder / "cats.md").write_text("# Cats\n\nCats sleep sixteen hours a day.", encoding="utf-8")
    (folder / "markets.txt").write_text("Stock markets fell sharply on Monday.", encoding="utf-8")
    lines = [{"_id": "r1", "title": "Rivers", "text": "Rivers carry sediment to the sea."}]
    (folder / "beir.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "command",
    [["search", "tides"], ["stats"], ["facets", "lang"], ["fields"], ["export", "-o", "out.jsonl"]],
)
def test_a_command_on_a_data_directory_with_no_index_says_to_index_first(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nothing here"
    result = run(*command, "--data-dir", str(missing))
    assert result.exit_code == 2  # the CLI's code for a usage or set-up error
    assert f"no index in {missing}: run 'semsearch index PATH' first" in result.output
    assert not missing.exists()  # looked at, not made


def test_index_search_stats(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    result = run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["documents"], summary["created"], summary["skipped_files"]) == (3, 3, 0)
    assert summary["unsupported_files"] == {}

    (tmp_path / "corpus" / "old.key").write_bytes(b"PK\x03\x04")
    result = run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress", "--json")
    assert json.loads(result.stdout.strip().splitlines()[-1])["unsupported_files"] == {".key": 1}
    assert "not read: 1 file of types semsearch does not read (.key 1)" in result.stderr
    (tmp_path / "corpus" / "old.key").unlink()

    again = json.loads(
        run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress", "--json").stdout
    )
    assert again["unchanged"] == 3

    result = run("search", "cats sleep", "-k", "2", "--data-dir", data, "--json")
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 2
    assert hits[0]["doc_id"] == "cats.md"
    assert hits[0]["title"] == "Cats"

    stats = json.loads(run("stats", "--data-dir", data, "--json").stdout)
    assert (stats["documents"], stats["model_id"]) == (3, "fake/bag-of-words")


def test_an_export_cut_short_leaves_no_file_that_looks_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = str(tmp_path / "data")
    assert run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress").exit_code == 0
    whole = tmp_path / "whole.jsonl"
    assert run("export", "--data-dir", data, "-o", str(whole)).exit_code == 0
    exported = [json.loads(line)["id"] for line in whole.read_text(encoding="utf-8").splitlines()]
    assert exported == ["cats.md", "markets.txt", "r1"]
    listing = SearchIndex.list_documents
    calls = iter(range(10))

    def failing(self: SearchIndex, **kwargs: Any) -> Any:
        if next(calls) > 0:  # the first page is written, then the source fails
            raise InvalidInputError("the disk went away")
        return listing(self, **kwargs)

    monkeypatch.setattr(SearchIndex, "list_documents", failing)
    cut = tmp_path / "cut.jsonl"
    result = run("export", "--data-dir", data, "-o", str(cut))
    assert result.exit_code == 2
    assert "the disk went away" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "data", "whole.jsonl"]
    refused = run("export", "--data-dir", data, "-o", str(tmp_path / "missing" / "x.jsonl"))
    assert (refused.exit_code, "cannot write" in refused.stderr) == (2, True)


def test_facets_from_the_command_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    lines = [
        {"id": "a", "text": "Tides turn twice a day.", "metadata": {"shelf": "sea", "tags": ["moon", "sea"]}},
        {"id": "b", "text": "Bread rises with yeast.", "metadata": {"shelf": "kitchen", "tags": ["yeast"]}},
        {"id": "c", "text": "Waves break on rocks.", "metadata": {"shelf": "sea"}},
    ]
    notes = tmp_path / "notes.jsonl"
    notes.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    assert run("index", str(notes), "--data-dir", data, "--no-progress").exit_code == 0
    found = json.loads(run("facets", "shelf", "--data-dir", data, "--json").stdout)
    assert found == {
        "field": "shelf",
        "values": [{"value": "sea", "count": 2}, {"value": "kitchen", "count": 1}],
        "distinct": 2,
        "min": None,
        "max": None,
    }
    sorted_tags = run("facets", "tags", "--order", "value", "--contains", "S", "--data-dir", data, "--json")
    assert [v["value"] for v in json.loads(sorted_tags.stdout)["values"]] == ["sea", "yeast"]
    at_sea = run(
        "facets", "tags", "--filter", '{"field": "shelf", "eq": "sea"}', "--limit", "1", "--data-dir", data
    )
    assert at_sea.exit_code == 0, at_sea.output
    assert "tags: 2 values, the first 1" in " ".join(at_sea.stdout.split())  # the title wraps
    assert "moon" in at_sea.stdout
    refused = run("facets", "not a key", "--data-dir", data)
    assert refused.exit_code == 2
    assert "must be a metadata key" in refused.stderr
    keys = json.loads(run("fields", "--data-dir", data, "--json").stdout)
    assert keys == {
        "documents": 3,
        "fields": [
            {"name": "shelf", "documents": 3, "types": {"string": 3}, "field": "shelf"},
            {"name": "tags", "documents": 2, "types": {"array": 2}, "field": "tags"},
        ],
    }
    at_sea = run("fields", "--filter", '{"field": "shelf", "eq": "sea"}', "--data-dir", data)
    assert at_sea.exit_code == 0, at_sea.output
    assert "2 metadata keys over 2 documents" in " ".join(at_sea.stdout.split())


def test_search_with_a_metadata_filter_and_a_mode(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    folder = tmp_path / "site"
    folder.mkdir()
    for name, tags in (("backups", "[ops, sqlite]"), ("tuning", "[search]")):
        text = f"---\ntitle: {name.title()}\ntags: {tags}\n---\nThe database and the index, {name}.\n"
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    assert run("index", str(folder), "--data-dir", data, "--no-progress").exit_code == 0

    found = run(
        "search", "database index", "--filter", '{"field": "tags", "eq": "ops"}', "--data-dir", data, "--json"
    )
    assert found.exit_code == 0, found.output
    assert [json.loads(line)["doc_id"] for line in found.stdout.splitlines()] == ["backups.md"]
    keyword = run("search", "tuning", "--mode", "keyword", "--data-dir", data, "--json")
    assert [json.loads(line)["title"] for line in keyword.stdout.splitlines()] == ["Tuning"]

    broken = run("search", "x", "--filter", "{field: tags}", "--data-dir", data)
    assert broken.exit_code == 2
    assert "--filter is not valid JSON" in broken.stderr
    unknown = run("search", "x", "--filter", '{"field": "tags", "like": "o"}', "--data-dir", data)
    assert unknown.exit_code == 2
    assert "filter" in unknown.stderr
    assert run("search", "x", "--mode", "fuzzy", "--data-dir", data).exit_code == 2


def test_search_with_diversity_puts_a_near_copy_behind_something_new(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in (
        ("a", "cats sleep all day long"),
        ("b", "cats sleep all day long indeed"),
        ("c", "cats chase mice"),
    ):
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    assert run("index", str(folder), "--data-dir", data, "--no-progress").exit_code == 0

    def found(*options: str) -> list[str]:
        result = run("search", "cats sleep", "-k", "3", "--data-dir", data, "--json", *options)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["doc_id"] for line in result.stdout.splitlines()]

    assert found() == ["a.txt", "b.txt", "c.txt"]
    assert found("--diversity", "0.6") == ["a.txt", "c.txt", "b.txt"]
    assert run("search", "x", "--diversity", "2", "--data-dir", data).exit_code == 2


def test_search_like_a_document_and_from_stdin(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress").exit_code == 0
    liked = run("search", "--like", "cats.md", "-k", "5", "--data-dir", data, "--json")
    assert liked.exit_code == 0, liked.output
    ids = [json.loads(line)["doc_id"] for line in liked.stdout.splitlines()]
    assert ids
    assert "cats.md" not in ids
    paragraph = "Why do cats sleep so many hours every day? " * 30  # longer than the fake model reads
    table = runner.invoke(app, ["search", "-", "--data-dir", data], input=paragraph)
    assert table.exit_code == 0, table.output
    assert "pieces" in table.stdout
    assert "cats.md" in table.stdout
    both = run("search", "cats", "--like", "cats.md", "--data-dir", data)
    assert both.exit_code != 0
    assert "exactly one" in both.output
    missing = run("search", "--like", "nope", "--data-dir", data)
    assert missing.exit_code != 0
    assert "nope" in missing.output


def test_data_dir_comes_from_the_environment(tmp_path: Path) -> None:
    data = tmp_path / "from-env"
    result = run("index", str(corpus(tmp_path)), "--no-progress", env={"SEMSEARCH_DATA_DIR": str(data)})
    assert result.exit_code == 0, result.output
    assert (data / "semsearch.db").exists()


def test_bad_files_are_reported_one_by_one_and_skipped(tmp_path: Path) -> None:
    folder = corpus(tmp_path)
    (folder / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "empty.md").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "huge.txt").write_text("word " * 400, encoding="utf-8")
    data = tmp_path / "data"
    result = run(
        "index",
        str(folder),
        "--data-dir",
        str(data),
        "--no-progress",
        "--strict",
        env={"SEMSEARCH_MAX_TEXT_CHARS": "1000"},
    )
    assert result.exit_code == 2
    assert "nothing was changed" in result.stderr
    assert not data.exists()

    result = run(
        "index",
        str(folder),
        "--data-dir",
        str(data),
        "--no-progress",
        "--json",
        env={"SEMSEARCH_MAX_TEXT_CHARS": "1000"},
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["documents"], summary["skipped_files"]) == (3, 4)
    for reason in (
        "latin1.txt: not valid UTF-8",
        "empty.md: the file is empty",
        "binary.txt: looks like a binary",
        "huge.txt: too large",
    ):
        assert f"skipped: {folder!s}/{reason}" in result.stderr, reason
        assert any(reason in problem for problem in summary["skipped"]), reason


def test_each_file_is_extracted_once_unless_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big PDF costs its extraction once: files of one document are read as indexing reaches them, not
    checked first and read again (--strict reads everything first, so twice)."""
    from index.ingest import sources
    from index.ingest.extract import extract as real

    extracted: list[str] = []

    def counting(data: bytes, name: str, encoding: str | None = None) -> Any:
        extracted.append(Path(name).name)
        return real(data, name, encoding)

    monkeypatch.setattr(sources, "extract", counting)
    folder = corpus(tmp_path)
    (folder / "empty.md").write_bytes(b"")
    result = run("index", str(folder), "--data-dir", str(tmp_path / "a"), "--no-progress", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(extracted) == ["cats.md", "empty.md", "markets.txt"]
    summary = json.loads(result.stdout)
    assert (summary["documents"], summary["skipped_files"]) == (3, 1)
    assert "skipped: " in result.stderr
    assert "empty.md: the file is empty" in result.stderr

    (folder / "empty.md").unlink()
    extracted.clear()
    result = run("index", str(folder), "--data-dir", str(tmp_path / "b"), "--no-progress", "--strict")
    assert result.exit_code == 0, result.output
    assert sorted(extracted) == ["cats.md", "cats.md", "markets.txt", "markets.txt"]


def test_nothing_readable_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.md").write_bytes(b"")
    result = run("index", str(folder), "--data-dir", str(tmp_path / "data"), "--no-progress")
    assert result.exit_code == 2
    assert "no documents to index" in result.stderr
    # A JSON Lines file with a line that is not JSON is skipped whole (a truncated download is suspect): the
    # error says that it was skipped, and why, not to give files of a supported type.
    lines = tmp_path / "corpus.jsonl"
    lines.write_text('{"id": "a", "text": "Tides turn."}\n{"id": "b", "text": ', encoding="utf-8")
    result = run("index", str(lines), "--data-dir", str(tmp_path / "data"), "--no-progress")
    assert result.exit_code == 2
    assert "skipped: " in result.stderr
    assert "corpus.jsonl:2 is not valid JSON" in result.stderr
    assert "no documents to index: the 1 file(s) found were skipped, for the reasons above" in result.stderr
    assert "supported type" not in result.stderr


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    result = run("search", "x", "--data-dir", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "no index" in result.stderr
    result = run("index", str(tmp_path / "missing"), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    data = str(tmp_path / "data")
    run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress")
    result = run("search", "   ", "--data-dir", data)
    assert result.exit_code == 2
    assert "query is empty" in result.stderr


def test_a_data_directory_that_cannot_be_one_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    """A file given as the data directory, or a path under a file, ended in a NotADirectoryError traceback
    from deep in the model's export; now a message naming the path."""
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder", encoding="utf-8")
    result = run("stats", "--data-dir", str(afile))
    assert result.exit_code == 2
    refusal = f"SEMSEARCH_DATA_DIR: Value error, {afile} is a file, not a folder (got '{afile}')"
    assert refusal in result.stderr
    result = run("index", str(corpus(tmp_path)), "--data-dir", str(afile / "data"), "--no-progress")
    assert result.exit_code == 2
    assert f"cannot use {afile / 'data'}" in result.stderr
    assert "Not a directory" in result.stderr
    assert "Traceback" not in result.output


def test_a_data_directory_a_service_holds_points_to_url(tmp_path: Path) -> None:
    """A data directory held by a running service refuses a writer; the message now says that the commands
    with --url can ask that service instead."""
    from index.storage.locking import WriterLock

    data = tmp_path / "data"
    data.mkdir()
    held = WriterLock(data)  # as a running service holds it
    try:
        result = run("collections", "create", "papers", "--data-dir", str(data))
    finally:
        held.release()
    assert result.exit_code == 2
    assert "only one writer may use a data directory" in result.stderr
    assert "(index, sync, delete, update, collections, alias) can ask that service" in result.stderr
    assert run("collections", "create", "papers", "--data-dir", str(data)).exit_code == 0


def test_a_full_disk_is_a_message_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = str(tmp_path / "data")
    assert run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress").exit_code == 0
    connect = Store._connect

    def full(store: Store) -> sqlite3.Connection:  # SQLite's own "database or disk is full", for real
        connection = connect(store)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")
        return connection

    monkeypatch.setattr(Store, "_connect", full)
    more = tmp_path / "more"
    more.mkdir()
    (more / "long.txt").write_text("words that fill pages " * 20_000, encoding="utf-8")
    result = run("index", str(more), "--data-dir", data, "--no-progress")
    assert result.exit_code == 1
    assert "the disk that holds the index is full" in result.stderr
    assert "Traceback" not in result.output


def test_invalid_settings_are_reported(tmp_path: Path) -> None:
    result = run("stats", "--data-dir", str(tmp_path), env={"SEMSEARCH_MAX_K": "zero"})
    assert result.exit_code == 2
    assert "SEMSEARCH_MAX_K: Input should be a valid integer" in result.stderr
    assert "(got 'zero')" in result.stderr
    between = {"SEMSEARCH_CHUNK_MAX_TOKENS": "64", "SEMSEARCH_CHUNK_OVERLAP_TOKENS": "40"}
    result = run("stats", "--data-dir", str(tmp_path), env=between)
    assert result.exit_code == 2
    assert "invalid settings: Value error, chunk_overlap_tokens must be at most half" in result.stderr


def test_a_mistyped_variable_is_named_with_the_setting_it_resembles(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress").exit_code == 0
    result = run("search", "cats", "--data-dir", data, env={"SEMSEARCH_MAXK": "5"})
    assert result.exit_code == 0, result.output
    assert "SEMSEARCH_MAXK (did you mean SEMSEARCH_MAX_K?) is not a setting" in result.stderr


def test_a_data_dir_on_the_command_line_wins_over_an_exported_service_url(tmp_path: Path) -> None:
    """With SEMSEARCH_URL exported, `--data-dir` on the command line was ignored: the documents went to the
    service. The command line now wins over the environment; both on the command line is an error."""
    data = str(tmp_path / "data")
    gone = {"SEMSEARCH_URL": "http://127.0.0.1:9"}  # nothing listens there: any use of it fails
    indexed = run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress", "--json", env=gone)
    assert indexed.exit_code == 0, indexed.output
    assert json.loads(indexed.stdout.splitlines()[-1])["created"] == 3
    found = run("search", "cats", "-k", "1", "--data-dir", data, "--json", env=gone)
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["doc_id"] == "cats.md"
    assert json.loads(run("stats", "--data-dir", data, "--json", env=gone).stdout)["documents"] == 3
    both = run("stats", "--url", "http://127.0.0.1:9", "--data-dir", data)
    assert both.exit_code == 2
    assert "give --url (a running service) or --data-dir (a data directory), not both" in both.stderr
    remote = run("stats", env=gone)  # the exported URL alone: the service, which is not there
    assert remote.exit_code == 2
    assert "cannot reach the service at http://127.0.0.1:9" in remote.stderr


def test_help_lists_the_commands_with_examples() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("serve", "index", "search", "stats", "snapshot", "restore", "eval"):
        assert command in result.stdout
    assert "Examples:" in result.stdout
    assert "semsearch index ./docs --data-dir /data" in result.stdout


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of ``command`` and of every command under it (typer vendors its own click: duck-typed)."""
    paths = [path]
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            paths += _command_paths(sub, (*path, name))
    return paths


def test_every_help_fits_80_columns_with_its_examples_one_command_a_line() -> None:
    """Click rewraps help paragraphs to the terminal's width: the examples came out as one paragraph, with
    commands broken across lines and run into their comments. Every example now stays a line of its own,
    whole for copying, and every line of every command's help fits a terminal of 80 columns."""
    paths = _command_paths(typer.main.get_command(app))
    assert len(paths) > 20  # the commands, and those of collections and alias
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=80)
        assert result.exit_code == 0, (path, result.output)
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= 80, (path, [line for line in lines if len(line) > 80])
        examples = [line.strip() for line in lines if line.strip().startswith("semsearch ")]
        if path in [(), ("search",), ("export",)]:
            assert len(examples) >= 3, (path, result.stdout)
        for example in examples:
            assert example.count("semsearch ") == 1, (path, example)  # not two run together
            assert "#" not in example, (path, example)  # nor its comment
    top = [line.strip() for line in runner.invoke(app, ["--help"], terminal_width=80).stdout.splitlines()]
    assert "semsearch index ./docs --data-dir /data/sharded --shards 2 --ray local" in top


def test_people_get_tables_and_programs_get_json(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    indexed = run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress")
    assert "Indexed into" in indexed.stdout
    assert "created" in indexed.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(indexed.stdout)
    found = run("search", "rivers sediment", "-k", "2", "--data-dir", data)
    assert "best sentence" in found.stdout
    assert "Rivers carry sediment to the sea." in found.stdout
    assert "r1" in found.stdout
    stats = run("stats", "--data-dir", data)
    assert "documents" in stats.stdout
    assert "fake/bag-of-words" in stats.stdout


def test_what_documents_hold_is_shown_as_text_never_acted_on(tmp_path: Path) -> None:
    """A document's "[/link]" made the table raise (rich read it as markup), and its escape sequences went to
    the terminal as they were (clearing the screen, setting the window title): both are shown as text."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    hostile = {
        "_id": "lava",
        "title": "[bold red]Alarm[/bold red] \x1b]0;PWNED\x07",
        "text": "Lava flows [/link] down \x1b[2J\x1b[31mthe volcano\x1b[0m\r at night \x9b6n.",
        "metadata": {"tag": "[/b]\x1b[5m"},
    }
    (folder / "hostile.jsonl").write_text(json.dumps(hostile), encoding="utf-8")
    data = str(tmp_path / "data")
    assert run("index", str(folder), "--data-dir", data, "--no-progress").exit_code == 0
    for command in (["search", "lava volcano", "--data-dir", data], ["facets", "tag", "--data-dir", data]):
        result = run(*command)
        assert result.exit_code == 0, result.output
        assert not any(0x7F <= ord(c) <= 0x9F or (ord(c) < 0x20 and c != "\n") for c in result.stdout)
        assert "[/b]\\x1b[5m" in result.stdout if command[0] == "facets" else "\\x1b[2J" in result.stdout
    found = run("search", "lava volcano", "--data-dir", data).stdout
    assert "[bold red]Alarm[/bold red]" in found
    assert "[/link]" in found
    assert "\\x9b6n" in found


def test_snapshot_and_restore_from_the_command_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress").exit_code == 0
    with SearchIndex.open(data, FakeEmbedder()):  # a running service holds the directory...
        taken = run("snapshot", str(tmp_path / "snap"), "--data-dir", data, "--json")
        assert taken.exit_code == 0, taken.output  # ...and a snapshot needs no lock
        assert json.loads(taken.stdout)["documents"] == 3
        stats = run("stats", "--data-dir", data, "--json")  # nor do stats (read-only)
        assert json.loads(stats.stdout)["documents"] == 3
        refused = run("restore", str(tmp_path / "snap"), "--data-dir", data)
        assert refused.exit_code == 2
        assert "only one writer" in refused.stderr
    restored = run("restore", str(tmp_path / "snap"), "--data-dir", str(tmp_path / "restored"))
    assert restored.exit_code == 0, restored.output
    found = run("search", "rivers sediment", "-k", "1", "--data-dir", str(tmp_path / "restored"), "--json")
    assert json.loads(found.stdout.splitlines()[0])["doc_id"] == "r1"  # one JSON line per hit


def test_index_into_shards_search_them_and_reshard(tmp_path: Path) -> None:
    from index.distributed.sharding import read_layout, shard_of

    sharded = tmp_path / "sharded"
    result = run(
        "index", str(corpus(tmp_path)), "--data-dir", str(sharded), "--shards", "2", "--no-progress", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == 3
    shards = read_layout(sharded)
    for doc_id in ("cats.md", "markets.txt", "r1"):
        with SearchIndex.open(shards[shard_of(doc_id, 2)], FakeEmbedder(), read_only=True) as shard:
            assert shard.get(doc_id).id == doc_id

    hits = [
        json.loads(line)
        for line in run("search", "cats sleep", "--data-dir", str(sharded), "--json").stdout.splitlines()
    ]
    assert hits[0]["doc_id"] == "cats.md"
    stats = json.loads(run("stats", "--data-dir", str(sharded), "--json").stdout)
    assert (stats["documents"], stats["index_type"].split(" of ")[0]) == (3, "2 shards")

    wrong = run("index", str(corpus(tmp_path)), "--data-dir", str(sharded), "--shards", "3", "--no-progress")
    assert wrong.exit_code == 2
    assert "split into 2 shards, not 3" in wrong.output

    result = run("reshard", str(sharded), str(tmp_path / "three"), "--shards", "3", "--no-progress")
    assert result.exit_code == 0, result.output
    stats = json.loads(run("stats", "--data-dir", str(tmp_path / "three"), "--json").stdout)
    assert (stats["documents"], stats["index_type"].split(" of ")[0]) == (3, "3 shards")
    again = run("reshard", str(sharded), str(tmp_path / "three"), "--shards", "3", "--no-progress")
    assert again.exit_code == 2
    assert "not empty" in again.output


def test_a_sharded_data_directory_is_written_through_its_shards_never_beside_them(tmp_path: Path) -> None:
    """Indexing, syncing, deleting or updating without --shards into a sharded data directory wrote a new
    index beside the shards, reported as indexed, which no search of the shards ever found."""
    from index.distributed.sharding import read_layout, shard_of

    sharded = tmp_path / "sharded"
    first = run("index", str(corpus(tmp_path)), "--data-dir", str(sharded), "--shards", "2", "--no-progress")
    assert first.exit_code == 0, first.output
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tides.md").write_text("The tide turns twice a day.", encoding="utf-8")
    (notes / "ferry.md").write_text("The ferry leaves at dawn.", encoding="utf-8")

    indexed = run("index", str(notes / "tides.md"), "--data-dir", str(sharded), "--no-progress", "--json")
    assert json.loads(indexed.stdout)["created"] == 1
    synced = run("sync", str(notes), "--data-dir", str(sharded), "--prefix", "notes/", "--json")
    assert json.loads(synced.stdout)["added"] == ["notes/ferry.md", "notes/tides.md"]
    assert sorted(path.name for path in sharded.iterdir()) == ["shard-0000", "shard-0001", "shards.json"]
    stats = json.loads(run("stats", "--data-dir", str(sharded), "--json").stdout)
    assert stats["documents"] == 6
    hits = run("search", "when does the ferry leave", "--data-dir", str(sharded), "--json").stdout
    assert "notes/ferry.md" in [json.loads(line)["doc_id"] for line in hits.splitlines()]

    updated = run("update", "tides.md", "cats.md", "--metadata", '{"sea": true}', "--data-dir", str(sharded))
    assert (updated.exit_code, updated.stdout.split()) == (0, ["tides.md", "cats.md"])
    deleted = run("delete", "--filter", '{"field": "sea", "eq": true}', "--data-dir", str(sharded), "--json")
    assert sorted(json.loads(deleted.stdout)["deleted"]) == ["cats.md", "tides.md"]
    assert json.loads(run("stats", "--data-dir", str(sharded), "--json").stdout)["documents"] == 4
    got = run("get", "notes/ferry.md", "--data-dir", str(sharded), "--json")
    assert json.loads(got.stdout)["text"] == "The ferry leaves at dawn."

    # A collection of a sharded data directory is sharded as the root is, where serve-ray reads it.
    assert run("collections", "create", "notes", "--data-dir", str(sharded)).exit_code == 0
    into = run("index", str(notes), "--data-dir", str(sharded), "--collection", "notes", "--no-progress")
    assert into.exit_code == 0, into.output
    folders = read_layout(sharded / "collections" / "notes")
    for doc_id in ("ferry.md", "tides.md"):
        with SearchIndex.open(folders[shard_of(doc_id, 2)], FakeEmbedder(), read_only=True) as shard:
            assert shard.get(doc_id).id == doc_id
    found = run("search", "ferry", "--data-dir", str(sharded), "--collection", "notes", "--json").stdout
    assert json.loads(found.splitlines()[0])["doc_id"] == "ferry.md"

    # Where a sharded directory cannot be used as one index, it is refused, saying why; nothing is made.
    # (a process of its own, bounded: a serve that did not refuse would run until stopped)
    serve = [
        sys.executable,
        "-m",
        "service",
        "serve",
        "--data-dir",
        str(sharded),
        "--port",
        str(_free_port()),
    ]
    served = subprocess.run(serve, capture_output=True, text=True, timeout=60)
    assert served.returncode == 2
    assert f"{sharded} is a sharded data directory" in served.stderr
    assert "semsearch serve-ray" in served.stderr
    with pytest.raises(IncompatibleIndexError, match="is a sharded data directory"):
        SearchIndex.open(sharded, FakeEmbedder())
    snapshot = run("snapshot", str(tmp_path / "snap"), "--data-dir", str(sharded))
    assert (snapshot.exit_code, "snapshot each of its shard folders" in snapshot.stderr) == (2, True)
    restored = run("restore", str(tmp_path / "snap"), "--data-dir", str(sharded))
    assert restored.exit_code == 2
    assert "semsearch.db" not in [path.name for path in sharded.iterdir()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_get_delete_and_update_documents_by_id_or_filter(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress").exit_code == 0

    shown = run("get", "cats.md", "--data-dir", data)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip().endswith("# Cats\n\nCats sleep sixteen hours a day.")
    assert '"format": "markdown"' in shown.stdout
    document = json.loads(run("get", "cats.md", "--data-dir", data, "--json").stdout)
    assert (document["id"], len(document["chunks"])) == ("cats.md", 1)
    absent = run("get", "dogs.md", "--data-dir", data)
    assert (absent.exit_code, absent.stderr.strip()) == (1, "error: no document with id 'dogs.md'")

    patched = run(
        "update", "cats.md", "r1", "--metadata", '{"kind": "animal", "tags": ["a"]}', "--data-dir", data
    )
    assert (patched.exit_code, patched.stdout.split()) == (0, ["cats.md", "r1"])
    assert "updated 2 documents in " in patched.stderr
    assert json.loads(run("get", "r1", "--data-dir", data, "--json").stdout)["metadata"]["kind"] == "animal"
    by_filter = run(
        "update", "--filter", '{"field": "kind", "eq": "animal"}', "--metadata", '{"tags": null}',
        "--data-dir", data, "--json",
    )  # fmt: skip
    assert json.loads(by_filter.stdout) == {
        "matched": 2, "updated": ["cats.md", "r1"], "not_found": [], "dry_run": False
    }  # fmt: skip
    # A patch that would make one document's metadata invalid (too large) changes none of them.
    note = json.dumps({"note": "x" * 40_000})
    assert run("update", "r1", "--metadata", note, "--data-dir", data).exit_code == 0
    more = json.dumps({"more": "y" * 30_000})
    invalid = run(
        "update", "--filter", '{"field": "kind", "eq": "animal"}', "--metadata", more, "--data-dir", data
    )
    assert invalid.exit_code == 1
    assert "the metadata of 'r1' once patched is" in invalid.stderr
    assert "more" not in json.loads(run("get", "cats.md", "--data-dir", data, "--json").stdout)["metadata"]

    would = run("delete", "--filter", '{"field": "kind", "eq": "animal"}', "--dry-run", "--data-dir", data)
    assert (would.exit_code, would.stdout.split()) == (0, ["cats.md", "r1"])
    assert "would delete 2 documents in " in would.stderr
    assert json.loads(run("stats", "--data-dir", data, "--json").stdout)["documents"] == 3
    gone = run("delete", "cats.md", "dogs.md", "--data-dir", data)
    assert (gone.exit_code, gone.stdout.split()) == (1, ["cats.md"])  # like rm: the others still go
    assert "not found: dogs.md" in gone.stderr
    again = run("delete", "cats.md", "--missing-ok", "--data-dir", data, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout) == {
        "matched": 0,
        "deleted": [],
        "not_found": ["cats.md"],
        "dry_run": False,
    }
    rest = run("delete", "--filter", '{"field": "kind", "eq": "animal"}', "--data-dir", data)
    assert rest.stdout.split() == ["r1"]
    assert json.loads(run("stats", "--data-dir", data, "--json").stdout)["documents"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["delete"], "give document ids or --filter (exactly one of them)"),
        (["delete", "a", "--filter", '{"field": "k", "eq": 1}'], "give document ids or --filter"),
        (["delete", "--filter", "{nope"], "--filter is not valid JSON"),
        (["delete", "--filter", "{}"], "filter: expected a non-empty object"),
        (["update", "a"], "give the change as --metadata JSON"),
        (["update", "a", "--metadata", "[1]"], "--metadata must be a JSON object"),
        (["update", "a", "--metadata", "{"], "--metadata is not valid JSON"),
        (["delete", "--filter", "[" * 5000 + "]" * 5000], "--filter nests too deeply to read"),
        (["update", "a", "--metadata", '{"n": ' + "1" * 5000 + "}"], "--metadata holds a number of more"),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    data = tmp_path / "data"
    assert run("index", str(corpus(tmp_path)), "--data-dir", str(data), "--no-progress").exit_code == 0
    before = run("export", "--data-dir", str(data)).stdout
    result = run(*args, "--data-dir", str(data))
    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert run("export", "--data-dir", str(data)).stdout == before
    nowhere = tmp_path / "nowhere"
    assert run("delete", "a", "--data-dir", str(nowhere)).exit_code == 2
    assert not nowhere.exists()  # a change makes no data directory


def test_index_reads_standard_input_json_lines_or_one_document(tmp_path: Path) -> None:
    """`semsearch export | semsearch index -` copies an index (to another data directory or, with --url, a
    service), and `pbpaste | semsearch index - --id notes/plan.md` indexes a text without a file."""
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    assert run("index", str(corpus(tmp_path)), "--data-dir", first, "--no-progress").exit_code == 0
    exported = run("export", "--data-dir", first).stdout.encode("utf-8")
    copied = run("index", "-", "--data-dir", second, "--no-progress", "--json", stdin=exported)
    assert copied.exit_code == 0, copied.output
    assert json.loads(copied.stdout)["created"] == 3
    assert run("export", "--data-dir", second).stdout.encode("utf-8") == exported

    note = b"# Plan\n\nShip the tram line on Friday.\n"
    one = run("index", "-", "--id", "notes/plan.md", "--data-dir", second, "--no-progress", stdin=note)
    assert one.exit_code == 0, one.output
    plan = json.loads(run("get", "notes/plan.md", "--data-dir", second, "--json").stdout)
    assert (plan["title"], plan["metadata"]["format"]) == ("Plan", "markdown")  # read as its suffix says
    memo = run("index", "-", "--id", "memo", "--data-dir", second, "--no-progress", stdin=b"Buy milk.")
    assert memo.exit_code == 0, memo.output
    assert (
        json.loads(run("get", "memo", "--data-dir", second, "--json").stdout)["metadata"]["format"] == "text"
    )
    pdf = (Path(__file__).parents[1] / "data" / "files" / "lighthouse.pdf").read_bytes()
    paged = run("index", "-", "--id", "lighthouse.pdf", "--data-dir", second, "--no-progress", stdin=pdf)
    assert paged.exit_code == 0, paged.output
    assert (
        json.loads(run("get", "lighthouse.pdf", "--data-dir", second, "--json").stdout)["metadata"]["pages"]
        > 1
    )

    no_id = b'{"id": "x", "text": "ok"}\n{"id": "y", "text": " "}\n{"text": "no id"}\n'
    bad = run("index", "-", "--data-dir", second, "--no-progress", stdin=no_id)
    assert bad.exit_code == 2
    assert "skipped: standard input:3: needs an '_id' or 'id' (a string or a number)" in bad.stderr
    assert "document 'y'" not in bad.stderr  # its file was skipped whole: no record of it is named
    # A record with a title and no text is its title; one with neither is left out, not its whole file.
    records = b'{"id": "paper", "title": "Remdesivir trial", "text": ""}\n{"id": "blank", "text": " "}\n'
    strict = run("index", "-", "--strict", "--data-dir", second, "--no-progress", stdin=records)
    assert strict.exit_code == 2
    assert "error: 1 record(s) cannot be indexed; nothing was changed (--strict)" in strict.stderr
    mended = run("index", "-", "--data-dir", second, "--no-progress", "--json", stdin=records)
    assert mended.exit_code == 0, mended.output
    assert json.loads(mended.stdout)["skipped_documents"] == 1
    assert "skipped: standard input:2: document 'blank' has no text" in mended.stderr
    paper = json.loads(run("get", "paper", "--data-dir", second, "--json").stdout)
    assert paper["text"] == paper["title"] == "Remdesivir trial"
    twice = run("index", "-", "-", "--data-dir", second, stdin=b"")
    assert (twice.exit_code, twice.stderr.strip()) == (2, "error: - (standard input) can be read once")
    alone = run("index", str(corpus(tmp_path)), "--id", "x", "--data-dir", second)
    assert "--id names the document read from standard input: give - too" in alone.stderr
    assert json.loads(run("stats", "--data-dir", second, "--json").stdout)["documents"] == 7


def test_collections_and_aliases_from_the_command_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert run("index", str(corpus(tmp_path)), "--data-dir", data, "--no-progress").exit_code == 0
    created = run(
        "collections",
        "create",
        "small",
        "--settings",
        '{"chunking": {"max_tokens": 32, "overlap_tokens": 8}}',
        "--data-dir",
        data,
    )
    assert created.exit_code == 0, created.output
    assert "created: small" in created.stdout
    assert run("collections", "create", "Bad!", "--data-dir", data).exit_code != 0
    unusable = run(
        "collections", "create", "x", "--settings", '{"chunking": {"max_tokens": 32}}', "--data-dir", data
    )
    assert unusable.exit_code != 0  # the default overlap (32) is over half of 32
    assert "overlap" in unusable.output
    other = run(
        "collections", "create", "small", "--settings", '{"chunking": {"max_tokens": 64}}', "--data-dir", data
    )
    assert other.exit_code != 0
    assert "other settings" in other.output

    indexed = run(
        "index", str(corpus(tmp_path)), "--collection", "small", "--data-dir", data, "--no-progress"
    )
    assert indexed.exit_code == 0, indexed.output
    assert run("alias", "set", "live", "small", "--data-dir", data).exit_code == 0
    hits = run("search", "cats sleep", "--collection", "live", "--data-dir", data, "--json")
    assert hits.exit_code == 0, hits.output
    assert json.loads(hits.stdout.splitlines()[0])["doc_id"] == "cats.md"
    stats = json.loads(run("stats", "--collection", "live", "--data-dir", data, "--json").stdout)
    assert stats["data_dir"].endswith("collections/small")
    listed = [
        json.loads(line)
        for line in run("collections", "list", "--data-dir", data, "--json").stdout.splitlines()
    ]
    assert [(c["name"], c["settings"]["chunking"]) for c in listed] == [
        ("default", {}),
        ("small", {"max_tokens": 32, "overlap_tokens": 8}),
    ]
    assert json.loads(run("alias", "list", "--data-dir", data, "--json").stdout) == {"live": "small"}

    assert run("collections", "create", "copy", "--data-dir", data).exit_code == 0
    copied = run("collections", "reindex", "copy", "--from", "live", "--data-dir", data, "--no-progress")
    assert copied.exit_code == 0, copied.output
    assert "reindexed 3 documents" in copied.stdout
    copy_stats = json.loads(run("stats", "--collection", "copy", "--data-dir", data, "--json").stdout)
    assert copy_stats["documents"] == 3

    refused = run("collections", "delete", "small", "--data-dir", data)
    assert refused.exit_code != 0
    assert "live" in refused.output
    assert run("collections", "delete", "small", "--force", "--data-dir", data).exit_code == 0
    assert not (tmp_path / "data" / "collections" / "small").exists()
    assert json.loads(run("alias", "list", "--data-dir", data, "--json").stdout) == {}
    missing = run("search", "cats", "--collection", "small", "--data-dir", data)
    assert missing.exit_code != 0
    assert "no collection or alias named 'small'" in missing.output


def test_legacy_text_files_are_indexed_in_the_encoding_named(tmp_path: Path) -> None:
    folder, data = tmp_path / "old", tmp_path / "data"
    folder.mkdir()
    (folder / "menu.txt").write_bytes("Le caf\u00e9 cr\u00e8me co\u00fbte 4 \u20ac.".encode("cp1252"))
    (folder / "notes.md").write_text("# Notes\n\nAlready UTF-8: na\u00efve.", encoding="utf-8")
    (folder / "rows.jsonl").write_bytes('{"_id": "r", "text": "Br\u00f6tchen"}\n'.encode("cp1252"))

    refused = run("index", str(folder), "--data-dir", str(data), "--no-progress", "--encoding", "utf-8")
    assert refused.exit_code == 2
    assert "--encoding: encoding 'utf-8' is not a legacy text encoding" in refused.output
    assert not data.exists()

    skipped = run("index", str(folder), "--data-dir", str(data), "--no-progress", "--json")
    assert json.loads(skipped.stdout)["skipped_files"] == 2  # the text file and the JSON lines
    assert "name the encoding it is in" in skipped.stderr

    args = ("index", str(folder), "--data-dir", str(data), "--no-progress", "--json", "--encoding", "latin-1")
    summary = json.loads(run(*args).stdout)
    assert (summary["documents"], summary["skipped_files"]) == (3, 0)
    with SearchIndex.open(data, FakeEmbedder(), read_only=True) as index:
        texts = {doc_id: index.get(doc_id).text for doc_id in ("menu.txt", "notes.md", "r")}
    # Windows-1252 for Latin-1, as browsers read it: the euro sign is 0x80 there, a control in Latin-1.
    assert texts["menu.txt"] == "Le caf\u00e9 cr\u00e8me co\u00fbte 4 \u20ac."
    assert texts["r"] == "Br\u00f6tchen"
    assert "na\u00efve" in texts["notes.md"]  # UTF-8 stays UTF-8


def test_serve_on_a_port_another_program_holds_fails_at_once_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_app(*args: object) -> None:
        raise AssertionError("the app was made (its model loaded) before the port was found taken")

    monkeypatch.setattr("service.app.create_app", no_app)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run("serve", "--port", str(port), "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 2
    assert (
        f"127.0.0.1:{port} is in use by another program: stop it, or serve on another port" in result.output
    )
    assert f"semsearch serve --port {port + 1}" in result.output
    result = run("serve", "--host", "192.0.2.1", "--port", str(port), "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 2
    assert "'192.0.2.1' is not an address of this machine" in result.output


def test_index_leaves_out_what_gitignore_excludes_unless_told_not_to(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for name, text in (
        ("README.md", "# Shop\n\nSells bread and cakes."),
        ("src/app.py", "def bake():\n    return 'bread'\n"),
        ("build/app.py", "def bake():\n    return 'bread'\n"),
        ("debug.log", "oven too hot"),
        (".gitignore", "build/\n*.log\n"),
    ):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    data = str(tmp_path / "data")
    result = run("index", str(project), "--data-dir", data, "--no-progress", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["documents"], summary["ignored"]) == (2, ["build/", "debug.log"])
    assert (
        "left out: 2 paths .gitignore files leave out (build/, debug.log); --no-ignore indexes them"
        in result.stderr
    )
    stored = json.loads(run("export", "--data-dir", data).stdout.splitlines()[-1])
    assert (stored["id"], stored["metadata"]["programming_language"]) == ("src/app.py", "python")
    result = run("index", str(project), "--data-dir", data, "--no-progress", "--json", "--no-ignore")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["documents"], summary["created"], summary["ignored"]) == (4, 2, [])


def test_index_reads_a_picture_named_by_itself_and_passes_over_those_in_a_folder(tmp_path: Path) -> None:
    """A photographed page given by name is read by OCR; the pictures in a folder (icons, photographs
    beside the text) are passed over, as before."""
    folder = corpus(tmp_path)
    (folder / "notice.png").write_bytes(scanned_file([["The ferry is cancelled on Sunday."]], "PNG"))
    data = str(tmp_path / "data")
    whole = run("index", str(folder), "--data-dir", data, "--no-progress", "--json")
    assert json.loads(whole.stdout.strip().splitlines()[-1])["unsupported_files"] == {".png": 1}
    named = run("index", str(folder / "notice.png"), "--data-dir", data, "--no-progress", "--json")
    assert named.exit_code == 0, named.output
    assert json.loads(named.stdout.strip().splitlines()[-1])["created"] == 1
    stored = json.loads(run("get", "notice.png", "--data-dir", data, "--json").stdout)
    assert (stored["text"], stored["metadata"]["format"]) == ("The ferry is cancelled on Sunday.\n", "image")


def test_index_reads_a_zip_or_a_mailbox_named_by_itself_as_an_upload_does(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("handbook/intro.md", "# Intro\n\nWelcome aboard the ferry.")
        archive.writestr("handbook/empty.txt", "")
        archive.writestr("handbook/photo.png", b"\x89PNG")
    (tmp_path / "handbook.zip").write_bytes(out.getvalue())
    box = mailbox.mbox(tmp_path / "Inbox.mbox")
    message = EmailMessage()
    message["Message-ID"] = "<m1@example.org>"
    message["Subject"] = "Ferry times"
    message["From"] = "ada@example.org"
    message.set_content("The winter ferry leaves at seven.")
    box.add(message)
    box.close()
    data = str(tmp_path / "data")
    zipped, mail = str(tmp_path / "handbook.zip"), str(tmp_path / "Inbox.mbox")
    result = run("index", zipped, mail, "--data-dir", data, "--no-progress", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["created"], summary["skipped_files"]) == (2, 1)
    assert summary["skipped"] == [f"{zipped}: handbook/empty.txt: the file is empty"]
    assert f"not read: in {zipped}: 1 file of types semsearch does not read (.png 1)" in result.stderr
    exported = [json.loads(line) for line in run("export", "--data-dir", data).stdout.splitlines()]
    assert [(d["id"], d["metadata"].get("archive"), d["metadata"].get("mailbox")) for d in exported] == [
        ("Inbox.mbox/m1@example.org", None, "Inbox.mbox"),
        ("handbook/intro.md", "handbook.zip", None),
    ]
    # With --strict, a file in the archive that cannot be read refuses the whole run
    result = run("index", zipped, "--data-dir", data, "--no-progress", "--strict")
    assert result.exit_code != 0
    assert f"refused: {zipped}: handbook/empty.txt: the file is empty" in result.stderr
