"""Other stores' filter syntaxes, read into semsearch's (:mod:`index.retrieval.filters`) to suggest a fix.

People bring their filters from the store they used before. A clause in one of these syntaxes is refused
(two languages for one thing would be one too many to document and test), and the refusal says what it is in
this one:

- **Mongo's**, which Chroma and Pinecone use: ``{"lang": "en"}``, ``{"year": {"$gte": 2020, "$lt": 2025}}``,
  ``$eq $ne $in $nin $gt $gte $lt $lte $exists``, ``{"$and": [...]}``, ``{"$or": [...]}``; several keys in
  one object are all required.
- **Qdrant's** conditions, inside the ``must``/``should``/``must_not`` lists both languages share:
  ``{"key": "lang", "match": {"value": "en"}}``, ``"match": {"any": [...]}`` and ``{"except": [...]}``,
  ``{"key": "year", "range": {"gte": 2020}}``.
- **An operator and its value as two keys**: ``{"field": "lang", "op": "eq", "value": "en"}``, and an
  operator written with Mongo's ``$`` (``{"field": "lang", "$eq": "en"}``).

:func:`translated` gives the clause in semsearch's language, or None where it cannot say it (a Mongo value
that is an array or an object compares whole there; here it is none of these).
"""

from __future__ import annotations

from typing import Any

_MONGO = {
    "$eq": "eq",
    "$in": "in",
    "$gt": "gt",
    "$gte": "gte",
    "$lt": "lt",
    "$lte": "lte",
    "$exists": "exists",
}
_MONGO_NOT = {"$ne": "eq", "$nin": "in"}
_OPERATORS = {"eq", "in", "gt", "gte", "lt", "lte", "exists"}
_RANGES = {"gt", "gte", "lt", "lte"}


def translated(spec: Any) -> dict[str, Any] | None:
    """``spec``, a clause of another store's filter syntax, in semsearch's filter language; None if it is not
    one this module reads."""
    if not isinstance(spec, dict) or not spec:
        return None
    if "key" in spec:
        return _qdrant(spec)
    if "field" in spec:
        return _operator_keys(spec)
    clauses: list[dict[str, Any]] = []
    for key, value in spec.items():
        clause = _mongo_logic(key, value) if key.startswith("$") else _mongo_field(key, value)
        if clause is None:
            return None
        clauses.append(clause)
    return clauses[0] if len(clauses) == 1 else {"must": clauses}


def _mongo_logic(key: str, children: Any) -> dict[str, Any] | None:
    if key not in ("$and", "$or") or not isinstance(children, list) or not children:
        return None
    translations = [translated(child) for child in children]
    if any(clause is None for clause in translations):
        return None
    return {"must" if key == "$and" else "should": translations}


def _mongo_field(key: str, condition: Any) -> dict[str, Any] | None:
    field = _field(key)
    if field is None or isinstance(condition, list):
        return None  # a key no field path names; Mongo compares a whole array
    if not isinstance(condition, dict):
        return {"field": field, "eq": condition}
    if not condition or not all(op in _MONGO or op in _MONGO_NOT for op in condition):
        return None  # an object compared whole, or an operator this language has no word for ($regex...)
    positive = {_MONGO[op]: value for op, value in condition.items() if op in _MONGO}
    negative = [
        {"field": field, _MONGO_NOT[op]: value} for op, value in condition.items() if op in _MONGO_NOT
    ]
    clauses = ([{"field": field, **positive}] if positive else []) + (
        [{"must_not": negative}] if negative else []
    )
    return clauses[0] if len(clauses) == 1 else {"must": clauses}


def _qdrant(spec: dict[str, Any]) -> dict[str, Any] | None:
    field, match, ranges = _field(spec["key"]), spec.get("match"), spec.get("range")
    if field is None or set(spec) - {"key", "match", "range"}:
        return None
    leaf: dict[str, Any] = {"field": field}
    if isinstance(ranges, dict) and ranges and set(ranges) <= _RANGES:
        leaf |= {op: value for op, value in ranges.items() if value is not None}
    elif ranges is not None:
        return None
    if isinstance(match, dict) and len(match) == 1:
        [(kind, value)] = match.items()
        if kind == "except":
            return {"must_not": [{"field": field, "in": value}]} if len(leaf) == 1 else None
        if kind not in ("value", "any"):
            return None
        leaf["eq" if kind == "value" else "in"] = value
    elif match is not None:
        return None
    return leaf if len(leaf) > 1 else None


def _operator_keys(spec: dict[str, Any]) -> dict[str, Any] | None:
    rest = {key: value for key, value in spec.items() if key != "field"}
    if set(rest) == {"op", "value"} and isinstance(rest["op"], str):
        op = rest["op"].removeprefix("$").lower()
        return {"field": spec["field"], op: rest["value"]} if op in _OPERATORS else None
    ops = {key.removeprefix("$"): value for key, value in rest.items()}
    if len(ops) != len(rest) or not ops or not set(ops) <= _OPERATORS:
        return None
    return {"field": spec["field"], **ops}


def _field(key: Any) -> str | None:
    """The field path of a dotted key (Mongo's and Qdrant's ``author.name``), its keys quoted where they
    need it (``"first name"``); None if no path names it."""
    from index.retrieval.filters import field_path

    return field_path(key.split(".")) if isinstance(key, str) and key else None
