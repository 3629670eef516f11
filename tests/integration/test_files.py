"""Real files through a real server: PDFs printed by headless Chromium, a DOCX written by python-docx, an
encrypted PDF written by pypdf, uploaded with multipart/form-data to uvicorn on 127.0.0.1 with the real model.
"""

from __future__ import annotations

import difflib
import io
import json
import mailbox
import random
import re
import sys
import time
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from index.ingest.extract import extract
from service.client import SemsearchClient
from service.schemas import TaskOut
from tests.documents import (
    docx_bytes,
    docx_of_empty_runs,
    encrypt_pdf,
    form_pdf,
    image_only_pdf,
    msg_bytes,
    notebook_bytes,
    odf_bytes,
    odf_meta,
    odp_bytes,
    ods_bytes,
    odt_document,
    print_pdfs,
    running,
    scanned_file,
    scanned_pdf,
    site_page,
    two_column_html,
)
from tests.index.test_extract import FILES
from tests.integration.test_server import free_port, ok, server_env
from tests.integration.test_server import running as serving

pytestmark = pytest.mark.integration

WRITE = {"Authorization": "Bearer files-write-key-0123"}
TOPICS = [
    (
        "Bees",
        "Honey bees dance to tell the hive in which direction and how far the flowers are. A forager that "
        "found nectar waggles along a line whose angle to the vertical is the angle between the sun and the "
        "food, and the length of the waggle says the distance. Her sisters follow the dance and fly out.",
    ),
    (
        "Glaciers",
        "A glacier creeps downhill under its own weight, grinding the valley floor into a U shape. Rocks "
        "frozen into its base scratch long grooves in the bedrock, and where the ice melts it drops hills of "
        "gravel called moraines. Many glaciers in the Alps have retreated hundreds of metres in a century.",
    ),
    (
        "Bread",
        "Sourdough rises because wild yeast and lactic bacteria ferment the flour for many hours. The yeast "
        "makes the carbon dioxide that inflates the dough, the bacteria make the acids that give the crumb "
        "its sour taste, and a baker keeps a starter alive by feeding it flour and water every day.",
    ),
]
_WORDS = (
    "microstructural interdisciplinary measurement considerations accompany experiment observation "
    "temperature the of and a laboratory instrument calibration uncertainty sample result river glacier "
    "sediment transport velocity discharge seasonal"
).split()
_RANDOM = random.Random(17)
SECTIONS = [(f"Section {n}", " ".join(_RANDOM.choice(_WORDS) for _ in range(110)) + ".") for n in range(1, 9)]


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    """A three-page PDF, one topic a page, with a running header and footer; a two-column article whose long
    words break at line ends with hyphens."""
    pages = "".join(
        f'<section style="break-after:page"><h2>{head}</h2><p>{text}</p></section>' for head, text in TOPICS
    )
    furniture = {"header": running("Field Notes"), "footer": running("Page {page} of {pages}")}
    topics, article = print_pdfs(
        [(f"<html><body>{pages}</body></html>", furniture), (two_column_html(SECTIONS), furniture)]
    )
    return {"topics.pdf": topics, "article.pdf": article}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("files")
    port = free_port()
    env = server_env(
        tmp / "data",
        SEMSEARCH_SEED_DEMO="false",
        SEMSEARCH_WRITE_KEY="files-write-key-0123",
        SEMSEARCH_MAX_FILE_BYTES="700000",  # the .ppt LibreOffice saves is 613 KB (a thumbnail)
        SEMSEARCH_CHUNK_MAX_TOKENS="96",  # a chunk per page of the topics PDF
    )
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with serving(command, port, env, tmp / "server.log") as client:
        yield client


def found_by_author(client: httpx.Client, query: str, author: str) -> list[str]:
    """The ids of the hits for ``query`` among the documents whose ``author`` metadata is ``author``."""
    only = json.dumps({"field": "author", "eq": author})
    return [hit["doc_id"] for hit in ok(client.get("/search", params={"q": query, "filter": only}))["hits"]]


def upload(client: httpx.Client, files: list[tuple[str, bytes]], **form: str) -> httpx.Response:
    return client.post(
        "/documents/files",
        files=[("files", (name, data)) for name, data in files],
        data=form,
        headers=WRITE,
    )


def test_a_two_column_pdf_comes_back_whole_without_its_furniture(pdfs: dict[str, bytes]) -> None:
    text = extract(pdfs["article.pdf"], "article.pdf").text
    source = " ".join(f"{head} {body}" for head, body in SECTIONS).split()
    got = text.split()
    matcher = difflib.SequenceMatcher(None, source, got, autojunk=False)
    assert sum(block.size for block in matcher.get_matching_blocks()) / len(source) > 0.99
    # long words broken at line ends with a hyphen come back whole
    assert not [word for word in got if word.endswith(("-", "\u2010"))]
    assert "Field Notes" not in text
    assert not re.search(r"Page \d+ of \d+", text)


