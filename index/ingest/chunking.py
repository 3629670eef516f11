"""Token-aware paragraph chunking.

A document is cut into blocks by a CommonMark parser (markdown-it-py, its block rules only): paragraphs
separated by blank lines, headings, whole lists, block quotes, code blocks. A table is a paragraph to it (its
own block when blank lines surround it, as they do in what the extractors write). Plain text is valid
CommonMark, so the same path serves ``.txt``, ``.md`` and HTML converted to Markdown. Blocks are then packed
into chunks that fit the model's token budget, counted with the model's own tokenizer:

* a heading starts a new chunk and is kept with the text that follows it;
* very short neighbouring blocks are merged (up to the budget);
* a block longer than the budget is split at list items, then at sentence boundaries (sentencex), then, for a
  "sentence" longer than the budget, between its lines (a table's rows, code, a log, verse), then at token
  boundaries; consecutive pieces overlap by up to ``overlap_tokens`` tokens of whole sentences (or lines).

The parser runs without its inline rules and without GFM's table rule: the chunker reads only where blocks
begin and end, and those two rules made a table of 20,000 short rows take 2.4-2.8 s to chunk instead of 1.5.

Every chunk is a contiguous span of the original text: ``chunk.text == text[chunk.start:chunk.end]``.
No chunk is longer than the budget, so the model never truncates one silently, and none is longer than
:data:`MAX_CHARS_PER_TOKEN` characters per token of the budget: text that costs the model almost nothing
(a run of 200,000 spaces, a 100,000-character "word" the tokenizer reads as one unknown token) is still cut,
so that everything done per chunk at search time (reading rows, highlighting) has a bounded cost.
Every step is linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sentencex
from markdown_it import MarkdownIt

from index.types import ChunkSpan


class Tokenizer(Protocol):
    """How the embedding model counts tokens."""

    @property
    def max_tokens(self) -> int:
        """How many tokens of text one model input holds (special tokens and prompts excluded)."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The number of tokens of each text, without special tokens."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """The character span ``(start, end)`` of each token of ``text``, in order."""
        ...


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    """How documents are cut. ``max_tokens=None`` uses the whole budget of the model."""

    max_tokens: int | None = None
    overlap_tokens: int = 32
    min_tokens: int = 16
    # Embed each chunk with its document's title in front (the stored chunk text stays as it is), so that a
    # chunk deep in a document still carries what the document is about. Off by default: it moved SciFact
    # by +0.003 nDCG@10 only, and it blurs the chunks of one long document together (docs/retrieval.md).
    title_context: bool = False

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 8:
            raise ValueError(f"max_tokens must be at least 8, got {self.max_tokens}")
        if self.overlap_tokens < 0 or self.min_tokens < 0:
            raise ValueError("overlap_tokens and min_tokens must not be negative")


# A chunk holds at most this many characters per token of the budget (ordinary text has 3 to 6).
MAX_CHARS_PER_TOKEN = 12
# The most characters the sentence splitter reads at once (see Chunker._sentence_spans).
SENTENCE_WINDOW = 4096
# A text longer than this is parsed as Markdown this many characters at a time, cut at a blank line; a
# stretch whose lines average fewer than DENSE_CHARS_PER_LINE characters is one block of pieces of about
# PLAIN_BLOCK_CHARS cut between lines instead of parsed (Chunker._blocks).
SEGMENT_CHARS = 65_536
DENSE_CHARS_PER_LINE = 16
PLAIN_BLOCK_CHARS = 64
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LINE = re.compile(r"[^\r\n]+")
_NON_SPACE = re.compile(r"\S")
_CONTENT = re.compile(r"\w")


@dataclass(slots=True)
class _Block:
    start: int
    end: int
    is_heading: bool = False
    parts: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class _Unit:
    start: int
    end: int
    tokens: int


@dataclass(slots=True)
class _Chunk:
    start: int
    end: int
    tokens: int
    headings_only: bool


