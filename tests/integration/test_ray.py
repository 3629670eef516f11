"""Ray, for real, on this machine: a local Ray with 2 CPUs, the real model, real HTTP through Ray Serve.

- Distributed ingest (Ray Data, 2 encoder workers) writes the same index as the single-machine path: the
  same documents, chunks, chunk ids and embeddings, byte for byte, unsharded and into 2 shards.
- The sharded service (2 shards, Ray Serve) returns the same dense top-k as one unsharded index of the same
  documents, routes writes to the owning shard, and shows each acknowledged write to the next search.
- Collections on the sharded service: each sharded over the same deployments, reindexed, aliased, deleted.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import ray

from index import Document, Like, SearchIndex
from index.distributed.ray_ingest import EmbedderSpec, RayIngestOptions, ray_index
from index.distributed.sharding import read_layout, shard_of, sharded_batches
from index.ingest.preparation import batches
from index.ingest.sources import discover, read_documents
from index.storage.layout import DB_FILE
from service.runtime import DEMO_CORPUS
from service.settings import Settings
from tests.integration.test_collections import ARTICLE, QUESTION

pytestmark = pytest.mark.integration

GROUP = 16
TOPICS = [
    ("vaccines", "immune", "antibodies", "memory cells"),
    ("tumour", "gene expression", "cancer cells", "mutations"),
    ("drug", "side effects", "elderly patients", "dosage"),
    ("bacteria", "antibiotics", "resistance", "infection"),
    ("neurons", "synapses", "memory", "sleep"),
    ("insulin", "glucose", "diabetes", "pancreas"),
]
QUERIES = [
    "how do vaccines train the immune system",
    "gene expression in cancer cells",
    "what does the chunk size setting change?",
    "side effects of a drug in elderly patients",
    "bacteria resistant to antibiotics",
]


def abstracts(count: int) -> list[dict[str, str]]:
    """Short abstract-like documents in BEIR's corpus format, made up from TOPICS (deterministic)."""
    records = []
    for n in range(count):
        subject, process, actor, detail = TOPICS[n % len(TOPICS)]
        other = TOPICS[(n * 5 + 1) % len(TOPICS)]
        text = (
            f"Study {n} examined how {subject} relate to {process} in {actor}. "
            f"Across {20 + n} participants, changes in {detail} followed within {n % 9 + 2} weeks. "
            f"A secondary analysis linked the effect to {other[1]} and {other[3]}, "
            f"which earlier work on {other[0]} had not measured."
        )
        records.append(
            {"_id": f"abstract-{n}", "title": f"{subject.title()} and {process}, study {n}", "text": text}
        )
    return records


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    """The demo corpus and 150 generated abstracts, read from files the way `semsearch index` reads them."""
    folder = tmp_path_factory.mktemp("corpus")
    lines = "".join(json.dumps(record) + "\n" for record in abstracts(150))
    (folder / "abstracts.jsonl").write_text(lines, encoding="utf-8")
    return [doc for source in discover([DEMO_CORPUS, folder]) for doc in read_documents(source)]


@pytest.fixture(scope="module")
def spec(model_cache: Path) -> EmbedderSpec:
    return EmbedderSpec("all-MiniLM-L6-v2", "onnx", model_cache, 32, 1)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1"}},
    )
    yield
    from ray import serve

    serve.shutdown()  # type: ignore[no-untyped-call]
    ray.shutdown()