def test_files_are_indexed_with_pages_and_searchable(server: httpx.Client, pdfs: dict[str, bytes]) -> None:
    report = docx_bytes(
        "Harbour report", [("Tides", ["The spring tide flooded the lower quay twice in March."])]
    )
    body = ok(
        upload(
            server,
            [("topics.pdf", pdfs["topics.pdf"]), ("harbour.docx", report)],
            id_prefix="notes/",
            metadata='{"team": "field"}',
        )
    )
    assert [(d["id"], d["status"]) for d in body["documents"]] == [
        ("notes/topics.pdf", "created"),
        ("notes/harbour.docx", "created"),
    ]
    stored = ok(server.get("/documents/notes/topics.pdf"))
    assert stored["metadata"]["team"] == "field"
    assert (stored["metadata"]["format"], stored["metadata"]["pages"]) == ("pdf", 3)
    assert "Field Notes" not in stored["text"]

    questions = [
        (1, "how do insects communicate where food is"),
        (2, "what happens to the valley under moving ice"),
        (3, "why does dough rise"),
    ]
    for page, question in questions:
        hits = ok(server.get("/search", params={"q": question, "k": 3}))["hits"]
        assert (hits[0]["doc_id"], hits[0]["page"], hits[0]["page_end"]) == ("notes/topics.pdf", page, page)
    hits = ok(server.get("/search", params={"q": "flooding at the harbour", "k": 1}))["hits"]
    assert (hits[0]["doc_id"], hits[0]["page"]) == ("notes/harbour.docx", None)

    listed = ok(server.get("/documents", params={"filter": '{"field": "team", "eq": "field"}'}))
    assert [d["id"] for d in listed["documents"]] == ["notes/harbour.docx", "notes/topics.pdf"]
    # What the files say of themselves: the Word file's core properties, the date Chromium printed the PDF.
    by_author = ok(server.get("/documents", params={"filter": '{"field": "author", "eq": "python-docx"}'}))
    assert [d["id"] for d in by_author["documents"]] == ["notes/harbour.docx"]
    printed = ok(server.get("/documents", params={"filter": '{"field": "created", "gte": "2024-01-01"}'}))
    assert [d["id"] for d in printed["documents"]] == ["notes/topics.pdf"]


def test_a_scanned_pdf_is_read_by_ocr_and_found_on_its_page(server: httpx.Client) -> None:
    """A PDF of scans (no text layer) was refused; each scanned page is now read by OCR."""
    scan = scanned_pdf(
        [
            ["Minutes of the harbour board, 3 March.", "The board agreed to dredge the north channel."],
            ["The lighthouse keeper asked for a new lamp.", "It will be ordered from the mainland in May."],
        ]
    )
    stored = ok(upload(server, [("minutes-scan.pdf", scan)]))["documents"]
    assert [(d["id"], d["status"]) for d in stored] == [("minutes-scan.pdf", "created")]
    metadata = ok(server.get("/documents/minutes-scan.pdf"))["metadata"]
    assert (metadata["pages"], metadata["ocr_pages"]) == (2, 2)
    hits = ok(server.get("/search", params={"q": "who needs a replacement light", "k": 1}))["hits"]
    assert (hits[0]["doc_id"], hits[0]["page_end"]) == ("minutes-scan.pdf", 2)  # both pages make one chunk
    assert "The lighthouse keeper asked for a new lamp." in hits[0]["text"]
    scanned = ok(server.get("/documents", params={"filter": '{"field": "ocr_pages", "gte": 1}'}))
    assert [d["id"] for d in scanned["documents"]] == ["minutes-scan.pdf"]


def test_a_photographed_page_is_read_by_ocr(server: httpx.Client) -> None:
    """A picture of text (a phone's photo of a notice, a scan saved as JPEG) was refused."""
    notice = ["Notice: the ferry to the island is cancelled", "on Sunday while the pier is repaired."]
    stored = ok(upload(server, [("notice.jpg", scanned_file([notice], "JPEG"))]))["documents"]
    assert [(d["id"], d["status"]) for d in stored] == [("notice.jpg", "created")]
    document = ok(server.get("/documents/notice.jpg"))
    assert (document["metadata"]["format"], document["metadata"]["ocr_pages"]) == ("image", 1)
    hits = ok(server.get("/search", params={"q": "no boat service this weekend", "k": 1}))["hits"]
    assert hits[0]["doc_id"] == "notice.jpg"


def test_a_file_name_with_a_decomposed_accent_gives_the_id_a_user_types(server: httpx.Client) -> None:
    # Safari on macOS sends "café" as "cafe" and a combining accent; the id is the composed form.
    body = ok(upload(server, [("cafe\u0301 menu.txt", b"Espresso, cortado and flat white.")]))
    assert [d["id"] for d in body["documents"]] == ["caf\u00e9 menu.txt"]
    assert ok(server.get("/documents/caf\u00e9 menu.txt"))["title"] == "caf\u00e9 menu"


def test_a_filled_in_form_is_found_by_what_was_typed_into_it(server: httpx.Client) -> None:
    fields = [
        ("owner", "Owner", "Ingrid Vasquez-Halloran"),
        ("boat", "Vessel", "a wooden ketch called Kittiwake"),
    ]
    notes = [("/FreeText", "Winter storage in shed four until the thaw")]
    ok(upload(server, [("berth-form.pdf", form_pdf([("Marina berth application", fields, notes)]))]))
    for query, typed in [
        ("Vasquez-Halloran", "Owner: Ingrid Vasquez-Halloran"),
        ("the ketch named Kittiwake", "Vessel: a wooden ketch called Kittiwake"),
        ("where is the boat kept over the winter", "Winter storage in shed four"),
    ]:
        hits = ok(server.get("/search", params={"q": query, "k": 1}))["hits"]
        assert (hits[0]["doc_id"], typed in hits[0]["text"]) == ("berth-form.pdf", True), query


