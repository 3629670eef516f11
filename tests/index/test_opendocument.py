"""OpenDocument files (ODT, ODS, ODP) written by odfpy, read as LibreOffice's users would expect; a property
test of a sheet's repeated rows and cells against writing every cell out; damaged, encrypted and hostile
files refused with a reason."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.extract import (
    CorruptFileError,
    EncryptedFileError,
    NoTextError,
    UnsupportedFormatError,
    extract,
)
from index.ingest.uploaded import read_file
from tests.documents import odf_bytes, odf_meta, odp_bytes, ods_bytes, odt_document, rezip


def test_a_text_document_reads_as_markdown_with_its_properties() -> None:
    from odf import meta

    document = odt_document(
        [
            ("h1", "Harbour manual"),
            ("p", "Tides come twice a day."),
            ("h2", "Gauges"),
            ("li", "Bolt the gauge to the pier."),
            ("table", [["Tide", "Height"], ["High", "4 m"]]),
        ]
    )
    odf_meta(document, title="The harbour manual", author="Ada Quay", keywords=["tides", "gauges"])
    document.meta.addElement(meta.CreationDate(text="2025-03-04T10:11:12.123456789"))
    extracted = extract(odf_bytes(document), "manual.odt")
    assert extracted.format == "odt"
    assert extracted.title == "The harbour manual"
    assert extracted.text == (
        "# Harbour manual\n\nTides come twice a day.\n\n## Gauges\n\n- Bolt the gauge to the pier.\n\n"
        "| Tide | Height |\n| --- | --- |\n| High | 4 m |\n"
    )
    assert extracted.fields["author"] == "Ada Quay"
    assert extracted.fields["keywords"] == ["tides", "gauges"]
    assert extracted.fields["created"].startswith("2025-03-04T10:11:12")
    # without a title in its properties, the first heading names it, as for Word files
    assert extract(odf_bytes(odt_document([("h1", "Notes"), ("p", "x")])), "n.odt").title == "Notes"


def test_footnotes_and_text_boxes_follow_their_paragraph_and_deleted_text_and_comments_stay_out() -> None:
    from odf import draw, office, text

    document = odt_document([])
    paragraph = text.P(text="The quay floods")
    paragraph.addElement(text.S(c=4))
    paragraph.addText("in spring")
    note = text.Note(noteclass="footnote")
    note.addElement(text.NoteCitation(text="1"))
    body = text.NoteBody()
    body.addElement(text.P(text="Measured since 1990."))
    note.addElement(body)
    paragraph.addElement(note)
    comment = office.Annotation()
    comment.addElement(text.P(text="Reviewer: check this"))
    paragraph.addElement(comment)
    paragraph.addText(" tides.")
    frame = draw.Frame(width="5cm", height="2cm", anchortype="paragraph")
    box = draw.TextBox()
    box.addElement(text.P(text="A boxed aside."))
    frame.addElement(box)
    paragraph.addElement(frame)
    changes = text.TrackedChanges()
    region = text.ChangedRegion(attributes={"id": "c1"}, check_grammar=False)
    deletion = text.Deletion()
    deletion.addElement(text.P(text="Deleted sentence."))
    region.addElement(deletion)
    changes.addElement(region)
    document.text.addElement(changes)
    document.text.addElement(paragraph)
    got = extract(odf_bytes(document), "notes.odt").text
    assert got == "The quay floods in spring tides.\n\nMeasured since 1990.\n\nA boxed aside.\n"


def test_a_spreadsheet_reads_a_table_per_sheet_without_its_blank_runs() -> None:
    data = ods_bytes(
        {
            "Tides": [
                [["Day", ("", 3), "High", ("", 1020)]][0],
                (["Mon", ("", 3), "4.1", ("", 1020)], 2),
                ([("", 1024)], 1_048_000),  # LibreOffice's blank rows to the end of the sheet
            ],
            "Empty": [[("", 1024)]],
        }
    )
    extracted = extract(data, "tides.ods")
    assert extracted.format == "ods"
    assert extracted.text == "## Tides\n\n| Day | High |\n| --- | --- |\n| Mon | 4.1 |\n| Mon | 4.1 |\n"


def test_a_presentation_is_a_page_per_slide_with_titles_and_notes() -> None:
    data = odp_bytes(
        [("Tides", ["High water at noon", "Low at six"], "Speak slowly"), ("Gauges", ["Bolted"], "")]
    )
    extracted = extract(data, "talk.odp")
    assert (extracted.format, extracted.pages, extracted.title) == ("odp", 2, "Tides")
    assert extracted.text == (
        "## Tides\n\nHigh water at noon\n\nLow at six\n\nSpeak slowly\n\f\n## Gauges\n\nBolted\n"
    )


def test_the_type_is_read_from_the_bytes_whatever_the_name() -> None:
    data = odf_bytes(odt_document([("p", "Named wrongly.")]))
    assert extract(data, "notes.zip").format == "odt"
    assert extract(data, "notes.docx").format == "odt"


def test_encrypted_damaged_and_empty_files_are_refused_with_a_reason() -> None:
    data = odf_bytes(odt_document([("p", "Secret.")]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = archive.read("META-INF/manifest.xml")
    entry = b'manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    assert entry in manifest
    encrypted = entry[:-2] + b"><manifest:encryption-data/></manifest:file-entry>"
    locked = rezip(data, {"META-INF/manifest.xml": manifest.replace(entry, encrypted)})
    with pytest.raises(EncryptedFileError, match="password"):
        extract(locked, "locked.odt")
    with pytest.raises(CorruptFileError, match="not a readable ODT"):
        extract(rezip(data, {"content.xml": b"<office:document-content"}), "broken.odt")
    with pytest.raises(NoTextError):
        extract(odf_bytes(odt_document([("p", "  ")])), "blank.odt")
    with pytest.raises(NoTextError):
        extract(odp_bytes([("", [], "")]), "blank.odp")
    other = rezip(data, {"mimetype": b"application/vnd.oasis.opendocument.graphics"})
    with pytest.raises(UnsupportedFormatError, match=r"a ZIP-based document, not a DOCX.*OpenDocument"):
        extract(other, "drawing.odg")
    with pytest.raises(UnsupportedFormatError, match="a ZIP-based document"):  # not a folder of its parts
        read_file("drawing.odg", "drawing.odg", other)


def test_a_sheet_that_repeats_a_cell_past_the_bound_is_refused_before_it_is_written_out() -> None:
    data = ods_bytes({"Bomb": [([("x", 1_000_000)], 1_000_000)]})
    with pytest.raises(CorruptFileError, match="cells"):
        extract(data, "bomb.ods")


def test_nesting_deeper_than_python_recurses_is_refused_as_such() -> None:
    data = odf_bytes(odt_document([("p", "x")]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        content = archive.read("content.xml").decode()
    nested = "<text:p>" + "<text:span>" * 5000 + "x" + "</text:span>" * 5000 + "</text:p>"
    deep = content.replace("<text:p>x</text:p>", nested)
    with pytest.raises(CorruptFileError, match="nested too deeply"):
        extract(rezip(data, {"content.xml": deep.encode()}), "deep.odt")


# The property test: a sheet of runs (a cell's text, or blank, repeated) and rows repeated, against every
# cell written out, then blank rows and blank columns dropped, as a reader would see the sheet.

cells = st.tuples(st.sampled_from(["", "", "a", "b", "7"]), st.integers(1, 5))
rows = st.tuples(st.lists(cells, max_size=5), st.integers(1, 3))


def reference(sheet: list[tuple[list[tuple[str, int]], int]]) -> list[list[str]]:
    grid = [
        [text for text, times in runs for _ in range(times)] for runs, repeat in sheet for _ in range(repeat)
    ]
    grid = [row for row in grid if any(row)]
    width = max((len(row) for row in grid), default=0)
    used = [c for c in range(width) if any(c < len(row) and row[c] for row in grid)]
    return [[row[c] if c < len(row) else "" for c in used] for row in grid]


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, min_size=1, max_size=6))
def test_repeated_rows_and_cells_read_as_if_written_out(
    sheet: list[tuple[list[tuple[str, int]], int]],
) -> None:
    expected = reference(sheet)
    given_rows: list[Any] = [(list(runs), repeat) for runs, repeat in sheet]
    data = ods_bytes({"S": given_rows})
    if not expected:
        with pytest.raises(NoTextError):
            extract(data, "s.ods")
        return
    lines = extract(data, "s.ods").text.splitlines()
    table = [line for line in lines[2:] if line.startswith("|")]
    got = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
    assert [got[0], *got[2:]] == expected


def test_a_block_of_more_elements_than_the_bound_is_refused_before_it_is_all_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A few hundred KB of ZIP can hold 500 MB of empty elements, 100 bytes each once parsed: a block past
    the bound is refused while it is read. Blocks under it, however many, are read and dropped one by one."""
    from index.ingest.extract import opendocument

    monkeypatch.setattr(opendocument, "MAX_BLOCK_ELEMENTS", 1_000)
    data = odf_bytes(odt_document([("p", "x")]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        content = archive.read("content.xml").decode()
    bomb = content.replace("<text:p>x</text:p>", "<text:p>" + "<text:s/>" * 5_000 + "x</text:p>")
    with pytest.raises(CorruptFileError, match=r"^bomb\.odt: one part of the ODT file holds more than 1,000"):
        extract(rezip(data, {"content.xml": bomb.encode()}), "bomb.odt")
    many = content.replace("<text:p>x</text:p>", "<text:p>a <text:s/>b</text:p>" * 5_000)
    assert extract(rezip(data, {"content.xml": many.encode()}), "many.odt").text.count("a b") == 5_000