@pytest.fixture(scope="module")
def built(
    corpus: list[Document], spec: EmbedderSpec, ray_cluster: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The corpus indexed four ways: here and on Ray, unsharded and into 2 shards."""
    root = tmp_path_factory.mktemp("built")
    embedder = spec.load()
    with SearchIndex.open(root / "here", embedder) as index:
        for group in batches(corpus, GROUP):
            index.upsert(group)
    from index.distributed.sharding import create_layout

    shards = [SearchIndex.open(d, embedder) for d in create_layout(root / "here-sharded", 2)]
    for shard, group in sharded_batches(corpus, GROUP, 2):
        shards[shard].upsert(group)
    for index in shards:
        index.close()
    options = RayIngestOptions(address="auto", workers=2, cpus_per_worker=1.0, group_size=GROUP)
    results = ray_index(corpus, root / "ray", spec, options)
    assert [r.status for r in results] == ["created"] * len(corpus)
    ray_index(corpus, root / "ray-sharded", spec, options, shards=2)
    return {name: root / name for name in ("here", "here-sharded", "ray", "ray-sharded")}


def contents(data_dir: Path) -> dict[str, Any]:
    """Everything a data directory's database says about its documents and chunks, embeddings as bytes."""
    with sqlite3.connect(data_dir / DB_FILE) as db:
        documents = db.execute(
            "SELECT id, title, text, metadata, content_hash FROM documents ORDER BY id"
        ).fetchall()
        chunks = db.execute(
            "SELECT id, doc_id, ordinal, start_char, end_char, text, embedding FROM chunks ORDER BY id"
        ).fetchall()
    return {"documents": documents, "chunks": chunks}


def test_ray_ingest_writes_the_same_index_as_the_single_machine_path(
    built: dict[str, Path], corpus: list[Document]
) -> None:
    here, there = contents(built["here"]), contents(built["ray"])
    assert len(here["documents"]) == len(corpus) > 150
    assert len(here["chunks"]) > len(corpus)
    assert there["documents"] == here["documents"]
    assert there["chunks"] == here["chunks"], "same chunks, same ids, same embedding bytes"


def test_ray_ingest_into_shards_matches_local_sharding(
    built: dict[str, Path], corpus: list[Document]
) -> None:
    here, there = read_layout(built["here-sharded"]), read_layout(built["ray-sharded"])
    assert len(there) == 2
    total = 0
    for mine, theirs in zip(here, there, strict=True):
        expected, got = contents(mine), contents(theirs)
        assert got == expected
        assert all(shard_of(doc_id, 2) == int(theirs.name[-4:]) for doc_id, *_ in got["documents"])
        total += len(got["documents"])
    assert total == len(corpus)


def test_ray_ingest_again_changes_nothing(
    built: dict[str, Path], corpus: list[Document], spec: EmbedderSpec
) -> None:
    before = contents(built["ray"])
    options = RayIngestOptions(address="auto", workers=2, group_size=GROUP)
    results = ray_index(corpus[:40], built["ray"], spec, options)
    assert {r.status for r in results} == {"unchanged"}
    assert contents(built["ray"]) == before


def test_the_index_command_runs_on_ray(built: dict[str, Path], tmp_path: Path, model_cache: Path) -> None:
    """`semsearch index --ray auto --shards 2` on the running local Ray: the demo corpus lands in the shards
    that own its documents, cut into the same chunks as the single-machine path made."""
    from typer.testing import CliRunner

    from service.cli import app

    target = tmp_path / "cli-sharded"
    env = {"SEMSEARCH_MODEL_CACHE_DIR": str(model_cache)}
    args = ["index", str(DEMO_CORPUS), "--data-dir", str(target), "--shards", "2", "--ray", "auto"]
    result = CliRunner().invoke(app, [*args, "--workers", "2", "--no-progress", "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["created"] == summary["documents"] == len(list(DEMO_CORPUS.glob("*.md")))
    expected = [contents(d) for d in read_layout(built["here-sharded"])]
    for shard, directory in enumerate(read_layout(target)):
        got = contents(directory)
        assert got["documents"], "both shards hold some of the demo corpus"
        demo_ids = {row[0] for row in got["documents"]}
        assert all(shard_of(doc_id, 2) == shard for doc_id in demo_ids)
        assert {row[0] for row in expected[shard]["documents"]} >= demo_ids
        spans = [row[1:6] for row in got["chunks"]]  # doc id, ordinal, offsets, text
        assert spans == [row[1:6] for row in expected[shard]["chunks"] if row[1] in demo_ids]


def test_more_workers_than_the_cluster_has_cpus_is_refused_not_a_hang(
    built: dict[str, Path], corpus: list[Document], spec: EmbedderSpec, tmp_path: Path
) -> None:
    from index import InvalidInputError

    with pytest.raises(InvalidInputError, match="need 3 CPUs and the Ray cluster has 2"):
        ray_index(corpus[:5], tmp_path / "x", spec, RayIngestOptions(address="auto", workers=3))
    assert not (tmp_path / "x").exists(), "refused before anything was written"


# -- serving --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(built: dict[str, Path], model_cache: Path, spec: EmbedderSpec) -> Iterator[httpx.Client]:
    """The Ray-built 2-shard directory served by Ray Serve on 127.0.0.1: 2 replicas per shard, a writer per
    shard, one router. Every replica asks for a quarter CPU, so all of it fits the 2 CPUs. The model runs
    on the backend it was built with (``auto`` would pick OpenVINO on a CPU with AMX: the same embeddings
    to cosine 0.9999, not to the fifth decimal of a score that the rankings are compared to)."""
    from ray import serve

    from service.ray_serve import build_application

    port = free_port()
    settings = Settings(
        data_dir=built["ray-sharded"],
        model_cache_dir=model_cache,
        query_cache_size=0,
        embed_backend=spec.backend,
    )
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(
        build_application(settings, replicas=2, cpus_per_replica=0.25), name="semsearch", route_prefix="/"
    )
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        yield client
    serve.delete("semsearch")


def ranking(hits: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    return [(h["doc_id"], h["ordinal"], round(h["score"], 5)) for h in hits]


def test_two_shards_on_ray_serve_return_the_same_top_k_as_one_index(
    served: httpx.Client, built: dict[str, Path], spec: EmbedderSpec
) -> None:
    with SearchIndex.open(built["here"], spec.load(), read_only=True) as single:
        for query in QUERIES:
            expected = ranking([_hit(h) for h in single.search(query, 10, mode="dense").hits])
            response = served.post("/search", json={"query": query, "k": 10, "mode": "dense"})
            assert response.status_code == 200, response.text
            assert ranking(response.json()["hits"]) == expected, query
            grouped = served.post(
                "/search", json={"query": query, "k": 5, "mode": "dense", "group_by": "document"}
            )
            expected_docs = [
                h.doc_id for h in single.search(query, 5, mode="dense", group_by="document").hits
            ]
            assert [h["doc_id"] for h in grouped.json()["hits"]] == expected_docs
            hybrid = served.post("/search", json={"query": query, "k": 10})
            assert hybrid.status_code == 200
            assert len(hybrid.json()["hits"]) == 10
            # A diverse search reads its pool's embeddings from the replicas of the shards that hold them.
            diverse = served.post(
                "/search", json={"query": query, "k": 10, "mode": "dense", "diversity": 0.5}
            )
            assert diverse.status_code == 200, diverse.text
            assert ranking(diverse.json()["hits"]) == ranking(
                [_hit(h) for h in single.search(query, 10, mode="dense", diversity=0.5).hits]
            )
        # Query by example: the example is read from the replica of the shard that holds it.
        example = expected_docs[0]
        liked = served.post("/search", json={"like": {"id": example}, "k": 10, "mode": "dense"})
        assert liked.status_code == 200, liked.text
        expected = ranking(
            [_hit(h) for h in single.search("", 10, like=Like(doc_id=example), mode="dense").hits]
        )
        assert ranking(liked.json()["hits"]) == expected


def test_ready_reports_every_shard(served: httpx.Client) -> None:
    ready = served.get("/readyz")
    assert ready.status_code == 200, ready.text
    shards = ready.json()["shards"]
    assert [(s["shard"], s["ready"], s["reader"], s["writer"]) for s in shards] == [
        (0, True, True, True),
        (1, True, True, True),
    ]
    stats = served.get("/stats").json()
    assert stats["documents"] == sum(s["documents"] for s in shards)
    assert stats["index_type"].startswith("2 shards of ")


def test_writes_go_to_the_owning_shard_and_are_searchable_at_once(
    served: httpx.Client, built: dict[str, Path]
) -> None:
    before = [s["documents"] for s in served.get("/readyz").json()["shards"]]
    doc = {
        "id": "ray/tidal",
        "title": "Tidal power",
        "text": "The tidal lagoon turns the sea's rise and fall into electricity.",
        "metadata": {"sea": "north"},
    }
    response = served.post("/documents", json={"documents": [doc]})
    assert response.status_code == 200, response.text
    assert response.json()["documents"][0]["status"] == "created"
    owner = shard_of("ray/tidal", 2)
    after = [s["documents"] for s in served.get("/readyz").json()["shards"]]
    assert after[owner] == before[owner] + 1
    assert after[1 - owner] == before[1 - owner]
    for _ in range(3):  # any replica: each catches up before it searches
        hits = served.post(
            "/search", json={"query": "electricity from the tides", "k": 1, "mode": "dense"}
        ).json()["hits"]
        assert hits[0]["doc_id"] == "ray/tidal"
    stored = served.get("/documents/ray/tidal")
    assert stored.status_code == 200
    assert stored.json()["title"] == "Tidal power"
    # Facets and a listing with texts, through the shards' remote readers
    facet = served.get("/facets", params={"field": "sea"}).json()
    assert (facet["values"], facet["distinct"]) == ([{"value": "north", "count": 1}], 1)
    listed = served.get("/documents", params={"include_text": "true", "limit": 1000}).json()["documents"]
    assert {d["id"]: d["text"] for d in listed}["ray/tidal"] == doc["text"]
    # An update by filter, checked by every shard's remote writer before any writes
    patch = {"filter": {"field": "sea", "eq": "north"}, "metadata": {"reviewed": True}}
    updated = served.post("/documents/update", json=patch)
    assert updated.json() == {"matched": 1, "updated": ["ray/tidal"], "count": 1}, updated.text
    assert served.get("/documents/ray/tidal").json()["metadata"] == {"sea": "north", "reviewed": True}
    assert served.get("/count", params={"filter": '{"field": "reviewed", "eq": true}'}).json() == {"count": 1}
    reviewed = served.get("/fields", params={"filter": '{"field": "reviewed", "eq": true}'}).json()
    assert reviewed == {
        "fields": [
            {"name": "reviewed", "documents": 1, "types": {"boolean": 1}, "field": "reviewed"},
            {"name": "sea", "documents": 1, "types": {"string": 1}, "field": "sea"},
        ],
        "next": None,
    }
    with SearchIndex.open(
        read_layout(built["ray-sharded"])[owner], _fake_for(built), read_only=True
    ) as shard:
        assert shard.get("ray/tidal").text == doc["text"]

    bad = served.post(
        "/documents",
        json={"documents": [{"id": "ray/ok", "text": "Fine text."}, {"id": "ray/bad", "text": "---"}]},
    )
    assert bad.status_code == 422, bad.text
    assert served.get("/documents/ray/ok").status_code == 404, "a refused batch changes no shard"
    assert served.post("/documents?wait=false", json={"documents": [doc]}).status_code == 409
    assert served.delete("/documents/ray/tidal").status_code == 200
    assert served.get("/documents/ray/tidal").status_code == 404
    hits = served.post(
        "/search", json={"query": "electricity from the tides", "k": 3, "mode": "dense"}
    ).json()["hits"]
    assert all(h["doc_id"] != "ray/tidal" for h in hits)
    assert served.post("/search", json={"query": "   "}).status_code == 422


def test_collections_on_the_sharded_service(served: httpx.Client, built: dict[str, Path]) -> None:
    """A collection with its own chunking, sharded like the default one; reindexed from the default one in
    the background, then switched in behind an alias while searches run (none fails); deleted, and made
    again empty (the replicas notice that the one they had open went)."""
    root = built["ray-sharded"]
    created = served.put("/collections/small", json={"chunking": {"max_tokens": 32, "overlap_tokens": 0}})
    assert created.status_code == 201, created.text
    assert (
        served.put(
            "/collections/small", json={"chunking": {"max_tokens": 32, "overlap_tokens": 0}}
        ).status_code
        == 200
    )
    assert (
        served.put(
            "/collections/small", json={"chunking": {"max_tokens": 48, "overlap_tokens": 0}}
        ).status_code
        == 409
    )
    names = [c["name"] for c in served.get("/collections").json()["collections"]]
    assert names == ["default", "small"]
    assert served.get("/collections/small").json()["index_type"].startswith("2 shards of ")

    doc = {"id": "lagoon", "title": "Tidal lagoon", "text": ARTICLE}
    written = served.post("/collections/small/documents", json={"documents": [doc]})
    assert written.status_code == 200, written.text
    owner = shard_of("lagoon", 2)
    shards = read_layout(root / "collections" / "small")
    assert [contents(d)["documents"] != [] for d in shards] == [i == owner for i in range(2)]
    small = served.get("/collections/small").json()
    assert small["documents"] == 1
    assert small["chunks"] > 3, "its own, smaller chunks"
    hits = served.post("/collections/small/search", json={"query": QUESTION, "k": 3}).json()["hits"]
    assert hits
    assert {h["doc_id"] for h in hits} == {"lagoon"}
    elsewhere = served.post("/search", json={"query": QUESTION}).json()["hits"]
    assert all(h["doc_id"] != "lagoon" for h in elsewhere), "not in the default collection"

    # Filled from the default collection's stored documents, re-chunked with its own settings.
    assert (
        served.put(
            "/collections/rebuilt", json={"chunking": {"max_tokens": 48, "overlap_tokens": 0}}
        ).status_code
        == 201
    )
    started = served.post("/collections/rebuilt/reindex", json={"source": "default"})
    assert started.status_code == 202, started.text
    job = _until_done(served, "rebuilt")
    default = served.get("/collections/default").json()
    assert job["documents_done"] == default["documents"]
    rebuilt = served.get("/collections/rebuilt").json()
    assert rebuilt["documents"] == default["documents"]
    assert rebuilt["chunks"] > default["chunks"]

    assert served.put("/aliases/live", json={"collection": "small"}).status_code == 200
    statuses: list[int] = []
    found: set[str] = set()
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            response = served.post("/collections/live/search", json={"query": QUESTION, "k": 1})
            statuses.append(response.status_code)
            found.update(h["doc_id"] for h in response.json().get("hits", []))

    searchers = [threading.Thread(target=search) for _ in range(3)]
    for searcher in searchers:
        searcher.start()
    # At least 10 switches, and on until searches have reached both collections (how the searches fall
    # between the switches is up to the scheduler: a fixed number of switches made this test flaky).
    for i in range(400):
        switched = served.put("/aliases/live", json={"collection": "rebuilt" if i % 2 == 0 else "small"})
        assert switched.status_code == 200
        if i >= 9 and len(found) > 1:
            break
        time.sleep(0.005 * (i % 4))  # let a search or two land in this state
    done.set()
    for searcher in searchers:
        searcher.join()
    assert len(statuses) > 10
    assert set(statuses) == {200}
    assert "lagoon" in found, "searches reached the small collection"
    assert len(found) > 1, "and the rebuilt one"

    # The loop may stop on either collection: point the alias at the small one for what follows.
    assert served.put("/aliases/live", json={"collection": "small"}).status_code == 200
    assert served.delete("/collections/small").status_code == 409, "an alias points to it"
    gone = served.delete("/collections/small", params={"force": "true"})
    assert gone.status_code == 200
    assert gone.json()["aliases"] == ["live"]
    assert not (root / "collections" / "small").exists()
    assert served.get("/collections/small/stats").status_code == 404
    assert served.put("/collections/small").status_code == 201
    again = served.post("/collections/small/search", json={"query": QUESTION, "k": 3})
    assert again.status_code == 200
    assert again.json()["hits"] == [], "a new, empty collection"
    assert served.delete("/collections/rebuilt").status_code == 200
    assert served.delete("/collections/small").status_code == 200


def _until_done(client: httpx.Client, name: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = client.get(f"/collections/{name}/reindex").json()
        if job["status"] != "running":
            assert job["status"] == "done", job
            return job
        time.sleep(0.2)
    raise AssertionError(f"the reindex of {name} did not finish in 2 minutes")


def _hit(hit: Any) -> dict[str, Any]:
    return {"doc_id": hit.doc_id, "ordinal": hit.ordinal, "score": hit.score}


def _fake_for(built: dict[str, Path]) -> Any:
    """An embedder with the shard's model id and dimension, to open it read-only without loading the model."""
    from tests.fakes import FakeEmbedder

    manifest = json.loads((read_layout(built["ray-sharded"])[0] / "manifest.json").read_text())
    return FakeEmbedder(dim=manifest["dimension"], model_id=manifest["model_id"])
