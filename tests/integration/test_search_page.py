"""The search page in a real browser (Chromium driven by Playwright: its own, or the system's, see
tests/integration/browser.py) against a real server."""

from __future__ import annotations

import io
import json
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FilePayload, expect, sync_playwright

from tests.integration.browser import NoBrowserError, find_browser
from tests.integration.test_server import free_port, running, server_env

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FILES = Path(__file__).resolve().parents[1] / "data" / "files"
READ_KEY = "read-key-0123456789abcdef"
# Flags from the machine's notes: no sandbox as root, and no background networking on a closed network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_typing_a_query_shows_highlighted_results_and_the_document(tmp_path: Path) -> None:
    try:
        executable = find_browser()
    except NoBrowserError as error:
        pytest.fail(str(error))
    port = free_port()
    command = [sys.executable, "-m", "service", "serve", "--port", str(port)]  # with the demo corpus
    env = server_env(
        tmp_path / "data",
        SEMSEARCH_READ_KEY=READ_KEY,
        SEMSEARCH_WRITE_KEY="write-" + READ_KEY,
        SEMSEARCH_MAX_DOCUMENTS_PER_REQUEST="40",  # under the page's batches: it must send smaller ones
    )
    with running(command, port, env, tmp_path / "server.log"), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        # The page runs under a Content-Security-Policy that allows its own script and style by hash only:
        # anything it refuses (an inline style, a script it did not hash) is a console error, collected here.
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        answer = page.goto(f"http://127.0.0.1:{port}/")
        assert answer is not None
        assert "script-src 'sha256-" in answer.headers["content-security-policy"]
        expect(page.get_by_role("heading", name="semsearch")).to_be_visible()

        page.keyboard.press("/")
        page.keyboard.type("how do I keep my data safe when the machine crashes?")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("needs an API key")
        page.get_by_label("API key (read)").fill(READ_KEY)
        page.get_by_role("button", name="Search").click()

        results = page.locator("li.hit")
        expect(results.first).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("results in")
        assert results.count() == 10
        first = results.first
        assert first.locator("h2").inner_text().strip()
        assert first.locator("mark").inner_text().strip()  # the matched sentence, highlighted
        assert float(first.locator(".score").inner_text().split()[1]) > 0

        page.get_by_label("Mode").select_option("keyword")
        page.get_by_label("Hits").select_option("5")
        page.get_by_role("button", name="Search").click()
        expect(results).to_have_count(5)

        results.first.get_by_role("button", name="Open the whole document").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        assert len(dialog.locator("pre").inner_text()) > len(results.first.locator(".text").inner_text())
        expect(dialog.locator("mark")).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "search-page.png"), full_page=True)
        dialog.get_by_role("button", name="Close").click()

        # A pasted paragraph, longer than the model reads, is a query like any other.
        paragraph = "My disk filled up overnight and the service stopped answering writes. " * 40
        page.get_by_label("Query").fill(paragraph)
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("status")).to_contain_text("pieces")
        expect(results).to_have_count(5)

        # More like this: the document's neighbours, itself left out.
        liked = results.first.locator("h2").inner_text()
        results.first.get_by_role("button", name="More like this").click()
        expect(page.get_by_role("status")).to_contain_text("like")
        expect(results).to_have_count(5)
        assert liked not in [results.nth(i).locator("h2").inner_text() for i in range(5)]

        # A second collection appears in the picker, and searching it finds only its documents.
        write = {"Authorization": "Bearer write-" + READ_KEY}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=write, timeout=60) as api:
            assert api.put("/collections/recipes").status_code == 201
            recipe = {
                "id": "bread",
                "title": "Sourdough",
                "text": "\U0001f35e\U0001f956 Flour, water, salt. Knead the dough and let it rise overnight.",
                "metadata": {"author": "Ada Keeper", "created": "2024-03-01T09:15:00Z"},
            }
            copy = {**recipe, "id": "bread-copy"}  # the same text again: one hit, naming the other
            sent = api.post("/collections/recipes/documents", json={"documents": [recipe, copy]})
            assert sent.status_code == 200
        page.reload()
        page.get_by_label("API key (read)").fill(READ_KEY) if page.get_by_label(
            "API key (read)"
        ).is_visible() else None
        page.get_by_label("Query").fill("how do I make bread?")
        page.get_by_role("button", name="Search").click()  # loads the collections once a key works
        expect(page.get_by_label("Collection")).to_be_visible()
        page.get_by_label("Collection").select_option("recipes")
        page.get_by_role("button", name="Search").click()
        expect(results).to_have_count(1)
        expect(results.first.locator("h2")).to_have_text("Sourdough")
        # Offsets count code points: a whole sentence is marked, with emoji (two UTF-16 units each) before it.
        marked = results.first.locator("mark").inner_text().strip()
        sentences = ("\U0001f35e\U0001f956 Flour, water, salt.", "Knead the dough and let it rise overnight.")
        assert marked in sentences
        expect(results.first.locator(".byline")).to_have_text("Ada Keeper · 2024-03-01")  # who and when
        expect(results.first.locator(".also")).to_contain_text("Also in bread")

        # A metadata filter typed in narrows the search; a mistyped one is explained and searches nothing.
        page.get_by_label("Query").fill("something to eat")
        filtered = [  # the filter typed, what the status says, the hits shown
            ('{"field": "author", "eq": "Nobody"}', "0 results matching the filter", 0),
            ('{"field": "author", "eq": "Ada Keeper"}', "1 result matching the filter", 1),
            ('{"field": "author", "eq": ', "The filter is not JSON", 0),
            ('["author"]', "The filter is a JSON object", 0),
            ('{"field": "author", "frobnicate": 1}', "unknown operator", 0),  # the server's own words
        ]
        for typed, status, shown in filtered:
            page.get_by_label("Filter").fill(typed)
            page.get_by_role("button", name="Search").click()
            expect(page.get_by_role("status")).to_contain_text(status)
            expect(results).to_have_count(shown)
            if shown:
                expect(results.first.locator("h2")).to_have_text("Sourdough")
        page.get_by_label("Filter").fill("")

        # Files dropped on the page go into the collection picked, with their pages; a bad one adds nothing.
        page.get_by_text("Add files").click()
        page.get_by_label("Choose files").set_input_files(
            [str(FILES / "lighthouse.pdf"), str(FILES / "lighthouse.docx")]
        )
        page.get_by_label("API key (write)").fill("write-" + READ_KEY)
        page.get_by_role("button", name="Upload").click()
        uploaded = page.get_by_role("list", name="Uploaded files").locator("li")
        expect(uploaded).to_have_count(2, timeout=60_000)  # read, embedded, then listed
        expect(uploaded.first).to_contain_text("lighthouse.pdf: created")
        page.get_by_label("Query").fill("how does a lens turn a flame into a beam?")
        page.get_by_label("Mode").select_option("hybrid")
        page.get_by_role("button", name="Search").click()
        expect(results.locator(".page").first).to_have_text("page 2")  # the PDF (the DOCX has no pages)
        page.screenshot(path=str(ARTIFACTS / "search-page-files.png"), full_page=True)

        # A file the server cannot read is listed as such, and the others go in without it.
        mixed: list[FilePayload] = [
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"fine"},
            {"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n\x00\x00"},
        ]
        page.get_by_label("Choose files").set_input_files(mixed)
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-status")).to_contain_text(
            "Added 1 file(s); 1 could not be added", timeout=60_000
        )
        expect(uploaded).to_have_count(2)
        expect(uploaded.first).to_contain_text("photo.png: not a readable picture")
        expect(uploaded.nth(1)).to_contain_text("notes.txt: created")

        # A text file in a legacy encoding is refused, showing what it reads as in Windows-1252, and goes in
        # once the encoding is picked.
        menu: FilePayload = {
            "name": "menu.txt",
            "mimeType": "text/plain",
            "buffer": "Cr\u00e8me br\u00fbl\u00e9e, 4 \u20ac".encode("cp1252"),
        }
        page.get_by_label("Choose files").set_input_files([menu])
        page.get_by_role("button", name="Upload").click()
        expect(uploaded.first).to_contain_text(
            "which as Windows-1252 reads 'Cr\u00e8me br\u00fbl\u00e9e", timeout=60_000
        )
        page.get_by_label("Text not in UTF-8").select_option("windows-1252")
        page.get_by_label("Choose files").set_input_files([menu])
        page.get_by_role("button", name="Upload").click()
        expect(uploaded.first).to_contain_text("menu.txt: created", timeout=60_000)
        page.get_by_label("Text not in UTF-8").select_option("")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=write, timeout=60) as api:
            assert api.get("/collections/recipes/documents/notes.txt").status_code == 200
            assert api.get("/collections/recipes/documents/photo.png").status_code == 404

        # A ZIP archive's files go in with their paths, and what it held that was passed over is listed:
        # a file that cannot be read (as an error), its pictures (not one).
        bad_zip, good_zip = io.BytesIO(), io.BytesIO()
        with zipfile.ZipFile(bad_zip, "w") as archive:
            archive.writestr("box/empty.txt", "  ")
            archive.writestr("box/ok.md", "# Ok\n\nFine.")
        with zipfile.ZipFile(good_zip, "w") as archive:
            archive.writestr("pantry/jam.md", "# Jam\n\nApricot jam keeps a year in a cool pantry.")
            archive.writestr("pantry/jar.png", b"\x89PNG\r\n\x1a\n")
        zips: list[FilePayload] = [
            {"name": "bad.zip", "mimeType": "application/zip", "buffer": bad_zip.getvalue()},
            {"name": "side.txt", "mimeType": "text/plain", "buffer": b"Beside the archives."},
            {"name": "good.zip", "mimeType": "application/zip", "buffer": good_zip.getvalue()},
        ]
        page.get_by_label("Choose files").set_input_files(zips)
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-status")).to_have_text(
            "Added 3 file(s); 1 could not be added (listed).", timeout=60_000
        )
        expect(uploaded).to_have_count(5)
        for line in (
            "box/ok.md: created",
            "pantry/jam.md: created",
            "side.txt: created",
            "bad.zip/box/empty.txt: passed over: box/empty.txt: the file is empty",
            "good.zip: passed over: 1 file of types semsearch does not read (.png 1)",
        ):
            expect(uploaded.filter(has_text=line)).to_have_count(1)
        expect(page.locator("#upload-results li.error")).to_have_text(
            ["bad.zip/box/empty.txt: passed over: box/empty.txt: the file is empty"]
        )

        # A folder of more files than one request may carry (here 40, and fewer than the page's batches of
        # 64), in subfolders, with hidden files: all of its visible files go in, in batches, under their
        # paths in the folder.
        folder = tmp_path / "handbook"
        for i in range(300):
            place = folder / ("rooms" if i % 10 else "") / f"note-{i:03d}.md"  # 270 in one subfolder
            place.parent.mkdir(parents=True, exist_ok=True)
            place.write_text(f"# Note {i}\n\nRoom {i} has {i % 7} windows facing the harbour.\n")
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        (folder / "~$port.docx").write_bytes(b"\x0bJohn Smith" + bytes(40))  # Word's owner file: not sent
        (folder / "node_modules" / "left-pad").mkdir(parents=True)  # a project's dependencies: not sent
        (folder / "node_modules" / "left-pad" / "index.js").write_text("module.exports = pad;\n")
        (folder / "rooms" / "plan.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # a picture in a folder: not sent
        # Files dropped on the page are chosen as picked ones are, a hidden one too when picked itself (a
        # synthetic drop: Chromium gives its items no file system entries, so this takes the page's path
        # for plain files).
        page.locator("#drop").dispatch_event(
            "drop",
            {
                "dataTransfer": page.evaluate_handle(
                    """() => { const data = new DataTransfer();
                    for (const name of ["a.md", ".b.md", "a.md"]) {
                        data.items.add(new File(["text " + name], name));
                    }
                    return data; }"""
                )
            },
        )
        expect(page.locator("#upload-status")).to_have_text("3 file(s) chosen: a.md, .b.md, a.md")
        # A file dropped beside the zone is stopped (the browser would leave the page to show it); dragged
        # text is not (it drops into the query box).
        stopped = """kind => { const data = new DataTransfer();
            if (kind === "file") data.items.add(new File(["x"], "a.pdf"));
            else data.setData("text/plain", "hi");
            const drop = new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true});
            document.body.dispatchEvent(drop);
            return drop.defaultPrevented; }"""
        assert page.evaluate(stopped, "file") is True
        assert page.evaluate(stopped, "text") is False
        page.get_by_role("button", name="Upload").click()  # the second a.md is refused, and only it
        expect(page.locator("#upload-status")).to_have_text(
            "Added 2 file(s); 1 could not be added (listed).", timeout=60_000
        )
        expect(uploaded.first).to_have_text("a.md: a second file of this name in the upload (id 'a.md')")
        page.get_by_label("Choose a folder").set_input_files(folder)
        expect(page.locator("#upload-status")).to_contain_text("300 file(s) chosen")
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-status")).to_have_text("Added 300 file(s).", timeout=240_000)
        expect(uploaded).to_have_count(300)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=write, timeout=60) as api:
            listed = api.get("/collections/recipes/count").json()
            # the recipe and its copy, the PDF and the DOCX, notes.txt, menu.txt, side.txt, ok.md and jam.md
            # from the archives, the dropped files, the folder
            assert listed["count"] == 2 + 2 + 1 + 1 + 3 + 2 + 300
            menu_text = api.get("/collections/recipes/documents/menu.txt").json()["text"]
            assert menu_text == "Cr\u00e8me br\u00fbl\u00e9e, 4 \u20ac"
            assert api.get("/collections/recipes/documents/rooms/note-001.md").status_code == 200
            assert api.get("/collections/recipes/documents/note-000.md").status_code == 200
            assert api.get("/collections/recipes/documents/.DS_Store").status_code == 404
            assert api.get("/collections/recipes/documents/node_modules/left-pad/index.js").status_code == 404
        assert refused == []
        # The API documentation renders from what the service serves: no CDN (this machine has no internet).
        page.goto(f"http://127.0.0.1:{port}/docs")
        expect(page.locator(".opblock-summary-path", has_text="/search/batch").first).to_be_visible()
        page.goto(f"http://127.0.0.1:{port}/redoc")
        expect(page.get_by_text("Several searches in one request").first).to_be_visible()
        browser.close()