class Chunker:
    """Cuts text into :class:`ChunkSpan` objects that fit ``tokenizer``'s budget."""

    def __init__(self, tokenizer: Tokenizer, options: ChunkingOptions | None = None) -> None:
        self.options = options or ChunkingOptions()
        self._tokenizer = tokenizer
        model_budget = tokenizer.max_tokens
        wanted = self.options.max_tokens
        self.max_tokens = model_budget if wanted is None else min(wanted, model_budget)
        self.max_chars = self.max_tokens * MAX_CHARS_PER_TOKEN
        self._overlap = min(self.options.overlap_tokens, self.max_tokens // 2)
        self._markdown = MarkdownIt("commonmark").disable(["inline", "text_join"])
        self._language = "en"  # sentencex's rules for English also cut at the sentence marks of other scripts

    def chunk(self, text: str, *, reserve_tokens: int = 0) -> list[ChunkSpan]:
        """Chunks of ``text`` in document order; an empty list for text without content.

        ``reserve_tokens`` of the budget are kept free in every chunk (for a title embedded in front of it).
        """
        budget = self.max_tokens - reserve_tokens
        if budget < 8:
            raise ValueError(f"reserving {reserve_tokens} tokens leaves fewer than 8 of {self.max_tokens}")
        blocks = self._blocks(text)
        if not blocks:
            return []
        counts = self._tokenizer.count_tokens([text[b.start : b.end] for b in blocks])
        spans = self._pack(text, blocks, counts, budget)
        spans = self._enforce_budget(text, cap_characters(text, spans, self.max_chars), budget)
        spans = _in_order(spans)
        return [
            ChunkSpan(ordinal=i, start=start, end=end, text=text[start:end])
            for i, (start, end) in enumerate(spans)
        ]

    # -- blocks -------------------------------------------------------------------------------------

    def _blocks(self, text: str) -> list[_Block]:
        """The text's blocks. A text longer than :data:`SEGMENT_CHARS` is parsed that much at a time (the
        parser's tokens cost about 360 bytes each, several per line of a list), and a stretch of it whose
        lines average under :data:`DENSE_CHARS_PER_LINE` characters is cut between lines without the parser
        (it costs some 40 microseconds a block: 20 million characters of one-word list items took minutes
        and gigabytes)."""
        if len(text) <= SEGMENT_CHARS:
            blocks, _ = self._markdown_blocks(text, 0, len(text))
        else:
            blocks = []
            start = 0
            while start < len(text):
                end = _segment_end(text, start)
                if text.count("\n", start, end) * DENSE_CHARS_PER_LINE > end - start:
                    found, start = _plain_blocks(text, start, end), end
                else:
                    found, start = self._markdown_blocks(text, start, end)
                blocks.extend(found)
        blocks = [b for b in blocks if b.end > b.start]
        return _cover_gaps(text, blocks)

    def _markdown_blocks(self, text: str, start: int, end: int) -> tuple[list[_Block], int]:
        """The blocks the parser finds in ``text[start:end]``, and where the next stretch starts: where the
        last of them starts, which the end of the stretch may have cut short (unless it is the only one),
        or ``end``."""
        piece = text[start:end]
        line_starts = [start] + [start + m.end() for m in _NEWLINE.finditer(piece)]

        def span(line_map: list[int]) -> tuple[int, int]:
            first, last = line_map
            first_at = line_starts[first]
            last_at = line_starts[last] if last < len(line_starts) else end
            return trim_span(text, first_at, last_at)

        blocks: list[_Block] = []
        firsts: list[int] = []  # where each block's first line starts
        current: _Block | None = None
        for token in self._markdown.parse(piece):
            if token.map is None or token.nesting == -1 or not token.block:
                continue
            if token.level == 0:
                if token.type == "hr":
                    current = None
                    continue
                block_start, block_end = span(token.map)
                current = _Block(block_start, block_end, is_heading=token.type == "heading_open")
                blocks.append(current)
                firsts.append(line_starts[token.map[0]])
            elif token.level == 1 and current is not None and token.type != "inline":
                current.parts.append(span(token.map))
        if end < len(text) and len(blocks) > 1 and firsts[-1] > start:
            blocks.pop()
            return blocks, firsts[-1]
        return blocks, end

    # -- packing ------------------------------------------------------------------------------------

    def _pack(self, text: str, blocks: list[_Block], counts: list[int], budget: int) -> list[tuple[int, int]]:
        min_tokens = self.options.min_tokens
        done: list[tuple[int, int]] = []
        current: _Chunk | None = None

        def flush() -> None:
            nonlocal current
            if current is not None:
                done.append((current.start, current.end))
                current = None

        for block, tokens in zip(blocks, counts, strict=True):
            if block.is_heading:
                if current is not None and current.headings_only and current.tokens + tokens <= budget:
                    current.end, current.tokens = block.end, current.tokens + tokens
                else:
                    flush()
                    current = _Chunk(block.start, block.end, tokens, headings_only=True)
                continue
            if tokens > budget:
                heading = current if current is not None and current.headings_only else None
                first_budget = budget - heading.tokens if heading is not None else budget
                pieces = self._split(text, block, budget, max(first_budget, budget // 2))
                if heading is not None and heading.tokens + pieces[0].tokens <= budget:
                    pieces[0] = _Unit(heading.start, pieces[0].end, heading.tokens + pieces[0].tokens)
                    current = None
                flush()
                done.extend((piece.start, piece.end) for piece in pieces[:-1])
                last = pieces[-1]  # may still take a short paragraph that follows
                current = _Chunk(last.start, last.end, last.tokens, headings_only=False)
                continue
            if current is None:
                current = _Chunk(block.start, block.end, tokens, headings_only=False)
                continue
            fits = current.tokens + tokens <= budget
            if fits and (current.headings_only or current.tokens < min_tokens or tokens < min_tokens):
                current.end, current.tokens = block.end, current.tokens + tokens
                current.headings_only = False
            else:
                flush()
                current = _Chunk(block.start, block.end, tokens, headings_only=False)
        flush()
        return done

    def _split(self, text: str, block: _Block, budget: int, first_budget: int) -> list[_Unit]:
        """Pieces of an over-long block, each within the budget, consecutive pieces overlapping."""
        units = self._units(text, block.start, block.end, block.parts, budget)
        return _pack_with_overlap(units, budget, first_budget, min(self._overlap, budget // 2))

    def _units(
        self, text: str, start: int, end: int, parts: Sequence[tuple[int, int]], budget: int
    ) -> list[_Unit]:
        """Sentence-sized (or smaller) units covering ``text[start:end]``, each within the budget."""
        spans = list(parts) if len(parts) > 1 else self._sentence_spans(text, start, end)
        counts = self._tokenizer.count_tokens([text[s:e] for s, e in spans])
        units: list[_Unit] = []
        for (s, e), tokens in zip(spans, counts, strict=True):
            if tokens <= budget:
                units.append(_Unit(s, e, tokens))
            elif len(spans) > 1:
                units.extend(self._units(text, s, e, (), budget))
            elif len(lines := _line_spans(text, s, e)) > 1:  # a table, code, verse: cut between lines
                units.extend(self._units(text, s, e, lines, budget))
            else:
                units.extend(self._token_pieces(text, s, e, budget))
        return units

    def _sentence_spans(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Sentences of ``text[start:end]``, trimmed. sentencex's segments are contiguous and cover the
        input, so their lengths give the offsets. It is fast on prose (pysbd, used before, took seconds on a
        thousand characters of ``a) b) a) b)``), but quadratic in a run of quotation marks (40,000 of
        ``“`` took 0.8 s, a megabyte would take minutes), so it reads at most :data:`SENTENCE_WINDOW`
        characters at a time, cut after whitespace: a sentence that long is cut to fit a chunk anyway."""
        spans: list[tuple[int, int]] = []
        cursor = start
        for window_end in _windows(text, start, end, SENTENCE_WINDOW):
            for sentence in sentencex.segment(self._language, text[cursor:window_end]):
                piece = trim_span(text, cursor, cursor + len(sentence))
                if piece[1] > piece[0]:
                    spans.append(piece)
                cursor += len(sentence)
        return spans

    def _token_pieces(self, text: str, start: int, end: int, budget: int) -> list[_Unit]:
        """Cut one over-long sentence into runs of tokens, small enough to overlap by whole runs."""
        size = min(self._overlap, budget // 2) or budget
        tokens = [(start + s, start + e) for s, e in self._tokenizer.token_spans(text[start:end])]
        return [
            _Unit(tokens[i][0], tokens[min(i + size, len(tokens)) - 1][1], min(size, len(tokens) - i))
            for i in range(0, len(tokens), size)
        ]

    def _enforce_budget(self, text: str, spans: list[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
        """Re-count every chunk as one text; cut any that the sum of its parts under-counted."""
        counts = self._tokenizer.count_tokens([text[s:e] for s, e in spans])
        result: list[tuple[int, int]] = []
        for (start, end), tokens in zip(spans, counts, strict=True):
            if tokens <= budget:
                result.append((start, end))
                continue
            window = budget
            while True:
                window = max(1, window - max(2, window // 16))
                pieces = _token_windows(self._tokenizer.token_spans(text[start:end]), window, start)
                sizes = self._tokenizer.count_tokens([text[s:e] for s, e in pieces])
                if max(sizes) <= budget:
                    result.extend(pieces)
                    break
        return result


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed past any white space at either end."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def cap_characters(text: str, spans: Sequence[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """``spans`` with any longer than ``max_chars`` cut into pieces of at most ``max_chars`` characters, at
    the last white space of the second half of each piece where there is one; pieces are trimmed of white
    space and blank ones dropped. Linear in the length of the spans."""
    result: list[tuple[int, int]] = []
    for start, end in spans:
        if end - start <= max_chars:
            result.append((start, end))
            continue
        cursor = start
        while cursor < end:
            found = _NON_SPACE.search(text, cursor, end)
            if found is None:
                break
            cursor = found.start()
            stop = min(cursor + max_chars, end)
            if stop < end:
                for back in range(stop - 1, cursor + max_chars // 2, -1):
                    if text[back].isspace():
                        stop = back
                        break
            piece = trim_span(text, cursor, stop)
            if piece[1] > piece[0]:
                result.append(piece)
            cursor = stop
    return result


def _in_order(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` by position, without any that another holds whole (cutting overlapping pieces to the
    character cap can leave a piece inside, or before, its neighbour)."""
    result: list[tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda span: (span[0], -span[1])):
        if result and end <= result[-1][1]:
            continue
        result.append((start, end))
    return result


def _segment_end(text: str, start: int) -> int:
    """The end of the stretch of at most :data:`SEGMENT_CHARS` from ``start`` parsed at once: after the last
    blank line in its second half, else after the last line break or space there, else at the limit."""
    limit = start + SEGMENT_CHARS
    if limit >= len(text):
        return len(text)
    half = start + SEGMENT_CHARS // 2
    blank = text.rfind("\n\n", half, limit)
    if blank >= 0:
        return blank + 2
    return _windows(text, start, limit + 1, SEGMENT_CHARS)[0]  # one window's cut, not the whole text's


def _plain_blocks(text: str, start: int, end: int) -> list[_Block]:
    """``text[start:end]`` as one block whose parts are pieces of about :data:`PLAIN_BLOCK_CHARS`, cut after a
    line break or a space, for a stretch of so many short lines that parsing it as Markdown would cost more
    than the rest of chunking together. The packer fills chunks with the pieces as it does with a list's
    items."""
    parts = []
    cursor = start
    for piece_end in _windows(text, start, end, PLAIN_BLOCK_CHARS):
        piece = trim_span(text, cursor, piece_end)
        if piece[1] > piece[0]:
            parts.append(piece)
        cursor = piece_end
    if not parts:
        return []
    return [_Block(parts[0][0], parts[-1][1], parts=parts)]


def _cover_gaps(text: str, blocks: list[_Block]) -> list[_Block]:
    """Add any stretch with words that the parser did not put in a block (link definitions, say)."""
    result: list[_Block] = []
    cursor = 0
    for block in [*blocks, _Block(len(text), len(text))]:
        if block.start > cursor and _CONTENT.search(text, cursor, block.start):
            start, end = trim_span(text, cursor, block.start)
            result.append(_Block(start, end))
        if block.end > block.start:
            result.append(block)
        cursor = max(cursor, block.end)
    return result


def _pack_with_overlap(units: list[_Unit], budget: int, first_budget: int, overlap: int) -> list[_Unit]:
    """Greedily pack units into pieces of at most ``budget`` tokens (the first at most ``first_budget``).

    Each new piece starts with the trailing units of the previous one that fit in ``overlap`` tokens.
    """
    pieces: list[_Unit] = []
    current: list[_Unit] = []
    total = 0
    limit = first_budget
    for unit in units:
        if current and total + unit.tokens > limit:
            pieces.append(_Unit(current[0].start, current[-1].end, total))
            tail: list[_Unit] = []
            tail_tokens = 0
            for previous in reversed(current[1:]):
                if (
                    tail_tokens + previous.tokens > overlap
                    or tail_tokens + previous.tokens + unit.tokens > budget
                ):
                    break
                tail.insert(0, previous)
                tail_tokens += previous.tokens
            current, total, limit = tail, tail_tokens, budget
        current.append(unit)
        total += unit.tokens
    if current:
        pieces.append(_Unit(current[0].start, current[-1].end, total))
    return pieces


def _windows(text: str, start: int, end: int, size: int) -> list[int]:
    """Ends of consecutive windows covering ``text[start:end]``, each at most ``size`` characters, each
    cut just after the last whitespace in its second half (or at ``size`` where there is none)."""
    ends = []
    while end - start > size:
        limit = start + size
        cut = max(text.rfind(" ", start + size // 2, limit), text.rfind("\n", start + size // 2, limit))
        start = cut + 1 if cut >= 0 else limit
        ends.append(start)
    return [*ends, end]


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The non-blank lines of ``text[start:end]``, trimmed."""
    spans = []
    for match in _LINE.finditer(text, start, end):
        piece = trim_span(text, match.start(), match.end())
        if piece[1] > piece[0]:
            spans.append(piece)
    return spans


def _token_windows(token_spans: list[tuple[int, int]], window: int, offset: int) -> list[tuple[int, int]]:
    return [
        (offset + token_spans[i][0], offset + token_spans[min(i + window, len(token_spans)) - 1][1])
        for i in range(0, len(token_spans), window)
    ]
