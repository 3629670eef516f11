"""JSON Merge Patch (RFC 7396): how a document's metadata is changed in place, without sending its text.

A patch is an object: each key it names is set to its value, merged into an object already there key by
key, and a key whose value is ``null`` is removed. Arrays and other values replace what was there whole.
``{"tags": ["reviewed"], "draft": null, "source": {"page": 3}}`` sets ``tags``, removes ``draft`` and sets
``source.page``, leaving every other key as it was. (A null cannot be stored by a patch; send the whole
document again for that.)
"""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied (RFC 7396, section 2); neither argument is changed."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
