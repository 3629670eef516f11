"""ZIP archives read as folders (index.ingest.archive), and the bound on what opening any ZIP may cost."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.archive import EmptyArchiveError, MemberTooLargeError, member_path
from index.ingest.extract import CorruptFileError, EncryptedFileError, extract
from index.ingest.extract import base as extract_base
from index.ingest.extract.base import zip_directory_bytes
from index.ingest.uploaded import read_file
from tests.documents import docx_bytes


def zip_of(members: list[tuple[str, bytes]], comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
        archive.comment = comment
    return out.getvalue()


def test_an_archive_becomes_the_documents_of_the_files_it_holds() -> None:
    data = zip_of(
        [
            ("handbook/intro.md", b"# Intro\n\nWelcome aboard."),
            ("handbook/", b""),
            ("handbook/plan.docx", docx_bytes("Plan", [("Goals", ["Ship the tram line."])])),
            ("handbook/pic.png", b"\x89PNG\r\n\x1a\n"),
            ("handbook/inner.zip", zip_of([("x.md", b"x")])),
            ("handbook/LICENSE", b"MIT"),
            ("handbook/bin/deploy", b"#!/bin/sh"),
            ("__MACOSX/handbook/._intro.md", b"\x00\x05\x16\x07"),
            ("handbook/.git/config", b"[core]"),
            ("../outside.md", b"a name that climbs out of the folder"),
            ("C:\\Users\\ada\\notes.txt", b"Saved by a Windows tool with backslashes."),
        ]
    )
    contents = read_file("unused", "handbook.zip", data, {"team": "docs"}, id_prefix="kb/")
    assert contents.archive
    assert [d.id for d in contents.documents] == [
        "kb/C:/Users/ada/notes.txt",
        "kb/handbook/LICENSE",  # known by name; a file of no suffix otherwise is passed over
        "kb/handbook/intro.md",
        "kb/handbook/plan.docx",
    ]
    intro = contents.documents[2]
    assert (intro.title, intro.text) == ("Intro", "# Intro\n\nWelcome aboard.")
    assert {k: intro.metadata[k] for k in ("team", "archive", "path", "format")} == {
        "team": "docs",
        "archive": "handbook.zip",
        "path": "handbook/intro.md",
        "format": "markdown",
    }
    assert "Ship the tram line." in contents.documents[3].text
    assert contents.skipped == {".png": 1, ".zip": 1, "": 1}
    assert contents.problems == []


def test_a_file_that_is_no_archive_is_its_one_document() -> None:
    contents = read_file("notes/a.md", "a.md", b"# A\n\nText.", {"k": 1})
    assert not contents.archive
    assert [(d.id, d.title, d.metadata["k"]) for d in contents.documents] == [("notes/a.md", "A", 1)]
    docx = docx_bytes("Plan", [("Goals", ["Ship the tram line."])])
    assert read_file("plan.zip", "plan.zip", docx).documents[0].metadata["format"] == "docx"  # bytes decide


def test_each_file_that_cannot_be_read_is_a_problem_of_its_own() -> None:
    data = zip_of(
        [("ok.md", b"fine"), ("empty.txt", b"  "), ("big.txt", b"w" * 5000), ("x.pdf", b"%PDF-1.7\n")]
    )
    contents = read_file("unused", "box.zip", data, max_file_bytes=4096)
    assert [d.id for d in contents.documents] == ["ok.md"]
    problems = dict(contents.problems)
    assert set(problems) == {"big.txt", "empty.txt", "x.pdf"}
    assert isinstance(problems["big.txt"], MemberTooLargeError)
    assert "box.zip: big.txt: 5000 bytes, above the limit of 4096" in str(problems["big.txt"])
    assert str(problems["empty.txt"]) == "box.zip: empty.txt: the file is empty"
    assert isinstance(problems["x.pdf"], CorruptFileError)


def test_an_encrypted_file_in_an_archive_is_named_as_such() -> None:
    data = bytearray(zip_of([("open.md", b"readable"), ("locked.md", b"ciphertext")]))
    # Mark locked.md encrypted as a password-protected archive does: bit 0 of the flags in its local header
    # and its directory entry (zipfile writes no encrypted archives).
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.rfind(signature)
        data[at + flags] |= 0x1
    contents = read_file("unused", "safe.zip", bytes(data))
    assert [d.id for d in contents.documents] == ["open.md"]
    [(path, error)] = contents.problems
    assert path == "locked.md"
    assert isinstance(error, EncryptedFileError)
    assert "encrypted in the archive" in str(error)


def test_an_archive_with_nothing_to_read_is_refused_and_says_what_it_holds() -> None:
    with pytest.raises(
        EmptyArchiveError,
        match=r"no file semsearch reads in it: 3 files of types semsearch does not read \(\.png 2, \.jpg 1\)",
    ):
        read_file(
            "u", "pics.zip", zip_of([("a.png", b"1"), ("b.png", b"2"), ("c.jpg", b"3"), (".hidden.md", b"")])
        )
    with pytest.raises(EmptyArchiveError, match="in it: it is empty"):
        read_file("u", "none.zip", zip_of([("folder/", b"")]))


def test_a_zip_listing_too_many_members_is_refused_before_zipfile_reads_the_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = zip_of([(f"{n}.txt", b"") for n in range(200)])
    assert zip_directory_bytes(data) == sum(46 + len(f"{n}.txt") for n in range(200))
    monkeypatch.setattr(extract_base, "MAX_ZIP_DIRECTORY_BYTES", 4096)

    def never(*args: object) -> None:
        raise AssertionError("zipfile was asked to read the list")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", never)
    with pytest.raises(
        CorruptFileError, match=r"its list of members takes 10,490 bytes, more than the 4,096"
    ):
        read_file("u", "many.zip", data)
    with pytest.raises(CorruptFileError, match="its list of members takes"):  # an Office file is a ZIP too
        extract(data, "many.docx")


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(
        st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20), max_size=8
    ),
    comment=st.binary(max_size=64) | st.just(b"PK\x05\x06" + bytes(18)),
)
def test_the_directory_size_read_is_the_one_zipfile_reads(names: list[str], comment: bytes) -> None:
    """What the check reads from the end record is what zipfile itself reads, a comment that holds an end
    record's signature included (the reference: zipfile's own reading of the end record)."""
    data = zip_of([(name, b"x") for name in dict.fromkeys(names)], comment)
    reference = zipfile._EndRecData(io.BytesIO(data))  # type: ignore[attr-defined]
    assert zip_directory_bytes(data) == (None if reference is None else reference[zipfile._ECD_SIZE])  # type: ignore[attr-defined]


def _reference_path(name: str) -> str | None:
    """member_path written plainly: split on either slash, drop empty and "." parts; nothing for a folder,
    a hidden part or macOS's forks."""
    if name.endswith(("/", "\\")):
        return None
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
        return None
    return "/".join(parts)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "b.md", ".", "..", ".git", "__MACOSX", "", "c d", "\u00e9"]),
        min_size=1,
        max_size=5,
    ).map("/".join)
    | st.text(st.sampled_from("ab./\\_M"), max_size=12)
)
def test_a_member_path_is_a_clean_relative_path_or_nothing(name: str) -> None:
    path = member_path(name)
    assert path == _reference_path(name)
    if path is not None:
        assert not PurePosixPath(path).is_absolute()
        assert ".." not in path.split("/")
        assert "\\" not in path
        assert "//" not in path
