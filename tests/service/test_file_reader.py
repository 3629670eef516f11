"""service.file_reader: files read in a worker process give what reading them in process gives; a reader that
crashes or runs too long costs its file, not the server, and the next file is read."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from index.ingest.extract import CorruptFileError, UnsupportedFormatError
from index.ingest.sources import FileContents, file_document
from index.ingest.uploaded import read_file
from index.types import Document
from service.errors import NotReadyError
from service.file_reader import FileReader


def _slow(doc_id: str, name: str, *args: Any, **kwargs: Any) -> FileContents:
    if name.startswith("slow"):
        time.sleep(60)
    return read_file(doc_id, name, *args, **kwargs)


def _crashing(doc_id: str, name: str, *args: Any, **kwargs: Any) -> FileContents:
    if name.startswith("crash"):
        os._exit(3)  # as a reader's segfault, or the kernel's OOM killer, would end it
    return read_file(doc_id, name, *args, **kwargs)


def document(files: FileReader, *args: Any) -> Document:
    """The one document of a file that is no archive, read by ``files``."""
    [read] = files.contents(*args, max_file_bytes=1_000_000).documents
    return read


@pytest.fixture
def reader() -> Any:
    made: list[FileReader] = []

    def make(**kwargs: Any) -> FileReader:
        made.append(FileReader(**kwargs))
        return made[-1]

    yield make
    for each in made:
        each.close()


ROOT = Path(__file__).resolve().parents[2]
PAGE = b"<html><head><title>Tides</title></head><body><p>The tide turns twice a day.</p></body></html>"


def test_a_file_read_in_a_process_is_what_it_is_read_as_in_process(reader: Any) -> None:
    in_process = file_document("tides.html", "tides.html", PAGE, {"team": "harbour"})
    files = reader(processes=1)
    assert document(files, "tides.html", "tides.html", PAGE, {"team": "harbour"}) == in_process
    legacy = "caf\u00e9 cr\u00e8me".encode("cp1252")
    assert document(files, "m.txt", "m.txt", legacy, None, "cp1252").text == "caf\u00e9 cr\u00e8me"
    assert document(reader(processes=0), "tides.html", "tides.html", PAGE, {"team": "harbour"}) == in_process


def test_what_is_wrong_with_a_file_comes_back_as_it_is_raised(reader: Any) -> None:
    files = reader(processes=1)
    with pytest.raises(CorruptFileError, match=r"empty\.txt: the file is empty"):
        document(files, "empty.txt", "empty.txt", b"  ")
    with pytest.raises(UnsupportedFormatError, match=r"talk\.mp4: audio or video"):
        document(files, "talk.mp4", "talk.mp4", b"\x00\x00\x00 ftypisom")
    assert document(files, "ok.txt", "ok.txt", b"fine").text == "fine"


def test_a_file_read_too_long_is_refused_and_the_next_is_read(reader: Any) -> None:
    files = reader(processes=1, timeout_seconds=3, read=_slow)
    before = set(multiprocessing.active_children())
    document(files, "warm.txt", "warm.txt", b"starts the process")  # its start is not the slow file's time
    started_here = set(multiprocessing.active_children()) - before
    assert len(started_here) == 1
    started = time.monotonic()
    with pytest.raises(CorruptFileError, match=r"slow\.txt: reading it took longer than 3 s"):
        document(files, "slow.txt", "slow.txt", b"never read")
    assert time.monotonic() - started < 30  # stopped, not waited for
    assert document(files, "next.txt", "next.txt", b"read after").text == "read after"
    # The slow file's process was killed, not left reading; the next file had a new one.
    (slow_reader,) = started_here
    slow_reader.join(10)
    assert not slow_reader.is_alive()
    assert len(set(multiprocessing.active_children()) - before) == 1


def test_a_reader_that_crashes_costs_its_file_only(reader: Any) -> None:
    files = reader(processes=1, read=_crashing)
    with pytest.raises(CorruptFileError, match=r"crash\.txt: the reader stopped on this file"):
        document(files, "crash.txt", "crash.txt", b"ends the process")
    assert document(files, "next.txt", "next.txt", b"read after").text == "read after"


def test_files_uploaded_at_once_wait_their_turn(reader: Any) -> None:
    files = reader(processes=1)
    with ThreadPoolExecutor(4) as threads:
        texts = list(
            threads.map(lambda i: document(files, f"{i}.txt", f"{i}.txt", b"note %d" % i).text, range(8))
        )
    assert texts == [f"note {i}" for i in range(8)]


def test_where_no_process_can_start_files_are_read_in_process(
    reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_semaphores(*_: Any, **__: Any) -> Any:
        raise OSError(38, "Function not implemented")  # sem_open in some sandboxes

    monkeypatch.setattr("service.file_reader.ProcessPoolExecutor", no_semaphores)
    files = reader(processes=1)
    before = set(multiprocessing.active_children())
    assert document(files, "ok.txt", "ok.txt", b"still read").text == "still read"
    assert set(multiprocessing.active_children()) <= before  # none started


def test_a_script_without_a_main_guard_still_reads_its_files(tmp_path: Path) -> None:
    """A spawned process imports the program's main module again: a script that reads files at import
    time, unguarded, would start a reader in the reader. The reader process does not start; files are read
    in process, with a warning saying why."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import logging\n"
        "logging.basicConfig()\n"
        "from service.file_reader import FileReader\n"
        "reader = FileReader(1)\n"
        "read = reader.contents('a.txt', 'a.txt', b'read all the same', max_file_bytes=100)\n"
        "print(read.documents[0].text)\n"
        "reader.close()\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "read all the same"
    assert "needs `if __name__ == '__main__':`" in done.stderr


def test_a_file_sent_as_the_server_stops_is_refused_as_unavailable(reader: Any) -> None:
    files = reader(processes=1)
    files.close()
    with pytest.raises(NotReadyError, match="shutting down"):
        document(files, "late.txt", "late.txt", b"too late")


def _scanning(doc_id: str, name: str, *args: Any, **kwargs: Any) -> FileContents:
    """A reader of ``scan...`` files that reads a page by OCR every 0.5 s for 4 s, as a scanned book would."""
    if name.startswith("scan"):
        from index.ingest.extract import ocr

        for _ in range(8):
            time.sleep(0.5)
            ocr.page_read()
    return read_file(doc_id, name, *args, **kwargs)


def test_a_scan_read_page_by_page_is_not_stopped_by_the_time_limit(reader: Any) -> None:
    """Reading a scanned PDF takes seconds a page: a 600 s limit refused any scan of more than about 120
    pages. Each page read starts the file's time again; a reader that reads no page is stopped as before."""
    files = reader(processes=1, timeout_seconds=2, read=_scanning)
    document(files, "warm.txt", "warm.txt", b"starts the process")
    assert document(files, "scan.txt", "scan.txt", b"four seconds of pages").text == "four seconds of pages"
    stuck = reader(processes=1, timeout_seconds=2, read=_slow)
    with pytest.raises(CorruptFileError, match=r"slow\.txt: reading it took longer than 2 s"):
        document(stuck, "slow.txt", "slow.txt", b"never read")
