"""Metadata filters: a small JSON language compiled to SQL over the documents' metadata.

A filter is a *leaf* or a *bool* node::

    {"field": "lang", "eq": "en"}                      equality (a string, number, boolean or null)
    {"field": "tags", "in": ["news", "sport"]}          any of several values
    {"field": "year", "gte": 2020, "lt": 2025}          numeric range (gt, gte, lt, lte)
    {"field": "published", "gte": "2024-01-01"}         date range: ISO 8601 strings compare as instants
    {"field": "author.name", "exists": true}            the field is present (dotted paths reach inside)
    {"phrase": "tide tables"}                          the title or text holds these words, in this order
    {"must": [...], "should": [...], "must_not": [...]} all of must, at least one of should, none of must_not

A leaf on a field that holds a JSON array matches when any element matches (an object matches no
comparison, only ``exists``). Every value is bound as a SQL parameter; field names are checked against a
strict pattern; depth and size are limited; strings and numbers obey :mod:`index.validation`, so every
filter that compiles also runs. ``in`` compiles to one ``IN (SELECT value FROM json_each(?))`` per type of
value, not to a chain of ``OR`` (1,024 values used to exceed SQLite's expression depth).

A ``phrase`` is matched by the document keyword index (FTS5), word for word as keyword search reads words
(:func:`index.storage.keyword.word_tokens`: case, accents and English word endings aside, stop words kept,
since a phrase holds them), within the title or within the text. Its words are quoted one by one and joined
with FTS5's ``+``, so nothing a user writes is read as an FTS5 operator.

Dates compare as instants through :func:`instant`, registered in SQLite as ``semsearch_instant`` (see
:func:`register_functions`): the bound and the stored value are read by the same Python code, so an offset
such as ``+01:00`` on 0001-01-01, a date the calendar cannot hold, or a stored value that merely looks like a
date all behave the same way on both sides (a stored string that is not a valid date matches no range).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from index.errors import InvalidInputError
from index.storage.keyword import DOCUMENT_FTS_TABLE, word_tokens
from index.validation import check_number, check_text

MAX_DEPTH = 8
MAX_CLAUSES = 256
MAX_IN_VALUES = 1024
MAX_PHRASE_CHARS = 1_000
MAX_PHRASE_WORDS = 64

# A field path: metadata keys from the outermost in, separated by dots. A key of letters, digits, "_" and "-"
# is written as it is; any other (with a dot, a space, a "$", or empty) in double quotes: 'author.name',
# '"first name"', 'specs."max.temp"'. A key holding a double quote, a backslash or a control character cannot
# be named: JSON escapes those in the stored text, and SQLite's paths compare with that text.
_SEGMENT = re.compile(r'[\w-]+|"[^"\\\x00-\x1f]*"')
_UNNAMEABLE = re.compile(r'["\\\x00-\x1f]')
_RANGE_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_LEAF_KEYS = {"field", "eq", "in", "exists", *_RANGE_OPS}
_BOOL_KEYS = {"must", "should", "must_not"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True, slots=True)
class SqlFilter:
    """A compiled filter: a boolean SQL expression over the documents table (alias ``d``) and its params."""

    where: str
    params: tuple[object, ...]

    def document_ids_sql(self) -> tuple[str, tuple[object, ...]]:
        return f"SELECT d.id FROM documents d WHERE {self.where}", self.params

    def document_seqs_sql(self) -> tuple[str, tuple[object, ...]]:
        return f"SELECT d.seq FROM documents d WHERE {self.where}", self.params

    def chunk_ids_sql(self) -> tuple[str, tuple[object, ...]]:
        # The documents first (their metadata from the index that holds it), then their chunks by doc_id:
        # joined the other way, each of the chunks looked its document up.
        return (
            f"SELECT c.id FROM chunks c WHERE c.doc_id IN (SELECT d.id FROM documents d WHERE {self.where})",
            self.params,
        )


Sql = tuple[str, list[object]]


@dataclass(frozen=True, slots=True)
class FilterLimits:
    """How large a filter may be: nesting depth, clauses (objects) in all, values of one ``in``."""

    max_depth: int = MAX_DEPTH
    max_clauses: int = MAX_CLAUSES
    max_in_values: int = MAX_IN_VALUES


def compile_filter(spec: Any, limits: FilterLimits | None = None) -> SqlFilter:
    """Compile a filter; :class:`InvalidInputError` with a message naming the problem if it is not valid."""
    where, params = _Compiler(limits or FilterLimits()).node(spec, "filter", 1)
    return SqlFilter(where, tuple(params))


class _Compiler:
    def __init__(self, limits: FilterLimits) -> None:
        self.limits = limits
        self.clauses = 0

    def node(self, spec: Any, where: str, depth: int) -> Sql:
        if depth > self.limits.max_depth:
            raise InvalidInputError(
                f"{where}: the filter is nested deeper than {self.limits.max_depth} levels "
                "(SEMSEARCH_MAX_FILTER_DEPTH)"
            )
        if not isinstance(spec, dict) or not spec:
            raise InvalidInputError(f"{where}: expected a non-empty object")
        self.clauses += 1
        if self.clauses > self.limits.max_clauses:
            raise InvalidInputError(
                f"the filter has more than {self.limits.max_clauses} clauses (SEMSEARCH_MAX_FILTER_CLAUSES)"
            )
        if "field" in spec:
            return self.leaf(spec, where)
        if "phrase" in spec:
            return _phrase(spec, where)
        unknown = spec.keys() - _BOOL_KEYS
        if unknown:
            raise InvalidInputError(
                f"{where}: unknown key(s) {sorted(unknown)}; a clause has 'field' and an operator "
                "(eq, in, gt, gte, lt, lte, exists), a 'phrase', or must / should / must_not lists"
                + _suggestion(spec)
            )
        parts: list[str] = []
        params: list[object] = []
        for key in ("must", "should", "must_not"):
            if key not in spec:
                continue
            children = spec[key]
            if not isinstance(children, list) or not children:
                raise InvalidInputError(f"{where}.{key}: expected a non-empty list of clauses")
            compiled = [
                self.node(child, f"{where}.{key}[{i}]", depth + 1) for i, child in enumerate(children)
            ]
            joined = (" AND " if key == "must" else " OR ").join(sql for sql, _ in compiled)
            parts.append(f"NOT ({joined})" if key == "must_not" else f"({joined})")
            params.extend(param for _, child_params in compiled for param in child_params)
        return "(" + " AND ".join(parts) + ")", params

    def leaf(self, spec: dict[str, Any], where: str) -> Sql:
        unknown = spec.keys() - _LEAF_KEYS
        if unknown:
            raise InvalidInputError(f"{where}: unknown operator(s) {sorted(unknown)}" + _suggestion(spec))
        field = spec["field"]
        path = json_path(field, f"{where}: 'field'")
        where = f"{where} ({field})"
        if len(spec) == 1:
            raise InvalidInputError(f"{where}: add an operator: eq, in, gt, gte, lt, lte or exists")
        conditions: list[Sql] = []
        if "exists" in spec:
            if not isinstance(spec["exists"], bool):
                raise InvalidInputError(f"{where}: 'exists' must be true or false")
            test = "IS NOT NULL" if spec["exists"] else "IS NULL"
            conditions.append((f"json_type(d.metadata, ?) {test}", [path]))
        if "eq" in spec:
            conditions.append(_any_element(path, _equals(spec["eq"], where)))
        if "in" in spec:
            values = spec["in"]
            most = self.limits.max_in_values
            if not isinstance(values, list) or not values or len(values) > most:
                raise InvalidInputError(f"{where}: 'in' must be a list of 1 to {most} values")
            conditions.append(_any_element(path, _one_of(values, where)))
        ranges = {op: spec[op] for op in _RANGE_OPS if op in spec}
        if ranges:
            conditions.append(_any_element(path, _range(ranges, where)))
        return "(" + " AND ".join(sql for sql, _ in conditions) + ")", [p for _, ps in conditions for p in ps]


# The longest suggestion an error message carries (a long filter's whole translation is no help there).
_MAX_SUGGESTION_CHARS = 400


def _suggestion(spec: Any) -> str:
    """``; did you mean ...?`` with ``spec`` in this language, where it is a clause of another store's filter
    syntax (:mod:`index.retrieval.foreign_filters`) whose translation compiles; else nothing."""
    from index.retrieval.foreign_filters import translated

    suggested = translated(spec)
    if suggested is None:
        return ""
    try:
        _Compiler(FilterLimits()).node(suggested, "filter", 1)
    except InvalidInputError:
        return ""
    shown = json.dumps(suggested, ensure_ascii=False)
    return f"; did you mean {shown}?" if len(shown) <= _MAX_SUGGESTION_CHARS else ""


def json_path(field: Any, what: str = "'field'") -> str:
    """The SQLite JSON path of a metadata key (``author.name``: ``$."author"."name"``), or
    :class:`InvalidInputError` naming ``what`` if it is not one."""
    keys = field_keys(field) if isinstance(field, str) and len(field) <= 256 else None
    if keys is None:
        raise InvalidInputError(
            f"{what} must be a metadata key like 'lang' or 'author.name' (a key with other characters in "
            "double quotes: '\"first name\"')"
        )
    check_text(what, field)
    return "$" + "".join(f'."{key}"' for key in keys)


def field_path(keys: Sequence[str]) -> str | None:
    """The field path that names ``keys`` (outermost first), a key in double quotes where it needs them, or
    None if one holds a double quote, a backslash or a control character (no path names it)."""
    if any(_UNNAMEABLE.search(key) for key in keys):
        return None
    return ".".join(key if _SEGMENT.fullmatch(key) else f'"{key}"' for key in keys)


def field_keys(field: str) -> list[str] | None:
    """The keys a field path names, outermost first, or None if it is not a field path (``_SEGMENT``)."""
    keys = []
    at = 0
    while True:
        segment = _SEGMENT.match(field, at)
        if segment is None:
            return None
        written = segment.group()
        keys.append(written[1:-1] if written.startswith('"') else written)
        at = segment.end()
        if at == len(field):
            return keys
        if field[at] != ".":
            return None
        at += 1


def _phrase(spec: dict[str, Any], where: str) -> Sql:
    """Documents whose title or text holds the phrase's words in order (the document keyword index)."""
    if spec.keys() != {"phrase"}:
        raise InvalidInputError(f"{where}: a 'phrase' clause has no other keys, not {sorted(spec.keys())}")
    phrase = spec["phrase"]
    if not isinstance(phrase, str) or len(phrase) > MAX_PHRASE_CHARS:
        raise InvalidInputError(
            f"{where}: 'phrase' must be a string of at most {MAX_PHRASE_CHARS} characters"
        )
    check_text(f"{where}: the phrase", phrase)
    tokens = word_tokens(phrase)
    if not tokens:
        raise InvalidInputError(f"{where}: the phrase {phrase!r} has no words to match")
    if len(tokens) > MAX_PHRASE_WORDS:
        raise InvalidInputError(f"{where}: the phrase has more than {MAX_PHRASE_WORDS} words")
    expression = " + ".join('"' + token.replace('"', '""') + '"' for token in tokens)
    return (
        f"d.seq IN (SELECT rowid FROM {DOCUMENT_FTS_TABLE} WHERE {DOCUMENT_FTS_TABLE} MATCH ?)",
        [expression],
    )


