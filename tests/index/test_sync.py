from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from index.ingest.sync import plan_sync

IDS = st.text(alphabet="abc/", min_size=1, max_size=4)
HASHES = st.sampled_from(["h1", "h2", "h3"])


@given(st.dictionaries(IDS, HASHES), st.dictionaries(IDS, st.none() | HASHES))
def test_a_plan_makes_the_stored_documents_equal_the_folder(
    files: dict[str, str], stored: dict[str, str | None]
) -> None:
    plan = plan_sync(files, stored)
    after = dict(stored)
    for doc_id in plan.delete:
        del after[doc_id]
    for doc_id in plan.add + plan.update:
        after[doc_id] = files[doc_id]
    assert after == files
    # every file is in exactly one list, and nothing is written that need not be
    assert sorted(plan.add + plan.update + plan.unchanged) == sorted(files)
    assert all(stored[doc_id] != files[doc_id] for doc_id in plan.update)
    assert all(stored[doc_id] == files[doc_id] for doc_id in plan.unchanged)
    assert plan.changes == len(plan.add) + len(plan.update) + len(plan.delete)


def test_an_empty_folder_deletes_what_came_from_it() -> None:
    plan = plan_sync({}, {"a.md": "h1", "b.md": None})
    assert (plan.add, plan.update, plan.delete) == ([], [], ["a.md", "b.md"])