# What a web app on another origin does with the API: every method, the headers clients send, and the headers
# it must read (a task's Location, the request id). Run in the app's page, so the browser applies CORS.
WEB_APP_CALLS = """async ({api, read, write}) => {
  const call = async (key, path, init = {}) => {
    const headers = {Authorization: `Bearer ${key}`, "X-Request-ID": "web-app-1", ...(init.headers || {})};
    const answer = await fetch(api + path, {...init, headers});
    return {status: answer.status, body: await answer.text(), location: answer.headers.get("Location"),
            requestId: answer.headers.get("X-Request-ID")};
  };
  const json = {"Content-Type": "application/json"};
  const out = {};
  out.put = await call(write, "/collections/birds", {method: "PUT"});
  const documents = {documents: [{id: "owl", text: "Owls hunt at night on silent feathers."}]};
  out.post = await call(write, "/collections/birds/documents?wait=false",
                        {method: "POST", headers: json, body: JSON.stringify(documents)});
  for (let tries = 0; tries < 300; tries++) {
    out.task = await call(read, out.post.location);
    if (!["queued", "running"].includes(JSON.parse(out.task.body).status)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const patch = {metadata: {kind: "bird"}};
  out.patch = await call(write, "/collections/birds/documents/owl", {method: "PATCH",
      headers: {"Content-Type": "application/merge-patch+json"}, body: JSON.stringify(patch)});
  const query = encodeURIComponent("what hunts in the dark?");
  out.search = await call(read, `/collections/birds/search?q=${query}`);
  out.remove = await call(write, "/collections/birds/documents/owl", {method: "DELETE"});
  return out;
}"""