def _any_element(path: str, condition: Sql) -> Sql:
    """``condition`` on the value at ``path`` (``j.type``, ``j.value``), or on any element of an array:
    ``json_each`` yields one row for a scalar (with no key) and one per element for an array (keyed by
    position); the members of an object (keyed by name) are left out."""
    sql, params = condition
    return (
        f"EXISTS (SELECT 1 FROM json_each(d.metadata, ?) AS j WHERE typeof(j.key) <> 'text' AND {sql})",
        [path, *params],
    )


def _equals(value: Any, where: str) -> Sql:
    if value is None:
        return "(j.type = 'null')", []
    if isinstance(value, bool):
        return ("(j.type = 'true')" if value else "(j.type = 'false')"), []
    if isinstance(value, int | float):
        check_number(f"{where}: the value", value)
        return "(j.type IN ('integer', 'real') AND j.value = ?)", [value]
    if isinstance(value, str):
        check_text(f"{where}: the value", value)
        return "(j.type = 'text' AND j.value = ?)", [value]
    raise InvalidInputError(
        f"{where}: compare with a string, number, boolean or null, not {type(value).__name__}"
    )


def _one_of(values: list[Any], where: str) -> Sql:
    """Any of ``values``: strings and numbers each as one ``IN`` over a JSON array bound as one parameter."""
    strings: list[str] = []
    numbers: list[int | float] = []
    parts: list[Sql] = []
    for value in values:
        if isinstance(value, str):
            check_text(f"{where}: a value of 'in'", value)
            strings.append(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            check_number(f"{where}: a value of 'in'", value)
            numbers.append(value)
        elif value is None or isinstance(value, bool):
            part = _equals(value, where)
            if part not in parts:
                parts.append(part)
        else:
            raise InvalidInputError(
                f"{where}: 'in' takes strings, numbers, booleans or null, not {type(value).__name__}"
            )
    if strings:
        parts.append(
            ("(j.type = 'text' AND j.value IN (SELECT value FROM json_each(?)))", [json.dumps(strings)])
        )
    if numbers:
        parts.append(
            (
                "(j.type IN ('integer', 'real') AND j.value IN (SELECT value FROM json_each(?)))",
                [json.dumps(numbers)],
            )
        )
    return "(" + " OR ".join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]


