"""What the index accepts: ids, text, titles, metadata and filter values that it can store, read back and
compare exactly. Everything a client sends is checked here before anything is written, so that whatever is
accepted can be read back and searched (a value SQLite's JSON functions would cut short, or one JSON
parsers disagree on, is refused with a message that names it).

* Strings hold no NUL character (SQLite's JSON functions end a string there: a filter on ``"acme"`` would
  match ``"acme\\u0000evil"``) and no unpaired surrogate (not encodable as UTF-8).
* Integers lie within ±(2**53 - 1), the range every JSON parser holds exactly (I-JSON, RFC 7493); numbers
  are finite. A larger number, such as a 64-bit hash, can be sent as a string.
* Metadata is a JSON object nested at most :data:`MAX_METADATA_DEPTH` levels deep and at most
  :data:`MAX_METADATA_BYTES` long as JSON.
* An id has no ``.`` or ``..`` path segment: clients that normalise URLs (browsers, ``fetch``, most HTTP
  libraries) would turn ``/documents/a/../b`` into ``/documents/b`` and reach another document.
* An id has no control character (a newline, a tab, ESC...): an id is a name that people type and read, and
  one with a newline in it breaks every line of a log or a listing that shows it (and a tab pasted in from
  a spreadsheet makes two ids that look alike). Nor a bidirectional override, embedding or isolate
  (U+202A-U+202E, U+2066-U+2069): ``invoice\u202efdp.exe`` shows as ``invoiceexe.pdf`` in every listing.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any

from index.errors import InvalidInputError
from index.types import Document

MAX_SAFE_INTEGER = 2**53 - 1
MAX_METADATA_DEPTH = 32
MAX_METADATA_BYTES = 64 * 1024
MAX_ID_LENGTH = 512
# A title is indexed with every chunk of its document (keyword side), so its length multiplies: a
# million-character title made a 2,000-paragraph upsert take 9 s instead of 0.3 s.
MAX_TITLE_LENGTH = 1_000


# Characters that change the direction of the text after them: in an id they make it show as another.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# What Python's JSON reader cannot read, said the same wherever JSON comes in (parse_json, and the service's
# answer for a request body).
JSON_TOO_DEEP = "nests too deeply to read (arrays and objects, about 1,000 levels)"


def too_many_digits() -> str:
    """What is wrong with an integer past Python's limit on digits (``sys.get_int_max_str_digits()``)."""
    return f"more than {sys.get_int_max_str_digits():,} digits, more than can be read; send it as a string"


def parse_json(text: str, what: str, *, if_invalid: str = "") -> Any:
    """``text`` read as JSON, or :class:`InvalidInputError` naming ``what`` and why not: not JSON (and
    then ``if_invalid``, what that may mean), nested past what Python's reader recurses into, or holding an
    integer with more digits than Python converts (a ``ValueError`` and a ``RecursionError`` that escaped
    every caller that expected only ``JSONDecodeError``: a 500 for an upload's metadata field)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError(
            f"{what} is not valid JSON ({error.msg}: character {error.pos}){if_invalid}"
        ) from None
    except RecursionError:
        raise InvalidInputError(f"{what} {JSON_TOO_DEEP}") from None
    except ValueError:  # the only other: an integer past sys.get_int_max_str_digits()
        raise InvalidInputError(f"{what} holds a number of {too_many_digits()}") from None


def is_blank(text: str) -> bool:
    """Whether ``text`` holds nothing to read: only whitespace, format characters (zero-width spaces and
    joiners, a byte order mark, a soft hyphen, direction marks) and control characters (``\\x01``, ESC,
    DEL), which show nothing and mean nothing to a search. Stops at the first other character."""
    return all(c.isspace() or unicodedata.category(c) in ("Cf", "Cc") for c in text)


def check_text(what: str, text: str) -> None:
    """Raise :class:`InvalidInputError` if ``text`` holds a NUL character or an unpaired surrogate."""
    position = text.find("\x00")
    if position >= 0:
        raise InvalidInputError(f"{what} holds a NUL character (at position {position}); remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInputError(
            f"{what} is not valid UTF-8 text (unpaired surrogate at position {error.start})"
        ) from error


def storable_text(text: str) -> str:
    """``text`` as :func:`check_text` accepts it: without NUL characters, and with "?" for unpaired
    surrogates (JSON's and YAML's ``"\\ud800"``), for readers of files that may hold them."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def check_number(what: str, value: int | float) -> None:
    """Raise :class:`InvalidInputError` unless ``value`` is finite and, if an integer, exactly representable
    by every JSON parser."""
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return
        raise InvalidInputError(
            f"{what} is an integer outside ±(2**53 - 1), which JSON parsers do not all hold exactly; "
            "send it as a string"
        )
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInputError(f"{what} is not a finite number")