def test_a_name_sent_as_dotnet_and_spring_send_it_is_the_id(server: httpx.Client) -> None:
    # HttpClient's MultipartFormDataContent: a MIME encoded word in filename, the name in filename*.
    parts = [
        'Content-Disposition: form-data; name=files; filename="=?utf-8?B?Y2Fmw6kgbGlzdC50eHQ=?="; '
        "filename*=utf-8''caf%C3%A9%20list.txt\r\nContent-Type: text/plain\r\n\r\nEspresso and cortado.",
        'Content-Disposition: form-data; name="files"; filename="=?UTF-8?Q?men=C3=BC.txt?="\r\n\r\n'
        "Soup of the day.",
    ]
    body = "".join(f"--b0und\r\n{p}\r\n" for p in parts) + "--b0und--\r\n"
    headers = {**WRITE, "content-type": "multipart/form-data; boundary=b0und"}
    answer = ok(server.post("/documents/files", content=body.encode(), headers=headers))
    assert [d["id"] for d in answer["documents"]] == ["caf\u00e9 list.txt", "men\u00fc.txt"]
    assert ok(server.get("/documents/men\u00fc.txt"))["text"] == "Soup of the day."


def test_one_bad_file_refuses_the_upload_and_names_each_bad_file(
    server: httpx.Client, pdfs: dict[str, bytes]
) -> None:
    before = ok(server.get("/stats"))["documents"]
    locked = encrypt_pdf(pdfs["topics.pdf"], "secret")
    response = upload(
        server,
        [
            ("good.txt", b"A perfectly fine note."),
            ("locked.pdf", locked),
            ("scan.pdf", image_only_pdf()),
            ("runs.docx", docx_of_empty_runs(6_000_000)),  # 90 KB; parsed whole, more than a gigabyte
            ("invoice\u202efdp.exe", b"Shows as invoiceexe.pdf."),  # a name that makes no id
            ("notes/good.txt", b"Another note of the same name, from another folder."),
        ],
    )
    assert response.status_code == 422, response.text
    problems = {item["file"]: item["detail"] for item in response.json()["files"]}
    assert set(problems) == {"locked.pdf", "scan.pdf", "runs.docx", "invoice\u202efdp.exe", "good.txt"}
    assert "bidirectional control character" in problems["invoice\u202efdp.exe"]
    assert "a second file of this name" in problems["good.txt"]
    assert "password" in problems["locked.pdf"]
    assert "the PDF has no text, and no pictures of text" in problems["scan.pdf"]
    assert "elements of markup" in problems["runs.docx"]
    assert server.get("/documents/good.txt").status_code == 404
    assert ok(server.get("/stats"))["documents"] == before

    unsupported = upload(server, [("good.txt", b"fine"), ("talk.mp4", b"\x00\x00\x00 ftypisom")])
    assert unsupported.status_code == 415, unsupported.text
    too_large = upload(server, [("big.txt", b"word " * 150_000)])
    assert too_large.status_code == 413, too_large.text
    assert "SEMSEARCH_MAX_FILE_BYTES" in too_large.json()["files"][0]["detail"]
    anonymous = server.post("/documents/files", files=[("files", ("a.txt", b"hi"))])
    assert anonymous.status_code == 401
    assert ok(server.get("/stats"))["documents"] == before


def test_legacy_text_is_read_in_the_encoding_named_and_refused_without_one(server: httpx.Client) -> None:
    """Windows Notepad's "ANSI", an Excel CSV export, an old web page without a charset: Windows-1252 text,
    found by its meaning once the upload names its encoding, by the form field or the Python client."""
    before = ok(server.get("/stats"))["documents"]
    menu = "Menu du jour: cr\u00e8me br\u00fbl\u00e9e, caf\u00e9 au lait \u2014 4 \u20ac".encode("cp1252")
    prices = "plat;prix\nG\u00e2teau au chocolat;3,50 \u20ac\n".encode("cp1252")
    page = "<html><body><p>Les mar\u00e9es montent deux fois par jour.</p></body></html>".encode("cp1252")
    files = [("menu.txt", menu), ("prices.csv", prices), ("tides.html", page)]

    refused = upload(server, files)
    assert refused.status_code == 422, refused.text
    problems = {item["file"]: item["detail"] for item in refused.json()["files"]}
    assert set(problems) == {"menu.txt", "prices.csv", "tides.html"}
    assert "which as Windows-1252 reads 'Menu du jour: cr\u00e8me" in problems["menu.txt"]
    assert "name the encoding it is in" in problems["tides.html"]
    bad_label = upload(server, files, encoding="utf-16")
    assert bad_label.status_code == 422
    assert "is not a legacy text encoding" in bad_label.json()["detail"]
    assert ok(server.get("/stats"))["documents"] == before

    ok(upload(server, files, encoding="windows-1252", id_prefix="legacy/"))
    stored = ok(server.get("/documents/legacy/menu.txt"))
    assert "cr\u00e8me br\u00fbl\u00e9e, caf\u00e9 au lait \u2014 4 \u20ac" in stored["text"]
    hits = ok(server.get("/search", params={"q": "les mar\u00e9es montent", "k": 1}))["hits"]
    assert hits[0]["doc_id"] == "legacy/tides.html"

    with SemsearchClient(
        str(server.base_url), api_key=WRITE["Authorization"].removeprefix("Bearer ")
    ) as client:
        client.upload_files([("prix.csv", prices)], id_prefix="legacy/", encoding="latin-1")
        assert "G\u00e2teau au chocolat" in client.get_document("legacy/prix.csv").text


