"""E-mail files: .eml written by the standard library's email package, as mail clients write them, and
Outlook's .msg as Outlook lays them out (tests/documents.py's msg_bytes): subject, sender and date as title
and metadata, the plain-text body or else the HTML one, attachments named."""

from __future__ import annotations

import datetime
from email.message import EmailMessage

import pytest

from index.ingest.extract import CorruptFileError, NoTextError, extract
from index.ingest.extract.dispatch import sniff
from index.ingest.extract.text import MAX_HTML_ELEMENTS
from tests.documents import msg_bytes


def message(**headers: str) -> EmailMessage:
    made = EmailMessage()
    for name, value in headers.items():
        made[name.replace("_", "-")] = value
    return made


def test_a_message_reads_with_its_headers_its_plain_body_and_its_attachments_named() -> None:
    mail = message(
        Subject="Über die Schleuse: Öffnungszeiten",  # sent RFC 2047-encoded
        From="Ada Quay <ada@example.com>",
        To="board@example.com",
        Date="Tue, 01 Dec 2026 09:30:00 +0100",
    )
    mail.set_content("The lock gates close two hours before high water.\n\n> An earlier reply.\n")
    mail.add_alternative("<p>The HTML copy of the same text.</p>", subtype="html")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="schedule.pdf")
    data = bytes(mail)
    assert b"=?utf-8?" in data  # the subject travels encoded, as a mail client sends it
    extracted = extract(data, "lock.eml")
    assert extracted.format == "eml"
    assert extracted.title == "Über die Schleuse: Öffnungszeiten"
    assert extracted.fields == {
        "author": "Ada Quay <ada@example.com>",
        "subject": "Über die Schleuse: Öffnungszeiten",
        "created": "2026-12-01T09:30:00+01:00",
    }
    assert extracted.text == (
        "From: Ada Quay <ada@example.com>\nTo: board@example.com\nDate: Tue, 01 Dec 2026 09:30:00 +0100\n\n"
        "The lock gates close two hours before high water.\n\n> An earlier reply.\n\n"
        "Attachments: schedule.pdf\n"
    )


def test_an_html_only_message_is_read_as_a_page() -> None:
    mail = message(Subject="Newsletter", From="news@example.com")
    mail.set_content(
        "<html><body><nav>Home | Archive</nav><h1>Harbour news</h1><p>The ferry runs again.</p></body>",
        subtype="html",
    )
    assert extract(bytes(mail), "news.eml").text == (
        "From: news@example.com\n\n# Harbour news\n\nThe ferry runs again.\n"
    )


def test_a_message_without_a_body_or_with_a_bomb_of_a_body_is_refused() -> None:
    mail = message(Subject="Scan", From="scanner@example.com")
    mail.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="scan.png")
    with pytest.raises(NoTextError, match="only headers and attachments"):
        extract(bytes(mail), "scan.eml")
    bomb = message(Subject="Tags", From="x@example.com")
    bomb.set_content("<b>" * (MAX_HTML_ELEMENTS + 1), subtype="html")
    with pytest.raises(ValueError, match="elements of markup"):
        extract(bytes(bomb), "tags.eml")


def test_damaged_headers_and_an_unknown_charset_still_give_the_text() -> None:
    raw = (
        b"Subject: =?x-unknown?q?caf=E9?=\r\nFrom: <<<\r\nDate: not a date\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nThe body in an unknown charset: caf\xc3\xa9.\r\n"
    )
    extracted = extract(raw, "odd.eml")
    assert "The body in an unknown charset: café." in extracted.text
    assert "created" not in extracted.fields


# -- Outlook ----------------------------------------------------------------------------------------------


def test_an_outlook_message_reads_as_an_eml_does() -> None:
    """What dragging a message out of Outlook makes: it was refused ("save it as .eml first")."""
    data = msg_bytes(
        "Über die Schleuse: Öffnungszeiten",
        "The lock gates close two hours before high water.\r\n\r\n> An earlier reply.\r\n",
        html="<p>The HTML copy of the same text.</p>",
        sender=("Ada Quay", "ada@example.com"),
        to=[("Harbour board", "board@example.com"), ("Zoë Quay", "zoe@example.com")],
        sent=datetime.datetime(2026, 12, 1, 8, 30, tzinfo=datetime.UTC),
        attachments=[("schedule.pdf", b"%PDF-1.4"), ("", b"an inline picture without a name")],
    )
    assert sniff(data, "lock") == "msg"  # by its bytes, whatever its name
    extracted = extract(data, "lock.msg")
    assert (extracted.format, extracted.title) == ("msg", "Über die Schleuse: Öffnungszeiten")
    assert extracted.fields == {
        "author": '"Ada Quay" <ada@example.com>',
        "subject": "Über die Schleuse: Öffnungszeiten",
        "created": "2026-12-01T08:30:00+00:00",
    }
    assert extracted.text == (
        'From: "Ada Quay" <ada@example.com>\nTo: Harbour board; Zoë Quay\n'
        "Date: Tue, 01 Dec 2026 08:30:00 +0000\n\n"
        "The lock gates close two hours before high water.\n\n> An earlier reply.\n\n"
        "Attachments: schedule.pdf\n"
    )


def test_an_html_only_outlook_message_is_read_as_a_page_and_one_without_text_is_refused() -> None:
    html = "<html><body><nav>Home | Archive</nav><h1>Harbour news</h1><p>The ferry runs again.</p></body>"
    news = extract(msg_bytes("Newsletter", None, html=html, to=[]), "news.msg")
    assert news.text == 'From: "Ada Lovelace" <ada@example.org>\n\n# Harbour news\n\nThe ferry runs again.\n'
    with pytest.raises(NoTextError, match="only headers and attachments"):
        extract(msg_bytes("Scan", None, attachments=[("scan.png", b"\x89PNG")]), "scan.msg")
    with pytest.raises(ValueError, match="elements of markup"):
        extract(msg_bytes("Tags", None, html="<b>" * (MAX_HTML_ELEMENTS + 1)), "tags.msg")


def test_a_damaged_outlook_message_is_refused_by_name() -> None:
    data = bytearray(msg_bytes("Minutes", "Read me."))
    at = data.index("__properties_version1.0".encode("utf-16-le"))
    data[at : at + 4] = "xx".encode("utf-16-le")  # the properties stream's name: no property can be found
    with pytest.raises(CorruptFileError, match=r"minutes\.msg: "):
        extract(bytes(data), "minutes.msg")
    with pytest.raises(CorruptFileError, match="named as MSG but the bytes are not"):
        extract(b"\x00\x01 not an OLE2 file \x00", "minutes.msg")
