"""Subtitles and transcripts (``.vtt``: WebVTT, what Zoom, Teams, Meet and YouTube save; ``.srt``: SubRip),
read with webvtt-py.

A transcript becomes paragraphs of what was said, each opening with the time it starts at and, where the
file names them (WebVTT's ``<v Ada Quay>``), who said it: ``[00:12:05] Ada Quay: We move the launch to
March.`` A new paragraph starts when the speaker changes, after a pause of :data:`PAUSE_SECONDS`, or once
a paragraph holds :data:`PARAGRAPH_CHARS`, so that a hit says where in the recording to look. Cue markup
(bold, italics, classes, karaoke timestamps) and character references are read as text. Captions that roll
(YouTube's automatic ones show each line twice, once at the bottom and again a line up) are read once: a
cue's lines that repeat the lines just read are dropped. The speakers become the ``speakers`` metadata
field, to filter on.
"""

from __future__ import annotations

import html
import io

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from index.ingest.extract.base import CorruptFileError, Extracted, NoTextError
from index.ingest.extract.properties import clean, file_fields
from index.ingest.extract.text import decode

# The most cues read from one file: a cue costs webvtt-py about 1 KB and 20 microseconds, and a 100-hour
# recording captioned every two seconds has 180,000. A 200 MB upload of one-word cues would hold six million
# (6 GB).
MAX_CUES = 300_000
PAUSE_SECONDS = 2.0
PARAGRAPH_CHARS = 600
_RECENT_LINES = 3  # how far back a rolling caption's repeated line is looked for


def extract_vtt(data: bytes, name: str) -> Extracted:
    return _extract(data, name, "vtt")


def extract_srt(data: bytes, name: str) -> Extracted:
    return _extract(data, name, "srt")


def _extract(data: bytes, name: str, claimed: str) -> Extracted:
    text = decode(data, name)
    if text.count("-->") > MAX_CUES:
        raise CorruptFileError(
            f"{name}: the transcript has more than {MAX_CUES:,} cues; split it into parts of fewer"
        )
    captions = _captions(text, claimed)
    if captions is None:
        raise CorruptFileError(
            f"{name}: not a WebVTT or SubRip transcript (no cue of the form "
            "'00:00:01.000 --> 00:00:04.000' followed by its text)"
        )
    paragraphs: list[str] = []
    speakers: dict[str, None] = {}  # in the order they first speak; a dict, as a file may name 300,000
    recent: list[str] = []
    words: list[str] = []
    start = last_end = 0.0
    current: str | None = None
    for caption in captions:
        speaker = clean(caption.voice) or None
        lines = [" ".join(html.unescape(line).split()) for line in caption.text.splitlines()]
        lines = [line for line in lines if line]
        fresh = [line for line in lines if line not in recent]  # a rolling caption's repeated lines
        recent = (recent + lines)[-_RECENT_LINES:]
        if not fresh:
            continue
        begins = caption.start_in_seconds
        if words and (
            speaker != current
            or begins - last_end >= PAUSE_SECONDS
            or sum(len(word) + 1 for word in words) >= PARAGRAPH_CHARS
        ):
            paragraphs.append(_paragraph(start, current, words))
            words = []
        if not words:
            start, current = begins, speaker
        words.extend(fresh)
        last_end = max(last_end, caption.end_in_seconds)
        if speaker is not None:
            speakers.setdefault(speaker)
    if words:
        paragraphs.append(_paragraph(start, current, words))
    if not paragraphs:
        raise NoTextError(f"{name}: the transcript has no text (its cues are empty)")
    fields = file_fields(speakers=list(speakers))
    return Extracted(text="\n\n".join(paragraphs) + "\n", title=None, format=claimed, fields=fields)


def _captions(text: str, claimed: str) -> list[webvtt.Caption] | None:
    """The cues of ``text`` read as the format its name claims, else as the other one (a ``.vtt`` that is
    SubRip inside, a ``.srt`` with WebVTT's header); None if neither reads."""
    for fmt in (claimed, "srt" if claimed == "vtt" else "vtt"):
        try:
            return webvtt.from_buffer(io.StringIO(text), format=fmt).captions
        except (MalformedFileError, MalformedCaptionError):
            continue
    return None


def _paragraph(start: float, speaker: str | None, lines: list[str]) -> str:
    seconds = int(start)
    stamp = f"[{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}]"
    said = " ".join(lines)
    return f"{stamp} {speaker}: {said}" if speaker else f"{stamp} {said}"
