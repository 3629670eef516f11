"""What a file says about itself, as metadata fields: a PDF's document information, an Office file's core
properties, an EPUB's Dublin Core, an HTML page's ``<meta>`` tags and ``lang``, a notebook's authors and
kernel, a transcript's speakers.

Every format's properties are read into the same few fields, so one filter serves them all:

* ``author``: text (a list when an EPUB names several creators);
* ``subject``, ``publisher``, ``category``: text;
* ``keywords``: a list of text (a file's keywords split at commas and semicolons);
* ``language``: text, as the file gives it (``en-GB``);
* ``programming_language``: a notebook's kernel's (``python``);
* ``speakers``: a list of text, who speaks in a transcript;
* ``created``, ``modified``: ISO 8601 text (a web page's ``article:published_time`` and
  ``article:modified_time``), which date filters compare as instants.

These values come from whoever made the file, so they are cleaned, never trusted: control characters become
spaces, runs of space one, a value is cut at :data:`MAX_CHARS` characters, a list at :data:`MAX_ITEMS`, an
empty value or a date that does not parse is left out, the largest fields are left out until all of them
take at most :data:`MAX_BYTES` as JSON, and reading them never fails a file.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, TypeVar

from index.validation import MAX_TITLE_LENGTH

T = TypeVar("T")

MAX_CHARS = MAX_TITLE_LENGTH  # a value fits where a title does
MAX_ITEMS = 64
MAX_BYTES = 16 * 1024  # all the fields as JSON: the largest are left out until they fit

# A PDF date (PDF 32000-1, 7.9.4): D:YYYYMMDDHHmmSSOHH'mm', everything after the year optional.
_PDF_DATE = re.compile(
    r"(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz])|([+-])(\d{2})'?(\d{2})?'?)?"
)
_KEYWORD_SEPARATOR = re.compile(r"[,;\n]")
_SPACE = re.compile(r"\s+")


def file_fields(
    *,
    author: str | Iterable[str] | None = None,
    subject: str | None = None,
    keywords: str | Iterable[str] | None = None,
    language: str | None = None,
    created: datetime.date | str | None = None,
    modified: datetime.date | str | None = None,
    publisher: str | None = None,
    category: str | None = None,
    programming_language: str | None = None,
    speakers: Iterable[str] = (),
) -> dict[str, Any]:
    """The fields a file gives, cleaned (see the module's docstring); dates as ``datetime`` or ISO text."""
    fields: dict[str, Any] = {}
    authors = _texts([author] if author is None or isinstance(author, str) else author)
    if authors:
        fields["author"] = authors[0] if len(authors) == 1 else authors
    for key, value in (
        ("subject", subject),
        ("publisher", publisher),
        ("category", category),
        ("programming_language", programming_language),
    ):
        text = clean(value)
        if text:
            fields[key] = text
    if keywords is not None:
        parts = _KEYWORD_SEPARATOR.split(keywords) if isinstance(keywords, str) else list(keywords)
        found = _texts(parts)
        if found:
            fields["keywords"] = found
    if found := _texts(speakers):
        fields["speakers"] = found
    language_text = clean(language)
    if language_text:
        fields["language"] = language_text
    for key, when in (("created", created), ("modified", modified)):
        date = iso_date(when)
        if date:
            fields[key] = date
    while len(json.dumps(fields, ensure_ascii=False).encode("utf-8")) > MAX_BYTES:
        del fields[max(fields, key=lambda name: len(json.dumps(fields[name], ensure_ascii=False)))]
    return fields


def clean(value: object) -> str:
    """``value`` as one line of text fit to store: "" for anything but non-blank text."""
    if not isinstance(value, str):
        return ""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in value[: MAX_CHARS * 4])
    return _SPACE.sub(" ", text).strip()[:MAX_CHARS].strip()


def _texts(values: Iterable[object]) -> list[str]:
    """The non-blank ``values`` cleaned, each once, in order, at most :data:`MAX_ITEMS`."""
    found: list[str] = []
    for value in values:
        text = clean(value)
        if text and text not in found:
            found.append(text)
            if len(found) == MAX_ITEMS:
                break
    return found


def iso_date(value: object) -> str | None:
    """A date or date-time (or ISO 8601 text) as ISO 8601 text; None for anything else. A naive
    date-time is written as it is, without an offset."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat() if value.year > 1 else None  # an unset date can read as year 1
    if isinstance(value, str):
        text = clean(value)
        try:
            parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        return text if parsed.year > 1 else None
    return None


def utc(value: T) -> T:
    """A naive date-time as UTC (what Office files store and their readers return naive); others as they
    are."""
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value


def pdf_date(text: object) -> datetime.datetime | None:
    """A PDF date string (``D:20240105103000+01'00'``) as a date-time, with its offset when it has one;
    None if it does not parse."""
    if not isinstance(text, str):
        return None
    match = _PDF_DATE.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, utc, sign, offset_hours, offset_minutes = match.groups()
    zone = None
    if utc:
        zone = datetime.UTC
    elif sign:
        delta = datetime.timedelta(hours=int(offset_hours), minutes=int(offset_minutes or 0))
        if delta < datetime.timedelta(days=1):
            zone = datetime.timezone(-delta if sign == "-" else delta)
    try:
        return datetime.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None