def check_id(what: str, doc_id: str) -> None:
    """Raise :class:`InvalidInputError` unless ``doc_id`` can be stored and reached through a URL."""
    if is_blank(doc_id):
        raise InvalidInputError(f"{what} is empty (or holds only spaces and invisible characters)")
    if len(doc_id) > MAX_ID_LENGTH:
        raise InvalidInputError(f"{what} is longer than {MAX_ID_LENGTH} characters")
    check_text(what, doc_id)
    control = next((i for i, c in enumerate(doc_id) if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise InvalidInputError(
            f"{what} holds a control character (U+{ord(doc_id[control]):04X} at position {control}); "
            "an id is a name to type and read"
        )
    bidi = next((i for i, c in enumerate(doc_id) if c in BIDI_CONTROLS), None)
    if bidi is not None:
        raise InvalidInputError(
            f"{what} holds a bidirectional control character (U+{ord(doc_id[bidi]):04X} at position {bidi}), "
            "which makes an id show as another"
        )
    if any(segment in (".", "..") for segment in doc_id.split("/")):
        raise InvalidInputError(
            f"{what} has a '.' or '..' segment, which clients that normalise URLs cannot reach"
        )


def check_metadata(what: str, metadata: Any) -> None:
    """Raise :class:`InvalidInputError` unless ``metadata`` is a JSON object within the limits above, every
    key and string clean and every number exact. Iterative, so that no nesting exhausts the stack."""
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"{what} must be a JSON object")
    stack: list[tuple[Any, str, int]] = [(metadata, "metadata", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_METADATA_DEPTH:
            raise InvalidInputError(f"{what}: {path} is nested deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidInputError(f"{what}: {path} has a key that is not a string")
                check_text(f"{what}: the key {path}.{key[:40]!r}", key)
                stack.append((item, f"{path}.{key[:40]}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            check_text(f"{what}: {path}", value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            check_number(f"{what}: {path}", value)
        else:
            raise InvalidInputError(f"{what}: {path} is a {type(value).__name__}, not a JSON value")
    size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise InvalidInputError(f"{what} is {size} bytes as JSON, more than {MAX_METADATA_BYTES}")


def text_or_title(text: str, title: str | None) -> str:
    """A document's text, or its title where it has a title and no text (a paper without an abstract, as
    TREC-COVID holds): the title is then what there is to find."""
    return title if title is not None and is_blank(text) and not is_blank(title) else text


def check_document(where: str, doc: Document) -> None:
    """Raise :class:`InvalidInputError` unless ``doc`` can be stored and read back: a clean id, some text,
    a clean title and metadata (``where`` names it in the message)."""
    check_id(f"{where}: the id", doc.id)
    if is_blank(doc.text):
        raise InvalidInputError(
            f"{where} has no text (or only spaces and invisible characters): send the text to index in 'text'"
        )
    check_text(f"{where}: the text", doc.text)
    if doc.title is not None:
        check_text(f"{where}: the title", doc.title)
        if len(doc.title) > MAX_TITLE_LENGTH:
            raise InvalidInputError(
                f"{where}: the title is {len(doc.title):,} characters, more than {MAX_TITLE_LENGTH:,}; "
                "put the rest in the text or the metadata"
            )
    check_metadata(f"{where}: the metadata", doc.metadata)
