"""LaTeX sources: a paper as people write one, the encodings inputenc names, the refusals, and a property test
of documents built from sections, paragraphs, formatting and citations against the Markdown they stand for."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.extract import CorruptFileError, NoTextError, extract, sniff
from index.ingest.extract.latex import MAX_LATEX_CHARS, extract_latex

PAPER = rb"""\documentclass[11pt]{article}
\usepackage{amsmath,graphicx}
\usepackage[utf8]{inputenc}
\newcommand{\R}{\mathbb{R}}
\title{Tidal Forcing of Coastal Upwelling\thanks{Funded by the harbour board.}}
\author{Ada Quay\\ Harbour Institute \and Brendan Ferry}
\keywords{upwelling, tides; coastal oceans}
% a comment that is not text
\begin{document}
\maketitle
\begin{abstract}
We study how tides drive upwelling along the coast, using $u_t + u u_x = 0$.
\end{abstract}
\tableofcontents
\section{Introduction}\label{sec:intro}
Upwelling brings cold, nutrient-rich water to the surface~\cite{smith2020}. See Section~\ref{sec:method}
and Fig.~\ref{fig:one}. The \emph{spring--neap} cycle matters; costs were \$5 and 50\% higher in
caf\'e terms, na\"ive or not.\footnote{A note.}
\subsection*{Background}
\begin{itemize}
\item First point with \textbf{bold} text.
\item[Second] A labelled point \citep[p.~3]{jones}.
\end{itemize}
\begin{equation}
E = mc^2 \label{eq:e}
\end{equation}
\begin{figure}[h]
\includegraphics[width=\linewidth]{fig1.pdf}
\caption{The tidal cycle over a month.}\label{fig:one}
\end{figure}
\begin{tikzpicture}\draw (0,0) -- (1,1);\end{tikzpicture}
\section{Method}\label{sec:method}
See \href{https://example.org/data}{the data} and \url{https://example.org}.
\bibliographystyle{plain}
\bibliography{refs}
\end{document}
"""


def test_a_paper_reads_as_markdown_with_its_title_authors_and_sections() -> None:
    extracted = extract(PAPER, "paper.tex")
    assert extracted.format == "latex"
    assert extracted.title == "Tidal Forcing of Coastal Upwelling"
    assert extracted.fields == {
        "author": ["Ada Quay", "Brendan Ferry"],
        "keywords": ["upwelling", "tides", "coastal oceans"],
    }
    assert extracted.text == (
        "## Abstract\n\n"
        "We study how tides drive upwelling along the coast, using u_t + u u_x = 0.\n\n"
        "## Introduction\n\n"
        "Upwelling brings cold, nutrient-rich water to the surface. See Section\n"
        "and Fig. . The spring–neap cycle matters; costs were $5 and 50% higher in\n"
        "café terms, naïve or not.[A note.]\n\n"
        "### Background\n\n"
        "- First point with bold text.\n\n"
        "- **Second** A labelled point.\n\n"
        "E = mc^2\n\n"
        "The tidal cycle over a month.\n\n"
        "## Method\n\n"
        "See the data and https://example.org."
    )


def test_what_is_not_text_is_left_out() -> None:
    text = extract(PAPER, "paper.tex").text
    for absent in ("graphics", "cit.", "ref>", "plain", "refs", "Funded", "\\", "Harbour Institute", "draw"):
        assert absent not in text


def test_a_file_without_a_document_environment_is_all_body_titled_by_its_first_heading() -> None:
    chapter = (
        b"\\chapter{Results}\nThe channel silted up by \\textit{two} metres.\n\\section{Causes}\nStorms."
    )
    extracted = extract(chapter, "results.tex")
    assert (extracted.title, extracted.text) == (
        "Results",
        "# Results\n\nThe channel silted up by two metres.\n\n## Causes\n\nStorms.",
    )
    assert extracted.fields == {}


def test_a_bibliography_is_a_section_of_its_own() -> None:
    latex = (
        b"\\begin{document}Text.\\begin{thebibliography}{9}\\bibitem{a} A. Quay, Tides, 2020."
        b"\\bibitem[Ferry(2021)]{b} B. Ferry, Silt, 2021.\\end{thebibliography}\\end{document}"
    )
    assert extract(latex, "p.tex").text == (
        "Text.\n\n## References\n\nA. Quay, Tides, 2020.\n\nB. Ferry, Silt, 2021."
    )


@pytest.mark.parametrize(
    ("option", "encoded"),
    [("latin1", "latin-1"), ("cp1252", "windows-1252"), ("latin9", "iso8859-15"), ("utf8", "utf-8")],
)
def test_the_encoding_inputenc_declares_is_read(option: str, encoded: str) -> None:
    latex = f"\\usepackage[{option}]{{inputenc}}\n\\begin{{document}}Zoë’s café €\\end{{document}}"
    try:
        data = latex.encode(encoded)
    except UnicodeEncodeError:  # Latin-1 has no euro sign or curly quote
        latex = latex.replace("’", "'").replace(" €", "")
        data = latex.encode(encoded)
    assert extract(data, "p.tex").text == latex.split("{document}")[1].removesuffix("\\end")


def test_an_undeclared_legacy_encoding_is_refused() -> None:
    with pytest.raises(CorruptFileError, match="not valid UTF-8"):
        extract("\\begin{document}café\\end{document}".encode("latin-1"), "p.tex")


def test_the_type_is_latex_by_name_or_by_its_first_command() -> None:
    assert sniff(b"\\documentclass{article}\\begin{document}x\\end{document}", "paper") == "latex"
    assert sniff(b"plain text", "paper.tex") == "latex"
    assert sniff(b"plain text", "paper.ltx") == "latex"
    assert sniff(b"plain text", "notes") == "text"


@pytest.mark.parametrize(
    ("latex", "error", "message"),
    [
        (b"{" * 5000 + b"x" + b"}" * 5000, CorruptFileError, "nested too deeply"),
        (b"\\begin{itemize}" * 20_000, CorruptFileError, "nested too deeply"),
        (b"}" * 1000, NoTextError, "holds no text"),
        (b"% only a comment\n\\label{x}\\cite{y}", NoTextError, "holds no text"),
        (b"x" * (MAX_LATEX_CHARS + 1), CorruptFileError, "split it at its chapters"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(
    latex: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        extract_latex(latex, "bad.tex")


def test_a_long_run_of_spaces_is_read_in_linear_time() -> None:
    """The pattern that takes the space out before a full stop starts only after a character that is not a
    space: anchored anywhere, 300,000 spaces before a letter took quadratic time."""
    started = time.perf_counter()
    assert extract_latex(b" " * 300_000 + b"x", "spaces.tex").text == "x"
    assert time.perf_counter() - started < 5


# -- property: documents of sections and paragraphs against the Markdown they stand for -------------------

_WORD = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
_LEVELS = {"section": "##", "subsection": "###", "subsubsection": "####"}


@st.composite
def _sentence(draw: st.DrawFn) -> tuple[str, str]:
    """A sentence as LaTeX and as the text it reads as: words, some in \\emph or \\textbf, some followed by
    a citation or a label (which read as nothing), a full stop at the end, a citation before it or not."""
    latex, text = [], []
    for word in draw(st.lists(_WORD, min_size=1, max_size=6)):
        form = draw(st.sampled_from(["plain", "emph", "textbf", "cite", "label"]))
        if form in ("emph", "textbf"):
            latex.append(f"\\{form}{{{word}}}")
        elif form in ("cite", "label"):
            latex.append(f"{word}~\\{form}{{key:{word}}}")
        else:
            latex.append(word)
        text.append(word)
    cited = draw(st.booleans())
    return " ".join(latex) + ("~\\cite{end}." if cited else "."), " ".join(text) + "."


@st.composite
def _document(draw: st.DrawFn) -> tuple[str, str]:
    latex, markdown = [], []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            command = draw(st.sampled_from(sorted(_LEVELS)))
            title = " ".join(draw(st.lists(_WORD, min_size=1, max_size=4)))
            star = draw(st.sampled_from(["", "*"]))
            latex.append(f"\\{command}{star}{{{title}}}\\label{{s}}")
            markdown.append(f"{_LEVELS[command]} {title}")
        sentences = draw(st.lists(_sentence(), min_size=1, max_size=3))
        latex.append("\n".join(source for source, _ in sentences))
        markdown.append("\n".join(text for _, text in sentences))
    return "\\begin{document}\n" + "\n\n".join(latex) + "\n\\end{document}", "\n\n".join(markdown)


@settings(max_examples=200, deadline=None)
@given(_document(), st.booleans())
def test_sections_paragraphs_formatting_and_citations_read_as_their_markdown(
    document: tuple[str, str], preamble: bool
) -> None:
    latex, markdown = document
    if preamble:
        latex = "\\documentclass{article}\n\\newcommand{\\R}{x}\n\\title{T}\n" + latex
    extracted = extract_latex(latex.encode(), "doc.tex")
    assert extracted.text == markdown
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")]
    assert extracted.title == ("T" if preamble else headings[0] if headings else None)
