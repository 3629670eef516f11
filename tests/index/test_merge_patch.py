"""JSON Merge Patch (RFC 7396): the RFC's own examples, and the rules it states as properties."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.merge_patch import merge_patch

# RFC 7396, Appendix A: original, patch, result
RFC_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_EXAMPLES)
def test_the_rfc_examples(original: Any, patch: Any, result: Any) -> None:
    assert merge_patch(original, patch) == result


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=10,
)
objects = st.dictionaries(st.sampled_from("abcd"), values, max_size=4)


@given(objects, objects)
def test_what_a_patch_does_key_by_key(target: dict[str, Any], patch: dict[str, Any]) -> None:
    before = (copy.deepcopy(target), copy.deepcopy(patch))
    merged = merge_patch(target, patch)
    assert (target, patch) == before  # neither argument changed
    for key in target.keys() - patch.keys():
        assert merged[key] == target[key]  # what the patch does not name stays
    for key, value in patch.items():
        if value is None:
            assert key not in merged  # null removes
        elif isinstance(value, dict):
            assert merged[key] == merge_patch(target.get(key), value)  # objects merge
        else:
            assert merged[key] == value  # anything else replaces
    assert merge_patch(merged, patch) == merged  # applying it again changes nothing
