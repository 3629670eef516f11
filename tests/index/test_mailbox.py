"""Mailboxes (.mbox) read as their messages (index.ingest.mailbox)."""

from __future__ import annotations

import io
import mailbox
import re
import tempfile
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest import mailbox as mailboxes
from index.ingest.extract import CorruptFileError, NoTextError, UnsupportedFormatError, extract
from index.ingest.mailbox import messages
from index.ingest.uploaded import read_file


def message(subject: str, body: str, sender: str = "Ada Quay <ada@example.org>", **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "harbour@example.org"
    mail["Subject"] = subject
    mail["Date"] = "Tue, 03 Mar 2026 09:30:00 +0000"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


def mbox_of(mails: list[bytes], tmp_path: Path) -> bytes:
    """A mailbox written by Python's mailbox module, as a mail client writes one."""
    path = tmp_path / "written.mbox"
    box = mailbox.mbox(path)
    for mail in mails:
        box.add(mail)
    box.close()
    return path.read_bytes()


def test_each_message_of_a_mailbox_is_a_document(tmp_path: Path) -> None:
    mails = [
        message(
            "Tide tables",
            "The spring tide peaks at 6.1 metres on Thursday.",
            Message_ID="<t1@example.org>",
            X_Gmail_Labels='Inbox,Important,"Travel, 2026",Inbox',
        ),
        message(
            "Crane hire", "From the quay, the crane lifts twelve tonnes.\nFrom now on book it a day ahead."
        ),
        message("Tide tables", "A second message with the first one's id.", Message_ID="<t1@example.org>"),
    ]
    attachment_only = EmailMessage()
    attachment_only["From"], attachment_only["Subject"] = "Bo <bo@example.org>", "Scan"
    attachment_only.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="scan.pdf")
    data = mbox_of([*mails, attachment_only.as_bytes()], tmp_path)
    contents = read_file("unused", "Harbour.mbox", data, {"team": "port"}, id_prefix="mail/")
    assert contents.archive
    assert [d.id for d in contents.documents] == [
        "mail/Harbour.mbox/t1@example.org",
        "mail/Harbour.mbox/message-2",
        "mail/Harbour.mbox/message-3",
    ]
    assert contents.paths == ["message-1", "message-2", "message-3"]
    first, crane, _ = contents.documents
    assert first.title == "Tide tables"
    assert "The spring tide peaks at 6.1 metres on Thursday." in first.text
    assert {k: first.metadata[k] for k in ("team", "mailbox", "message", "format", "author")} == {
        "team": "port",
        "mailbox": "Harbour.mbox",
        "message": 1,
        "format": "eml",
        "author": "Ada Quay <ada@example.org>",
    }
    assert first.metadata["created"].startswith("2026-03-03T09:30:00")
    assert first.metadata["labels"] == ["Inbox", "Important", "Travel, 2026"]  # Gmail's, each once
    assert "labels" not in crane.metadata
    # The mailbox quoted the body's lines that start with "From "; they read as written.
    assert "From the quay, the crane lifts twelve tonnes.\nFrom now on book it a day ahead." in crane.text
    [(label, error)] = contents.problems
    assert label == "message-4"
    assert isinstance(error, NoTextError)
    assert "Harbour.mbox/message-4.eml: the message has no text" in str(error)


def test_a_file_named_mbox_that_is_no_mailbox_is_refused_with_what_to_do() -> None:
    with pytest.raises(UnsupportedFormatError, match="an mbox mailbox; upload it to the service"):
        read_file("x.mbox", "x.mbox", b"just some notes\n")
    with pytest.raises(UnsupportedFormatError, match="which makes each message a document"):
        extract(b"From a@example.org Tue Mar  3 09:30:00 2026\nSubject: hi\n\nbody\n", "inbox.mbox")
    empty = read_file("x.mbox", "x.mbox", b"From \n")
    assert empty.documents == []
    [(label, error)] = empty.problems
    assert (label, str(error)) == ("message-1", "x.mbox/message-1.eml: the file is empty")
    assert isinstance(error, CorruptFileError)


_LINE = st.text(st.sampled_from("From >abc \u00e9"), max_size=12) | st.builds(
    lambda quotes, rest: ">" * quotes + "From " + rest, st.integers(0, 3), st.text(st.sampled_from("From >a"))
)


