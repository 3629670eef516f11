"""Writes the small real files beside this script (run it again to remake them):

    python -m tests.data.files.make

lighthouse.pdf is printed by headless Chromium, three pages with a running header and footer; the DOCX and
PPTX are written by python-docx and python-pptx. lighthouse.doc and stations.xls, Word and Excel 97-2003
files, and lighthouse.ppt (PowerPoint 97-2003: python-pptx's slides with a text box and speaker notes), are
the DOCX, a CSV and a PPTX saved in those formats by LibreOffice (``soffice --headless --convert-to``),
where it is installed (Debian: libreoffice-writer-nogui, libreoffice-calc-nogui and
libreoffice-impress-nogui). The text is the project's own.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.documents import docx_bytes, pptx_bytes, print_pdfs, running, write

HERE = Path(__file__).resolve().parent

PAGES = [
    (
        "Keepers and their lamps",
        "Before electric light, a keeper climbed the tower at dusk to trim the wick and wind the clockwork "
        "that turned the lens. A night of fog meant no sleep at all: the fog bell had to be rung by hand "
        "every thirty seconds until the air cleared.",
    ),
    (
        "How the lens works",
        "A Fresnel lens folds a thick curved glass into rings of prisms, so that one small flame is bent "
        "into a single horizontal beam visible twenty nautical miles out. Each station flashes in its own "
        "rhythm, which lets a navigator tell one headland from the next.",
    ),
    (
        "Automation and after",
        "Once the lamps ran on mains power and a timer, the keepers were withdrawn; the last family left "
        "the island station in the spring. Today volunteers open the tower to visitors on summer weekends "
        "and a trust pays for the paint.",
    ),
]


def pdf() -> bytes:
    body = "".join(
        f'<section style="break-after:page"><h2>{head}</h2><p>{text}</p></section>' for head, text in PAGES
    )
    html = f"<html><head><title>Coastal notes</title></head><body>{body}</body></html>"
    furniture = {"header": running("Coastal Notes, issue 4"), "footer": running("Page {page} of {pages}")}
    (data,) = print_pdfs([(html, furniture)])
    return data


def main() -> None:
    write(HERE / "lighthouse.pdf", pdf())
    write(
        HERE / "lighthouse.docx",
        docx_bytes(
            "Coastal notes",
            [(head, [text]) for head, text in PAGES],
            [["Station", "Range (nm)"], ["North Point", "20"]],
        ),
    )
    write(HERE / "lighthouse.pptx", pptx_bytes([(head, text.split(". ")) for head, text in PAGES]))
    if shutil.which("soffice"):
        write(HERE / "lighthouse.doc", converted(HERE / "lighthouse.docx", "doc"))
        write(HERE / "stations.xls", converted(STATIONS, "xls", "stations.csv"))
        write(HERE / "lighthouse.ppt", converted(deck(), "ppt", "lighthouse.pptx"))


def deck() -> bytes:
    """The slides of PAGES, the last with a text box of its own beside its placeholders, the first with
    speaker notes."""
    import io

    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation(
        io.BytesIO(pptx_bytes([(head, text.split(". ")) for head, text in PAGES]))
    )
    presentation.core_properties.title = "Coastal notes"
    first, *_, last = presentation.slides
    first.notes_slide.notes_text_frame.text = "Mention the fog bell at the Lizard station."
    box = last.shapes.add_textbox(Inches(1), Inches(6), Inches(6), Inches(1))
    box.text_frame.text = "Visitor hours: Saturdays, May to September."
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


STATIONS = (
    b"Station,Light,Range (nmi),First lit\n"
    b"North Head,Fl W 10s,20,1861-05-01\n"
    b"South Point,Oc R 5s,12.5,1902-11-12\n"
)


def converted(source: Path | bytes, suffix: str, name: str = "") -> bytes:
    """``source`` (a file, or bytes to save as ``name``) as LibreOffice saves it as ``suffix``."""
    with tempfile.TemporaryDirectory() as folder:
        if isinstance(source, bytes):
            (Path(folder) / name).write_bytes(source)
            source = Path(folder) / name
        command = ["soffice", "--headless", "--convert-to", suffix, "--outdir", folder, str(source)]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        return (Path(folder) / f"{source.stem}.{suffix}").read_bytes()


if __name__ == "__main__":
    main()
