from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import SearchIndex
from index.ingest import sources
from index.ingest.extract import ocr
from index.ingest.preparation import validate_documents
from index.ingest.sources import (
    SourceError,
    count_documents,
    decoded_lines,
    describe_unsupported,
    discover,
    file_id,
    jsonl_documents,
    read_documents,
)
from index.ingest.uploaded import read_file
from index.types import Document
from index.validation import is_blank
from tests.documents import docx_bytes


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_folder_ids_are_relative_paths_and_hidden_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.txt", "alpha")
    write(tmp_path / "docs" / "sub" / "b.md", "# Bee\n\nbeta")
    write(tmp_path / "docs" / ".hidden" / "c.txt", "hidden")
    write(tmp_path / "docs" / "image.png", b"\x89PNG")
    sources = discover([tmp_path / "docs"])
    assert [s.relative for s in sources] == ["a.txt", "sub/b.md"]
    docs = [doc for source in sources for doc in read_documents(source)]
    assert [(d.id, d.title) for d in docs] == [("a.txt", "a"), ("sub/b.md", "Bee")]
    digest = hashlib.sha256(b"# Bee\n\nbeta").hexdigest()
    assert docs[1].metadata == {"path": "sub/b.md", "format": "markdown", "sha256": digest}


def test_files_of_other_types_in_a_folder_are_counted_by_suffix(tmp_path: Path) -> None:
    for name in (
        "a.md",
        "b.pages",
        "c.PAGES",
        "d.key",
        "README",
        "run-backup",
        ".hidden/e.pages",
        "f.odt",
        "g.rtf",
        "h.doc",
        "i.tex",
    ):
        write(tmp_path / "docs" / name, "x")
    unsupported: Counter[str] = Counter()
    sources = discover([tmp_path / "docs"], unsupported)
    # README is known by name; a file of no suffix otherwise is not read in a folder (it may be anything)
    assert [s.relative for s in sources] == ["README", "a.md", "f.odt", "g.rtf", "h.doc", "i.tex"]
    assert unsupported == Counter({".pages": 2, ".key": 1, "": 1})
    assert describe_unsupported(unsupported) == (
        "4 files of types semsearch does not read (.pages 2, .key 1, no suffix 1)"
    )


def test_a_file_name_that_is_not_utf8_gives_a_valid_stable_id(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, content in ((b"caf\xe9 notes.md", b"# Menu\n\ncoffee"), (b"r\xe9sum\xe9.txt", b"plain")):
        (folder / os.fsdecode(name)).write_bytes(content)  # Latin-1 names, as an old archive unpacks them
    sources = discover([folder])
    ids = ["caf\\xe9 notes.md", "r\\xe9sum\\xe9.txt"]
    assert [s.relative for s in sources] == ids
    docs = [doc for source in sources for doc in read_documents(source)]
    assert [(d.id, d.title) for d in docs] == [(ids[0], "Menu"), (ids[1], "r\\xe9sum\\xe9")]
    validate_documents(docs)  # what the index checks before writing: valid text throughout
    assert [s.relative for s in discover([folder])] == ids


def test_a_decomposed_file_name_gives_the_composed_id(tmp_path: Path) -> None:
    # macOS's older file system (and Safari's uploads) spell "é" as "e" and a combining accent.
    folder = tmp_path / "docs"
    (folder / "cafe\u0301").mkdir(parents=True)
    (folder / "cafe\u0301" / "ne\u0301e.md").write_bytes(b"# Menu\n\ncoffee")
    sources = discover([folder])
    assert [s.relative for s in sources] == ["caf\u00e9/n\u00e9e.md"]
    assert [d.id for d in read_documents(sources[0])] == ["caf\u00e9/n\u00e9e.md"]
    assert file_id("cafe\u0301.pdf") == file_id("caf\u00e9.pdf") == "caf\u00e9.pdf"


def test_a_docs_site_folder_is_searchable_by_its_front_matter(
    tmp_path: Path, open_index: Callable[..., SearchIndex]
) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "backups.md").write_text(
        "---\ntitle: Backups\ntags: [ops, sqlite]\n---\nCopy the database with the online backup.\n",
        encoding="utf-8",
    )
    (folder / "tuning.mdx").write_text(  # Docusaurus' Markdown
        "---\ntitle: Tuning\ntags: [search]\n---\nRaise ef_search for better recall.\n", encoding="utf-8"
    )
    documents = [doc for source in discover([folder]) for doc in read_documents(source)]
    assert [(d.title, d.metadata["tags"], d.metadata["path"]) for d in documents] == [
        ("Backups", ["ops", "sqlite"], "backups.md"),
        ("Tuning", ["search"], "tuning.mdx"),
    ]
    index = open_index()
    index.upsert(documents)
    hits = index.search("database backup recall", filter={"field": "tags", "eq": "ops"}).hits
    assert [(h.doc_id, h.title) for h in hits] == [("backups.md", "Backups")]
    assert "title:" not in index.get("backups.md").text  # the front matter is not indexed as prose


