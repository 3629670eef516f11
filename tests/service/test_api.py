from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index import SearchIndex
from service.app import create_app
from service.settings import Settings

ARTICLE = "Cats sleep sixteen hours a day.\n\nStock markets fell sharply on Monday.\n\nRivers carry sediment."


def upsert(client: TestClient, *documents: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/documents", json={"documents": list(documents)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_ready_and_stats(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    stats = client.get("/stats").json()
    assert stats["documents"] == 0
    assert stats["model_id"] == "fake/bag-of-words"
    assert stats["dimension"] == 64
    assert stats["index_type"] == "flat-float16"


def test_head_is_answered_wherever_get_is_without_a_body(client: TestClient) -> None:
    upsert(client, {"id": "a/b", "text": ARTICLE})
    for path in ("/healthz", "/readyz", "/stats", "/documents/a/b", "/search?q=cats"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert int(head.headers["content-length"]) > 0
    assert client.head("/documents/missing").status_code == 404
    assert client.head("/search").status_code == 422  # as a GET without q
    assert client.head("/search/batch").status_code == 405  # POST only: no GET, so no HEAD
    assert client.put("/documents/a/b").headers["allow"] == "DELETE, GET, HEAD, PATCH"
    # The resource's own methods, though /documents/{doc_id} matches /documents/delete too.
    assert client.request("OPTIONS", "/documents/delete").headers["allow"] == "POST"
    assert client.put("/collections/default/documents/delete").headers["allow"] == "POST"
    assert client.request("OPTIONS", "/documents/update").headers["allow"] == "POST"
    assert client.put("/search").headers["allow"] == "GET, HEAD, POST"


def test_upsert_get_search_delete_round_trip(client: TestClient) -> None:
    body = upsert(
        client, {"id": "a", "text": "Cats sleep sixteen hours a day.", "title": "Cats", "metadata": {"x": 1}}
    )
    assert body["documents"] == [{"id": "a", "status": "created", "chunks": 1}]
    upsert(client, {"id": "b", "text": "Stock markets fell sharply on Monday."})

    response = client.get("/search", params={"q": "cats sleep", "k": 1}).json()
    timings = response["timings"]
    assert set(timings) == {"encode_ms", "search_ms", "rank_ms"}
    assert all(value >= 0 for value in timings.values())
    assert sum(timings.values()) <= response["took_ms"]
    hits = response["hits"]
    assert hits[0]["doc_id"] == "a"
    assert hits[0]["title"] == "Cats"
    assert hits[0]["metadata"] == {"x": 1}
    assert (hits[0]["start"], hits[0]["end"]) == (0, len("Cats sleep sixteen hours a day."))
    fields = "doc_id chunk_id ordinal score text title metadata start end highlight matches page page_end"
    fields += " duplicates"
    assert set(hits[0]) == set(fields.split())

    document = client.get("/documents/a").json()
    assert document["text"] == "Cats sleep sixteen hours a day."
    assert document["chunks"][0]["start"] == 0

    assert client.delete("/documents/a").json() == {"id": "a", "deleted": True, "chunks": 1}
    hits = client.post("/search", json={"query": "cats sleep", "k": 5}).json()["hits"]
    assert [hit["doc_id"] for hit in hits] == ["b"]
    assert client.get("/documents/a").status_code == 404


def test_a_listing_with_texts_ends_its_pages_at_the_text_budget_and_says_what_follows(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = {"a": "Cats sleep all day.", "b": "Rivers carry sand.", "c": "Markets fell.", "d": "Owls hunt."}
    upsert(client, *({"id": doc_id, "text": text} for doc_id, text in texts.items()))
    assert "text" not in client.get("/documents").json()["documents"][0]  # no texts unless asked
    monkeypatch.setattr("index.search_index.PAGE_TEXT_CHARS", 30)  # two of these texts reach it
    pages: list[list[tuple[str, str]]] = []
    after: str | None = None
    while True:
        params: dict[str, str | int] = {
            "include_text": "true",
            "limit": 3,
            **({"after": after} if after else {}),
        }
        page = client.get("/documents", params=params).json()
        pages.append([(d["id"], d["text"]) for d in page["documents"]])
        if page["next"] is None:
            break
        after = page["next"]
    assert [len(page) for page in pages] == [2, 2]  # fewer than the limit, and a next all the same
    assert [item for page in pages for item in page] == list(texts.items())


def test_facets_and_filters_name_any_key_the_same_way(client: TestClient) -> None:
    """Keys in any script, and keys with a space or a dot in double quotes: GET /facets refused them all
    (an ASCII-only pattern) while filters took the first."""
    metadata = {"año": 2024, "first name": "Ada", "a.b": "dotted", "a": {"b": "nested"}}
    upsert(client, {"id": "es", "text": "Hola.", "metadata": metadata})
    for field, value in [("año", 2024), ('"first name"', "Ada"), ('"a.b"', "dotted"), ("a.b", "nested")]:
        answer = client.get("/facets", params={"field": field})
        assert answer.status_code == 200, (field, answer.text)
        assert answer.json()["values"] == [{"value": value, "count": 1}]
        kept = client.get("/count", params={"filter": json.dumps({"field": field, "eq": value})})
        assert kept.json() == {"count": 1}
    refused = client.get("/facets", params={"field": 'a."b'})
    assert refused.status_code == 422
    assert "double quotes" in refused.json()["detail"]


def test_a_filter_in_another_stores_syntax_is_answered_with_its_translation(client: TestClient) -> None:
    upsert(client, {"id": "en", "text": "Tides turn.", "metadata": {"lang": "en"}})
    mongo = client.post("/search", json={"query": "tides", "filter": {"lang": "en"}})
    assert mongo.status_code == 422
    assert mongo.json()["detail"].endswith('; did you mean {"field": "lang", "eq": "en"}?')
    qdrant = {"must": [{"key": "lang", "match": {"value": "en"}}]}
    answer = client.get("/count", params={"filter": json.dumps(qdrant)})
    assert answer.status_code == 422
    assert answer.json()["detail"].endswith('did you mean {"field": "lang", "eq": "en"}?')
    assert (
        client.get("/count", params={"filter": json.dumps({"field": "lang", "eq": "en"})}).json()["count"]
        == 1
    )


def test_facets_count_documents_by_a_metadata_value_and_refuse_what_is_no_key(client: TestClient) -> None:
    upsert(
        client,
        {"id": "a", "text": "Tides turn.", "metadata": {"shelf": "sea", "tags": ["moon", "sea", "sea"]}},
        {
            "id": "b",
            "text": "Bread rises.",
            "metadata": {"shelf": "kitchen", "tags": ["yeast"], "year": 2024},
        },
        {"id": "c", "text": "Waves break.", "metadata": {"shelf": "sea", "tags": [], "year": 2024.5}},
        {"id": "d", "text": "Owls hunt.", "metadata": {"shelf": {"room": "attic"}, "year": True}},
    )
    shelves = client.get("/facets", params={"field": "shelf"}).json()
    assert shelves == {
        "field": "shelf",
        "values": [{"value": "sea", "count": 2}, {"value": "kitchen", "count": 1}],  # an object is no value
        "distinct": 2,
        "min": None,
        "max": None,
    }
    years = client.get("/facets", params={"field": "year", "order": "value"}).json()
    assert ([v["value"] for v in years["values"]], years["min"], years["max"]) == (
        [2024, 2024.5, True],
        2024,
        2024.5,
    )
    typed = client.get(
        "/facets", params={"field": "tags", "order": "value", "offset": 1, "contains": "E"}
    ).json()
    assert (typed["values"], typed["distinct"]) == ([{"value": "yeast", "count": 1}], 2)  # sea, yeast
    tags = client.get("/facets", params={"field": "tags", "limit": 2}).json()  # each element, once a document
    assert (tags["values"], tags["distinct"]) == (
        [{"value": "moon", "count": 1}, {"value": "sea", "count": 1}],
        3,
    )
    years = client.get("/facets", params={"field": "year"}).json()["values"]  # JSON's types kept apart
    assert [(v["value"], type(v["value"])) for v in years] == [(2024, int), (2024.5, float), (True, bool)]
    at_sea = client.get(
        "/facets", params={"field": "tags", "filter": '{"field": "shelf", "eq": "sea"}'}
    ).json()
    assert [v["value"] for v in at_sea["values"]] == ["moon", "sea"]  # ties by value
    assert client.get("/facets", params={"field": "shelf.room"}).json()["values"] == [
        {"value": "attic", "count": 1}
    ]
    refused: list[dict[str, str | int]] = [
        {"field": "a b"},
        {},
        {"field": "shelf", "limit": 0},
        {"field": "shelf", "filter": "{"},
        {"field": "shelf", "order": "size"},
        {"field": "shelf", "offset": -1},
        {"field": "shelf", "contains": ""},
        {"field": "shelf", "contains": "x" * 257},
    ]
    for params in refused:
        assert client.get("/facets", params=params).status_code == 422
    assert client.get("/count").json() == {"count": client.get("/stats").json()["documents"]}
    assert client.get("/count", params={"filter": '{"field": "shelf", "eq": "sea"}'}).json() == {"count": 2}
    assert client.get("/collections/default/count", params={"filter": '{"field": "x", "eq": 1}'}).json() == {
        "count": 0
    }
    assert client.get("/fields").json() == {
        "fields": [
            {"name": "shelf", "documents": 4, "types": {"object": 1, "string": 3}, "field": "shelf"},
            {"name": "tags", "documents": 3, "types": {"array": 3}, "field": "tags"},
            {
                "name": "year",
                "documents": 3,
                "types": {"boolean": 1, "integer": 1, "number": 1},
                "field": "year",
            },
        ],
        "next": None,
    }
    shelved = client.get("/fields", params={"filter": '{"field": "shelf", "eq": "sea"}', "limit": 2}).json()
    assert shelved == {
        "fields": [
            {"name": "shelf", "documents": 2, "types": {"string": 2}, "field": "shelf"},
            {"name": "tags", "documents": 2, "types": {"array": 2}, "field": "tags"},
        ],
        "next": "tags",
    }
    sea = '{"field": "shelf", "eq": "sea"}'
    after = client.get("/fields", params={"filter": sea, "after": "tags"}).json()
    assert after == {
        "fields": [{"name": "year", "documents": 1, "types": {"number": 1}, "field": "year"}],
        "next": None,
    }
    beyond = client.get("/collections/default/fields", params={"after": "~"}).json()
    assert beyond == {"fields": [], "next": None}
    bad_pages: list[dict[str, str | int]] = [{"limit": 0}, {"limit": 10_001}, {"after": ""}, {"filter": "{"}]
    for params in bad_pages:
        assert client.get("/fields", params=params).status_code == 422


def test_upsert_replaces_and_reports_unchanged(client: TestClient) -> None:
    upsert(client, {"id": "a", "text": ARTICLE})
    assert upsert(client, {"id": "a", "text": ARTICLE})["documents"][0]["status"] == "unchanged"
    assert upsert(client, {"id": "a", "text": "Dogs fetch sticks."})["documents"][0]["status"] == "updated"
    assert client.get("/stats").json()["chunks"] == 1


def test_a_document_with_a_title_and_no_text_is_its_title(client: TestClient) -> None:
    """A paper without an abstract (BEIR's TREC-COVID corpus holds such) was a 422 for its whole batch."""
    upsert(client, {"id": "paper", "title": "Remdesivir in severe COVID-19", "text": ""})
    stored = client.get("/documents/paper").json()
    assert stored["text"] == stored["title"] == "Remdesivir in severe COVID-19"
    hits = client.post("/search", json={"query": "remdesivir", "mode": "keyword"}).json()["hits"]
    assert [hit["doc_id"] for hit in hits] == ["paper"]


def test_ids_with_slashes_work_in_paths(client: TestClient) -> None:
    upsert(client, {"id": "docs/guide.md", "text": "A guide."})
    assert client.get("/documents/docs/guide.md").json()["id"] == "docs/guide.md"
    assert client.delete("/documents/docs/guide.md").status_code == 200


def test_background_upsert_answers_202_and_a_task_to_poll(client: TestClient) -> None:
    body = {"documents": [{"id": "later", "text": "Owls hunt at night with silent feathers."}]}
    accepted = client.post("/documents?wait=false", json=body)
    assert accepted.status_code == 202
    task = accepted.json()
    assert accepted.headers["location"] == f"/tasks/{task['task_id']}"
    assert task["status"] in ("queued", "running")
    assert task["documents"] == 1
    deadline = time.monotonic() + 30
    while task["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
        task = client.get(f"/tasks/{task['task_id']}").json()
    assert task["status"] == "done"
    assert task["results"] == [{"id": "later", "status": "created", "chunks": 1}]
    assert task["chunks_done"] == task["chunks_total"] == 1
    assert (
        client.get("/search", params={"q": "owls silent feathers", "k": 1}).json()["hits"][0]["doc_id"]
        == "later"
    )

    missing = client.get("/tasks/no-such-task")
    assert missing.status_code == 404
    assert "no-such-task" in missing.json()["detail"]
    duplicate = {"documents": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]}
    refused = client.post("/documents?wait=false", json=duplicate)
    assert refused.status_code == 422  # checked before anything is stored
    assert client.get("/stats").json()["documents"] == 1


def test_admin_snapshot_copies_the_index_to_a_server_chosen_folder(client: TestClient) -> None:
    upsert(client, {"id": "kept", "text": "Owls hunt at night."})
    response = client.post("/admin/snapshot")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["documents"], body["chunks"]) == (1, 1)
    folder = Path(body["path"])
    assert folder.name == body["name"]
    assert folder.parent.name == "snapshots"
    assert (folder / "semsearch.db").exists()
    assert client.post("/admin/snapshot", json={"path": "/etc"}).json()["path"] != "/etc"


def test_batch_search(client: TestClient) -> None:
    upsert(
        client, {"id": "a", "text": "Cats sleep sixteen hours a day."}, {"id": "b", "text": "Markets fell."}
    )
    body = client.post(
        "/search/batch", json={"queries": [{"query": "cats sleep"}, {"query": "markets", "k": 1}]}
    )
    results = body.json()["results"]
    assert [r["hits"][0]["doc_id"] for r in results] == ["a", "b"]
    assert len(results[1]["hits"]) == 1


def test_the_default_limits_take_a_thousand_hits(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    """BEIR's evaluation depth and a reranker's input: k=1,000 by default, a batch of ten such searches."""
    settings = Settings(data_dir=tmp_path / "data", seed_demo=False)
    with TestClient(create_app(settings, index=open_index())) as client:
        upsert(client, *({"id": f"d{i}", "text": f"Topic {i} about cats."} for i in range(3)))
        assert len(client.get("/search", params={"q": "cats", "k": 1000}).json()["hits"]) == 3
        assert client.get("/search", params={"q": "cats", "k": 1001}).status_code == 422
        batch = {"queries": [{"query": "cats", "k": 1000}] * 10}
        assert [len(r["hits"]) for r in client.post("/search/batch", json=batch).json()["results"]] == [
            3
        ] * 10
        batch["queries"].append({"query": "cats", "k": 1})
        assert client.post("/search/batch", json=batch).status_code == 422


def test_diversity_puts_a_near_duplicate_behind_something_new(client: TestClient) -> None:
    upsert(
        client,
        {"id": "a", "text": "cats sleep all day long"},
        {"id": "b", "text": "cats sleep all day long indeed"},
        {"id": "c", "text": "cats chase mice at night"},
        {"id": "d", "text": "dogs bark at the postman"},
    )

    def ranked(**options: Any) -> list[tuple[str, float]]:
        response = client.post("/search", json={"query": "cats sleep", "k": 3, **options})
        assert response.status_code == 200, response.text
        return [(hit["doc_id"], hit["score"]) for hit in response.json()["hits"]]

    plain = ranked()
    assert [doc for doc, _ in plain] == ["a", "b", "c"]
    diverse = ranked(diversity=0.6)
    assert [doc for doc, _ in diverse] == ["a", "c", "b"]
    assert dict(diverse) == dict(plain)  # a hit's score stays its relevance
    assert ranked(diversity=0.6, k=2, offset=1) == diverse[1:]  # pages of one ordering
    assert [doc for doc, _ in ranked(diversity=0.6, group_by="document")] == ["a", "c", "b"]
    assert ranked(diversity=0.6, diversity_pool=2, k=2) == plain[:2]  # picked from the best two only
    for refused in ({"diversity": 1.5}, {"diversity": -0.1}, {"diversity_pool": 0}, {"diversity_pool": 21}):
        assert client.post("/search", json={"query": "cats", **refused}).status_code == 422
        assert client.get("/search", params={"q": "cats", **refused}).status_code == 422
    by_get = client.get("/search", params={"q": "cats sleep", "k": 3, "diversity": 0.6}).json()["hits"]
    assert [(hit["doc_id"], hit["score"]) for hit in by_get] == diverse


def test_offset_and_min_score(client: TestClient) -> None:
    upsert(client, *({"id": f"d{i}", "text": f"Topic {i} about cats."} for i in range(4)))
    all_hits = client.get("/search", params={"q": "cats", "k": 4}).json()["hits"]
    page = client.get("/search", params={"q": "cats", "k": 2, "offset": 2}).json()["hits"]
    assert [h["chunk_id"] for h in page] == [h["chunk_id"] for h in all_hits[2:]]
    dense_only = {"query": "cats", "mode": "dense", "min_score": 0.999}
    assert client.post("/search", json=dense_only).json()["hits"] == []


BAD_REQUESTS = [
    ("get", "/search", {"params": {"q": ""}}, 422, None),
    ("get", "/search", {"params": {"q": "   "}}, 422, "empty"),
    ("get", "/search", {"params": {"q": "x", "k": 0}}, 422, None),
    ("get", "/search", {"params": {"q": "x", "k": 21}}, 422, "SEMSEARCH_MAX_K"),
    ("get", "/search", {"params": {"q": "x", "k": "ten"}}, 422, None),
    ("get", "/search", {"params": {"q": "x", "offset": 5000}}, 422, "SEMSEARCH_MAX_OFFSET"),
    ("post", "/search", {"json": {"query": "word " * 4001}}, 422, "SEMSEARCH_MAX_QUERY_CHARS"),
    ("get", "/search", {"params": {"q": "word " * 801}}, 422, "send it by POST"),
    (
        "post",
        "/search",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        422,
        None,
    ),
    (
        "post",
        "/search",
        {"content": '{"query": "café"}'.encode("latin-1"), "headers": {"content-type": "application/json"}},
        400,
        "the body is not UTF-8 text (byte 0xE9 at 14): send JSON in UTF-8",
    ),
    (
        "post",
        "/search",
        {
            "content": b'{"query": "x", "filter": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            "headers": {"content-type": "application/json"},
        },
        422,
        "the body's JSON nests too deeply to read",
    ),
    (
        "post",
        "/documents",
        {
            "content": b'{"documents": [{"id": "d", "text": "t", "metadata": {"a": '
            + b'{"b": ' * 3000
            + b"1"
            + b"}" * 3000
            + b"}}]}",
            "headers": {"content-type": "application/json"},
        },
        422,
        "the body's JSON nests too deeply to read",
    ),
    (
        "post",
        "/documents",
        {
            "content": b'{"documents": [{"id": "d", "text": "t", "metadata": {"n": 1' + b"0" * 5000 + b"}}]}",
            "headers": {"content-type": "application/json"},
        },
        422,
        "a number in the body has more than 4,300 digits, more than can be read; send it as a string",
    ),
    ("post", "/search", {"json": {"query": "x", "unknown": 1}}, 422, None),
    (  # curl -F files=report.pdf: the name sent as text, without the @ that sends the file
        "post",
        "/documents/files",
        {"files": [("files", (None, "report.pdf"))]},
        422,
        "a form field, not a file: send each file as a file part (with curl, -F files=@report.pdf",
    ),
    ("post", "/search", {"json": {"query": "x", "weight": 2}}, 422, None),
    ("post", "/search", {"json": {"query": "x", "mode": "fuzzy"}}, 422, None),
    ("post", "/search", {"json": {"query": "x", "candidates": 5000}}, 422, "candidates"),
    (
        "post",
        "/search",
        {"json": {"query": "x", "filter": {"field": "a", "near": 1}}},
        422,
        "unknown operator",
    ),
    ("get", "/search", {"params": {"q": "x", "filter": "{oops"}}, 422, "not valid JSON"),
    ("get", "/search", {"params": {"q": "x", "filter": "[1, 2]"}}, 422, "must be a JSON object"),
    ("get", "/search", {"params": {"q": "x", "filter": '"lang"'}}, 422, "must be a JSON object"),
    ("get", "/search", {"params": {"q": "x", "mode": "fuzzy"}}, 422, None),
    ("get", "/search", {"params": {"q": "x", "min_score": "nan"}}, 422, None),
    ("post", "/documents/delete", {"json": {"filter": {"must": []}}}, 422, "non-empty list"),
    ("get", "/count", {"params": {"filter": '{"must": []}'}}, 422, "non-empty list"),
    ("get", "/count", {"params": {"filter": "{oops"}}, 422, "not valid JSON"),
    ("post", "/documents/update", {"json": {"filter": {"must": []}, "metadata": {}}}, 422, "non-empty list"),
    ("post", "/documents/update", {"json": {"filter": {"field": "x", "eq": 1}}}, 422, None),
    ("post", "/documents/update", {"json": {"filter": {"field": "x", "eq": 1}, "metadata": []}}, 422, None),
    ("post", "/search/batch", {"json": {"queries": []}}, 422, None),
    (
        "post",
        "/search/batch",
        {"json": {"queries": [{"query": "x", "k": 20}] * 10 + [{"query": "y", "k": 1}]}},
        422,
        "k summed over the queries is 201, above the limit of 200 (setting SEMSEARCH_MAX_K (times 10))",
    ),
    ("post", "/documents", {"json": {"documents": []}}, 422, None),
    ("post", "/documents", {"json": {"documents": [{"id": "a"}]}}, 422, None),
    ("post", "/documents", {"json": {"documents": [{"id": "a", "text": " \n "}]}}, 422, "no text"),
    ("post", "/documents", {"json": {"documents": [{"id": "a", "text": "", "title": " "}]}}, 422, "no text"),
    ("post", "/documents", {"json": {"documents": [{"id": "", "text": "x"}]}}, 422, None),
    ("post", "/documents", {"json": {"documents": [{"id": "a", "text": "x", "metadata": []}]}}, 422, None),
    (
        "post",
        "/documents",
        {"json": {"documents": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}},
        422,
        "twice",
    ),
    (
        "post",
        "/documents",
        {"json": {"documents": [{"id": str(i), "text": "x"} for i in range(6)]}},
        422,
        "SEMSEARCH_MAX_DOCUMENTS_PER_REQUEST",
    ),
    (  # the limit on files is the one on documents, however many more are sent
        "post",
        "/documents/files",
        {"files": [("files", (f"{i}.txt", b"x")) for i in range(6)]},
        422,
        "the number of files is above the limit of 5 (setting SEMSEARCH_MAX_DOCUMENTS_PER_REQUEST)",
    ),
    (
        "post",
        "/documents/files",
        {"files": [("files", (f"{i}.txt", b"x")) for i in range(1_200)]},
        422,
        "the number of files is above the limit of 5 (setting SEMSEARCH_MAX_DOCUMENTS_PER_REQUEST)",
    ),
    (
        "post",
        "/documents",
        {
            "content": b'{"documents": [{"id": "a", "text": "\\ud800"}]}',
            "headers": {"content-type": "application/json"},
        },
        422,
        "the text is not valid UTF-8 text (unpaired surrogate at position 0)",
    ),
    (  # curl -d without -H: its default content type
        "post",
        "/documents",
        {
            "content": b'{"documents": [{"id": "a", "text": "x"}]}',
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
        422,
        "with curl, add -H 'content-type: application/json'",
    ),
    ("post", "/search", {"content": b'{"query": "x"}'}, 422, "content-type: application/json"),
    ("post", "/search", {"json": ["x"]}, 422, "valid dictionary"),  # JSON, as said, but not an object
    ("get", "/documents/missing", {}, 404, "no document"),
    ("delete", "/documents/missing", {}, 404, "no document"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_4xx_and_change_nothing(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int, message: str | None
) -> None:
    upsert(client, {"id": "keep", "text": "Kept document."})
    before = client.get("/stats").json()
    response = client.request(method.upper(), path, **kwargs)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail
    if message:
        assert message in str(detail)
    assert client.get("/stats").json() == before
    assert client.get("/documents/keep").status_code == 200


def test_every_endpoint_has_an_example_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]

    def has_example(operation: dict[str, Any]) -> bool:
        found = any(
            "examples" in p.get("schema", {}) or "examples" in p for p in operation.get("parameters", [])
        )
        for section in [operation.get("requestBody", {}), *operation["responses"].values()]:
            for media in section.get("content", {}).values():
                found |= "example" in media or "examples" in media
                ref = media.get("schema", {}).get("$ref", "")
                found |= "examples" in components.get(ref.rsplit("/", 1)[-1], {})
        return found

    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) == 48  # 20; 9 for collections, aliases, reindex; 2 for /v1; 17 under a collection
    missing = [f"{method.upper()} {path}" for path, method, op in operations if not has_example(op)]
    assert missing == []
    assert client.get("/docs").status_code == 200


def test_a_paragraph_long_query_is_answered_with_its_pieces(client: TestClient) -> None:
    """A query longer than the model reads (the fake one reads 128 words) is searched, not refused, on GET,
    POST and batch; the response says how many pieces it took."""
    upsert(client, {"id": "cats", "text": ARTICLE})
    query = "Why do cats sleep so many hours every day? " * 30  # 270 words
    got = client.get("/search", params={"q": query})
    posted = client.post("/search", json={"query": query, "mode": "hybrid"})
    batched = client.post("/search/batch", json={"queries": [{"query": query}, {"query": "cats"}]})
    for response in (got, posted, batched):
        assert response.status_code == 200, response.text
    assert got.json()["query_pieces"] == posted.json()["query_pieces"] == 3
    assert got.json()["hits"][0]["doc_id"] == "cats"
    assert [r["query_pieces"] for r in batched.json()["results"]] == [3, 1]


def test_query_by_example_over_http(client: TestClient) -> None:
    """``like`` on POST and batch, ``like_id`` / ``like_chunk`` on GET: the example's neighbours, itself
    left out; a missing example is a 404, a malformed one a 422."""
    upsert(
        client,
        {"id": "cats", "text": "Cats sleep sixteen hours a day and purr."},
        {"id": "kittens", "text": "Kittens sleep even longer and purr a lot."},
        {"id": "markets", "text": "Stock markets fell sharply on Monday."},
    )
    posted = client.post("/search", json={"like": {"id": "cats"}, "k": 2})
    assert posted.status_code == 200, posted.text
    assert [h["doc_id"] for h in posted.json()["hits"]] == ["kittens", "markets"]
    chunk = client.get("/documents/cats").json()["chunks"][0]["chunk_id"]
    got = client.get("/search", params={"like_chunk": chunk, "k": 1}).json()
    assert got["hits"][0]["doc_id"] == "kittens"
    assert client.get("/search", params={"like_id": "cats", "k": 1}).json()["hits"][0]["doc_id"] == "kittens"
    with_self = client.post("/search", json={"like": {"id": "cats", "include_self": True}, "k": 1}).json()
    assert with_self["hits"][0]["doc_id"] == "cats"
    batched = client.post(
        "/search/batch", json={"queries": [{"like": {"text": "purring cats"}}, {"query": "x"}]}
    )
    assert batched.status_code == 200, batched.text
    assert client.post("/search", json={"like": {"id": "nope"}}).status_code == 404
    assert client.get("/search", params={"like_chunk": 10**12}).status_code == 404
    malformed: list[dict[str, Any]] = [
        {"query": "cats", "like": {"id": "cats"}},
        {"like": {"id": "cats", "chunk": chunk}},
        {"like": {}},
        {},
    ]
    for bad in malformed:
        response = client.post("/search", json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert client.get("/search", params={"q": "cats", "like_id": "cats"}).status_code == 422
    assert client.get("/search").status_code == 422


def test_a_query_parameter_no_route_takes_is_a_422_that_names_it(client: TestClient) -> None:
    """``?kk=3`` (or ``?top_k=3``) was ignored, and the search answered 10 hits as if nothing had been
    asked; request bodies refused unknown fields already. The parameters a route takes are the OpenAPI
    document's."""
    upsert = client.post("/documents", json={"documents": [{"id": "a", "text": "Cats sleep a lot."}]})
    assert upsert.status_code == 200
    typo = client.get("/search", params={"q": "cats", "kk": "3"})
    assert typo.status_code == 422
    assert typo.json()["detail"].startswith("GET /search takes no query parameter 'kk' (did you mean 'k'?)")
    assert "; it takes: " in typo.json()["detail"]
    assert client.get("/search", params={"q": "cats", "top_k": "3"}).status_code == 422
    assert client.get("/search", params={"q": "cats", "k": "3"}).status_code == 200
    assert client.head("/search", params={"q": "cats", "kk": "3"}).status_code == 422
    # A route with a path parameter, and one in a collection, are held to their own parameters.
    refused = client.get("/documents/a", params={"include_txt": "true"})
    assert refused.status_code == 422
    assert "GET /documents/{doc_id} takes no query parameter 'include_txt'" in refused.json()["detail"]
    assert client.get("/collections/default/search", params={"q": "cats", "mode": "dense"}).status_code == 200
    refused = client.post("/documents", params={"background": "true"}, json={"documents": []})
    assert refused.status_code == 422
    assert "takes no query parameter 'background'; it takes: wait" in refused.json()["detail"]
    # A parameter of one value, given twice: which one was meant is not for the service to guess.
    twice = client.get("/search", params=[("q", "cats"), ("q", "dogs")])
    assert twice.status_code == 422
    assert twice.json()["detail"] == "GET /search takes one value of the query parameter 'q', got 2"
    assert client.get("/search", params=[("q", "cats"), ("k", "3"), ("k", "5")]).status_code == 422
    # Pages outside the API document take what they like.
    assert client.get("/", params={"utm_source": "mail"}).status_code == 200
