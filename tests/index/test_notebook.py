"""Jupyter notebooks: written by nbformat as Jupyter writes them, read into Markdown without their outputs."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from index.ingest.chunking import Chunker
from index.ingest.extract import CorruptFileError, ExtractionError, NoTextError, dispatch, extract, sniff
from index.ingest.extract import notebook as reader
from index.ingest.extract.notebook import MAX_NOTEBOOK_VALUES
from tests.documents import notebook_bytes
from tests.fakes import WordTokenizer
from tests.index.test_extract_fuzz import Unforeseen

PYTHON = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python", "version": "3.11.9"},
    "authors": [{"name": "Ada Quay"}, {"name": "Brendan Ferry"}],
}


def test_a_notebook_reads_as_its_prose_and_fenced_code_without_outputs() -> None:
    data = notebook_bytes(
        [
            ("code", "# Load the counts\nimport pandas as pd\ncounts = pd.read_csv('riders.csv')"),
            ("markdown", "# Tram ridership\n\nRidership rose **12%** after the line opened."),
            ("code", "counts.plot()"),
            ("raw", "Exported for the board."),
            ("markdown", "   \n"),
        ],
        PYTHON,
    )
    assert sniff(data, "ridership.ipynb") == "ipynb"
    read = extract(data, "ridership.ipynb")
    assert read.text == (
        "```python\n# Load the counts\nimport pandas as pd\ncounts = pd.read_csv('riders.csv')\n```\n\n"
        "# Tram ridership\n\nRidership rose **12%** after the line opened.\n\n"
        "```python\ncounts.plot()\n```\n\n"
        "Exported for the board.\n"
    )
    # The first heading of the prose, not the code's comment; the outputs (a log, a figure) are not text
    assert read.title == "Tram ridership"
    assert "epoch" not in read.text
    assert "iVBOR" not in read.text
    assert read.fields == {"author": ["Ada Quay", "Brendan Ferry"], "programming_language": "python"}
    assert read.format == "ipynb"


def test_a_code_cell_is_one_code_block_to_the_chunker() -> None:
    source = "\n".join(f"total_{i} = sum(row[{i}] for row in rows)" for i in range(60))
    read = extract(notebook_bytes([("markdown", "# Sums"), ("code", source)], PYTHON), "sums.ipynb")
    text = read.text
    chunks = Chunker(WordTokenizer(64)).chunk(text)
    # Longer than the budget, it is cut between its lines, never inside one
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.start == 0 or text[chunk.start - 1] == "\n", chunk.text[:40]
        assert chunk.end == len(text) or text[chunk.end] == "\n", chunk.text[-40:]
    assert all(any(f"total_{i} =" in chunk.text for chunk in chunks) for i in range(60))


@given(st.text(st.characters(blacklist_categories=["Cs"]), min_size=1).filter(lambda s: s.strip("\r\n")))
def test_any_code_comes_back_whole_from_its_fence(source: str) -> None:
    """The reference: CommonMark's parse of the Markdown written gives one fenced block holding the code as
    it was (backtick runs in the code included), however the code looks."""
    notebook = {"cells": [{"cell_type": "code", "source": source, "outputs": [], "metadata": {}}]}
    data = json.dumps({**notebook, "metadata": {"language_info": {"name": "python"}}}).encode()
    if not source.strip():
        with pytest.raises(NoTextError):
            extract(data, "code.ipynb")
        return
    blocks = MarkdownIt("commonmark").parse(extract(data, "code.ipynb").text)
    fences = [token for token in blocks if token.type == "fence"]
    assert len(fences) == len(blocks) == 1
    assert fences[0].info == "python"
    # CommonMark reads \r\n and \r as line ends, and NUL as U+FFFD
    expected = source.strip("\r\n").replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    assert fences[0].content == expected + "\n"


def test_a_format_3_notebook_reads_its_worksheets_and_heading_cells() -> None:
    from nbformat import v3, writes

    notebook = v3.new_notebook(name="ferries")
    notebook.worksheets.append(
        v3.new_worksheet(
            cells=[
                v3.new_heading_cell("Ferry timetable", level=2),
                v3.new_code_cell(input="timetable = load()", language="python"),
                v3.new_text_cell("markdown", source="The first ferry leaves at six."),
            ]
        )
    )
    read = extract(writes(notebook, version=3).encode(), "ferries.ipynb")
    assert (
        read.text
        == "## Ferry timetable\n\n```python\ntimetable = load()\n```\n\nThe first ferry leaves at six.\n"
    )
    assert read.title == "Ferry timetable"


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b'{"cells": [', CorruptFileError, "not valid JSON"),
        (b'{"nbformat": 4}', CorruptFileError, "not a Jupyter notebook"),
        (b"[1, 2]", CorruptFileError, "not a Jupyter notebook"),
        (b'{"cells": "x"}', CorruptFileError, "not a Jupyter notebook"),
        (b'{"cells": [{"cell_type": "code", "source": ["", " "]}, 7]}', NoTextError, "no text"),
        (b'{"cells": [{"cell_type": "image", "source": "x"}]}', NoTextError, "no text"),
        (b"\xff\xfe{", CorruptFileError, "UTF-16"),
    ],
)
def test_what_is_not_a_readable_notebook_is_refused_saying_why(
    data: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        extract(data, "broken.ipynb")


def test_numbers_past_64_bits_in_outputs_do_not_refuse_the_notebook() -> None:
    # yajl refuses them; the notebook is read with ijson's Python backend instead
    chart = {"application/vnd.plotly.v1+json": {"data": [{"x": [2**64, 1e999], "y": [-(2**70), 1]}]}}
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Big numbers\n", "\n", "Counts past 2^64."]},
            {
                "cell_type": "code",
                "source": "fig",
                "outputs": [{"output_type": "display_data", "data": chart}],
            },
        ],
        "metadata": {"language_info": {"name": "python"}},
    }
    data = json.dumps(notebook).replace("Infinity", "1e999").encode()
    read = extract(data, "big.ipynb")
    assert read.text == "# Big numbers\n\nCounts past 2^64.\n\n```python\nfig\n```\n"
    with pytest.raises(CorruptFileError, match="not valid JSON"):  # Python's int reads 4,300 digits at most
        extract(data.replace(b"1e999", b"9" * 5000), "huge.ipynb")


def test_a_notebook_of_too_many_cells_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_CELLS", 3)
    cells = [{"cell_type": "markdown", "source": f"Cell {i}."} for i in range(4)]
    empty = [{"cell_type": "markdown", "source": ""}] * 10
    assert extract(json.dumps({"cells": cells[:3] + empty}).encode(), "three.ipynb").text.count("Cell") == 3
    with pytest.raises(CorruptFileError, match="more than 3 cells"):
        extract(json.dumps({"cells": cells}).encode(), "four.ipynb")


def test_a_notebook_of_millions_of_values_is_refused_before_it_is_parsed() -> None:
    # 12 MB of empty objects would build 2 KB of Python objects for every 30 bytes; refused from a count
    bomb = b'{"cells": [' + b'{"a":{}},' * (MAX_NOTEBOOK_VALUES // 2 + 1) + b"{}]}"
    with pytest.raises(CorruptFileError, match="Clear Outputs"):
        extract(bomb, "bomb.ipynb")
    # One value fewer is read (and holds no text)
    fits = b'{"cells": [' + b'{"a":{}},' * (MAX_NOTEBOOK_VALUES // 2 - 1) + b"{}]}"
    with pytest.raises(NoTextError):
        extract(fits, "fits.ipynb")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
CELL_KEYS = ["cell_type", "source", "input", "level", "language", "outputs", "metadata"]
cells = st.lists(
    st.dictionaries(
        st.sampled_from(CELL_KEYS), json_values | st.sampled_from(["code", "markdown", "heading"])
    )
    | json_values,
    max_size=5,
)
METADATA_KEYS = ["language_info", "kernelspec", "authors", "title", "language", "name"]


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "cells": cells,
            "worksheets": st.lists(st.fixed_dictionaries({"cells": cells}) | json_values, max_size=2),
            "metadata": st.dictionaries(st.sampled_from(METADATA_KEYS), json_values) | json_values,
        },
    )
)
def test_any_json_is_read_as_a_notebook_or_refused_as_one(notebook: dict[str, object]) -> None:
    """Whatever JSON a file holds where a notebook's parts belong, it reads or is refused with a reason
    (an ExtractionError names the file), never another exception."""
    unforeseen = Unforeseen()
    logging.getLogger(dispatch.__name__).addHandler(unforeseen)
    refusal = ""
    try:
        read = extract(json.dumps(notebook).encode(), "any.ipynb")
    except ExtractionError as error:
        read, refusal = None, str(error)
    finally:
        logging.getLogger(dispatch.__name__).removeHandler(unforeseen)
    assert read is not None or refusal.startswith("any.ipynb: ")
    # refused by the reader's own rule, not by extract's last resort for errors no rule foresaw
    assert not unforeseen.records, unforeseen.records[0].exc_info
    assert read is None or (read.text.strip() and (read.title is None or read.title.strip()))


def test_a_notebook_keeps_its_first_authors_up_to_the_fields_limit() -> None:
    authors = [{"name": f"Author {i}"} for i in range(1_000)]
    read = extract(notebook_bytes([("markdown", "Text.")], {"authors": authors}), "many.ipynb")
    assert read.fields["author"] == [f"Author {i}" for i in range(64)]