def test_beir_jsonl_lines_become_documents(tmp_path: Path) -> None:
    lines = [
        {
            "_id": "4983",
            "title": "Microstructural development",
            "text": "Alterations of the brain.",
            "metadata": {},
        },
        {"id": 7, "text": "Second document."},
    ]
    path = write(tmp_path / "corpus.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    (source,) = discover([path])
    docs = list(read_documents(source))
    assert [(d.id, d.title, d.text) for d in docs] == [
        ("4983", "Microstructural development", "Alterations of the brain."),
        ("7", None, "Second document."),
    ]
    assert count_documents(source) == 2


def test_jsonl_mends_what_real_corpora_hold_and_leaves_out_what_it_cannot(tmp_path: Path) -> None:
    """BEIR's TREC-COVID corpus holds papers with a title and no abstract; a user's export holds fields of
    its own. One such record refused its whole file, every other document with it."""
    lines = [
        {"_id": "1", "title": "Remdesivir in adults with severe COVID-19", "text": ""},
        {"_id": "2", "title": "  ", "text": "Kept as it is.", "url": "https://x.org/2", "year": 2020},
        {"_id": "3", "text": "Fields of its own.", "year": 2020, "metadata": {"year": 2021, "lang": "en"}},
        {"_id": "4", "title": "t" * 1200, "text": "The body."},
        {"_id": "5", "title": "", "text": ""},
        {"_id": "6", "text": "NUL\u0000 and a lone \ud800 surrogate"},
        {"_id": "a/../b", "text": "an id no URL reaches"},
        {"_id": "7", "text": "a number out of bounds", "metadata": {"n": 2**60}},
        {"id": "8", "text": None, "title": None},
    ]
    path = write(tmp_path / "corpus.jsonl", "\n".join(json.dumps(line) for line in lines))
    notes: list[str] = []
    (source,) = discover([path])
    documents = {d.id: d for d in read_documents(source, on_skip=notes.append)}
    assert documents["1"].text == documents["1"].title == "Remdesivir in adults with severe COVID-19"
    assert (documents["2"].title, documents["2"].metadata) == (None, {"url": "https://x.org/2", "year": 2020})
    assert documents["3"].metadata == {"year": 2021, "lang": "en"}  # metadata's own keys win
    assert (documents["4"].title, documents["4"].text) == (None, "t" * 1200 + "\n\nThe body.")
    assert documents["6"].text == "NUL and a lone ? surrogate"
    assert sorted(documents) == ["1", "2", "3", "4", "6"]
    validate_documents(list(documents.values()))  # what is read can be stored
    assert [note.split(": ")[0] for note in notes] == [
        f"{path}:5",
        f"{path}:7",
        f"{path}:8",
        f"{path}:9",
    ]
    assert "document '5' has no text" in notes[0]
    assert "document 'a/../b': the id has a '.' or '..' segment" in notes[1]
    assert "outside ±(2**53 - 1)" in notes[2]
    assert all(note.endswith("; left out") for note in notes)


# Text as people paste it: line and paragraph separators, NEL, form feeds, carriage returns, emoji.
_TEXT = st.text(
    st.one_of(
        st.sampled_from("\u2028\u2029\x85\x0c\x0b\x1c\r\n\t \u00e9\U0001f600"),
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    ),
    min_size=1,
    max_size=40,
).filter(lambda text: not is_blank(text))


_WORD = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=5)