def test_background_uploads_and_collections_take_files_too(server: httpx.Client) -> None:
    response = server.post(
        "/documents/files", params={"wait": "false"}, files=[("files", ("later.md", b"# Later\n\nQueued."))]
    )
    assert response.status_code == 401
    response = upload(server, [("later.md", b"# Later\n\nQueued for the background.")])
    assert response.status_code == 200
    response = server.post(
        "/documents/files",
        params={"wait": "false"},
        files=[("files", ("queued.md", b"# Queued\n\nIndexed in the background."))],
        headers=WRITE,
    )
    assert response.status_code == 202, response.text
    task: dict[str, Any] = response.json()
    deadline = time.monotonic() + 60
    while task["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        task = ok(server.get(f"/tasks/{task['task_id']}"))
    assert task["status"] == "done", task
    assert ok(server.get("/documents/queued.md"))["title"] == "Queued"

    assert server.put("/collections/papers", json={}, headers=WRITE).status_code == 201
    response = server.post(
        "/collections/papers/documents/files", files=[("files", ("p.txt", b"Only in papers."))], headers=WRITE
    )
    assert ok(response)["documents"][0]["id"] == "p.txt"
    assert ok(server.get("/collections/papers/documents/p.txt"))["text"] == "Only in papers."
    assert server.get("/documents/p.txt").status_code == 404


def test_a_saved_documentation_site_is_searched_by_its_pages_own_text(server: httpx.Client) -> None:
    """Each page of a site generator's output holds the whole site's menu: read whole, every page matched a
    search for any page's title."""
    pages = {
        "install.html": ("Installing the gauge", "Bolt the tide gauge to the pier at low tide."),
        "tables.html": ("Reading the tide tables", "High water comes about fifty minutes later every day."),
        "deploy.html": ("Deploying on Kubernetes", "The collector runs as one Kubernetes deployment."),
    }
    menu = [title for title, _ in pages.values()]
    files = [
        (name, site_page(theme, "Tidepool", title, [text], menu).encode())
        for (name, (title, text)), theme in zip(pages.items(), ["mkdocs", "sphinx", "wordpress"], strict=True)
    ]
    ok(upload(server, files, id_prefix="site/", metadata='{"site": "tidepool"}'))
    stored = ok(server.get("/documents/site/install.html"))
    assert stored["title"] == "Installing the gauge - Tidepool"
    assert "Kubernetes" not in stored["text"]
    assert "Tidepool" not in stored["text"]
    site = '{"field": "site", "eq": "tidepool"}'
    for query, page in [("kubernetes", "deploy.html"), ("tables", "tables.html")]:
        hits = ok(server.get("/search", params={"q": query, "mode": "keyword", "filter": site}))["hits"]
        assert {hit["doc_id"] for hit in hits} == {f"site/{page}"}, query
    hits = ok(server.get("/search", params={"q": "how do I deploy the collector", "filter": site}))["hits"]
    assert hits[0]["doc_id"] == "site/deploy.html"


def test_libreoffice_files_are_indexed_and_searchable(server: httpx.Client) -> None:
    manual = odt_document(
        [
            ("h1", "Harbour manual"),
            ("p", "The lock gates close two hours before high water to keep the basin full."),
        ]
    )
    odf_meta(manual, author="Ada Quay", keywords=["locks"])
    sheet = ods_bytes({"Berths": [["Berth", "Vessel"], ["North quay", "The ferry Saint Brendan"]]})
    talk = odp_bytes(
        [
            ("Opening", ["Welcome to the harbour board."], ""),
            ("Dredging", ["Silt is dredged from the channel every autumn."], "Mention the costs"),
        ]
    )
    files = [("manual.odt", odf_bytes(manual)), ("berths.ods", sheet), ("talk.odp", talk)]
    body = ok(upload(server, files, id_prefix="odf/"))
    assert [d["status"] for d in body["documents"]] == ["created"] * 3
    stored = ok(server.get("/documents/odf/manual.odt"))
    assert (stored["title"], stored["metadata"]["format"], stored["metadata"]["author"]) == (
        "Harbour manual",
        "odt",
        "Ada Quay",
    )
    for question, document in [
        ("when do the lock gates shut", "odf/manual.odt"),
        ("which ship is moored at the north quay", "odf/berths.ods"),
        ("removing mud from the channel", "odf/talk.odp"),
    ]:
        hits = ok(server.get("/search", params={"q": question, "k": 1}))["hits"]
        assert hits[0]["doc_id"] == document, question
    hits = ok(server.get("/search", params={"q": "removing mud from the channel", "k": 1}))["hits"]
    assert hits[0]["page"] == 2  # the slide


def test_a_saved_email_is_searchable_and_filterable_by_its_sender(server: httpx.Client) -> None:
    mail = EmailMessage()
    mail["Subject"] = "Dredging budget"
    mail["From"] = "Ada Quay <ada@example.com>"
    mail["Date"] = "Tue, 01 Dec 2026 09:30:00 +0000"
    mail.set_content("The board approved money to remove silt from the harbour channel next spring.")
    ok(upload(server, [("budget.eml", bytes(mail))], id_prefix="mail/"))
    stored = ok(server.get("/documents/mail/budget.eml"))
    assert (stored["title"], stored["metadata"]["format"]) == ("Dredging budget", "eml")
    sender = "Ada Quay <ada@example.com>"
    assert found_by_author(server, "paying to clear mud from the channel", sender)[:1] == ["mail/budget.eml"]
    # The same from Outlook (dragged out of it as a .msg), which was refused
    outlook = msg_bytes(
        "Lock repairs",
        "The west lock gates will be rebuilt over the winter, so boats use the east lock until March.",
        sender=("Ada Quay", "ada@example.com"),
    )
    ok(upload(server, [("repairs.msg", outlook)], id_prefix="mail/"))
    stored = ok(server.get("/documents/mail/repairs.msg"))
    assert (stored["title"], stored["metadata"]["format"]) == ("Lock repairs", "msg")
    outlook_sender = '"Ada Quay" <ada@example.com>'
    assert found_by_author(server, "when is the western lock closed for work", outlook_sender)[:1] == [
        "mail/repairs.msg"
    ]


def test_a_notebook_is_found_by_its_prose_and_its_code_not_its_outputs(server: httpx.Client) -> None:
    notebook = notebook_bytes(
        [
            ("markdown", "# Ferry delays\n\nWinter storms cancel the morning ferry more than anything."),
            ("code", "cancelled = trips[trips.status == 'cancelled'].groupby('month').size()"),
        ],
        {"language_info": {"name": "python"}, "authors": [{"name": "Ada Quay"}]},
    )
    ok(upload(server, [("delays.ipynb", notebook)], id_prefix="nb/"))
    stored = ok(server.get("/documents/nb/delays.ipynb"))
    assert (stored["title"], stored["metadata"]["format"], stored["metadata"]["programming_language"]) == (
        "Ferry delays",
        "ipynb",
        "python",
    )
    python = '{"field": "programming_language", "eq": "python"}'
    for question in ("why are boats called off in bad weather", "count cancelled trips per month"):
        hits = ok(server.get("/search", params={"q": question, "filter": python}))["hits"]
        assert [hit["doc_id"] for hit in hits][:1] == ["nb/delays.ipynb"], question
    # The outputs (a training log in every code cell's) are not indexed
    log = ok(server.get("/search", params={"q": "epoch 1 loss 0.93", "mode": "keyword"}))["hits"]
    assert "nb/delays.ipynb" not in [hit["doc_id"] for hit in log]


def test_a_phrase_filter_by_get_and_post(server: httpx.Client) -> None:
    documents = [
        {"id": "ph/1", "text": "The ferry to the island leaves at dawn.", "metadata": {"shelf": "ph"}},
        {"id": "ph/2", "text": "An island ferry was cancelled at dawn.", "metadata": {"shelf": "ph"}},
    ]
    ok(server.post("/documents", json={"documents": documents}, headers=WRITE))
    shelf = {"field": "shelf", "eq": "ph"}
    spec = {"must": [shelf, {"phrase": "ferry to the island"}]}
    by_get = ok(server.get("/search", params={"q": "boats at sunrise", "filter": json.dumps(spec)}))
    by_post = ok(server.post("/search", json={"query": "boats at sunrise", "filter": spec}))
    assert [hit["doc_id"] for hit in by_get["hits"]] == [hit["doc_id"] for hit in by_post["hits"]] == ["ph/1"]
    refused = server.post("/search", json={"query": "boats", "filter": {"phrase": "?!"}})
    assert refused.status_code == 422
    assert "no words" in refused.text
    cancelled = {"must": [shelf, {"phrase": "cancelled"}]}
    deleted = ok(server.post("/documents/delete", json={"filter": cancelled}, headers=WRITE))
    assert deleted["deleted"] == ["ph/2"]


def test_a_meeting_transcript_is_found_by_what_was_said_and_by_whom(server: httpx.Client) -> None:
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Ada Quay>The dredger arrives in April to clear the "
        "channel.\n\n00:07:30.000 --> 00:07:34.000\n<v Brendan Ferry>Ticket prices for the ferry stay the "
        "same next year.\n"
    )
    ok(upload(server, [("board.vtt", vtt.encode())], id_prefix="meetings/"))
    stored = ok(server.get("/documents/meetings/board.vtt"))
    assert stored["metadata"]["speakers"] == ["Ada Quay", "Brendan Ferry"]
    ada = json.dumps({"field": "speakers", "eq": "Ada Quay"})
    hits = ok(server.get("/search", params={"q": "when is the mud removed from the harbour", "filter": ada}))
    assert [hit["doc_id"] for hit in hits["hits"]][:1] == ["meetings/board.vtt"]
    hits = ok(server.get("/search", params={"q": "will boat fares go up", "k": 1}))["hits"]
    assert hits[0]["doc_id"] == "meetings/board.vtt"
    assert hits[0]["text"].startswith("[00:07:30] Brendan Ferry: Ticket prices")


