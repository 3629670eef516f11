"""service.client against a real server (uvicorn on 127.0.0.1, the real model), and the CLI's --url mode."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.client import (
    AsyncSemsearchClient,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    SemsearchClient,
    UnsupportedFileError,
)
from service.schemas import TaskOut, UpsertResponse
from tests.integration.test_server import free_port, running, server_env

pytestmark = pytest.mark.integration

KEY = "client-test-write-key"
FILES = Path(__file__).resolve().parents[1] / "data" / "files"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("client")
    port = free_port()
    env = server_env(tmp / "data", SEMSEARCH_SEED_DEMO="false", SEMSEARCH_WRITE_KEY=KEY)
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, port, env, tmp / "server.log"):
        yield f"http://127.0.0.1:{port}"


def test_importing_the_client_loads_no_model_index_or_web_framework() -> None:
    heavy = ["torch", "faiss", "onnxruntime", "fastapi", "starlette", "numpy", "sentence_transformers"]
    code = f"import sys, service.client; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_the_client_covers_documents_files_search_tasks_and_collections(url: str) -> None:
    with SemsearchClient(url, api_key=KEY) as client:
        answer = client.upsert(
            [
                {"id": "cats", "text": "Cats sleep sixteen hours a day.", "metadata": {"kind": "pets"}},
                {"id": "dogs/rex", "text": "Dogs need a walk twice a day.", "metadata": {"kind": "pets"}},
            ]
        )
        assert isinstance(answer, UpsertResponse)
        assert [d.status for d in answer.documents] == ["created", "created"]
        uploaded = client.upload_files(
            [FILES / "lighthouse.pdf"], id_prefix="files/", metadata={"kind": "doc"}
        )
        assert isinstance(uploaded, UpsertResponse)
        assert uploaded.documents[0].id == "files/lighthouse.pdf"

        hits = client.search("how long do cats rest?", k=2, filter={"field": "kind", "eq": "pets"}).hits
        assert hits[0].doc_id == "cats"
        hit = client.search("how does the lens bend the light of a flame", k=1).hits[0]
        assert (hit.doc_id, hit.page) == ("files/lighthouse.pdf", 2)
        assert client.get_document("dogs/rex").text == "Dogs need a walk twice a day."
        assert [d.id for d in client.iter_documents(page_size=1)] == [
            "cats",
            "dogs/rex",
            "files/lighthouse.pdf",
        ]

        queued = client.upsert([{"id": "later", "text": "Written in the background."}], wait=False)
        assert isinstance(queued, TaskOut)
        assert client.wait_for_task(queued.task_id, timeout=60).status == "done"
        assert (client.count(), client.count({"field": "kind", "eq": "pets"})) == (4, 2)
        kinds = client.fields(filter={"field": "kind", "eq": "pets"}, limit=1)
        assert (kinds.fields[0].name, kinds.fields[0].documents) == ("kind", 2)
        updated = client.update_where({"field": "kind", "eq": "pets"}, {"checked": True, "kind": "pets"})
        assert (updated.matched, updated.count) == (2, 2)
        assert client.get_document("dogs/rex").metadata["checked"] is True
        assert (
            client.search("dogs walk", k=1, filter={"field": "checked", "eq": True}).hits[0].doc_id
            == "dogs/rex"
        )
        assert client.delete_where({"field": "kind", "eq": "pets"}).count == 2

        client.create_collection("papers", {"chunking": {"max_tokens": 128}})
        papers = client.in_collection("papers")
        papers.upsert([{"id": "p1", "text": "Only in papers."}])
        client.set_alias("current", "papers")
        assert client.in_collection("current").get_document("p1").text == "Only in papers."
        assert {c.name for c in client.collections().collections} >= {"default", "papers"}
        assert client.stats().documents == 2  # the PDF and "later"

        with pytest.raises(NotFoundError) as missing:
            client.get_document("cats")
        assert "no document" in str(missing.value.detail)
        with pytest.raises(InvalidRequestError):
            client.search("x", filter={"field": "kind", "regex": "p.*"})
        with pytest.raises(UnsupportedFileError) as refused:
            client.upload_files([("talk.mp4", b"\x00\x00\x00 ftypisom")])
        assert refused.value.body["files"][0]["file"] == "talk.mp4"
    with SemsearchClient(url) as anonymous, pytest.raises(AuthenticationError):
        anonymous.upsert([{"id": "x", "text": "no key"}])


def test_the_async_client_answers_the_same(url: str) -> None:
    async def main() -> None:
        async with AsyncSemsearchClient(url, api_key=KEY, collection="papers") as client:
            await client.upsert([{"id": "p2", "text": "Glaciers carve valleys into a U shape."}])
            found = await client.search("what shape do valleys cut by ice have", k=1)
            assert found.hits[0].doc_id == "p2"
            assert (await client.list_documents(limit=10)).documents[0].id == "p1"
            with pytest.raises(NotFoundError):
                await client.get_document("nope")

    asyncio.run(main())


def test_the_cli_indexes_and_syncs_into_a_running_service(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "lighthouse.docx").write_bytes((FILES / "lighthouse.docx").read_bytes())
    (folder / "tides.md").write_text("# Tides\n\nThe tide turns twice a day.", encoding="utf-8")
    env = {**os.environ, "SEMSEARCH_URL": url, "SEMSEARCH_WRITE_KEY": KEY}
    cli = [sys.executable, "-m", "service"]

    def run(*args: str) -> dict[str, object]:
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    indexed = run(
        "index", str(FILES / "lighthouse.pptx"), "--json", "--no-progress", "--collection", "papers"
    )
    assert indexed["created"] == 1
    first = run("sync", str(folder), "--json", "--source", "handbook")
    assert first["added"] == ["lighthouse.docx", "tides.md"]
    # Searching and counting from the shell reach the service too (SEMSEARCH_URL), as writing does.
    hit = run("search", "how often does the tide turn?", "-k", "1", "--json")
    assert (hit["doc_id"], hit["text"]) == ("tides.md", "# Tides\n\nThe tide turns twice a day.")
    like = run("search", "--like", "tides.md", "-k", "1", "--json")
    assert like["doc_id"] != "tides.md"  # more like it: other documents
    stats = run("stats", "--json")
    assert stats["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert isinstance(stats["documents"], int)
    assert stats["documents"] >= 2
    (folder / "tides.md").unlink()
    second = run("sync", str(folder), "--json", "--source", "handbook")
    assert (second["deleted"], second["unchanged"]) == (["tides.md"], 1)
    with SemsearchClient(url) as client:
        assert client.in_collection("papers").get_document("lighthouse.pptx").metadata["pages"] == 3
        with pytest.raises(NotFoundError):
            client.get_document("tides.md")
    refused = subprocess.run(
        [*cli, "sync", str(folder), "--json"],
        env={**env, "SEMSEARCH_WRITE_KEY": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert "401" in refused.stderr


def test_the_cli_manages_a_running_services_collections_and_aliases(url: str, tmp_path: Path) -> None:
    """`semsearch collections` and `semsearch alias` worked on a data directory only, with the service
    stopped; with --url (here SEMSEARCH_URL) they change a running service's, and a reindex is followed to
    its end."""
    env = {**os.environ, "SEMSEARCH_URL": url, "SEMSEARCH_WRITE_KEY": KEY}

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "service", *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    chunking = '{"chunking": {"max_tokens": 128}}'
    assert run("collections", "create", "cli-notes", "--settings", chunking).strip() == "created: cli-notes"
    again = run("collections", "create", "cli-notes", "--settings", chunking).strip()
    assert again == "exists with these settings: cli-notes"
    notes = tmp_path / "tides.md"
    notes.write_text("# Tides\n\nThe tide turns twice a day, pulled by the moon.", encoding="utf-8")
    run("index", str(notes), "--collection", "cli-notes", "--no-progress")
    run("collections", "create", "cli-notes-v2")
    reindexed = run("collections", "reindex", "cli-notes-v2", "--from", "cli-notes", "--no-progress")
    assert reindexed.strip() == "reindexed 1 documents into cli-notes-v2 from cli-notes"
    listed = {row["name"]: row for row in map(json.loads, run("collections", "list", "--json").splitlines())}
    assert listed["cli-notes"]["settings"]["chunking"] == {"max_tokens": 128}
    assert (listed["cli-notes"]["documents"], listed["cli-notes-v2"]["documents"]) == (1, 1)

    assert run("alias", "set", "cli-live", "cli-notes-v2").strip() == "cli-live -> cli-notes-v2"
    assert json.loads(run("alias", "list", "--json"))["cli-live"] == "cli-notes-v2"
    with SemsearchClient(url, collection="cli-live") as client:
        assert client.search("what pulls the tide?", k=1).hits[0].doc_id == "tides.md"
    assert run("alias", "delete", "cli-live").strip() == "deleted: cli-live (pointed to cli-notes-v2)"
    assert run("collections", "delete", "cli-notes-v2").strip() == "deleted: cli-notes-v2"
    with SemsearchClient(url) as client:
        names = {c.name for c in client.collections().collections}
    assert "cli-notes" in names
    assert "cli-notes-v2" not in names


def test_an_export_indexes_again_into_the_same_documents_pages_included(url: str, tmp_path: Path) -> None:
    with SemsearchClient(url, api_key=KEY) as admin:
        admin.create_collection("exports")
    with SemsearchClient(url, api_key=KEY, collection="exports") as client:
        client.upload_files([FILES / "lighthouse.pptx"])
        client.upsert([{"id": "tides", "text": "The tide turns twice a day.", "metadata": {"sea": "north"}}])
        plain = httpx.get(f"{url}/collections/exports/documents").json()["documents"]
        assert [("text" in d) for d in plain] == [False, False]  # no texts unless asked
        listed = client.list_documents(include_text=True).documents
        assert [(d.id, d.text) for d in listed][1] == ("tides", "The tide turns twice a day.")
    env = {**os.environ, "SEMSEARCH_URL": "", "SEMSEARCH_WRITE_KEY": ""}  # reading needs no write key
    cli = [sys.executable, "-m", "service"]

    def run(*args: str) -> str:
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr

    exported = tmp_path / "exports.jsonl"
    assert "exported 2 documents" in run(
        "export", "--url", url, "--collection", "exports", "-o", str(exported)
    )
    records = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["metadata"].get("pages")) for r in records] == [
        ("lighthouse.pptx", 3),
        ("tides", None),
    ]
    local = tmp_path / "local"
    run("index", str(exported), "--data-dir", str(local), "--no-progress")
    again = tmp_path / "again.jsonl"
    run("export", "--data-dir", str(local), "-o", str(again))
    assert again.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")
    # The slides' pages come back too: the same passages on the same pages, searched here and there.
    question = "glass rings of prisms that bend the light"
    with SemsearchClient(url, collection="exports") as client:
        served = [(h.doc_id, h.page, h.text) for h in client.search(question, k=3).hits]
    found = subprocess.run(
        [*cli, "search", question, "-k", "3", "--data-dir", str(local), "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert [(h["doc_id"], h["page"], h["text"]) for h in map(json.loads, found)] == served
    assert served[0][:2] == ("lighthouse.pptx", 2)


def test_a_document_is_retagged_without_sending_its_text(url: str) -> None:
    with SemsearchClient(url, api_key=KEY) as client:
        client.upsert([{"id": "tags/ferry", "text": "The ferry leaves at dawn.", "metadata": {"lane": "a"}}])
        before = client.get_document("tags/ferry")
        patched = client.update_metadata("tags/ferry", {"reviewed": True, "lane": None})
        assert (patched.id, patched.metadata, patched.chunks) == ("tags/ferry", {"reviewed": True}, 1)
        after = client.get_document("tags/ferry")
        assert after.metadata == {"reviewed": True}
        assert [c.chunk_id for c in after.chunks] == [c.chunk_id for c in before.chunks]
        hits = client.search("boats at sunrise", filter={"field": "reviewed", "eq": True}).hits
        assert [hit.doc_id for hit in hits] == ["tags/ferry"]
        with pytest.raises(NotFoundError):
            client.update_metadata("tags/none", {"reviewed": True})
        with pytest.raises(InvalidRequestError):
            client.update_metadata("tags/ferry", {"bad": "\x00"})
    # As RFC 7396 sends it, and refusals that change nothing
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/merge-patch+json"}
    with httpx.Client(base_url=url, headers=headers) as http:
        answer = http.patch("/documents/tags/ferry", content=json.dumps({"metadata": {"lane": "b"}}))
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"] == {"reviewed": True, "lane": "b"}
        assert set(answer.json()) == {"id", "title", "metadata", "chunks", "updated_at"}  # no text: null
        assert http.patch("/documents/tags/ferry", json={"text": "new"}).status_code == 422
        assert http.patch("/documents/tags/ferry", json={"metadata": ["x"]}).status_code == 422
        unauthorised = http.patch(
            "/documents/tags/ferry", json={"metadata": {}}, headers={"Authorization": ""}
        )
        assert unauthorised.status_code == 401
        assert http.get("/documents/tags/ferry").json()["metadata"] == {"reviewed": True, "lane": "b"}


def test_the_cli_gets_updates_and_deletes_a_running_services_documents(url: str) -> None:
    with SemsearchClient(url, api_key=KEY) as admin:
        admin.create_collection("cli-docs")
    with SemsearchClient(url, api_key=KEY, collection="cli-docs") as client:
        client.upsert(
            [
                {"id": "harbour/ferry", "text": "The ferry leaves at dawn.", "metadata": {"lane": "a"}},
                {"id": "harbour/tug", "text": "The tug turns the ship.", "metadata": {"lane": "b"}},
                {"id": "tides", "text": "The tide turns twice a day.", "metadata": {"lane": "a"}},
            ]
        )
    env = {**os.environ, "SEMSEARCH_URL": url, "SEMSEARCH_WRITE_KEY": KEY}

    def run(
        *args: str, code: int = 0, key: str = KEY, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "service", *args, "--collection", "cli-docs"],
            env={**env, "SEMSEARCH_WRITE_KEY": key, "SEMSEARCH_READ_KEY": key},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == code, done.stderr
        return done

    # A text piped in becomes a document of the service, read as its id's suffix says.
    run(
        "index",
        "-",
        "--id",
        "harbour/pilot.md",
        "--no-progress",
        stdin="# Pilot\n\nThe pilot boards at the buoy.",
    )
    assert json.loads(run("get", "harbour/pilot.md", "--json").stdout)["title"] == "Pilot"
    assert run("delete", "harbour/pilot.md").stdout.split() == ["harbour/pilot.md"]

    shown = json.loads(run("get", "harbour/ferry", "--json").stdout)
    assert (shown["text"], shown["metadata"]) == ("The ferry leaves at dawn.", {"lane": "a"})
    assert "The ferry leaves at dawn." in run("get", "harbour/ferry").stdout

    patched = run("update", "harbour/ferry", "gone", "--metadata", '{"checked": true}', code=1)
    assert patched.stdout.split() == ["harbour/ferry"]
    assert "not found: gone" in patched.stderr
    by_filter = json.loads(
        run(
            "update", "--filter", '{"field": "lane", "eq": "a"}', "--metadata", '{"checked": true}', "--json"
        ).stdout
    )
    assert (by_filter["matched"], by_filter["updated"]) == (2, ["tides"])  # the ferry was checked already

    would = run("delete", "--filter", '{"field": "checked", "eq": true}', "--dry-run", key="")
    assert would.stdout.split() == ["harbour/ferry", "tides"]  # listing needs no write key
    assert run("stats", "--json").returncode == 0
    refused = run("delete", "tides", code=1, key="")
    assert "401" in refused.stderr
    deleted = json.loads(run("delete", "--filter", '{"field": "checked", "eq": true}', "--json").stdout)
    assert sorted(deleted["deleted"]) == ["harbour/ferry", "tides"]
    assert run("delete", "harbour/tug", "harbour/ferry", code=1).stdout.split() == ["harbour/tug"]
    with SemsearchClient(url, collection="cli-docs") as client:
        assert client.count() == 0

    # A collection that does not exist is that error, not every id reported as missing.
    elsewhere = subprocess.run(
        [sys.executable, "-m", "service", "delete", "tides", "--collection", "no-such-collection"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert elsewhere.returncode == 1
    assert "the service answered 404" in elsewhere.stderr
    assert "not found: tides" not in elsewhere.stderr


def test_the_same_passage_in_two_documents_is_one_hit_naming_the_other(url: str) -> None:
    with SemsearchClient(url, api_key=KEY) as admin:
        admin.create_collection("versions")
    passage = "Holidays are booked in the staff portal by the Friday before."
    with SemsearchClient(url, api_key=KEY, collection="versions") as client:
        client.upsert(
            [
                {"id": "handbook-2023", "text": passage},
                {"id": "handbook-2024", "text": passage},
                {"id": "canteen", "text": "The canteen opens at noon and closes at two."},
            ]
        )
        question = "how do I book a holiday?"
        collapsed = client.search(question, k=2, mode="dense").hits
        kept = client.search(question, k=2, mode="dense", duplicates="keep").hits
    assert {collapsed[0].doc_id, *collapsed[0].duplicates} == {"handbook-2023", "handbook-2024"}
    assert collapsed[1].doc_id == "canteen"  # the place the copy would have taken
    assert {hit.doc_id for hit in kept} == {"handbook-2023", "handbook-2024"}
    assert [hit.duplicates for hit in kept] == [[], []]
