"""Which requests a read replica answers itself, against a reference that reads the path segment by segment.

Forwarding is always correct (the writer answers everything); answering locally is correct only for the
reads that need nothing of the writer's but the store. So the predicate must never say "local" for a write,
a task, a reindex job or collection management, and should for searches, document reads and MCP (whose tools
call the same app, so their writes are forwarded in turn)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.forwarding import answered_locally

_SEGMENTS = ["search", "batch", "documents", "collections", "tasks", "reindex", "mcp", "metrics", "healthz"]
_SEGMENTS += [
    "readyz",
    "models",
    "embeddings",
    "stats",
    "aliases",
    "admin",
    "snapshot",
    "files",
    "delete",
    "",
]
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def reference(method: str, path: str) -> bool:
    segments = path.split("/")[1:]
    if not path.startswith("/"):
        return False
    rest = segments
    if len(segments) >= 3 and segments[0] == "collections" and segments[1]:
        rest = segments[2:]  # the collection prefix: what follows is judged the same
    if method in ("GET", "HEAD"):
        if path in ("/", "/healthz", "/readyz", "/metrics", "/models"):
            return True
        return rest == ["search"] or (rest[0] == "documents" and (len(rest) == 1 or "/".join(rest[1:]) != ""))
    if method == "POST":
        return rest in (["search"], ["search", "batch"]) or path in ("/embeddings", "/mcp", "/mcp/")
    return False


# Mostly the words routes are made of, so that the paths that matter come up often.
words = st.sampled_from(_SEGMENTS)
segment = words | words | words | st.text(max_size=4).filter(lambda s: "/" not in s)


@settings(max_examples=1500)
@given(st.sampled_from(_METHODS), st.lists(segment, min_size=1, max_size=5))
@example("GET", ["documents", ""])  # no document id: not a document read
@example("POST", ["collections", "", "search"])  # no collection name
def test_answered_locally_agrees_with_the_reference(method: str, segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    assert answered_locally(method, path) == reference(method, path)


def test_writes_tasks_and_sessions_always_go_to_the_writer() -> None:
    for method, path in [
        ("POST", "/documents"),
        ("POST", "/documents/files"),
        ("POST", "/documents/delete"),
        ("PATCH", "/documents/a"),
        ("DELETE", "/documents/a"),
        ("GET", "/tasks/t1"),
        ("GET", "/collections/notes/tasks/t1"),
        ("GET", "/collections/notes/reindex"),
        ("GET", "/collections/notes"),
        ("PUT", "/collections/notes"),
        ("POST", "/admin/snapshot"),
        ("GET", "/mcp"),
        ("DELETE", "/mcp"),
    ]:
        assert not answered_locally(method, path), (method, path)
    for method, path in [
        ("GET", "/search"),
        ("HEAD", "/search"),
        ("POST", "/search/batch"),
        ("POST", "/collections/notes/search"),
        ("GET", "/collections/notes/documents/a/b"),
        ("GET", "/documents/tasks/1"),  # a document whose id holds "tasks": a read all the same
        ("POST", "/embeddings"),
        ("POST", "/mcp"),
        ("GET", "/metrics"),
    ]:
        assert answered_locally(method, path), (method, path)