def _mboxrd(bodies: list[list[str]]) -> bytes:
    """The mboxrd format written plainly (its reference: a From_ line before each message, and one more '>'
    before each body line that starts with '>'s and 'From ')."""
    out = []
    for lines in bodies:
        out.append("From sender@example.org Tue Mar  3 09:30:00 2026\n")
        out.append("Subject: s\n\n")
        out.extend(">" + line + "\n" if re.match(r">*From ", line) else line + "\n" for line in lines)
        out.append("\n")
    return "".join(out).encode()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_LINE, max_size=6), min_size=1, max_size=5))
def test_messages_come_back_as_they_were_written(bodies: list[list[str]]) -> None:
    """Written as mboxrd (Gmail's Takeout), each message reads back as it was, however its lines start;
    Python's mailbox module finds the same number of messages in the same bytes."""
    data = _mboxrd(bodies)
    read = list(messages(data))
    assert data.count(b"\nFrom ") + data.startswith(b"From ") == len(read)  # the count the limit reads
    assert read == [
        ("Subject: s\n\n" + "".join(line + "\n" for line in lines) + "\n").encode() for lines in bodies
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "box.mbox"
        path.write_bytes(data)
        assert len(mailbox.mbox(path)) == len(read)


def test_a_takeout_archive_s_mailboxes_are_read_as_their_messages(tmp_path: Path) -> None:
    """Google Takeout gives a ZIP holding Takeout/Mail/<label>.mbox: its messages are documents too."""
    mails = [message("Ferry times", "The winter ferry leaves at seven.", Message_ID="<f1@example.org>")]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Takeout/archive_browser.html", "<html><body><p>Your Takeout archive.</p></body></html>")
        z.writestr("Takeout/Mail/Travel.mbox", mbox_of(mails, tmp_path))
        z.writestr("Takeout/Mail/Broken.mbox", b"not a mailbox")
    contents = read_file("unused", "takeout-2026.zip", archive.getvalue(), {"team": "me"}, id_prefix="t/")
    assert [d.id for d in contents.documents] == [
        "t/Takeout/Mail/Travel.mbox/f1@example.org",
        "t/Takeout/archive_browser.html",
    ]
    assert contents.paths == ["Takeout/Mail/Travel.mbox/message-1", "Takeout/archive_browser.html"]
    ferry = contents.documents[0]
    assert ferry.title == "Ferry times"
    assert {k: ferry.metadata.get(k) for k in ("team", "archive", "mailbox", "message", "path")} == {
        "team": "me",
        "archive": "takeout-2026.zip",
        "mailbox": "Takeout/Mail/Travel.mbox",
        "message": 1,
        "path": None,
    }
    [(path, error)] = contents.problems
    assert path == "Takeout/Mail/Broken.mbox"
    assert isinstance(error, UnsupportedFormatError)


def test_a_mailbox_of_more_messages_than_are_read_is_refused_before_any_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mailboxes, "MAX_MESSAGES", 3)
    three = b"From a\nSubject: 1\n\nx\n\nFrom b\nSubject: 2\n\n>From y\nFrom c\nSubject: 3\n\nz\n"
    assert len(read_file("u", "ok.mbox", three).documents) == 3
    with pytest.raises(
        CorruptFileError, match=r"ok\.mbox: 4 messages, more than the 3 read from one mailbox"
    ):
        read_file("u", "ok.mbox", three + b"From d\n\nw\n")


def test_a_zip_of_mailboxes_is_held_to_the_messages_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailboxes, "MAX_MESSAGES", 3)
    two = b"From a\nSubject: 1\n\nx\n\nFrom b\nSubject: 2\n\ny\n"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Mail/A.mbox", two)
        z.writestr("Mail/B.mbox", two)  # two more than the one left
    contents = read_file("u", "takeout.zip", archive.getvalue())
    assert contents.paths == ["Mail/A.mbox/message-1", "Mail/A.mbox/message-2"]
    [(path, error)] = contents.problems
    assert path == "Mail/B.mbox"
    assert "2 messages, more than the 1 read from one mailbox (or its archive)" in str(error)
