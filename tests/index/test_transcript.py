"""Transcripts and subtitles (WebVTT, SubRip): what was said, with when and by whom, read once."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.ingest.extract import CorruptFileError, NoTextError, extract, sniff
from index.ingest.extract import transcript as reader

MEETING = b"""WEBVTT - Launch meeting

NOTE recorded by the conference app

00:00:01.000 --> 00:00:04.000
<v Ada Quay>We move the launch to March.

00:00:04.500 --> 00:00:06.000
<v Ada Quay>The printer &amp; the <b>boards</b> need time.

00:00:06.200 --> 00:00:08.000 align:start
<v Brendan Ferry>Agreed, March it is.

01:02:15.000 --> 01:02:17.000
<v.loud Brendan Ferry>Next: the budget.
"""


def vtt_time(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{int(seconds * 1000) % 1000:03d}"


def test_a_meeting_reads_as_paragraphs_by_speaker_and_time() -> None:
    assert sniff(MEETING, "launch.vtt") == "vtt"
    read = extract(MEETING, "launch.vtt")
    assert read.text == (
        "[00:00:01] Ada Quay: We move the launch to March. The printer & the boards need time.\n\n"
        "[00:00:06] Brendan Ferry: Agreed, March it is.\n\n"
        "[01:02:15] Brendan Ferry: Next: the budget.\n"  # the same speaker, after a pause
    )
    assert read.fields == {"speakers": ["Ada Quay", "Brendan Ferry"]}
    assert (read.format, read.title) == ("vtt", None)


def test_rolling_captions_are_read_once() -> None:
    # YouTube's automatic captions: each line shown twice, once as it is spoken (with word timings)
    youtube = b"""WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.000 align:start position:0%
hello everyone and welcome

00:00:02.000 --> 00:00:02.010 align:start position:0%
hello everyone and welcome

00:00:02.010 --> 00:00:04.000 align:start position:0%
hello everyone and welcome
to the<00:00:02.500><c> channel</c><00:00:03.000><c> today</c>

00:00:04.000 --> 00:00:06.000 align:start position:0%
to the channel today
we talk about tides
"""
    read = extract(youtube, "tides.vtt")
    assert read.text == "[00:00:00] hello everyone and welcome to the channel today we talk about tides\n"


def test_subrip_and_the_formats_named_wrongly() -> None:
    srt = (
        "1\r\n00:00:01,000 --> 00:00:04,000\r\n<i>Bonjour</i> à tous,\r\nmes amis\r\n\r\n"
        "2\r\n00:00:05,000 --> 00:00:06,000\r\n- Merci.\r\n"
    )
    expected = "[00:00:01] Bonjour à tous, mes amis - Merci.\n"
    assert extract(srt.encode(), "film.srt").text == expected
    assert extract(srt.encode("utf-16"), "film.srt").text == expected  # "Unicode", as Windows saves it
    assert extract(srt.encode(), "film.vtt").text == expected  # SubRip named .vtt
    assert extract(MEETING, "launch.srt").text == extract(MEETING, "launch.vtt").text


def test_a_long_stretch_of_one_speaker_is_cut_into_paragraphs() -> None:
    cues = "".join(
        f"{vtt_time(i)} --> {vtt_time(i + 0.9)}\n<v Ada>Sentence number {i} of a long talk about tides.\n\n"
        for i in range(60)
    )
    paragraphs = extract(f"WEBVTT\n\n{cues}".encode(), "talk.vtt").text.split("\n\n")
    assert len(paragraphs) > 3
    assert all(re.match(r"\[\d\d:\d\d:\d\d\] Ada: Sentence number \d+ ", p) for p in paragraphs)
    assert all(len(p) < reader.PARAGRAPH_CHARS + 100 for p in paragraphs)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"Just some notes.\n", CorruptFileError, "not a WebVTT or SubRip"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b> </b>\n", NoTextError, "no text"),
        (b"WEBVTT\n", NoTextError, "no text"),
    ],
)
def test_what_is_not_a_readable_transcript_is_refused_saying_why(
    data: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        extract(data, "bad.vtt")


def test_a_transcript_of_too_many_cues_is_refused_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader, "MAX_CUES", 3)

    def cues(count: int) -> bytes:
        return (
            "WEBVTT\n\n" + "".join(f"{vtt_time(i)} --> {vtt_time(i + 1)}\nline {i}\n\n" for i in range(count))
        ).encode()

    with pytest.raises(CorruptFileError, match="more than 3 cues"):
        extract(cues(4), "long.vtt")
    assert extract(cues(3), "short.vtt").text == "[00:00:00] line 0 line 1 line 2\n"


words = st.text(st.characters(whitelist_categories=["Ll", "Lu", "Nd"]), min_size=1, max_size=8)
cues = st.lists(
    st.tuples(
        st.lists(words, min_size=1, max_size=6),
        st.sampled_from([None, "Ada Quay", "Brendan"]),
        st.floats(0, 5),
    ),
    min_size=1,
    max_size=30,
)


@given(cues)
def test_every_word_said_is_read_in_order_under_its_speaker(
    spoken: list[tuple[list[str], str | None, float]],
) -> None:
    """The reference: the cues' words, in order (each cue's line made unique by a marker, so none is a rolling
    repeat);
    each paragraph opens with the time and speaker of the cue it starts at."""
    at = 0.0
    lines = []
    starts: dict[str, tuple[str, str | None]] = {}
    for i, (said, speaker, gap) in enumerate(spoken):
        at += gap
        line = f"#c{i} " + " ".join(said)
        voice = f"<v {speaker}>" if speaker else ""
        lines.append(f"{vtt_time(at)} --> {vtt_time(at + 0.5)}\n{voice}{line}\n")
        starts[f"#c{i}"] = (vtt_time(at)[:8], speaker)
        at += 0.5
    read = extract(("WEBVTT\n\n" + "\n".join(lines)).encode(), "any.vtt")
    found: list[str] = []
    for paragraph in read.text.strip("\n").split("\n\n"):
        stamp, rest = paragraph[1:9], paragraph[11:]
        first = re.search(r"#c\d+", rest)
        assert first is not None
        time, speaker = starts[first.group()]
        assert stamp == time
        if speaker is not None:
            assert rest.startswith(f"{speaker}: ")
            rest = rest[len(speaker) + 2 :]
        # A paragraph holds one speaker's words
        assert {starts[cue][1] for cue in re.findall(r"#c\d+", rest)} == {speaker}
        found.extend(rest.split())
    assert found == [word for i, (said, _, _) in enumerate(spoken) for word in (f"#c{i}", *said)]


def test_speakers_are_kept_in_the_order_they_first_speak_up_to_the_fields_limit() -> None:
    cues = "".join(
        f"{vtt_time(i)} --> {vtt_time(i + 0.5)}\n<v Speaker {i % 100}>Turn {i}.\n\n" for i in range(300)
    )
    read = extract(f"WEBVTT\n\n{cues}".encode(), "panel.vtt")
    # A set, not a list, tells who spoke already: 300,000 names were a quadratic scan (40,000 took 7.3 s)
    assert read.fields["speakers"] == [f"Speaker {i}" for i in range(64)]
