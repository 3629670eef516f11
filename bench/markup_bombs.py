"""What reading markup costs per element, and what a file of nothing but markup would cost without the bounds
(index/ingest/extract/base.py's check_markup, MAX_HTML_ELEMENTS, MAX_XML_ELEMENTS, MAX_NOTEBOOK_VALUES;
OpenDocument's streaming;
the chunker's Markdown parsed a stretch at a time, and not at all where lines are very short).

    .venv/bin/python bench/markup_bombs.py --model-cache DIR

Each case runs in a fresh Python process, which reports its time and the growth of its peak memory (VmHWM,
reset before the case):
an HTML page of N paragraphs, and one of N empty tags; a Word file of N empty runs, read with the bound
lifted (as before) and with it (now); an OpenDocument spreadsheet of N rows, read a row at a time (now) and
as one tree (ElementTree's whole-document parse, as a reader without streaming would); a text of one-word
list items, and one of prose, chunked with the default model's tokenizer, parsed whole (as before) and a
stretch at a time (now); a Jupyter notebook whose chart holds N values (numbers), and one of N empty
objects at the bound and beyond it; RTF files of N page-number fields on one line, of a font table of N
entries without a character set, of N characters of picture data, read by striprtf alone and as semsearch
reads them (index/ingest/extract/rtf.py), and of N characters of text; LaTeX files of N characters: a paper's
sections, citations, lists and math, unknown macros, stray braces, and one past MAX_LATEX_CHARS. Prints
Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
kind, n, cache = sys.argv[2], int(sys.argv[3]), sys.argv[4]
base, lifted = kind.split(", ")[0], kind.endswith("bound lifted")
from index.ingest.extract import extract, office, text
from tests.documents import docx_of_empty_runs, ods_bytes
if base.startswith("chunk"):
    from index import load_embedder
    from index.ingest import chunking
    tokenizer = load_embedder(cache_dir=cache).tokenizer
    sentence = "A paragraph of ordinary prose that runs on for a while, as prose does. "
    data = "- a\n" * (n // 4) if base == "chunk list items" else "\n\n".join([sentence * 4] * (n // 290))
    name = ""
    if kind.endswith("parsed whole"):
        chunking.SEGMENT_CHARS = 10**12
elif base == "html paragraphs":
    data, name = ("<html><body>" + "<p>word</p>" * n + "</body></html>").encode(), "page.html"
elif base == "html empty tags":
    data, name = ("<html><body>" + "<b>" * n).encode(), "tags.html"
elif base == "notebook chart":
    import nbformat
    from nbformat import v4
    points = [i / n for i in range(n // 2)]
    chart = {"application/vnd.plotly.v1+json": {"data": [{"x": points, "y": points}]}}
    notebook = v4.new_notebook()
    notebook.cells = [
        v4.new_markdown_cell("# Ridership\n\nRiders per day since the line opened."),
        v4.new_code_cell("fig.show()", outputs=[v4.new_output("display_data", data=chart)]),
    ]
    data, name = nbformat.writes(notebook).encode(), "chart.ipynb"
elif base == "notebook empty objects":
    # n values at most: two (a colon and a comma) a unit, and the colon after "cells"
    data, name = b'{"cells": [' + b'{"a":{}},' * ((n - 1) // 2) + b"{}]}", "objects.ipynb"
elif base.startswith("rtf"):
    head = "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl\\f0\\fswiss\\fcharset0 Helvetica;}\\f0 "
    if base == "rtf page fields":
        body = "Page {\\field{\\*\\fldinst{ PAGE }}{\\fldrslt 1}} text. " * n
    elif base == "rtf font table without charsets":
        head, body = "{\\rtf1{\\fonttbl" + "\\f1 Arial;" * n + "}", "Text."
    elif base == "rtf pictures":
        picture = ("89504e470d0a1a0a" * 8 + "\n") * (n // 129)
        body = "Before.\\par {\\*\\shppict{\\pict\\pngblip " + picture + "}}"
    else:
        sentence = "The council approved the new tram line on Tuesday, and construction starts in spring."
        body = (sentence + "\\par\n") * (n // 92)
    data, name = (head + body + "}").encode(), "document.rtf"
elif base.startswith("latex"):
    if base == "latex paper":
        part = (
            "\\section{Tides}\\label{s}\nUpwelling brings cold water to the surface~\\cite{smith}, as "
            "\\emph{spring} tides do ($u_t + u u_x = 0$).\n"
            "\\begin{itemize}\\item One.\\item Two.\\end{itemize}\n"
        )
        body = part * (n // len(part))
    elif base == "latex unknown macros":
        body = "\\foo{a}{b}" * (n // 10)
    else:  # stray braces; beyond the bound
        body = "}" * n
    data, name = body.encode(), "paper.tex"
elif base == "docx empty runs":
    data, name = docx_of_empty_runs(n), "runs.docx"
else:
    data, name = ods_bytes({"Rows": [[f"r{i}", "x", "y"] for i in range(n)]}), "rows.ods"
if lifted:
    from index.ingest.extract import notebook
    office.MAX_XML_ELEMENTS = text.MAX_HTML_ELEMENTS = notebook.MAX_NOTEBOOK_VALUES = 10**12
def status(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024
import ctypes, gc
gc.collect()
ctypes.CDLL("libc.so.6").malloc_trim(0)  # what making the file took goes back to the system
open("/proc/self/clear_refs", "w").write("5")  # the peak so far (making the file, the model) no longer counts
before = status("VmRSS")
started = time.perf_counter()
if base.startswith("chunk"):
    outcome = f"{len(chunking.Chunker(tokenizer).chunk(data)):,} chunks"
elif base == "ods as one tree":
    import io, zipfile, xml.etree.ElementTree as ET
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tree = ET.fromstring(archive.read("content.xml"))
    outcome = f"{sum(1 for _ in tree.iter()):,} elements parsed"
elif kind.endswith("striprtf alone"):
    from striprtf.striprtf import rtf_to_text
    outcome = f"read, {len(rtf_to_text(data.decode())):,} characters (striprtf alone)"
else:
    try:
        outcome = f"read, {len(extract(data, name).text):,} characters"
    except ValueError as error:
        outcome = "refused: " + str(error).split(": ", 1)[1][:60]
seconds = time.perf_counter() - started
grown = status("VmHWM") - before
print(json.dumps({"bytes": len(data), "seconds": seconds, "mb": grown, "outcome": outcome}))
"""


