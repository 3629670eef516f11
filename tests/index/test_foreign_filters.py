"""Another store's filter is refused with its translation, and the translation selects what the other store
would: Mongo's syntax (Chroma's, Pinecone's) against a reference evaluator of it, Qdrant's and operator keys
by hand."""

from __future__ import annotations

import json
import operator
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from index.errors import InvalidInputError
from index.retrieval.filters import compile_filter
from index.retrieval.foreign_filters import translated
from tests.index.test_filters import documents_db

KEYS = ["lang", "year", "n.x", "first name"]
VALUES = st.sampled_from(["en", "de", "", 0, 1, 2, -3])
NUMBERS = st.sampled_from([0, 1, 2, -3, 2020])


def suggested(spec: Any) -> Any:
    """The filter the refusal of ``spec`` suggests (it must refuse it, and suggest one)."""
    with pytest.raises(InvalidInputError) as refused:
        compile_filter(spec)
    message = str(refused.value)
    assert "; did you mean " in message, message
    return json.loads(message.split("; did you mean ", 1)[1].removesuffix("?"))


def selected(spec: Any, documents: list[dict[str, Any]]) -> list[int]:
    connection = documents_db([(str(i), metadata, None, "text") for i, metadata in enumerate(documents)])
    sql, params = compile_filter(spec).document_ids_sql()
    return sorted(int(row[0]) for row in connection.execute(sql, params))


# -- Mongo's syntax, and a reference evaluator of it over flat and nested scalar metadata --


def _value(metadata: dict[str, Any], key: str) -> tuple[bool, Any]:
    node: Any = metadata
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def mongo_matches(spec: dict[str, Any], metadata: dict[str, Any]) -> bool:
    for key, condition in spec.items():
        if key == "$and":
            ok = all(mongo_matches(child, metadata) for child in condition)
        elif key == "$or":
            ok = any(mongo_matches(child, metadata) for child in condition)
        else:
            present, value = _value(metadata, key)
            conditions = condition if isinstance(condition, dict) else {"$eq": condition}
            ok = all(_holds(op, bound, present, value) for op, bound in conditions.items())
        if not ok:
            return False
    return True


def _holds(op: str, bound: Any, present: bool, value: Any) -> bool:
    if op == "$exists":
        return present is bound
    if op in ("$ne", "$nin"):
        return not _holds("$eq" if op == "$ne" else "$in", bound, present, value)
    if not present:
        return False
    if op == "$eq":
        return _same(value, bound)
    if op == "$in":
        return any(_same(value, item) for item in bound)
    if not isinstance(value, int):  # Mongo compares numbers with numbers only
        return False
    compare = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}[op]
    return bool(compare(value, bound))


@st.composite
def conditions(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["value", "ops"]))
    if kind == "value":
        return draw(VALUES)
    ops: dict[str, Any] = {}
    for op in draw(
        st.sets(
            st.sampled_from(["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists"]),
            min_size=1,
            max_size=2,
        )
    ):
        if op in ("$in", "$nin"):
            ops[op] = draw(st.lists(VALUES, min_size=1, max_size=3))
        elif op == "$exists":
            ops[op] = draw(st.booleans())
        elif op in ("$eq", "$ne"):
            ops[op] = draw(VALUES)
        else:
            ops[op] = draw(NUMBERS)
    return ops


MONGO = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), conditions(), min_size=1, max_size=2),
    lambda inner: st.builds(
        lambda key, children: {key: children},
        st.sampled_from(["$and", "$or"]),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=5,
)
METADATA = st.fixed_dictionaries(
    {},
    optional={
        "lang": VALUES,
        "year": VALUES,
        "n": st.fixed_dictionaries({}, optional={"x": VALUES}),
        "first name": VALUES,
    },
)


@settings(max_examples=300, deadline=None)
@given(spec=MONGO, documents=st.lists(METADATA, min_size=1, max_size=8))
def test_a_mongo_filter_is_refused_with_a_translation_that_selects_the_same(
    spec: dict[str, Any], documents: list[dict[str, Any]]
) -> None:
    assume(len(json.dumps(translated(spec))) <= 400)  # longer ones are not shown in the message
    translation = suggested(spec)
    assert selected(translation, documents) == [i for i, m in enumerate(documents) if mongo_matches(spec, m)]


# -- Qdrant's conditions and operator keys, by hand --


@pytest.mark.parametrize(
    ("spec", "translation"),
    [
        ({"must": [{"key": "lang", "match": {"value": "en"}}]}, {"field": "lang", "eq": "en"}),
        ({"key": "tags", "match": {"any": ["a", "b"]}}, {"field": "tags", "in": ["a", "b"]}),
        ({"key": "tags", "match": {"except": ["a"]}}, {"must_not": [{"field": "tags", "in": ["a"]}]}),
        ({"key": "year", "range": {"gte": 2020, "lt": None}}, {"field": "year", "gte": 2020}),
        ({"key": "author.name", "match": {"value": "X"}}, {"field": "author.name", "eq": "X"}),
        ({"field": "lang", "op": "eq", "value": "en"}, {"field": "lang", "eq": "en"}),
        ({"field": "year", "op": "$GTE", "value": 2}, {"field": "year", "gte": 2}),
        ({"field": "lang", "$in": ["en"]}, {"field": "lang", "in": ["en"]}),
        ({"first name": "Ada"}, {"field": '"first name"', "eq": "Ada"}),
    ],
)
def test_other_syntaxes_are_refused_with_their_translation(spec: Any, translation: Any) -> None:
    assert suggested(spec) == translation


@pytest.mark.parametrize(
    "spec",
    [
        {"lang": ["en", "de"]},  # Mongo compares the whole array: no word for that here
        {"lang": {"$regex": "^e"}},
        {"key": "lang", "match": {"text": "en"}},
        {"field": "lang", "equals": "en"},
        {"field": "lang", "op": "like", "value": "e%"},
        {"$nor": [{"lang": "en"}]},
        {"a\\b": 1},  # no field path names a key with a backslash
        {"lang": "\x00"},  # translated, but the translation is refused too: no suggestion
    ],
)
def test_what_has_no_translation_is_refused_without_a_suggestion(spec: Any) -> None:
    with pytest.raises(InvalidInputError) as refused:
        compile_filter(spec)
    assert "did you mean" not in str(refused.value)