@given(
    st.lists(
        st.tuples(
            _TEXT,
            st.one_of(st.none(), _TEXT.filter(lambda title: title == title.strip())),
            st.dictionaries(_WORD, st.one_of(_WORD, st.integers(-9, 9)), max_size=3),
        ),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=200, deadline=None)
def test_what_export_writes_reads_back_as_the_same_documents(
    records: list[tuple[str, str | None, dict[str, Any]]],
) -> None:
    """``semsearch export`` writes a JSON object a line with ensure_ascii=False, so U+2028, U+2029 and
    U+0085 stand in it as they are; str.splitlines also ends a line there, and a document holding one
    (text pasted from a web page or Word) could be exported but not indexed again."""
    documents = [
        Document(id=f"doc-{i}", text=text, title=title, metadata=metadata)
        for i, (text, title, metadata) in enumerate(records)
    ]
    exported = "\n".join(
        json.dumps({"id": d.id, "text": d.text, "title": d.title, "metadata": d.metadata}, ensure_ascii=False)
        for d in documents
    )
    notes: list[str] = []
    assert list(jsonl_documents(exported.encode("utf-8"), "export", on_skip=notes.append)) == documents
    assert notes == []


_LINES_TEXT = st.text(st.sampled_from('ab\u00e9\u2028\x85\r\n\ufeff"{} \U0001f600'), max_size=60)


@given(_LINES_TEXT, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]), st.integers(1, 9))
@settings(max_examples=300, deadline=None)
def test_lines_read_a_piece_at_a_time_are_the_lines_of_the_whole_text(
    text: str, codec: str, block: int
) -> None:
    """JSON Lines are decoded a line (or, in UTF-16 and UTF-32, a block) at a time, so that a corpus of
    gigabytes is not held whole; the reference is the whole file decoded, its byte order mark dropped, and
    split at "\\n" alone (as a file's lines, with no empty one after the last "\\n")."""
    data = text.encode(codec)
    reference = data.decode("utf-8-sig" if codec.startswith("utf-8") else codec).split("\n")
    reference = reference[:-1] if reference[-1] == "" else reference
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "_WIDE_BLOCK", block)
        assert list(decoded_lines(io.BytesIO(data), "x.jsonl")) == reference


class _Pipe(io.RawIOBase):
    """Bytes that can be read once, in order, as from a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def test_jsonl_is_read_a_line_at_a_time_in_any_encoding_it_says(tmp_path: Path) -> None:
    """A corpus of 265 MB took 1.1 GB to read whole (docs/benchmarks.md, "Reading a large JSON Lines
    corpus"); read a line at a time, the first document comes before the rest of the file is read."""
    records = [{"_id": str(i), "text": f"caf\u00e9 number {i}"} for i in range(2000)]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()
    stream = io.BytesIO(data)
    documents = jsonl_documents(stream, "corpus.jsonl")
    assert next(documents).id == "0"
    assert stream.tell() < len(data) / 100
    assert [d.id for d in documents] == [str(i) for i in range(1, 2000)]
    # From a pipe (standard input as it is), which cannot be read twice, in UTF-16 as in UTF-8.
    for codec in ("utf-8", "utf-16"):
        piped = io.BufferedReader(_Pipe(data.decode().encode(codec)))
        assert [d.id for d in jsonl_documents(piped, "standard input")] == [str(i) for i in range(2000)]
    # Saved as "Unicode" by Windows (UTF-16 with its byte order mark), with a UTF-8 one, and in UTF-32.
    for codec in ("utf-16", "utf-8-sig", "utf-32"):
        (source,) = discover([write(tmp_path / f"{codec}.jsonl", data.decode().encode(codec))])
        assert [d.text for d in read_documents(source)] == [r["text"] for r in records]
    # A line that is not UTF-8 is named, at its offset in the file; with the encoding given, it is read
    # in that encoding, and the lines that are UTF-8 as UTF-8.
    mixed = b'{"_id": "a", "text": "caf\xc3\xa9"}\n{"_id": "b", "text": "caf\xe9"}\n'
    (source,) = discover([write(tmp_path / "mixed.jsonl", mixed)])
    refusal = r"mixed\.jsonl:2: not valid UTF-8 \(byte 0xE9 at offset 55, which as Windows-1252 reads"
    with pytest.raises(SourceError, match=refusal):
        count_documents(source)
    assert [d.text for d in read_documents(source, "windows-1252")] == ["caf\u00e9", "caf\u00e9"]
    wide = write(tmp_path / "damaged.jsonl", data.decode().encode("utf-16") + b"\x00\xd8")
    with pytest.raises(SourceError, match=r"damaged\.jsonl: starts as UTF-16 but is not"):
        count_documents(discover([wide])[0])
    for blank in (b"", b"\n \n\n", "\n".encode("utf-16")):
        with pytest.raises(SourceError, match="the file is empty"):
            count_documents(discover([write(tmp_path / "blank.jsonl", blank)])[0])


def test_office_owner_files_are_passed_over_in_folders_and_archives(tmp_path: Path) -> None:
    """Word keeps ``~$report.docx`` (the name of whoever has the document open) beside ``report.docx``, and
    Windows a ``desktop.ini`` in a folder it shows with an icon of its own."""
    owner = b"\x0bJohn Smith" + bytes(40)
    write(tmp_path / "report.docx", docx_bytes("Report", [("Budget", ["Spending rose."])]))
    write(tmp_path / "~$report.docx", owner)
    write(tmp_path / "sheets" / "~$udget.xlsx", owner)
    write(tmp_path / "sheets" / "Desktop.ini", "[.ShellClassInfo]\nIconResource=C:\\icons.dll,3\n")
    unsupported: Counter[str] = Counter()
    assert [source.relative for source in discover([tmp_path], unsupported)] == ["report.docx"]
    assert unsupported == Counter({"~$report.docx": 1, "~$udget.xlsx": 1, "Desktop.ini": 1})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("shared/report.docx", (tmp_path / "report.docx").read_bytes())
        archive.writestr("shared/~$report.docx", owner)
    contents = read_file("unused", "shared.zip", out.getvalue())
    assert (contents.paths, contents.skipped) == (["shared/report.docx"], {"~$report.docx": 1})


def test_html_becomes_markdown_without_scripts(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Page</title><style>p{}</style></head><body><script>alert(1)</script>"
        "<h1>Head</h1><p>Para <b>bold</b>.</p><ul><li>one</li><li>two</li></ul></body></html>"
    )
    (doc,) = read_documents(discover([write(tmp_path / "p.html", html)])[0])
    assert doc.title == "Page"
    assert "# Head" in doc.text
    assert "- one" in doc.text
    assert "alert" not in doc.text
    assert "p{}" not in doc.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("latin1.txt", "café".encode("latin-1"), "not valid UTF-8"),
        ("empty.txt", b"  \n", "empty"),
        ("binary.txt", b"abc\x00def", "binary"),
        ("bad.jsonl", b'{"_id": "1", "text": "ok"}\n{broken\n', "bad.jsonl:2 is not valid JSON"),
        ("noid.jsonl", b'{"text": "ok"}\n', "needs an '_id'"),
        (
            "numbertext.jsonl",
            b'{"_id": "1", "text": 5}\n',
            "numbertext.jsonl:1: 'text' must be a string, not int",
        ),
        ("listmeta.jsonl", b'{"_id": "1", "text": "a", "metadata": [1]}\n', "'metadata' must be an object"),
    ],
)
def test_bad_files_raise_errors_naming_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (source,) = discover([write(tmp_path / name, content)])
    with pytest.raises(SourceError, match=message):
        count_documents(source)


