"""Metadata filters: a small JSON language compiled to SQL over the documents' metadata.

A filter is a *leaf* or a *bool* node::

    {"field": "lang", "eq": "en"}                      equality (a string, number, boolean or null)
    {"field": "tags", "in": ["news", "sport"]}          any of several values
    {"field": "year", "gte": 2020, "lt": 2025}          numeric range (gt, gte, lt, lte)
    {"field": "published", "gte": "2024-01-01"}         date range: ISO 8601 strings compare as instants
    {"field": "author.name", "exists": true}            the field is present (dotted paths reach inside)
    {"must": [...], "should": [...], "must_not": [...]} all of must, at least one of should, none of must_not

A leaf on a field that holds a JSON array matches when any element matches. Every value is bound as a SQL
parameter; field names are checked against a strict pattern; depth and size are limited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from index.errors import InvalidInputError

MAX_DEPTH = 8
MAX_CLAUSES = 256
MAX_IN_VALUES = 1024

_FIELD = re.compile(r"^[\w-]+(\.[\w-]+)*$")
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
        return (
            f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {self.where}",
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
        unknown = spec.keys() - _BOOL_KEYS
        if unknown:
            raise InvalidInputError(
                f"{where}: unknown key(s) {sorted(unknown)}; a clause has 'field' and an operator "
                "(eq, in, gt, gte, lt, lte, exists), or must / should / must_not lists"
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
            raise InvalidInputError(f"{where}: unknown operator(s) {sorted(unknown)}")
        field = spec["field"]
        if not isinstance(field, str) or len(field) > 256 or not _FIELD.match(field):
            raise InvalidInputError(f"{where}: 'field' must be a metadata key like 'lang' or 'author.name'")
        path = "$" + "".join(f'."{segment}"' for segment in field.split("."))
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
            options = [_equals(value, where) for value in values]
            either = (" OR ".join(sql for sql, _ in options), [p for _, params in options for p in params])
            conditions.append(_any_element(path, either))
        ranges = {op: spec[op] for op in _RANGE_OPS if op in spec}
        if ranges:
            conditions.append(_any_element(path, _range(ranges, where)))
        return "(" + " AND ".join(sql for sql, _ in conditions) + ")", [p for _, ps in conditions for p in ps]


def _any_element(path: str, condition: Sql) -> Sql:
    """``condition`` on the value at ``path`` (``j.type``, ``j.value``), or on any element of an array:
    ``json_each`` yields one row for a scalar and one per element for an array."""
    sql, params = condition
    return f"EXISTS (SELECT 1 FROM json_each(d.metadata, ?) AS j WHERE {sql})", [path, *params]


def _equals(value: Any, where: str) -> Sql:
    if value is None:
        return "(j.type = 'null')", []
    if isinstance(value, bool):
        return ("(j.type = 'true')" if value else "(j.type = 'false')"), []
    if isinstance(value, int | float):
        return "(j.type IN ('integer', 'real') AND j.value = ?)", [value]
    if isinstance(value, str):
        return "(j.type = 'text' AND j.value = ?)", [value]
    raise InvalidInputError(
        f"{where}: compare with a string, number, boolean or null, not {type(value).__name__}"
    )


def _range(ranges: dict[str, Any], where: str) -> Sql:
    values = list(ranges.values())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        tests = " AND ".join(f"j.value {_RANGE_OPS[op]} ?" for op in ranges)
        return f"(j.type IN ('integer', 'real') AND {tests})", values
    if all(isinstance(v, str) and _DATE.match(v) for v in values):
        tests = " AND ".join(f"julianday(j.value) {_RANGE_OPS[op]} julianday(?)" for op in ranges)
        return f"(j.type = 'text' AND {tests})", [_instant(v, where) for v in values]
    raise InvalidInputError(
        f"{where}: range bounds must be all numbers or all ISO 8601 dates (like '2024-05-01')"
    )


def _instant(value: str, where: str) -> str:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidInputError(f"{where}: {value!r} is not a valid date") from error
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(sep=" ")
