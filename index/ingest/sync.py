"""Mirroring a folder: which files to add, replace or leave, and which documents to delete.

A folder's files are documents whose ids are their paths (under an optional prefix) and whose metadata says
which folder they came from (``source``) and the ``sha256`` of their bytes. Comparing the folder's files
with the documents already stored from it is all a sync needs: new ids are added, ids whose hash changed are
replaced, ids whose file is gone are deleted, and nothing else is touched (documents from elsewhere are not
in the comparison at all, since they were listed with a filter on ``source``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SyncPlan:
    add: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.add) + len(self.update) + len(self.delete)


def plan_sync(files: Mapping[str, str], stored: Mapping[str, str | None]) -> SyncPlan:
    """``files``: the folder now, ``{id: sha256}``; ``stored``: the documents from it, ``{id: sha256}``
    (``None`` if a document has no hash: it is replaced). Every list comes out sorted."""
    plan = SyncPlan()
    for doc_id in sorted(files):
        if doc_id not in stored:
            plan.add.append(doc_id)
        elif stored[doc_id] != files[doc_id]:
            plan.update.append(doc_id)
        else:
            plan.unchanged.append(doc_id)
    plan.delete.extend(sorted(set(stored) - set(files)))
    return plan