def run(kind: str, n: int, cache: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CASE, str(ROOT), kind, str(n), str(cache)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--html", type=int, default=100_000, help="paragraphs of the ordinary page")
    parser.add_argument("--runs", type=int, default=3_000_000, help="empty runs of the Word file")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the spreadsheet")
    parser.add_argument("--chars", type=int, default=2_000_000, help="characters of the texts chunked")
    parser.add_argument("--values", type=int, default=2_000_000, help="JSON values of the notebook's chart")
    parser.add_argument("--fields", type=int, default=8_000, help="fields (and fonts) of the RTF files")
    parser.add_argument("--latex", type=int, default=1024 * 1024, help="characters of the LaTeX files")
    parser.add_argument("--only", default="", help="run only the cases whose name holds this")
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    args = parser.parse_args()
    cases = [
        ("html paragraphs", args.html),
        ("html empty tags, bound lifted", args.html * 6),
        ("html empty tags", args.html * 6),
        ("docx empty runs, bound lifted", args.runs),
        ("docx empty runs", args.runs * 2),
        ("ods rows, streamed", args.rows),
        ("ods as one tree", args.rows),
        ("chunk list items, parsed whole", args.chars),
        ("chunk list items", args.chars),
        ("chunk prose, parsed whole", args.chars),
        ("chunk prose", args.chars),
        ("notebook chart", args.values),
        ("notebook empty objects", 10_000_000),
        ("notebook empty objects, beyond the bound", 10_000_002),
        ("rtf page fields, striprtf alone", args.fields),
        ("rtf page fields", args.fields),
        ("rtf font table without charsets, striprtf alone", args.fields),
        ("rtf font table without charsets", args.fields),
        ("rtf pictures, striprtf alone", args.chars * 2),
        ("rtf pictures", args.chars * 2),
        ("rtf text", args.chars),
        ("latex paper", args.latex),
        ("latex unknown macros", args.latex),
        ("latex stray braces", args.latex),
        ("latex beyond the bound", args.latex + 1),
    ]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print()
    print("| file | elements (characters for a text) | file size | time | peak memory growth | outcome |")
    print("|---|---:|---:|---:|---:|---|")
    for kind, n in cases:
        if args.only not in kind:
            continue
        got = run(kind, n, args.model_cache)
        print(
            f"| {kind} | {n:,} | {got['bytes']:,} B | {got['seconds']:.2f} s | {got['mb']:.0f} MB | "
            f"{got['outcome']} |"
        )


if __name__ == "__main__":
    main()