def test_missing_paths_and_unsupported_files_are_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SourceError, match="no such file"):
        discover([tmp_path / "missing"])
    # A picture named by itself is read by OCR (index.ingest.extract.image); in a folder it is passed over.
    picture = write(tmp_path / "x.png", b"\x89PNG")
    assert [source.relative for source in discover([picture])] == ["x.png"]
    with monkeypatch.context() as without_ocr:
        without_ocr.setattr(ocr, "available", lambda: False)
        with pytest.raises(SourceError, match=r"x\.png: an image; semsearch reads pictures of text uploaded"):
            discover([picture])
    with pytest.raises(SourceError, match=r"x\.xyz: unsupported file type; semsearch reads \.adoc, .* code"):
        discover([write(tmp_path / "x.xyz", b"text")])
    # A ZIP or a mailbox named by itself is many documents (index.ingest.uploaded.read_source reads them);
    # in a folder, it is a file not read
    named = discover([write(tmp_path / "docs.zip", b"PK"), write(tmp_path / "Inbox.MBOX", b"From a")])
    assert [source.format for source in named] == ["archive", "archive"]
    unsupported: Counter[str] = Counter()
    assert discover([tmp_path], unsupported) == []
    assert unsupported == Counter({".zip": 1, ".mbox": 1, ".png": 1, ".xyz": 1})


def test_a_pipe_or_a_device_is_refused_by_name_and_passed_over_in_a_folder(tmp_path: Path) -> None:
    """A pipe named by itself was "no such file or folder", though it is there; reading one (or a link to
    /dev/zero) may never end, so it is refused for what it is, and in a folder passed over, as hidden files
    are: only regular files are read."""
    os.mkfifo(tmp_path / "notes.txt")
    (tmp_path / "zeros.txt").symlink_to("/dev/zero")
    write(tmp_path / "kept.txt", b"Lighthouses guide ships.")
    refusal = r"not a file or a folder \(a pipe, a socket or a device\)"
    for name in ("notes.txt", "zeros.txt"):
        with pytest.raises(SourceError, match=rf"{name}: {refusal}"):
            discover([tmp_path / name])
    assert [source.relative for source in discover([tmp_path])] == ["kept.txt"]


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    (doc,) = read_documents(discover([write(tmp_path / "bom.txt", b"\xef\xbb\xbfhello")])[0])
    assert doc.text == "hello"


def test_a_file_given_by_name_without_a_suffix_is_read_as_text(tmp_path: Path) -> None:
    line = "web: semsearch serve --port $PORT"
    (source,) = discover([write(tmp_path / "Procfile", line.encode())])
    (doc,) = read_documents(source)
    assert (doc.id, doc.metadata["format"], doc.text) == ("Procfile", "text", line)
