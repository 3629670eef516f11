"""Front matter: the YAML (``---``) or TOML (``+++``) block that opens the Markdown of static-site generators
(Jekyll, Hugo, MkDocs, Docusaurus) and note apps (Obsidian).

It holds the page's title and fields such as its tags and date, not its prose. Left as text, it was
indexed as the first paragraph (``title: Backups tags: [ops]``), and the title fell back to the file's name
wherever the page has no heading of its own, which is usual when the front matter names it. Read as front
matter, the block leaves the text, its ``title`` becomes the document's title, and its fields become
metadata that filters can use (``{"field": "tags", "eq": "ops"}``).

Anything doubtful stays text, as before: a block that is not closed, does not parse, is not a mapping, is
longer than :data:`MAX_FRONT_MATTER_CHARS`, or whose fields pass :data:`MAX_FIELDS_BYTES` as JSON or
:data:`MAX_VALUES` values (a YAML alias bomb expands to billions of values).
"""

from __future__ import annotations

import datetime
import json
import math
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml

from index.validation import MAX_SAFE_INTEGER, storable_text

MAX_FRONT_MATTER_CHARS = 64 * 1024
MAX_FIELDS_BYTES = 16 * 1024
MAX_VALUES = 2_000
_MAX_DEPTH = 8
_DELIMITERS = {"---": ("---", "..."), "+++": ("+++",)}
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class FrontMatter:
    fields: dict[str, Any]  # JSON values only
    body: str  # the text after the block


class _TooMuchError(Exception):
    pass


def block_end(text: str) -> tuple[str, int, int] | None:
    """``(the block's source, where the block's own text starts, where the body starts)`` if ``text`` opens
    with a front matter block closed within :data:`MAX_FRONT_MATTER_CHARS`; else None."""
    first_end = text.find("\n")
    if first_end < 0:
        return None
    opener = text[:first_end].rstrip("\r").rstrip(" \t")
    closers = _DELIMITERS.get(opener)
    if closers is None:
        return None
    start = line = first_end + 1
    while line < len(text) and line <= MAX_FRONT_MATTER_CHARS:
        end = text.find("\n", line)
        end = len(text) if end < 0 else end
        if text[line:end].rstrip("\r").rstrip(" \t") in closers:
            return text[start:line], start, min(end + 1, len(text))
        line = end + 1
    return None


def read_front_matter(text: str) -> FrontMatter | None:
    """The front matter at the start of ``text`` and the text after it, or None if it has none (or one
    that should stay text: see the module's notes)."""
    found = block_end(text)
    if found is None:
        return None
    source, _, body_start = found
    opener = text[:3]
    try:
        # The safe loader: plain data only, never an object a tag names.
        parsed = tomllib.loads(source) if opener == "+++" else yaml.load(source, Loader=_YAML_LOADER)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    try:
        fields = _json_mapping(parsed, [MAX_VALUES], 0)
    except _TooMuchError:
        return None
    if len(json.dumps(fields, ensure_ascii=False).encode("utf-8")) > MAX_FIELDS_BYTES:
        return None
    return FrontMatter(fields, text[body_start:])


def _json_mapping(mapping: dict[Any, Any], budget: list[int], depth: int) -> dict[str, Any]:
    """``mapping`` as JSON values: string keys only (others dropped), dates as ISO text, numbers JSON
    parsers all hold exactly, text free of NUL; at most ``budget[0]`` values in all."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(key, str) and storable_text(key) == key:
            converted = _json_value(value, budget, depth + 1)
            if converted is not _DROP:
                out[key] = converted
    return out


_DROP = object()


def _json_value(value: Any, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise _TooMuchError
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _DROP
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dict):
        return _json_mapping(value, budget, depth)
    if isinstance(value, list | tuple):
        items = [_json_value(item, budget, depth + 1) for item in value]
        return [item for item in items if item is not _DROP]
    return _DROP  # binary, sets: not JSON