def test_an_rtf_letter_is_found_by_its_meaning_and_its_author(server: httpx.Client) -> None:
    """As macOS TextEdit saves a letter: an accented name, a link, a Word-style picture, the author's name."""
    letter = (
        b"{\\rtf1\\ansi\\ansicpg1252\\cocoartf2761{\\fonttbl\\f0\\fswiss\\fcharset0 Helvetica;}\n"
        b"{\\info{\\title Harbour letter}{\\author Zo\\'eb Quay}}\\f0\\fs24 Dear council,\\\n\\\n"
        b"the harbour master asks for the silt to be dredged from the channel before the "
        b'{\\field{\\*\\fldinst{HYPERLINK "https://example.org/regatta"}}{\\fldrslt summer regatta}}.\\\n'
        b"{\\*\\shppict{\\pict\\pngblip 89504e470d0a1a0a}}}"
    )
    ok(upload(server, [("letter.rtf", letter)], id_prefix="letters/"))
    stored = ok(server.get("/documents/letters/letter.rtf"))
    assert (stored["title"], stored["metadata"]["format"], stored["metadata"]["author"]) == (
        "Harbour letter",
        "rtf",
        "Zoë Quay",
    )
    assert "summer regatta" in stored["text"]
    assert "example.org" not in stored["text"]
    assert found_by_author(server, "removing mud before the boat race", "Zoë Quay")[:1] == [
        "letters/letter.rtf"
    ]


