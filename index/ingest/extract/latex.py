"""LaTeX sources (``.tex``: papers, theses, lecture notes as people write them), read with pylatexenc.

pylatexenc parses LaTeX into nodes without running TeX (no macro is expanded, no file is read: ``\\input``
and ``\\include`` read as nothing) and turns them into text: accents and symbols to Unicode (``caf\\'e`` to
café, ``--`` to an en dash), math kept as its source (``$E = mc^2$`` reads ``E = mc^2``), formatting
commands to their text. Around it, this module makes that text a document, as the other readers do:

- **Markdown headings** from ``\\part`` and ``\\chapter`` (``#``) down to ``\\subparagraph``, so the
  chunker's heading rules apply; an ``abstract`` is a section of its own (``## Abstract``), as is the
  bibliography (``## References``).
- **The title** is ``\\title``'s (else the first heading), the ``author`` field ``\\author``'s names (one per
  ``\\and``, affiliations after a ``\\\\`` left out), and only the ``document`` environment is read, not the
  preamble's definitions.
- **What is not text** is left out rather than shown as a placeholder: citations, cross-references and
  labels, graphics, TikZ pictures, ``\\maketitle`` (which pylatexenc would print with today's date).
- **The encoding**: UTF-8, else what ``\\usepackage[...]{inputenc}`` declares (``latin1``, ``cp1252``...).

pylatexenc's parser is pure Python, about 150 KB of a paper's LaTeX a second here, in calls that hold Python's
lock: a file is read only up to :data:`MAX_LATEX_CHARS` (1 Mi characters), and braces nested deeper than
Python's recursion allows (no document does) make a refusal, not a crash.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from pylatexenc import latexwalker
from pylatexenc.latex2text import (
    EnvironmentTextSpec,
    LatexNodes2Text,
    MacroTextSpec,
    get_default_latex_context_db,
)
from pylatexenc.latexwalker import LatexEnvironmentNode, LatexWalker
from pylatexenc.macrospec import std_environment, std_macro

from index.ingest.extract.base import CorruptFileError, Extracted, NoTextError
from index.ingest.extract.properties import clean, file_fields
from index.ingest.extract.text import decode, first_heading

# The most LaTeX one file may hold: a long thesis in one file (most are split into a file a chapter). The
# parser takes 5.7 s and 77 MB for a paper's LaTeX this long, 11.4 s and 206 MB for the worst case measured
# (unknown macros with arguments; bench/markup_bombs.py --only latex), in calls that hold Python's lock.
MAX_LATEX_CHARS = 1024 * 1024

# \usepackage[latin1]{inputenc}: inputenc's names for the encodings a .tex file that is not UTF-8 is in.
_INPUTENC = re.compile(rb"\\usepackage\s*\[([A-Za-z0-9,\s-]{1,80})\]\s*\{inputenc\}")
_INPUTENC_CODECS = {
    "latin1": "latin-1",
    "latin9": "iso8859-15",
    "latin2": "iso8859-2",
    "cp1252": "windows-1252",
    "ansinew": "windows-1252",
    "cp1250": "windows-1250",
    "applemac": "mac-roman",
    "utf8": "utf-8",
}
_AUTHOR_BREAK = "\x1f"  # what \and reads as inside \author, to split the names at
_HEADINGS = {
    "part": "#",
    "chapter": "#",
    "section": "##",
    "subsection": "###",
    "subsubsection": "####",
    "paragraph": "#####",
    "subparagraph": "######",
}
# Macros whose output is not text: references by label or key, graphics, the title block.
_DROPPED = (
    "label ref pageref eqref autoref cref Cref vref nameref cite citet citep citealt citealp citeauthor "
    "citeyear citeyearpar nocite includegraphics maketitle thanks bibliography bibliographystyle "
    "tableofcontents listoffigures listoftables printbibliography addbibresource"
).split()
_DROPPED_ENVIRONMENTS = ("tikzpicture", "pgfpicture", "comment")
# The arguments of macros above that pylatexenc's parser does not know, as its argument specs.
_ARGUMENTS = (
    ("pageref", "{"),
    ("vref", "{"),
    ("nameref", "{"),
    ("nocite", "{"),
    ("thanks", "{"),
    ("bibliographystyle", "{"),
    ("printbibliography", "["),
    ("addbibresource", "[{"),
    ("href", "{{"),
    ("bibitem", "[{"),
)
# A space before a full stop or comma, left where a citation was (``surface~\\cite{x}.``); not after one
# (``Fig.~\\ref{f}.`` keeps its stops apart). A match starts only after a character that is not a space, so a
# run of spaces is tried once, not from each of its spaces (linear, where the plain pattern is quadratic).
_SPACE_BEFORE_STOP = re.compile(r"(?<=[^\s.,;:!?])[ \t\u00a0]+(?=[.,;:!?)\]])")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")  # TeX reads a run of spaces as one; a tie (~) is a space too

# pylatexenc logs each brace it cannot match, at INFO: a file of 100,000 stray braces would be 100,000 lines
# of the service's log. Its warnings are kept.
logging.getLogger("pylatexenc").setLevel(logging.WARNING)


def extract_latex(data: bytes, name: str) -> Extracted:
    latex = decode(data, name, declared_encoding(data))
    if len(latex) > MAX_LATEX_CHARS:
        raise CorruptFileError(
            f"{name}: {len(latex):,} characters of LaTeX, more than the {MAX_LATEX_CHARS:,} read from one "
            "file; split it at its chapters (\\include), or upload the PDF"
        )
    reader = _Reader()
    try:
        nodes = LatexWalker(latex, latex_context=_walker_rules(), tolerant_parsing=True).get_latex_nodes()[0]
        document = next(
            (
                node
                for node in nodes
                if isinstance(node, LatexEnvironmentNode) and node.environmentname == "document"
            ),
            None,
        )
        if document is None:  # a chapter or section meant for \input: all of it is body
            body = reader.nodelist_to_text(nodes)
        else:
            reader.nodelist_to_text(nodes[: nodes.index(document)])  # the preamble's \title, \author
            body = reader.nodelist_to_text(document.nodelist)
    except RecursionError:
        raise CorruptFileError(f"{name}: braces or environments nested too deeply to read (LaTeX)") from None
    text = _markdown(body)
    if not text:
        raise NoTextError(f"{name}: the LaTeX file holds no text")
    title = clean(reader.title) or first_heading(text)
    return Extracted(
        text=text,
        title=title or None,
        format="latex",
        fields=file_fields(author=reader.authors, keywords=reader.keywords),
    )


def declared_encoding(data: bytes) -> str | None:
    """The encoding ``\\usepackage[...]{inputenc}`` names, as a Python codec, if it names one."""
    match = _INPUTENC.search(data[:65536])
    if match is None:
        return None
    options = (option.strip().lower() for option in match.group(1).decode("ascii").split(","))
    return next((_INPUTENC_CODECS[option] for option in options if option in _INPUTENC_CODECS), None)


def _markdown(text: str) -> str:
    """pylatexenc's text as Markdown: lines without the indentation it gives blocks (four spaces would make
    code blocks), a run of spaces as one (as TeX reads it), at most one blank line in a row, no space left
    before a full stop or comma where a citation or reference was (``surface~\\cite{x}.``)."""
    lines = [line.strip() for line in _SPACES.sub(" ", text).splitlines()]
    return _BLANK_LINES.sub("\n\n", _SPACE_BEFORE_STOP.sub("", "\n".join(lines))).strip()


class _Reader(LatexNodes2Text):  # type: ignore[misc]
    """pylatexenc's converter with semsearch's rules (above); keeps the title, authors and keywords it
    reads."""

    def __init__(self) -> None:
        super().__init__(latex_context=_text_rules(), math_mode="text")
        self.title = ""
        self.authors: list[str] = []
        self.keywords = ""


@functools.cache
def _walker_rules() -> Any:
    """pylatexenc's parsing rules, told the arguments of the macros it does not know that this module drops
    (else ``\\bibliographystyle{plain}`` would read as "plain")."""
    rules = latexwalker.get_default_latex_context_db()
    rules.add_context_category(
        "semsearch",
        prepend=True,
        macros=[std_macro(*spec) for spec in _ARGUMENTS],
        environments=[std_environment("thebibliography", "{")],
    )
    return rules


@functools.cache
def _text_rules() -> Any:
    rules = get_default_latex_context_db()
    rules.add_context_category(
        "semsearch",
        prepend=True,
        macros=[
            *(MacroTextSpec(name, simplify_repl="") for name in _DROPPED),
            *(MacroTextSpec(name, simplify_repl=_heading) for name in _HEADINGS),
            MacroTextSpec("title", simplify_repl=_keep_title),
            MacroTextSpec("author", simplify_repl=_keep_authors),
            MacroTextSpec("keywords", simplify_repl=_keep_keywords),
            MacroTextSpec("and", simplify_repl=_AUTHOR_BREAK),
            MacroTextSpec("url", simplify_repl="%s"),
            MacroTextSpec("bibitem", simplify_repl="\n\n"),
            MacroTextSpec("href", simplify_repl="%(2)s"),
            MacroTextSpec("item", simplify_repl=_item),
        ],
        environments=[
            EnvironmentTextSpec("abstract", simplify_repl="\n\n## Abstract\n\n%s\n\n"),
            EnvironmentTextSpec("thebibliography", simplify_repl=_bibliography),
            *(EnvironmentTextSpec(name, discard=True) for name in _DROPPED_ENVIRONMENTS),
        ],
    )
    return rules


# pylatexenc passes the converter to a rule whose parameter is named ``l2tobj``.


def _heading(node: Any, l2tobj: _Reader) -> str:
    heading = " ".join(l2tobj.node_arg_to_text(node, 2).split())
    return f"\n\n{_HEADINGS[node.macroname]} {heading}\n\n" if heading else ""


def _keep_title(node: Any, l2tobj: _Reader) -> str:
    l2tobj.title = " ".join(l2tobj.node_arg_to_text(node, 0).replace(_AUTHOR_BREAK, " ").split())
    return ""


def _keep_authors(node: Any, l2tobj: _Reader) -> str:
    names = l2tobj.node_arg_to_text(node, 0).split(_AUTHOR_BREAK)
    # Each name's first line: an affiliation or address follows it after \\ .
    l2tobj.authors = [first for name in names if (first := next(iter(name.strip().splitlines()), ""))]
    return ""


def _keep_keywords(node: Any, l2tobj: _Reader) -> str:
    # LLNCS parts keywords with \and; file_fields splits them at commas and semicolons.
    l2tobj.keywords = l2tobj.node_arg_to_text(node, 0).replace(_AUTHOR_BREAK, ",")
    return ""


def _item(node: Any, l2tobj: _Reader) -> str:
    label = l2tobj.nodelist_to_text([node.nodeoptarg]).strip() if node.nodeoptarg else ""
    return f"\n- **{label}** " if label else "\n- "


def _bibliography(node: Any, l2tobj: _Reader) -> str:
    references: str = l2tobj.nodelist_to_text(node.nodelist)
    return "\n\n## References\n\n" + references
