"""Source code, configuration and log files read as the text they are (index.ingest.extract.code)."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.ingest.extract import NoTextError, UnsupportedFormatError, extract, format_of
from index.ingest.extract.code import LANGUAGES, NAMES
from index.ingest.sources import discover
from index.ingest.uploaded import read_file


def test_a_source_file_is_its_text_titled_by_its_name_with_its_language() -> None:
    source = b'def greet(name):\n    """Say hello."""\n    return f"hello {name}"\n'
    read = extract(source, "src/greeting.py")
    assert (read.text, read.title, read.format) == (source.decode(), "greeting.py", "code")
    assert read.fields == {"programming_language": "python"}
    assert read.pages is None  # a form feed in old C source is not a page break


@pytest.mark.parametrize(
    ("name", "fmt", "language"),
    [
        ("Dockerfile", "code", "dockerfile"),
        ("CMakeLists.txt", "code", "cmake"),  # the name, before the suffix's "text"
        ("config.YML", "code", "yaml"),
        ("server.log", "text", None),
        ("README", "text", None),
        ("notes.txt", "text", None),
    ],
)
def test_files_are_known_by_their_name_then_suffix(name: str, fmt: str, language: str | None) -> None:
    assert format_of(name) == fmt
    read = extract(b"something to read", name)
    assert read.format == fmt
    assert read.fields.get("programming_language") == language


def test_a_binary_file_under_a_code_suffix_is_refused() -> None:
    mpeg_ts = bytes([0x47, 0x40, 0x00, 0x10]) + bytes(184)  # a video's transport stream packet, named .ts
    with pytest.raises(UnsupportedFormatError, match="looks like a binary file"):
        extract(mpeg_ts * 3, "clip.ts")


def test_code_in_a_legacy_encoding_is_read_in_the_one_named() -> None:
    latin1 = "# Café prices\nPRICE = 3\n".encode("latin-1")
    assert extract(latin1, "menu.py", "latin-1").text == "# Café prices\nPRICE = 3\n"


def test_a_blank_code_file_has_no_text() -> None:
    with pytest.raises(NoTextError, match="no text"):
        extract("\u3000\n".encode(), "empty.py")  # an ideographic space: blank, but not to bytes.strip()


def test_every_suffix_and_name_is_a_code_file_of_its_language() -> None:
    for suffix, language in LANGUAGES.items():
        assert suffix == suffix.lower()
        assert suffix.startswith(".")
        assert format_of(f"file{suffix.upper()}") == "code"
        assert extract(b"x = 1", f"file{suffix}").fields == {"programming_language": language}
    for name, (fmt, _) in NAMES.items():
        assert format_of(f"some/folder/{name}") == fmt


# Text as a file would hold it: any characters but NUL (binary) and a leading byte order mark (dropped).
_SOURCE = st.text(st.characters(exclude_characters="\x00\ufeff", exclude_categories=["Cs"]), max_size=300)


@given(_SOURCE.filter(str.strip))
def test_a_code_file_keeps_every_character(source: str) -> None:
    """Indentation, tabs, trailing spaces, line endings, any script: the reader changes nothing."""
    assert extract(source.encode(), "module.py").text == source


def test_lock_files_and_minified_scripts_are_passed_over_in_folders_and_archives(tmp_path: Path) -> None:
    names = ["app.js", "package-lock.json", "vendor/jquery.min.js", "package.json", "theme.MIN.CSS"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('{"a": 1}', encoding="utf-8")
    unsupported: Counter[str] = Counter()
    assert [s.relative for s in discover([tmp_path], unsupported)] == ["app.js", "package.json"]
    assert unsupported == Counter({"package-lock.json": 1, "jquery.min.js": 1, "theme.MIN.CSS": 1})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(f"web/{name}", '{"a": 1}')
    contents = read_file("unused", "web.zip", out.getvalue())
    assert contents.paths == ["web/app.js", "web/package.json"]
    assert contents.skipped == {"package-lock.json": 1, "jquery.min.js": 1, "theme.MIN.CSS": 1}
    # Sent alone, by choice, it is read
    assert extract(b'{"lockfileVersion": 3}', "package-lock.json").format == "code"
