"""Lines of rendered pages back into paragraphs: what a PDF's text layer loses and a chunker needs.

- **Running headers and footers**: a line near the top or bottom of most pages (digits ignored, so "Page 3
  of 9" repeats) is the page's furniture, not its text, and is dropped.
- **Hyphenation**: a word broken at a line end ("ampli-" / "fication") is joined. A typographic hyphen
  (U+2010, a soft hyphen) is always a break; a plain ``-`` is kept when the document writes the hyphenated
  form elsewhere on one line ("self-priming"). A word broken at the last line of a page, its end on the
  next page, is joined on the page where it starts.
- **Paragraphs**: a line much shorter than the page's full lines ends its paragraph when it ends a sentence
  or the next line starts one, as do bullets; other lines are joined with a space.
- **Headings**: a short line standing alone, starting with a capital and not ending in punctuation, before
  more text on its page, becomes a Markdown heading, so that the chunker starts a chunk there.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence

# Lines at each end of a page that may be a running header or footer.
EDGE_LINES = 3
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_BREAK_HYPHENS = "\u2010\u00ad\x02"
KEPT_HYPHEN = "\ufffe"
_HYPHENATED = re.compile(r"[^\W\d_][-\u2010\u00ad\x02\ufffe]$")
_BULLET = re.compile(r"^(?:[\u2022\u25aa\u25cf\u2023\u2043\u25e6*\u2013-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
_ENDS_SENTENCE = re.compile(r"[.!?:;\"'\u201d\u2019)\]]$")
_NOT_HEADING_END = re.compile(r"[.,;:!?\u2026\-\u2010\ufffe]$")
# Most words a line can have to be taken for a heading.
HEADING_WORDS = 12
# Letters, a hyphen, letters (r"[^\W\d_]+-[^\W\d_]+" finds the same words), tried only where a run of letters
# starts and never backtracked into: that pattern is quadratic in a long run of letters without a hyphen
# (8,000 letters took 0.6 s, a 100,000-letter gene sequence in a paper about 100 s, holding Python's lock).
_HYPHENATED_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]++-[^\W\d_]+")
_STARTS_SENTENCE = re.compile(r"^[\"'\u201c\u2018(\[]?[A-Z0-9]")


def pages_text(pages: Sequence[Sequence[str]], page_break: str, written: Sequence[Sequence[str]] = ()) -> str:
    """The text of rendered pages' lines (a PDF's text layer, or what OCR read): each page's furniture
    dropped, words broken at line ends joined, lines made paragraphs; pages joined by ``page_break``.
    ``written``: paragraphs to add at the end of each page as they are (what was filled in on a PDF page)."""
    repeated = furniture(pages)
    kept = [strip_furniture(page, repeated) for page in pages]
    forms = hyphenated_forms("\n".join(line for page in kept for line in page))
    kept = join_across_pages(kept, forms)
    added = written or [()] * len(kept)
    texts = ["\n\n".join([*paragraphs(page, forms), *extra]) for page, extra in zip(kept, added, strict=True)]
    return f"\n{page_break}\n".join(texts).replace(KEPT_HYPHEN, "-") + "\n"


def furniture(pages: Sequence[Sequence[str]]) -> set[str]:
    """The normalised lines that repeat at the edges of at least half the pages (and of two at least)."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        edges = {_normal(line) for line in (*lines[:EDGE_LINES], *lines[-EDGE_LINES:])}
        seen.update(edge for edge in edges if edge)
    needed = max(2, (len(pages) + 1) // 2)
    return {line for line, count in seen.items() if count >= needed}


def strip_furniture(lines: Sequence[str], repeated: set[str]) -> list[str]:
    """``lines`` without the repeated ones at either end of the page."""
    kept = list(lines)
    head = 0
    while head < min(EDGE_LINES, len(kept)) and _normal(kept[head]) in repeated:
        head += 1
    kept = kept[head:]
    tail = 0
    while tail < min(EDGE_LINES, len(kept)) and _normal(kept[-1 - tail]) in repeated:
        tail += 1
    return kept[: len(kept) - tail]


def paragraphs(lines: Sequence[str], hyphenated_words: set[str]) -> list[str]:
    """The paragraphs of one page's lines (see the module's rules)."""
    lines = [line.strip() for line in lines]
    lines = [line for line in lines if line]
    if not lines:
        return []
    full = sorted(len(line) for line in lines)[int(0.9 * (len(lines) - 1))]
    result: list[str] = []
    single: list[bool] = []  # whether each paragraph is one line
    current = ""
    count = 0
    for i, line in enumerate(lines):
        bullet = _BULLET.match(line)
        if bullet and current:
            result.append(current)
            single.append(count == 1)
            current, count = "", 0
        if bullet:
            line = "- " + line[bullet.end() :]
        current = _join(current, line, hyphenated_words)
        count += 1
        following = lines[i + 1] if i + 1 < len(lines) else ""
        short = len(line) < 0.7 * full
        ends = short and bool(_ENDS_SENTENCE.search(line) or _STARTS_SENTENCE.match(following))
        very_short = len(line) < 0.5 * full and not _HYPHENATED.search(line)
        if not following or ends or very_short:
            result.append(current)
            single.append(count == 1)
            current, count = "", 0
    if current:
        result.append(current)
        single.append(count == 1)
    return [
        "## " + text if one_line and i + 1 < len(result) and _looks_like_heading(text, full) else text
        for i, (text, one_line) in enumerate(zip(result, single, strict=True))
    ]


def _looks_like_heading(text: str, full: int) -> bool:
    """A line on its own, short, not ending a sentence, starting with a capital or a number: a heading."""
    return (
        len(text) < 0.6 * full
        and len(text.split()) <= HEADING_WORDS
        and not text.startswith("- ")
        and not _NOT_HEADING_END.search(text)
        and bool(_STARTS_SENTENCE.match(text))
    )


def join_across_pages(pages: Sequence[Sequence[str]], hyphenated_words: set[str]) -> list[list[str]]:
    """``pages`` (lines, furniture dropped) with each word broken from one page's last line to the next
    page's first joined at the end of the first page, as a word broken within a page is."""
    joined = [list(page) for page in pages]
    for page, following in itertools.pairwise(joined):
        last = next((i for i in range(len(page) - 1, -1, -1) if page[i].strip()), None)
        first = next((i for i, line in enumerate(following) if line.strip()), None)
        if last is None or first is None:
            continue
        end, start = page[last].rstrip(), following[first].lstrip()
        if not (end.endswith(KEPT_HYPHEN) or _HYPHENATED.search(end[-2:])) or not start[:1].islower():
            continue
        word, _, rest = start.partition(" ")
        page[last] = _join(end, word, hyphenated_words)
        following[first] = rest
    return joined


def hyphenated_forms(text: str) -> set[str]:
    """Words written with a plain hyphen inside one line (``self-priming``), lower-cased."""
    return {word.lower() for word in _HYPHENATED_WORD.findall(text)}


def _join(current: str, line: str, hyphenated_words: set[str]) -> str:
    if not current:
        return line
    if current.endswith(KEPT_HYPHEN):  # PDFium's mark of a hard hyphen at a line end
        return current[:-1] + "-" + line
    if _HYPHENATED.search(current[-2:]) and line[:1].islower():  # its two characters: not the whole paragraph
        head = current.rsplit(" ", 1)[-1]
        word = head[:-1] + "-" + re.split(r"[^\w-]", line, maxsplit=1)[0]
        if current[-1] in _BREAK_HYPHENS or word.lower() not in hyphenated_words:
            return current[:-1] + line
        return current + line
    return current + " " + line


def _normal(line: str) -> str:
    return _SPACE.sub(" ", _DIGITS.sub("#", line)).strip().lower()