@contextmanager
def web_app_origin() -> Iterator[str]:
    """A plain page served on a port of its own: another origin than the API's."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>web app</title><p>a web app</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_web_app_on_an_allowed_origin_uses_the_api_from_the_browser(tmp_path: Path) -> None:
    """Chromium enforces CORS: an allowed origin's script creates, writes in the background, follows the
    task's Location, patches, searches and deletes, and reads the headers; another origin gets nothing."""
    try:
        executable = find_browser()
    except NoBrowserError as error:
        pytest.fail(str(error))
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "service", "serve", "--port", str(port)]
    with web_app_origin() as allowed, web_app_origin() as other:
        env = server_env(
            tmp_path / "data",
            SEMSEARCH_READ_KEY=READ_KEY,
            SEMSEARCH_WRITE_KEY="write-" + READ_KEY,
            SEMSEARCH_SEED_DEMO="false",
            SEMSEARCH_CORS_ORIGINS=json.dumps([allowed]),
        )
        with running(command, port, env, tmp_path / "server.log"), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
            page = browser.new_page()
            page.goto(allowed)
            keys = {"api": api, "read": READ_KEY, "write": "write-" + READ_KEY}
            out = page.evaluate(WEB_APP_CALLS, keys)
            assert out["put"]["status"] == 201, out["put"]
            assert out["post"]["status"] == 202, out["post"]
            assert out["post"]["location"].startswith("/collections/birds/tasks/")
            assert out["post"]["requestId"] == "web-app-1"
            assert json.loads(out["task"]["body"])["status"] == "done", out["task"]
            assert out["patch"]["status"] == 200, out["patch"]
            hits = json.loads(out["search"]["body"])["hits"]
            assert [(hit["doc_id"], hit["metadata"]) for hit in hits] == [("owl", {"kind": "bird"})]
            assert out["remove"]["status"] == 200, out["remove"]

            page.goto(other)
            refused = page.evaluate(
                "async (api) => { try { await fetch(api + '/search?q=owls'); return 'answered'; }"
                " catch (error) { return error.name; } }",
                api,
            )
            assert refused == "TypeError"  # the browser's CORS refusal: the script sees no answer
            browser.close()