def test_a_latex_paper_is_found_by_its_meaning_with_its_title_and_authors(server: httpx.Client) -> None:
    """A paper's source as people upload it: preamble, title block, abstract, sections, citations, math."""
    paper = (
        b"\\documentclass{article}\n\\usepackage{amsmath}\n\\title{Silt in Tidal Channels}\n"
        b'\\author{Zo\\"{e} Quay \\and Brendan Ferry}\n\\begin{document}\n\\maketitle\n'
        b"\\begin{abstract}Dredging keeps the harbour mouth open for ferries.\\end{abstract}\n"
        b"\\section{Method}\\label{sec:m}\nWe measured sediment at low water~\\cite{quay2021}, with "
        b"$d = v t$.\n\\end{document}\n"
    )
    ok(upload(server, [("silt.tex", paper)], id_prefix="papers/"))
    stored = ok(server.get("/documents/papers/silt.tex"))
    assert (stored["title"], stored["metadata"]["format"], stored["metadata"]["author"]) == (
        "Silt in Tidal Channels",
        "latex",
        ["Zoë Quay", "Brendan Ferry"],
    )
    assert "## Method" in stored["text"]
    assert "cite" not in stored["text"]
    assert found_by_author(server, "clearing mud so boats can enter the port", "Zoë Quay")[:1] == [
        "papers/silt.tex"
    ]


def test_word_excel_and_powerpoint_97_files_are_found_by_meaning_cells_and_notes(
    server: httpx.Client,
) -> None:
    """The real files LibreOffice saved (tests/data/files/make.py): a .doc, an .xls and a .ppt, over HTTP."""
    names = ("lighthouse.doc", "stations.xls", "lighthouse.ppt")
    files = [(name, (FILES / name).read_bytes()) for name in names]
    ok(upload(server, files, id_prefix="old/"))
    stored = ok(server.get("/documents/old/lighthouse.doc"))
    assert (stored["title"], stored["metadata"]["format"]) == ("Coastal notes", "doc")
    query: dict[str, str | int] = {
        "q": "who looked after the light before it was automatic",
        "k": 2,
        "group_by": "document",
    }
    hits = ok(server.get("/search", params=query))
    # the same keepers' page in both (and the one hit of each document)
    assert {hit["doc_id"] for hit in hits["hits"]} == {"old/lighthouse.doc", "old/lighthouse.ppt"}
    hits = ok(server.get("/search", params={"q": "South Point light range", "mode": "keyword", "k": 1}))
    assert hits["hits"][0]["doc_id"] == "old/stations.xls"
    assert "| South Point | Oc R 5s | 12.5 | 1902-11-12 |" in hits["hits"][0]["text"]
    deck = ok(server.get("/documents/old/lighthouse.ppt"))
    assert (deck["title"], deck["metadata"]["format"], deck["metadata"]["pages"]) == (
        "Coastal notes",
        "ppt",
        3,
    )
    hits = ok(server.get("/search", params={"q": "fog bell at the Lizard", "mode": "keyword", "k": 1}))
    assert (hits["hits"][0]["doc_id"], hits["hits"][0]["page"]) == ("old/lighthouse.ppt", 1)  # its notes