def _range(ranges: dict[str, Any], where: str) -> Sql:
    values = list(ranges.values())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        for value in values:
            check_number(f"{where}: the bound", value)
        tests = " AND ".join(f"j.value {_RANGE_OPS[op]} ?" for op in ranges)
        return f"(j.type IN ('integer', 'real') AND {tests})", values
    if all(isinstance(v, str) and _DATE.match(v) for v in values):
        bounds: list[object] = []
        for value in values:
            moment = instant(value)
            if moment is None:
                raise InvalidInputError(f"{where}: {value!r} is not a valid date")
            bounds.append(moment)
        tests = " AND ".join(f"semsearch_instant(j.value) {_RANGE_OPS[op]} ?" for op in ranges)
        return f"(j.type = 'text' AND {tests})", bounds
    raise InvalidInputError(
        f"{where}: range bounds must be all numbers or all ISO 8601 dates (like '2024-05-01')"
    )


_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()


def instant(value: object) -> int | None:
    """An ISO 8601 date or date-time as microseconds since 1970-01-01 UTC (exact, and defined for every year
    from 1 to 9999 whatever the offset), or None if ``value`` is not one. A time without an offset is UTC."""
    if not isinstance(value, str) or len(value) > 64 or not _DATE.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    offset = parsed.utcoffset()
    local = parsed.replace(tzinfo=None)
    days = local.toordinal() - _EPOCH_ORDINAL
    seconds = days * 86_400 + local.hour * 3600 + local.minute * 60 + local.second
    micros = seconds * 1_000_000 + local.microsecond
    if offset is not None:
        micros -= (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds
    return micros


def register_functions(connection: sqlite3.Connection) -> None:
    """Make the SQL functions compiled filters call available on ``connection``."""
    connection.create_function("semsearch_instant", 1, instant, deterministic=True)
