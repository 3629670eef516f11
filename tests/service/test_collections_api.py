"""Collections and aliases over HTTP: the API of issue 16."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from index import SearchIndex
from index.collections import Catalog
from service.app import create_app
from service.settings import Settings


def upsert(client: TestClient, prefix: str, *documents: dict[str, Any]) -> None:
    response = client.post(f"{prefix}/documents", json={"documents": list(documents)})
    assert response.status_code == 200, response.text


def test_collections_are_created_listed_and_kept_apart(client: TestClient) -> None:
    created = client.put("/collections/papers", json={"chunking": {"max_tokens": 64}})
    assert created.status_code == 201, created.text
    assert created.json()["settings"]["chunking"] == {"max_tokens": 64}
    assert client.put("/collections/papers", json={"chunking": {"max_tokens": 64}}).status_code == 200
    assert client.put("/collections/papers", json={"chunking": {"max_tokens": 32}}).status_code == 409
    assert client.put("/collections/Bad.Name", json={}).status_code == 422
    assert client.put("/collections/empty").status_code == 201  # settings are optional

    upsert(client, "/collections/papers", {"id": "p1", "text": "Cats sleep sixteen hours a day."})
    upsert(client, "", {"id": "d1", "text": "Stock markets fell sharply on Monday."})
    in_papers = client.get("/collections/papers/search", params={"q": "cats", "k": 5}).json()["hits"]
    assert [h["doc_id"] for h in in_papers] == ["p1"]
    in_default = client.get("/search", params={"q": "cats", "k": 5}).json()["hits"]
    assert [h["doc_id"] for h in in_default] == ["d1"]
    assert client.get("/collections/papers/documents/p1").status_code == 200
    assert client.get("/documents/p1").status_code == 404
    assert client.get("/collections/papers/stats").json()["documents"] == 1

    metrics = client.get("/metrics").text
    assert 'semsearch_index_documents{collection="papers"} 1.0' in metrics
    assert 'semsearch_index_documents{collection="default"} 1.0' in metrics
    listed = client.get("/collections").json()["collections"]
    assert [(c["name"], c["documents"]) for c in listed] == [("default", 1), ("empty", 0), ("papers", 1)]
    assert client.get("/collections/missing/search", params={"q": "x"}).status_code == 404
    assert client.get("/collections/missing").status_code == 404


def test_a_background_write_to_a_collection_gives_the_address_of_its_task(client: TestClient) -> None:
    """The 202's Location is where the task is: in the collection written to, for JSON and for files."""
    assert client.put("/collections/papers").status_code == 201
    body = {"documents": [{"id": "p1", "text": "Owls hunt at night with silent feathers."}]}
    files = {"files": ("moths.txt", b"Moths fly toward the light at night.", "text/plain")}
    accepted = [
        client.post("/collections/papers/documents?wait=false", json=body),
        client.post("/collections/papers/documents/files?wait=false", files=files),
    ]
    for answer in accepted:
        assert answer.status_code == 202, answer.text
        location = answer.headers["location"]
        assert location == f"/collections/papers/tasks/{answer.json()['task_id']}"
        deadline = time.monotonic() + 30
        task = client.get(location).json()
        while task["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.05)
            task = client.get(location).json()
        assert task["status"] == "done", task
    assert client.get("/collections/papers/count").json()["count"] == 2
    assert client.get(f"/tasks/{accepted[0].json()['task_id']}").status_code == 404  # not the default's


def test_an_alias_switches_and_guards_its_collection(client: TestClient) -> None:
    for name, text in (("v1", "The old text about tides."), ("v2", "The new text about tides.")):
        assert client.put(f"/collections/{name}").status_code == 201
        upsert(client, f"/collections/{name}", {"id": name, "text": text})
    assert client.put("/aliases/live", json={"collection": "v1"}).json()["previous"] is None
    assert client.get("/collections/live/search", params={"q": "tides"}).json()["hits"][0]["doc_id"] == "v1"
    assert client.put("/aliases/live", json={"collection": "v2"}).json()["previous"] == "v1"
    assert client.get("/collections/live/search", params={"q": "tides"}).json()["hits"][0]["doc_id"] == "v2"
    assert client.get("/collections/live").json()["name"] == "v2"
    assert client.get("/aliases").json() == {
        "aliases": [{"alias": "live", "collection": "v2", "previous": None}]
    }
    assert client.put("/aliases/v1", json={"collection": "v2"}).status_code == 409  # a collection's name
    assert client.put("/aliases/other", json={"collection": "nope"}).status_code == 404
    assert client.delete("/collections/v2").status_code == 409  # "live" points to it
    assert client.delete("/collections/default").status_code == 409
    deleted = client.delete("/collections/v2", params={"force": "true"})
    assert deleted.json() == {"name": "v2", "deleted": True, "aliases": ["live"]}
    assert client.get("/collections/live/search", params={"q": "tides"}).status_code == 404
    assert client.delete("/aliases/live").status_code == 404


def test_collections_and_aliases_survive_a_restart(
    open_index: Callable[..., SearchIndex], settings: Settings
) -> None:
    first = open_index()
    with TestClient(create_app(settings, index=first)) as client:
        client.put("/collections/papers", json={"index": {"hnsw_m": 16}})
        upsert(client, "/collections/papers", {"id": "p1", "text": "Cats sleep sixteen hours a day."})
        client.put("/aliases/live", json={"collection": "papers"})
    first.close()  # a stopped service: the next one opens the same data directory
    with TestClient(create_app(settings, index=open_index())) as client:
        assert client.get("/collections/papers").json()["settings"]["index"] == {"hnsw_m": 16}
        hits = client.get("/collections/live/search", params={"q": "cats"}).json()["hits"]
        assert [h["doc_id"] for h in hits] == ["p1"]


def test_no_search_fails_while_an_alias_is_switched_back_and_forth(client: TestClient) -> None:
    for name in ("blue", "green"):
        client.put(f"/collections/{name}")
        upsert(client, f"/collections/{name}", {"id": name, "text": f"The {name} tidal lagoon."})
    client.put("/aliases/live", json={"collection": "blue"})
    statuses: list[int] = []
    found: set[str] = set()
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            response = client.get("/collections/live/search", params={"q": "tidal lagoon", "k": 1})
            statuses.append(response.status_code)
            if response.status_code == 200:
                found.add(response.json()["hits"][0]["doc_id"])

    searchers = [threading.Thread(target=search) for _ in range(4)]
    for searcher in searchers:
        searcher.start()
    for i in range(40):
        client.put("/aliases/live", json={"collection": "green" if i % 2 == 0 else "blue"})
    done.set()
    for searcher in searchers:
        searcher.join()
    assert statuses
    assert set(statuses) == {200}
    assert found == {"blue", "green"}


def test_a_collection_is_reindexed_from_another_with_its_own_chunking(client: TestClient) -> None:
    long_text = "\n\n".join(
        f"Paragraph {i} says that cats sleep sixteen hours a day, mostly." for i in range(6)
    )
    upsert(client, "", {"id": "cats", "text": long_text}, {"id": "banks", "text": "Rates rose again."})
    assert (
        client.put(
            "/collections/fine", json={"chunking": {"max_tokens": 16, "overlap_tokens": 0}}
        ).status_code
        == 201
    )
    assert client.get("/collections/fine/reindex").status_code == 404
    started = client.post("/collections/fine/reindex", json={"source": "default"})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    job = started.json()
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get("/collections/fine/reindex").json()
    assert (job["status"], job["documents_done"], job["documents_total"]) == ("done", 2, 2)
    fine, default = client.get("/collections/fine").json(), client.get("/collections/default").json()
    assert fine["documents"] == default["documents"] == 2
    assert fine["chunks"] > default["chunks"]  # re-chunked with the smaller budget
    assert client.get("/collections/fine/documents/cats").json()["text"] == long_text
    assert client.post("/collections/fine/reindex", json={"source": "fine"}).status_code == 409
    assert client.post("/collections/fine/reindex", json={"source": "nope"}).status_code == 404


def test_a_read_only_replica_changes_no_collection(
    open_index: Callable[..., SearchIndex], settings: Settings
) -> None:
    writer = open_index()
    with TestClient(create_app(settings, index=writer)) as client:
        client.put("/collections/papers")
        upsert(client, "/collections/papers", {"id": "p1", "text": "Cats sleep sixteen hours a day."})
    writer.close()
    replica = settings.model_copy(update={"read_only": True})
    with TestClient(create_app(replica, index=open_index(read_only=True))) as client:
        hits = client.get("/collections/papers/search", params={"q": "cats"}).json()["hits"]
        assert [h["doc_id"] for h in hits] == ["p1"]
        assert client.put("/collections/more").status_code == 409
        assert client.put("/aliases/live", json={"collection": "papers"}).status_code == 409
        assert client.delete("/collections/papers").status_code == 409
        assert [c["name"] for c in client.get("/collections").json()["collections"]] == ["default", "papers"]


def test_a_reindex_cut_off_by_a_restart_resumes_on_start(
    open_index: Callable[..., SearchIndex], settings: Settings
) -> None:
    first = open_index()
    with TestClient(create_app(settings, index=first)) as client:
        upsert(client, "", {"id": "cats", "text": "Cats sleep."}, {"id": "dogs", "text": "Dogs bark."})
        assert client.put("/collections/copy", json={}).status_code == 201
    # As if the service had stopped in the middle of POST /collections/copy/reindex: begun, not ended.
    Catalog(first.data_dir).begin_reindex("copy", "default")
    first.close()
    second = open_index()
    with TestClient(create_app(settings, index=second)) as client:
        deadline = time.monotonic() + 30
        job = client.get("/collections/copy/reindex").json()
        while job["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
            job = client.get("/collections/copy/reindex").json()
        assert (job["status"], job["resumed"], job["documents_done"]) == ("done", True, 2)
        assert client.get("/collections/copy").json()["documents"] == 2
    assert dict(Catalog(second.data_dir).state.reindexing) == {}  # done: not resumed again
