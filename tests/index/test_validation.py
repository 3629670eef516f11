"""Id and metadata validation against plain references (hypothesis): what is accepted can be stored, read
back, reached by URL and compared exactly; everything else is refused with a message."""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import InvalidInputError
from index.ingest.preparation import validate_documents
from index.types import Document
from index.validation import MAX_TITLE_LENGTH, check_id, check_metadata, is_blank, parse_json


def accepted(check: Any, value: Any) -> bool:
    try:
        check("it", value)
    except InvalidInputError:
        return False
    return True


def clean_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def visible(text: str) -> bool:
    """Something left once format and control characters are taken out and whitespace trimmed."""
    return "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc")).strip() != ""


def id_ok(doc_id: str) -> bool:
    return (
        visible(doc_id)
        and len(doc_id) <= 512
        and clean_text(doc_id)
        and not any(unicodedata.category(c) == "Cc" for c in doc_id)
        and not any("\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069" for c in doc_id)
        and all(segment not in (".", "..") for segment in doc_id.split("/"))
    )


# Characters the rules are about, among ordinary ones: path separators and dots, whitespace, control
# characters (C0, DEL, C1), NUL, a lone surrogate, an accent, a bidirectional override and isolate (refused)
# and a left-to-right mark (not), CJK, a zero-width space and a byte order mark.
ID_CHARACTERS = [
    *"ab/. é東",
    "\n",
    "\t",
    "\r",
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\u202e",
    "\u2067",
    "\u200e",
    "\ud800",
    "\u200b",
    "\ufeff",
]
IDS = (
    st.text(alphabet=st.sampled_from(ID_CHARACTERS), max_size=12)
    | st.text(alphabet="ab/.é東 ", max_size=12)  # mostly fine: the dots and blanks are what counts
    | st.integers(505, 520).map("ab/".__mul__)
)


@settings(max_examples=1000)
@given(IDS)
def test_an_id_is_accepted_exactly_when_the_reference_accepts_it(doc_id: str) -> None:
    assert accepted(check_id, doc_id) == id_ok(doc_id)


def metadata_ok(metadata: Any) -> bool:
    def ok(value: Any, depth: int) -> bool:
        if isinstance(value, dict | list) and depth > 32:
            return False
        if isinstance(value, dict):
            return all(isinstance(k, str) and clean_text(k) and ok(v, depth + 1) for k, v in value.items())
        if isinstance(value, list):
            return all(ok(v, depth + 1) for v in value)
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, bool) or value is None:
            return True
        if isinstance(value, int):
            return abs(value) <= 2**53 - 1
        return isinstance(value, float) and math.isfinite(value)

    return (
        isinstance(metadata, dict)
        and ok(metadata, 1)
        and len(json.dumps(metadata, ensure_ascii=False).encode("utf-8")) <= 64 * 1024
    )


TEXT = st.text(alphabet=st.sampled_from([*"ab é", "\x00", "\ud800"]), max_size=4)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**54), 2**54)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
    | st.integers(65_500, 65_560).map("x".__mul__)  # about the size limit, once quoted and keyed
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


METADATA = (
    st.dictionaries(TEXT, VALUES, max_size=4)
    | st.builds(lambda depth, leaf: {"deep": nested(depth, leaf)}, st.integers(28, 36), SCALARS)
    | VALUES  # not always an object at the top
)


@settings(max_examples=600)
@given(METADATA)
def test_metadata_is_accepted_exactly_when_the_reference_accepts_it(metadata: Any) -> None:
    assert accepted(check_metadata, metadata) == metadata_ok(metadata)


def title_ok(title: str | None) -> bool:
    return title is None or (clean_text(title) and len(title) <= MAX_TITLE_LENGTH)


@given(
    st.one_of(
        st.none(),
        st.text(max_size=20),
        st.integers(MAX_TITLE_LENGTH - 3, MAX_TITLE_LENGTH + 3).map(lambda n: "t" * n),
        st.builds(
            lambda n, c: "t" * n + c, st.integers(0, MAX_TITLE_LENGTH), st.sampled_from(["\x00", "\ud800"])
        ),
    )
)
def test_a_title_is_accepted_exactly_when_the_reference_accepts_it(title: str | None) -> None:
    assert accepted(lambda _, t: validate_documents([Document("d", "text", t)]), title) == title_ok(title)


BLANK_CHARACTERS = [
    *"a .",
    "\t",
    "\n",
    "\u3000",
    "\u00a0",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u00ad",
    "\u202e",
    "\u2060",
    "\x01",
    "\x1b",
    "\x7f",
    "\x9f",
]


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(BLANK_CHARACTERS), max_size=8))
def test_blank_is_nothing_visible(text: str) -> None:
    assert is_blank(text) == (not visible(text))


def test_a_query_or_a_document_of_invisible_characters_is_refused_as_empty() -> None:
    """A pasted zero-width space or byte order mark is no query: it answered arbitrary hits."""
    from index.retrieval.pipeline import validate_request
    from index.types import SearchRequest

    for text in ["\u200b\u200b", "\ufeff", " \u00ad\u2060 ", "\x01\x02\x03", "\x1b"]:
        with pytest.raises(InvalidInputError, match="the query is empty"):
            validate_request(SearchRequest(text))
        with pytest.raises(InvalidInputError, match="has no text"):
            validate_documents([Document("d", text)])
    validate_request(SearchRequest("\u200bhello"))
    validate_documents([Document("d", "\ufeffhello")])


# JSON text as clients get it wrong: valid documents, cut or mangled ones, deep nesting, long numbers.
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)
_json_texts = st.one_of(
    _json_values.map(json.dumps),
    st.tuples(_json_values.map(json.dumps), st.integers(0, 30)).map(lambda t: t[0][: t[1]]),
    st.text(alphabet='[]{}",:0123456789.eE-+ \\tnulrfase', max_size=40),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(4000, 4700).map(lambda digits: "-" * (digits % 2) + "7" * digits),
)


@settings(max_examples=400)
@given(_json_texts)
def test_parse_json_reads_what_json_reads_and_refuses_the_rest_as_invalid_input(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except (ValueError, RecursionError):  # the reference: what Python's reader cannot read
        with pytest.raises(InvalidInputError, match=r"^the field (is not valid JSON|nests|holds a number)"):
            parse_json(text, "the field")
        return
    assert json.dumps(parse_json(text, "the field")) == json.dumps(expected)


def test_parse_json_says_why_it_cannot_read() -> None:
    with pytest.raises(
        InvalidInputError, match=r"^x is not valid JSON \(Expecting value: character 1\): cut\?$"
    ):
        parse_json("[", "x", if_invalid=": cut?")
    with pytest.raises(InvalidInputError, match="nests too deeply to read"):
        parse_json("[" * 100_000, "x", if_invalid=": cut?")
    with pytest.raises(
        InvalidInputError, match="more than 4,300 digits, more than can be read; send it as a"
    ):
        parse_json("1" * 4301, "x")