def zip_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_of_a_folder_becomes_its_files_documents(server: httpx.Client, pdfs: dict[str, bytes]) -> None:
    """A folder zipped by a file manager: real PDF, DOCX and Markdown files under its name, a picture beside
    them, macOS's resource forks and a hidden file; each file semsearch reads becomes a document with its
    path, found by its meaning; the rest is reported, not refused."""
    folder = [
        ("coast/lighthouse.pdf", (FILES / "lighthouse.pdf").read_bytes()),
        ("coast/notes/lighthouse.docx", (FILES / "lighthouse.docx").read_bytes()),
        ("coast/bread.md", b"# Bread\n\n" + TOPICS[2][1].encode()),
        ("coast/photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00"),
        ("coast/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("__MACOSX/coast/._bread.md", b"\x00\x05\x16\x07"),
    ]
    answer = ok(upload(server, [("coast.zip", zip_of(folder))], id_prefix="zip/", metadata='{"team": "sea"}'))
    ids = ["zip/coast/bread.md", "zip/coast/lighthouse.pdf", "zip/coast/notes/lighthouse.docx"]
    assert [d["id"] for d in answer["documents"]] == ids
    picture = {
        "file": "coast.zip",
        "status": None,
        "detail": "1 file of types semsearch does not read (.png 1)",
    }
    assert answer["skipped"] == [picture]
    stored = ok(server.get("/documents/zip/coast/notes/lighthouse.docx"))
    assert stored["metadata"]["archive"] == "coast.zip"
    assert stored["metadata"]["path"] == "coast/notes/lighthouse.docx"
    assert (stored["metadata"]["team"], stored["metadata"]["format"]) == ("sea", "docx")
    only = json.dumps({"must": [{"field": "archive", "eq": "coast.zip"}, {"field": "format", "eq": "pdf"}]})
    hit = ok(
        server.get("/search", params={"q": "how does the lens bend the light of a flame", "filter": only})
    )
    assert (hit["hits"][0]["doc_id"], hit["hits"][0]["page"]) == ("zip/coast/lighthouse.pdf", 2)
    hit = ok(server.get("/search", params={"q": "why does sourdough taste sour", "k": 1}))
    assert hit["hits"][0]["doc_id"] == "zip/coast/bread.md"

    # The same through the Python client, in the background: the answer says what was passed over.
    with SemsearchClient(
        str(server.base_url), api_key=WRITE["Authorization"].removeprefix("Bearer ")
    ) as client:
        queued = client.upload_files([("coast.zip", zip_of(folder))], id_prefix="later/", wait=False)
        assert isinstance(queued, TaskOut)
        assert [s.model_dump() for s in queued.skipped] == [picture]
        assert client.wait_for_task(queued.task_id, timeout=120).status == "done"
        assert client.get_document("later/coast/bread.md").title == "Bread"


def test_a_zip_with_files_that_cannot_be_read_goes_in_without_them_or_not_at_all_if_strict(
    server: httpx.Client, pdfs: dict[str, bytes]
) -> None:
    """As in a folder, a file of an archive that cannot be read is passed over and named with its reason;
    with strict=true it refuses the upload, as a file sent alone does, and nothing changes."""
    before = ok(server.get("/stats"))["documents"]
    files = [
        ("fine.txt", b"A note beside the archive."),
        (
            "reports.zip",
            zip_of(
                [
                    ("reports/topics.pdf", pdfs["topics.pdf"]),
                    ("reports/locked.pdf", encrypt_pdf(pdfs["topics.pdf"], "secret")),
                    ("reports/big.txt", b"word " * 150_000),  # over SEMSEARCH_MAX_FILE_BYTES
                    ("fine.txt", b"The same id as the file beside the archive."),
                ]
            ),
        ),
    ]
    strict = upload(server, files, id_prefix="strict/", strict="true")
    assert strict.status_code == 413, strict.text
    assert strict.json()["detail"].startswith("3 of 5 files cannot be indexed, so none was: ")
    problems = {item["file"]: item for item in strict.json()["files"]}
    expected = {"reports.zip/reports/locked.pdf", "reports.zip/reports/big.txt", "reports.zip/fine.txt"}
    assert set(problems) == expected
    assert "password" in problems["reports.zip/reports/locked.pdf"]["detail"]
    assert problems["reports.zip/reports/big.txt"]["status"] == 413
    assert "SEMSEARCH_MAX_FILE_BYTES" in problems["reports.zip/reports/big.txt"]["detail"]
    assert "a second file of this name" in problems["reports.zip/fine.txt"]["detail"]
    assert server.get("/documents/strict/fine.txt").status_code == 404
    assert ok(server.get("/stats"))["documents"] == before

    answer = ok(upload(server, files, id_prefix="lenient/"))
    assert [d["id"] for d in answer["documents"]] == ["lenient/fine.txt", "lenient/reports/topics.pdf"]
    passed = {item["file"]: item for item in answer["skipped"]}
    assert set(passed) == expected
    assert passed["reports.zip/reports/big.txt"]["status"] == 413
    assert ok(server.get("/documents/lenient/fine.txt"))["text"] == "A note beside the archive."
    assert ok(server.get("/stats"))["documents"] == before + 2

    # Nothing in the archives could be read: refused, each file named, as there is nothing to add.
    nothing = upload(server, [("scans.zip", zip_of([("a.pdf", b"%PDF-1.7\n"), ("b.txt", b" ")]))])
    assert nothing.status_code == 422, nothing.text
    assert {item["file"] for item in nothing.json()["files"]} == {"scans.zip/a.pdf", "scans.zip/b.txt"}
    pictures = upload(server, [("pictures.zip", zip_of([("a.png", b"\x89PNG"), ("b.jpg", b"\xff\xd8")]))])
    assert pictures.status_code == 415, pictures.text
    assert (
        "no file semsearch reads in it: 2 files of types semsearch does not read" in pictures.json()["detail"]
    )
    assert ok(server.get("/stats"))["documents"] == before + 2


def test_a_mailbox_export_is_searched_message_by_message(
    server: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A mailbox as Gmail's Takeout or Thunderbird exports it (written here by Python's mailbox module):
    each message is a document, found by its meaning, filtered by its sender, cited on its own."""
    mails = []
    for sender, subject, body, message_id in [
        (
            "Ada Quay <ada@example.org>",
            "Dredging",
            "The channel must be dredged before the autumn storms silt it up.",
            "<d1@example.org>",
        ),
        (
            "Bo Lind <bo@example.org>",
            "Lunch",
            "Shall we try the new fish restaurant by the ferry terminal on Friday?",
            "<l1@example.org>",
        ),
    ]:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = (
            sender,
            "port@example.org",
            subject,
            message_id,
        )
        mail["Date"] = "Tue, 03 Mar 2026 09:30:00 +0000"
        mail["X-Gmail-Labels"] = "Inbox,Works" if subject == "Dredging" else "Inbox"
        mail.set_content(body + "\nFrom the harbour office.")
        mails.append(mail)
    scan = EmailMessage()
    scan["From"], scan["Subject"] = "Bo Lind <bo@example.org>", "Scan"
    scan.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="scan.pdf")
    path = tmp_path_factory.mktemp("mail") / "Port.mbox"
    box = mailbox.mbox(path)
    for mail in [*mails, scan]:
        box.add(mail)
    box.close()

    answer = ok(upload(server, [("Port.mbox", path.read_bytes())], id_prefix="mail/"))
    assert [d["id"] for d in answer["documents"]] == [
        "mail/Port.mbox/d1@example.org",
        "mail/Port.mbox/l1@example.org",
    ]
    [passed] = answer["skipped"]
    assert (passed["file"], passed["status"]) == ("Port.mbox/message-3", 422)
    assert "the message has no text" in passed["detail"]
    only = json.dumps({"field": "mailbox", "eq": "Port.mbox"})
    hits = ok(server.get("/search", params={"q": "clearing silt from the shipping lane", "filter": only}))[
        "hits"
    ]
    assert hits[0]["doc_id"] == "mail/Port.mbox/d1@example.org"
    assert found_by_author(server, "where to eat", "Bo Lind <bo@example.org>")[:1] == [
        "mail/Port.mbox/l1@example.org"
    ]
    stored = ok(server.get("/documents/mail/Port.mbox/l1@example.org"))
    assert (stored["title"], stored["metadata"]["mailbox"], stored["metadata"]["message"]) == (
        "Lunch",
        "Port.mbox",
        2,
    )
    assert "From the harbour office." in stored["text"]  # a body line the mailbox quoted, read as written
    works = json.dumps({"field": "labels", "eq": "Works"})  # a Gmail label, as its folder
    hits = ok(server.get("/search", params={"q": "lunch", "filter": works}))["hits"]
    assert {hit["doc_id"] for hit in hits} == {"mail/Port.mbox/d1@example.org"}

    refused = upload(server, [("notes.mbox", b"not a mailbox at all\n")])
    assert refused.status_code == 415, refused.text
    assert "upload it to the service, which makes each message a document" in refused.json()["detail"]


PROJECT = [
    (
        "tram/uploads.py",
        b'"""Sending files to the depot server."""\n\nimport time\n\n\n'
        b"def send_with_retries(client, path, attempts=5):\n"
        b'    """Upload one file; when the connection drops, wait longer each time and try again."""\n'
        b"    for attempt in range(attempts):\n"
        b"        try:\n"
        b"            return client.put(path)\n"
        b"        except ConnectionError:\n"
        b"            time.sleep(2**attempt)\n"
        b'    raise RuntimeError(f"gave up on {path}")\n\n\n'
        b"def checksum(data):\n"
        b'    """The SHA-256 of the bytes, hex."""\n'
        b"    import hashlib\n\n"
        b"    return hashlib.sha256(data).hexdigest()\n",
    ),
    (
        "tram/config.yaml",
        b"# How the depot server is run\nserver:\n  worker_processes: 4\n  listen_port: 8080\n"
        b"  request_timeout_seconds: 30\n",
    ),
    ("tram/logs/depot.log", b"2026-11-30 03:12:09 ERROR write failed: no space left on device /var/depot\n"),
    ("tram/Dockerfile", b'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "-m", "tram"]\n'),
    ("tram/README", b"Tram depot tools: upload timetables to the depot server and check them."),
]


def test_a_zipped_project_is_searched_by_its_code_settings_and_logs(server: httpx.Client) -> None:
    """A project's folder zipped as it is on disk: Python, YAML, a log, a Dockerfile and a README without a
    suffix all become documents, its dependencies are left out as its .gitignore says; a function is found
    by what it does, a setting by what it sets, a log line by what went wrong, and the language filters."""
    dependencies = [
        ("tram/.gitignore", b"node_modules/\n"),
        ("tram/node_modules/left-pad/index.js", b"module.exports = function pad(s) { return ' ' + s }"),
    ]
    answer = ok(upload(server, [("tram.zip", zip_of(PROJECT + dependencies))], id_prefix="code/"))
    assert [d["id"] for d in answer["documents"]] == sorted(f"code/{path}" for path, _ in PROJECT)
    left_out = "1 path .gitignore files leave out (tram/node_modules/)"
    assert answer["skipped"] == [{"file": "tram.zip", "status": None, "detail": left_out}]
    stored = ok(server.get("/documents/code/tram/uploads.py"))
    assert (stored["title"], stored["metadata"]["format"], stored["metadata"]["programming_language"]) == (
        "uploads.py",
        "code",
        "python",
    )
    assert stored["text"] == PROJECT[0][1].decode()  # as it stands: indentation, blank lines, quotes
    project = {"field": "archive", "eq": "tram.zip"}
    for question, expected in (
        ("where does it try again after the network connection fails", "code/tram/uploads.py"),
        ("how many worker processes does the server run", "code/tram/config.yaml"),
        ("the disk ran out of room", "code/tram/logs/depot.log"),
        ("which base image is the container built from", "code/tram/Dockerfile"),
    ):
        hits = ok(server.post("/search", json={"query": question, "filter": project, "k": 1}))["hits"]
        assert [hit["doc_id"] for hit in hits] == [expected], question
    python = {"must": [project, {"field": "programming_language", "eq": "python"}]}
    question = "the SHA-256 digest of some bytes, in hex"
    hits = ok(server.post("/search", json={"query": question, "filter": python}))["hits"]
    assert {hit["doc_id"] for hit in hits} == {"code/tram/uploads.py"}
    # A function is a chunk of its own: the hit for hashing is the checksum function, not the retry loop
    assert "def checksum" in hits[0]["text"]
    assert "send_with_retries" not in hits[0]["text"]
