"""The text of scanned pages, read by RapidOCR: PaddleOCR's PP-OCR detection and recognition models, run by
ONNX Runtime (which semsearch runs already), shipped inside the package, so that nothing is downloaded.
Optional: ``pip install 'semsearch[ocr]'`` (about 210 MB with OpenCV); without it a PDF of scans is refused
with what to install (docs/ingest.md, "Scanned PDFs"; bench/ocr.py measures it).

One engine in the process, built on first use and run by one thread at a time on one core: a scanned book
takes one core for its minutes, and searches keep the other.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from typing import Any

# Pages are rendered at this many dots per inch for reading. The models read text from about 10 pixels high;
# scans of 11 and 8 pt print (bench/ocr.py) read as well at 120 dpi as at 150 and better than at 200 (where
# the models take a scan's specks for strokes, and detection costs twice as long); 150 keeps a margin for
# smaller print (footnotes, tables).
RESOLUTION = 150
# The longest side of a page's image, in pixels: a page of 200 inches would otherwise render to 900 MB. The
# models detect text on at most 2,000 pixels a side anyway.
MAX_SIDE = 4_000
# The most scanned pages read from one file: about 80 minutes of one core here (5 s a page). A scanned book
# runs to a few hundred pages; a file of a hundred thousand blank pictures would hold a reader for days.
MAX_PAGES = 1_000
# Lines are boxes whose vertical centres lie within this share of a line's height of each other.
SAME_LINE = 0.5

_ENGINE: Any = None
_LOCK = threading.Lock()
# Called after each page read, so that whoever bounds a file's reading by time can tell a long scan from a
# stuck reader (service.file_reader): None, or what :func:`on_page` set.
_ON_PAGE: Callable[[], object] | None = None


def on_page(hook: Callable[[], object] | None) -> None:
    """Call ``hook`` (in this process) after each page OCR reads from now on; None: no more."""
    global _ON_PAGE
    _ON_PAGE = hook


def page_read() -> None:
    """Say that a page was read: call the hook :func:`on_page` set, if any."""
    if _ON_PAGE is not None:
        _ON_PAGE()


def available() -> bool:
    """Whether the ``ocr`` extra is installed."""
    return importlib.util.find_spec("rapidocr") is not None


def page_lines(image: Any) -> list[str]:
    """The lines of text on a page's image (a PIL image), top to bottom, each read left to right. Text in
    columns side by side is read across the columns, line by line (the layout is not analysed)."""
    with _LOCK:
        result = _engine()(image)
    page_read()
    boxes, texts = getattr(result, "boxes", None), getattr(result, "txts", None)
    if boxes is None or texts is None:
        return []
    words = []
    for box, text in zip(boxes, texts, strict=True):
        ys = [float(point[1]) for point in box]
        words.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(float(p[0]) for p in box), str(text)))
    words.sort()
    lines: list[list[tuple[float, float, float, str]]] = []
    for word in words:
        if lines and abs(word[0] - lines[-1][0][0]) <= SAME_LINE * max(word[1], lines[-1][0][1]):
            lines[-1].append(word)
        else:
            lines.append([word])
    return [" ".join(text for _, _, _, text in sorted(line, key=lambda w: w[2])) for line in lines]


def _engine() -> Any:
    global _ENGINE
    if _ENGINE is None:
        from rapidocr import RapidOCR

        _ENGINE = RapidOCR(
            params={
                "Global.log_level": "warning",
                # The classifier of each line's direction turned some upright lines of a page over and read
                # them as noise (8 SciFact pages: 93-99% of words right with it, 94-100% without, 15% faster);
                # a scanned page's lines run one way.
                "Global.use_cls": False,
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
    return _ENGINE
